// A throwaway PostgreSQL cluster (Debian's postgresql package): initdb into a temporary folder,
// pg_ctl on a free loopback port, removed on stop. As root it runs as the `postgres` user
// (PostgreSQL refuses to run as root).
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chmod, chown, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './ports.ts';

const run = promisify(execFile);

export interface Postgres {
  host: string;
  port: number;
  user: string;
  password: string;
  dataDir: string;
  stop(): Promise<void>;
}

/** The folder of initdb/pg_ctl: PG_BIN, else the newest /usr/lib/postgresql/<n>/bin. */
export function postgresBinDir(): string {
  const fromEnv = process.env.PG_BIN?.trim();
  if (fromEnv) return fromEnv;
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'initdb'))) : [];
  versions.sort((a, b) => Number(b) - Number(a));
  if (!versions[0]) throw new Error('PostgreSQL is not installed: apt-get update && apt-get install -y postgresql (or set PG_BIN)');
  return join(root, versions[0], 'bin');
}

export async function startPostgres({ maxConnections = 400 } = {}): Promise<Postgres> {
  const bin = postgresBinDir();
  const asRoot = userInfo().uid === 0;
  const base = await mkdtemp(join(tmpdir(), 'lhs-pg-'));
  const dataDir = join(base, 'data');
  const socketDir = base;
  const password = 'temporal-test-only';
  const user = 'temporal';
  const as = async (command: string, args: string[]) => {
    const file = join(bin, command);
    return asRoot ? run('runuser', ['-u', 'postgres', '--', file, ...args], { maxBuffer: 16 * 1024 * 1024 }) : run(file, args, { maxBuffer: 16 * 1024 * 1024 });
  };
  if (asRoot) {
    const { stdout } = await run('id', ['-u', 'postgres']).catch(() => {
      throw new Error("running as root needs the postgres user that Debian's postgresql package creates");
    });
    const { stdout: gid } = await run('id', ['-g', 'postgres']);
    await chown(base, Number(stdout.trim()), Number(gid.trim()));
  }
  await chmod(base, 0o700);
  const pwFile = join(base, 'pw');
  await writeFile(pwFile, password, { mode: 0o600 });
  if (asRoot) await run('chown', ['postgres:postgres', pwFile]);
  await as('initdb', ['-D', dataDir, '-U', user, '--pwfile', pwFile, '-A', 'scram-sha-256', '-E', 'UTF8', '--no-instructions']);
  const port = await freePort();
  const options = [
    `-p ${port}`,
    `-k ${socketDir}`,
    '-c listen_addresses=127.0.0.1',
    `-c max_connections=${maxConnections}`,
    '-c fsync=off',
    '-c synchronous_commit=off',
    '-c full_page_writes=off',
    '-c shared_buffers=128MB',
  ].join(' ');
  await as('pg_ctl', ['-D', dataDir, '-o', options, '-l', join(base, 'postgres.log'), '-w', '-t', '60', 'start']);
  let stopped = false;
  return {
    host: '127.0.0.1',
    port,
    user,
    password,
    dataDir,
    async stop() {
      if (stopped) return;
      stopped = true;
      await as('pg_ctl', ['-D', dataDir, '-m', 'immediate', '-w', 'stop']).catch(() => {});
      await rm(base, { recursive: true, force: true });
    },
  };
}
