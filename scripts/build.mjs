// `npm run build`: the TypeScript of src/, workflows/ and activities/ compiled by tsc into dist/
// (with source maps), then the workflow bundle prebuilt into dist/workflow-bundle.js, so a worker
// starts without webpack. dist/build-info.json, written last, records what it was built from.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BUILD_INFO, DIST, ROOT, sourceHash, WORKFLOW_BUNDLE } from './build-info.mjs';

const log = (line) => process.stderr.write(`[build] ${line}\n`);

export async function build() {
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  if (!existsSync(tsc)) {
    throw new Error('TypeScript is not installed (it is a devDependency): run `npm install` with dev dependencies to build, or ship a built dist/');
  }
  const began = Date.now();
  const hash = sourceHash();
  await rm(DIST, { recursive: true, force: true });
  log('compiling TypeScript (tsc -p tsconfig.build.json)…');
  const compiled = spawnSync(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.build.json')], { cwd: ROOT, stdio: 'inherit' });
  if (compiled.status !== 0) throw new Error(`tsc failed (exit ${compiled.status ?? compiled.signal})`);

  log('bundling the workflows (webpack, once here rather than at every worker start)…');
  const { bundleWorkflowCode } = await import('@temporalio/worker');
  const quiet = { log() {}, trace() {}, debug() {}, info() {}, warn: (m) => log(m), error: (m) => log(m) };
  const { code } = await bundleWorkflowCode({ workflowsPath: join(ROOT, 'workflows', 'index.ts'), logger: quiet });
  await mkdir(DIST, { recursive: true });
  await writeFile(`${WORKFLOW_BUNDLE}.partial`, latin1Only(withoutSourcesContent(code)));
  await rename(`${WORKFLOW_BUNDLE}.partial`, WORKFLOW_BUNDLE);
  await writeFile(BUILD_INFO, `${JSON.stringify({ sourceHash: hash, builtAt: new Date().toISOString() }, null, 2)}\n`);
  log(`dist/ built in ${((Date.now() - began) / 1000).toFixed(1)} s`);
}

/**
 * The bundle's inline source map without `sourcesContent` (the original sources, ~0.7 MB): the worker
 * only maps stack frames to file:line:column with it (it shows sources only with the SDK's
 * showStackTraceSources, off here), and the map is held in both the main and the workflow thread.
 */
export function withoutSourcesContent(code) {
  // as the SDK reads it (worker.js extractSourceMap): the last data: URL, its base64 after `base64,`
  const at = code.lastIndexOf('//# sourceMappingURL=data:');
  const base64At = at < 0 ? -1 : code.indexOf('base64,', at) + 'base64,'.length;
  if (base64At <= at) return code;
  const map = JSON.parse(Buffer.from(code.slice(base64At).trimEnd(), 'base64').toString());
  delete map.sourcesContent;
  return `${code.slice(0, base64At)}${Buffer.from(JSON.stringify(map)).toString('base64')}\n`;
}

/**
 * The bundle with every character above U+00FF written as a \uXXXX escape (a handful of dashes, arrows
 * and ellipses in comments and messages): one such character makes V8 hold the whole 1 MB source as a
 * two-byte string, in the main thread and again in the workflow thread. The escapes mean the same in
 * strings, regular expressions and identifiers; only the columns of those few lines shift.
 */
export function latin1Only(code) {
  return code.replace(/[^\x00-\xff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

if (import.meta.main ?? process.argv[1] === import.meta.filename) {
  try {
    await build();
  } catch (error) {
    log(error.message);
    process.exit(1);
  }
}
