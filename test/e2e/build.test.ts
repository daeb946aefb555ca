// The compiled build: `npm run build` output is fresh and complete, runs with no development
// dependency installed as a runtime dependency, and its stack traces name TypeScript lines.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { build, latin1Only } from '../../scripts/build.mjs';
import { DIST, ROOT, staleReason, WORKFLOW_BUNDLE } from '../../scripts/build-info.mjs';

before(async () => {
  if (staleReason()) await build();
});

test('npm run build: JavaScript for every entry, a prebuilt workflow bundle, and a fresh build-info', () => {
  assert.equal(staleReason(), undefined);
  for (const entry of ['start', 'server', 'worker', 'import', 'line-friend', 'sandbox', 'ensure-temporal']) {
    assert.ok(existsSync(join(DIST, 'src', 'main', `${entry}.js`)), `dist/src/main/${entry}.js`);
    assert.ok(existsSync(join(DIST, 'src', 'main', `${entry}.js.map`)), `dist/src/main/${entry}.js.map`);
  }
  const bundle = readFileSync(WORKFLOW_BUNDLE, 'utf8');
  for (const workflow of ['inboxWorkflow', 'contactBatchWorkflow', 'importWorkflow', 'inboxDetourWorkflow']) assert.match(bundle, new RegExp(workflow), workflow);
});

test("the workflow bundle's source map maps positions but carries no sources (held in both of the worker's threads)", () => {
  const bundle = readFileSync(WORKFLOW_BUNDLE, 'utf8');
  const at = bundle.lastIndexOf('//# sourceMappingURL=data:application/json;');
  assert.ok(at > 0, 'an inline source map');
  const map = JSON.parse(Buffer.from(bundle.slice(bundle.indexOf('base64,', at) + 'base64,'.length).trimEnd(), 'base64').toString()) as {
    sources: string[];
    mappings: string;
    sourcesContent?: unknown;
  };
  assert.equal(map.sourcesContent, undefined);
  assert.ok(map.sources.some((source) => source.endsWith('workflows/inbox.ts')));
  assert.ok(map.mappings.length > 1000);
});

test('the runtime dependencies carry no development tool', () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; scripts: Record<string, string> };
  for (const tool of ['tsx', 'typescript', '@temporalio/testing', 'ts-node']) assert.equal(pkg.dependencies[tool], undefined, tool);
  assert.equal(Object.keys(pkg.dependencies).filter((name) => name.startsWith('@types/')).length, 0);
  for (const script of ['server', 'import', 'line', 'sandbox']) assert.match(pkg.scripts[script]!, /^node scripts\/run\.mjs /, script);
  // the processes that run a worker: glibc's allocator with two arenas unless the environment says otherwise
  for (const script of ['start', 'worker']) assert.match(pkg.scripts[script]!, /^MALLOC_ARENA_MAX=\$\{MALLOC_ARENA_MAX:-2\} node scripts\/run\.mjs /, script);
});

test('the workflow bundle is Latin-1 only (V8 then holds its source as one byte per character, in both threads)', () => {
  const bundle = readFileSync(WORKFLOW_BUNDLE, 'utf8');
  assert.equal(bundle.match(/[^\x00-\xff]/g), null);
  // the escapes mean what the characters meant, in strings, templates, regular expressions and identifiers
  const source = "const s = 'a–b', t = `…${1}`, r = /→+/u.test('→→'), 名前 = '😀'; [s, t, r, 名前]";
  const escaped = latin1Only(source);
  assert.equal(escaped.match(/[^\x00-\xff]/g), null);
  assert.deepEqual((0, eval)(escaped), (0, eval)(source));
  assert.equal(latin1Only('plain ASCII and Latin-1: café'), 'plain ASCII and Latin-1: café');
});

test('the compiled code, run as the launcher runs it, names .ts lines in stack traces', () => {
  const script = `(await import('node:module')).setSourceMapsSupport(true, { nodeModules: false, generatedCode: false }); const { loadConfig } = await import('./dist/src/config.js'); try { loadConfig({ PORT: 'not a port' }); } catch (error) { console.log(error.stack); }`;
  const run = spawnSync(process.execPath, ['--import', './test/support/forbid-dev-dependencies.mjs', '--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /src\/config\.ts:\d+:\d+/, run.stdout);
});
