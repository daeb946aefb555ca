// `npm start` as a newcomer uses it, on the compiled build (scripts/run.mjs builds dist/ when it is
// stale; no TypeScript loader, no development dependency may load): everything up within 60 s, a
// sandbox friend becomes a contact, workflows survive a restart (SQLite), and Ctrl-C stops every
// process it started.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { freePort } from '../../src/temporal/dev-server.ts';
import { build } from '../../scripts/build.mjs';
import { staleReason } from '../../scripts/build-info.mjs';
import { eventually, temporalCliPath } from '../support/stack.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'lhs-start-'));
after(() => rmSync(dataDir, { recursive: true, force: true }));
// Built here rather than by the launcher so that its 60 s to healthy measures the start alone.
before(async () => {
  if (staleReason()) await build();
});

/** `npm run <name>` as package.json runs it, with every development dependency forbidden. */
const launch = (name: string, ...args: string[]) => ['--import', './test/support/forbid-dev-dependencies.mjs', 'scripts/run.mjs', name, ...args];

interface Started {
  child: ChildProcess;
  output: () => string;
  env: Record<string, string>;
}

async function ports() {
  return {
    PORT: String(await freePort()),
    TEMPORAL_PORT: String(await freePort()),
    TEMPORAL_UI_PORT: String(await freePort()),
    SANDBOX_LINE_PORT: String(await freePort()),
    SANDBOX_HUBSPOT_PORT: String(await freePort()),
  };
}

function start(env: Record<string, string>): Started {
  // detached: its own process group, like a terminal's foreground job, so Ctrl-C can be sent to the group.
  const child = spawn(process.execPath, launch('start'), {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', TEMPORAL_DB_FILE: join(dataDir, 'temporal.sqlite'), LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  return { child, output: () => output, env };
}

/** Ctrl-C: SIGINT to the whole process group; resolves with the exit code. */
async function ctrlC(started: Started): Promise<number | null> {
  const exited = new Promise<number | null>((resolve) => started.child.once('exit', (code) => resolve(code)));
  process.kill(-started.child.pid!, 'SIGINT');
  return exited;
}

function processesInGroup(pgid: number): string[] {
  const ps = spawnSync('ps', ['-eo', 'pid=,pgid=,comm='], { encoding: 'utf8' });
  return ps.stdout
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((cols) => cols.length >= 3 && Number(cols[1]) === pgid)
    .map((cols) => cols.join(' '));
}

async function ok(url: string) {
  const response = await fetch(url).catch(() => undefined);
  return response?.status === 200 ? true : undefined;
}

test('npm start (compiled build): healthy within 60 s, a sandbox follow becomes a contact, restart keeps workflows, Ctrl-C leaves no process', async () => {
  const env = await ports();
  const first = start(env);
  try {
    const began = Date.now();
    await eventually(() => ok(`http://127.0.0.1:${env.PORT}/healthz`), {
      timeoutMs: 60_000,
      intervalMs: 250,
      what: () => `GET /healthz (output so far: ${first.output() || 'none'}; its processes: ${processesInGroup(first.child.pid!).join('; ')})`,
    });
    const took = Date.now() - began;
    assert.ok(took < 60_000, `healthy after ${took} ms`);
    assert.equal(await ok(`http://127.0.0.1:${env.TEMPORAL_UI_PORT}/`), true, 'the Temporal Web UI answers');
    await eventually(() => (first.output().includes('Ctrl-C stops everything') ? true : undefined), { what: 'the start banner' });
    assert.match(first.output(), /npm run line -- follow/, 'it says how to make a sandbox friend follow');

    const follow = spawnSync(process.execPath, launch('line', 'follow', '--name', 'E2E 太郎'), { env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8', timeout: 30_000 });
    assert.equal(follow.status, 0, follow.stderr + follow.stdout);
    const userId = /U[0-9a-f]{32}/.exec(follow.stdout)?.[0];
    assert.ok(userId, follow.stdout);
    const contact = await eventually(
      async () => {
        const view = (await (await fetch(`http://127.0.0.1:${env.SANDBOX_HUBSPOT_PORT}/_sandbox/contacts?property=line_user_id&value=${userId}`)).json()) as {
          contacts: Array<{ properties: Record<string, string> }>;
        };
        return view.contacts[0];
      },
      { what: 'the contact in the sandbox HubSpot' },
    );
    assert.equal(contact.properties.line_user_name, 'E2E 太郎');
    assert.equal(contact.properties.line_follow, 'YES');

    const code = await ctrlC(first);
    assert.equal(code, 0, first.output());
    await eventually(() => (processesInGroup(first.child.pid!).length === 0 ? true : undefined), {
      timeoutMs: 10_000,
      what: () => `no process left: ${processesInGroup(first.child.pid!).join('; ')}`,
    });

    // The dev server keeps its SQLite file: the batch that wrote the friend's contact (found as an operator
    // finds it, by LineUserId) is still there after a restart.
    const second = start(env);
    try {
      await eventually(() => ok(`http://127.0.0.1:${env.PORT}/healthz`), {
        timeoutMs: 60_000,
        intervalMs: 250,
        what: () => `healthz after restart (output so far: ${second.output() || 'none'}; its processes: ${processesInGroup(second.child.pid!).join('; ')})`,
      });
      const runs = await eventually(
        () => {
          const temporal = spawnSync(temporalCliPath(), ['workflow', 'list', '--address', `127.0.0.1:${env.TEMPORAL_PORT}`, '--query', `LineUserId="${userId}"`, '--output', 'json'], {
            encoding: 'utf8',
          });
          // Stopped right after the contact was written, the batch may still have had its last step (its
          // report to the writer) to take: the restarted worker finishes it.
          return /line-batch\/default\/\d+\//.test(temporal.stdout) && /"status":\s*"(WORKFLOW_EXECUTION_STATUS_)?COMPLETED"/.test(temporal.stdout) ? temporal.stdout : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 500, what: `the friend's batch workflow, completed, after the restart` },
      );
      assert.match(runs, /"status":\s*"(WORKFLOW_EXECUTION_STATUS_)?COMPLETED"/, 'the batch completed');
      assert.equal(await ctrlC(second), 0);
    } finally {
      if (second.child.exitCode === null) process.kill(-second.child.pid!, 'SIGKILL');
    }
  } finally {
    if (first.child.exitCode === null) process.kill(-first.child.pid!, 'SIGKILL');
  }
});
