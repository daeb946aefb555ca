// The workflow code a worker runs, always prebuilt (webpack never runs at a worker's start):
// - the compiled build (`npm run build`) loads dist/workflow-bundle.js by path;
// - tests and benchmarks, which run the TypeScript, reuse one bundle per source version in .data/cache/.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { bundleWorkflowCode, type WorkflowBundle, type WorkflowBundleOption } from '@temporalio/worker';
import { PROJECT_ROOT } from './cli.ts';

export const WORKFLOWS_PATH = join(PROJECT_ROOT, 'workflows', 'index.ts');
/** written by `npm run build` (scripts/build.mjs) */
export const BUILT_WORKFLOW_BUNDLE = join(PROJECT_ROOT, 'dist', 'workflow-bundle.js');

/** true when this module runs as tsc's JavaScript in dist/ (not as TypeScript through tsx) */
export const RUNNING_BUILD = import.meta.url.endsWith('.js');

/** The bundle a process entry (npm start, npm run worker) gives its worker. */
export async function runtimeWorkflowBundle(): Promise<WorkflowBundleOption> {
  if (!RUNNING_BUILD) return cachedWorkflowBundle();
  if (!existsSync(BUILT_WORKFLOW_BUNDLE)) throw new Error(`${BUILT_WORKFLOW_BUNDLE} is missing: run \`npm run build\``);
  return { codePath: BUILT_WORKFLOW_BUNDLE };
}

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

const silent = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} } as never;

/** Bundles `workflowsPath` (default: workflows/index.ts) with webpack. */
export async function bundleWorkflows(workflowsPath = WORKFLOWS_PATH): Promise<WorkflowBundle> {
  const { code } = await bundleWorkflowCode({ workflowsPath, logger: silent });
  return { code };
}

export async function cachedWorkflowBundle(): Promise<WorkflowBundle> {
  const dir = join(PROJECT_ROOT, '.data', 'cache');
  const file = join(dir, `workflows-${sourceHash()}.js`);
  if (existsSync(file)) return { code: await readFile(file, 'utf8') };
  const { code } = await bundleWorkflows();
  await mkdir(dir, { recursive: true });
  const partial = `${file}.${process.pid}.partial`;
  await writeFile(partial, code);
  await rename(partial, file);
  return { code };
}
