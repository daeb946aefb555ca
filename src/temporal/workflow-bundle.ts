// Bundling workflow code takes seconds; tests and benchmarks reuse one bundle per source version.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { bundleWorkflowCode, type WorkflowBundle } from '@temporalio/worker';
import { PROJECT_ROOT } from './cli.ts';
import { WORKFLOWS_PATH } from './worker.ts';

/** Every file workflow code may import: workflows/, src/ (pure modules) and the SDK version. */
function sourceHash(): string {
  const hash = createHash('sha256');
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith('.ts')) hash.update(relative(PROJECT_ROOT, path)).update(readFileSync(path));
    }
  };
  walk(join(PROJECT_ROOT, 'workflows'));
  walk(join(PROJECT_ROOT, 'src'));
  hash.update(readFileSync(join(PROJECT_ROOT, 'node_modules', '@temporalio', 'workflow', 'package.json')));
  return hash.digest('hex').slice(0, 16);
}

export async function cachedWorkflowBundle(): Promise<WorkflowBundle> {
  const dir = join(PROJECT_ROOT, '.data', 'cache');
  const file = join(dir, `workflows-${sourceHash()}.js`);
  if (existsSync(file)) return { code: await readFile(file, 'utf8') };
  const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} } as never });
  await mkdir(dir, { recursive: true });
  const partial = `${file}.${process.pid}.partial`;
  await writeFile(partial, code);
  await rename(partial, file);
  return { code };
}
