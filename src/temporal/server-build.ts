// A real Temporal server for `npm run test:cluster`: `temporal-server` and `temporal-sql-tool` built
// from go.temporal.io/server (pinned) through the Go module proxy, with the module's PostgreSQL schema
// files beside them, all cached under `.tools/temporal-server-<version>/`.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, rename, rm } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { childProcessEnvironment, executableSearchPath } from '../config.ts';
import { TOOLS_DIR } from './cli.ts';

const run = promisify(execFile);

/** The pinned server release (its go.mod asks for Go 1.26.10, newer than the machine's 1.26.8). */
export const TEMPORAL_SERVER_VERSION = '1.32.2';
/** The Go toolchain the build runs on: the go command fetches it from the module proxy like a module. */
export const TEMPORAL_SERVER_GO_TOOLCHAIN = 'go1.27.3';
const MODULE = 'go.temporal.io/server';

export interface TemporalServerTools {
  version: string;
  /** the server binary (`temporal-server start --config-file …`) */
  server: string;
  /** `temporal-sql-tool`: creates databases and applies versioned schemas */
  sqlTool: string;
  /** `schema/postgresql/v12` of the module: `temporal/versioned` and `visibility/versioned` */
  postgresSchemaDir: string;
}

type Log = (line: string) => void;

export const temporalServerDir = (version = TEMPORAL_SERVER_VERSION) => join(TOOLS_DIR, `temporal-server-${version}`);

function toolsIn(dir: string, version: string): TemporalServerTools {
  return { version, server: join(dir, 'bin', 'server'), sqlTool: join(dir, 'bin', 'sql'), postgresSchemaDir: join(dir, 'schema', 'postgresql', 'v12') };
}

/** The cached build, if complete. */
export function locateTemporalServer(version = TEMPORAL_SERVER_VERSION): TemporalServerTools | undefined {
  const tools = toolsIn(temporalServerDir(version), version);
  const complete = [tools.server, tools.sqlTool, join(tools.postgresSchemaDir, 'temporal', 'versioned'), join(tools.postgresSchemaDir, 'visibility', 'versioned')].every((p) => existsSync(p));
  return complete ? tools : undefined;
}

function goCommand(): string {
  for (const dir of executableSearchPath().split(delimiter)) {
    if (dir && existsSync(join(dir, 'go'))) return join(dir, 'go');
  }
  if (existsSync('/usr/local/go/bin/go')) return '/usr/local/go/bin/go';
  throw new Error('the go command is not installed (Debian: apt-get install -y golang; any Go ≥ 1.21 can fetch the toolchain it needs)');
}

/**
 * The cached build, or builds it (a few minutes of CPU on two cores; the module cache makes a rebuild
 * fast). Several callers at once: the first finisher's build wins, the others' are discarded.
 */
export async function ensureTemporalServer(log: Log = () => {}, version = TEMPORAL_SERVER_VERSION): Promise<TemporalServerTools> {
  const found = locateTemporalServer(version);
  if (found) return found;
  const go = goCommand();
  const dir = temporalServerDir(version);
  const staging = `${dir}.partial-${process.pid}`;
  await rm(staging, { recursive: true, force: true });
  await mkdir(join(staging, 'bin'), { recursive: true });
  const env = childProcessEnvironment({ GOTOOLCHAIN: TEMPORAL_SERVER_GO_TOOLCHAIN, GOBIN: join(staging, 'bin'), CGO_ENABLED: '0', GOFLAGS: '-buildvcs=false' });
  try {
    log(`building temporal-server ${version} and temporal-sql-tool with go install (${TEMPORAL_SERVER_GO_TOOLCHAIN}; several minutes the first time)…`);
    const started = Date.now();
    await run(go, ['install', `${MODULE}/cmd/server@v${version}`, `${MODULE}/cmd/tools/sql@v${version}`], { env, maxBuffer: 64 * 1024 * 1024 });
    // The schema files ship inside the module: take them from the module cache the build just filled.
    const { stdout } = await run(go, ['mod', 'download', '-json', `${MODULE}@v${version}`], { env, maxBuffer: 16 * 1024 * 1024 });
    const moduleDir = (JSON.parse(stdout) as { Dir?: string }).Dir;
    if (!moduleDir || !existsSync(join(moduleDir, 'schema', 'postgresql', 'v12'))) throw new Error(`no schema/postgresql/v12 in ${MODULE}@v${version} (${moduleDir ?? 'module not found'})`);
    await cp(join(moduleDir, 'schema', 'postgresql'), join(staging, 'schema', 'postgresql'), { recursive: true });
    await run('chmod', ['-R', 'u+w', join(staging, 'schema')]); // the module cache is read-only
    log(`built temporal-server ${version} in ${Math.round((Date.now() - started) / 1000)} s`);
    if (!locateTemporalServer(version)) {
      await rm(dir, { recursive: true, force: true });
      await rename(staging, dir);
    }
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  const tools = locateTemporalServer(version);
  if (!tools) throw new Error(`the build of temporal-server ${version} left no complete ${dir}`);
  return tools;
}
