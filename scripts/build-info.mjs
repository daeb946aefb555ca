// What `npm run build` was built from: one hash over every input of dist/ (the TypeScript sources,
// the compiler settings and the Temporal SDK's version, which the workflow bundle embeds). Plain
// JavaScript: the launcher checks it before anything is compiled, with no TypeScript loader.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '..');
export const DIST = join(ROOT, 'dist');
export const BUILD_INFO = join(DIST, 'build-info.json');
export const WORKFLOW_BUNDLE = join(DIST, 'workflow-bundle.js');
const SOURCE_DIRS = ['src', 'workflows', 'activities'];
const SOURCE_FILES = ['tsconfig.json', 'tsconfig.build.json', 'node_modules/@temporalio/workflow/package.json', 'node_modules/@temporalio/worker/package.json'];

export function sourceHash() {
  const hash = createHash('sha256');
  const walk = (dir) => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith('.ts')) hash.update(relative(ROOT, path)).update('\0').update(readFileSync(path));
    }
  };
  for (const dir of SOURCE_DIRS) if (existsSync(join(ROOT, dir))) walk(join(ROOT, dir));
  for (const file of SOURCE_FILES) {
    const path = join(ROOT, file);
    hash
      .update(file)
      .update('\0')
      .update(existsSync(path) ? readFileSync(path) : '');
  }
  return hash.digest('hex').slice(0, 20);
}

/** undefined when dist/ is up to date, else why not. */
export function staleReason() {
  if (!existsSync(BUILD_INFO)) return 'dist/ has not been built';
  let info;
  try {
    info = JSON.parse(readFileSync(BUILD_INFO, 'utf8'));
  } catch {
    return 'dist/build-info.json is unreadable';
  }
  if (!existsSync(WORKFLOW_BUNDLE)) return 'dist/workflow-bundle.js is missing';
  // A deployment of dist/ without the TypeScript sources runs what it was given.
  if (!SOURCE_DIRS.some((dir) => existsSync(join(ROOT, dir)))) return undefined;
  if (info.sourceHash !== sourceHash()) return 'the sources changed since the last build';
  return undefined;
}
