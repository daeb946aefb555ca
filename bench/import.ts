// Benchmark of the import of existing friends.
//
//   npm run bench:import -- --scenario throughput [--friends 20000] [--hubspot-per-10s 100]
//   npm run bench:import -- --scenario scale      [--friends 1000000]
//
// throughput: the sandbox HubSpot enforces HubSpot's burst limit (100 requests per rolling 10 s)
//   and the worker paces itself for it (HUBSPOT_REQUESTS_PER_10S=100). Reports contacts/s, HubSpot
//   requests per contact (from the sandbox's own counters), the ratio to the ceiling (the limit
//   divided by requests per contact), 429 answers and the most requests in any rolling 10 s.
// scale: every limit lifted (sandbox HubSpot and LINE unlimited, the worker's pacing at its
//   maximum). Reports wall time, the worker's peak RSS, the largest history of any run, and where
//   time goes (LINE calls, HubSpot calls, neither = Temporal's own overhead), from run histories.
//
// Layout: a Temporal dev server (child process), the worker exactly as `npm run worker` runs it (the
// compiled build in dist/, built first if stale, with its prebuilt workflow bundle; a child process,
// so its memory is its own), and the sandbox LINE and HubSpot APIs plus this controller in this
// process. The worker's RSS is sampled from /proc: idle (after --idle-seconds with nothing to do,
// before the import and again after it) and peak (VmHWM, the high-water mark over its whole life). Figures are printed and saved to
// bench/results/import-<scenario>-<timestamp>.json and import-<scenario>-latest.json.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync, rmSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Client } from '@temporalio/client';
import { handled, progressLine } from '../src/cli/import-progress.ts';
import { startHubspotSandbox, SANDBOX_HUBSPOT_ACCESS_TOKEN } from '../src/sandbox/hubspot.ts';
import { startLineSandbox, SANDBOX_LINE_CHANNEL_ACCESS_TOKEN } from '../src/sandbox/line.ts';
import { locateTemporalCli, PROJECT_ROOT } from '../src/temporal/cli.ts';
import { connectClient } from '../src/temporal/connection.ts';
import { startDevServer, type DevServer } from '../src/temporal/dev-server.ts';
import { getImportProgress, startImport, type ImportStatus } from '../src/temporal/import-client.ts';
import { hubspotActivitiesPerSecond } from '../src/temporal/worker.ts';
import { build } from '../scripts/build.mjs';
import { staleReason } from '../scripts/build-info.mjs';

const HELP = `usage: npm run bench:import -- --scenario throughput|scale [options]
  --friends N            friends to import (throughput 20000, scale 1000000)
  --hubspot-per-10s N    throughput: the sandbox's burst limit and HUBSPOT_REQUESTS_PER_10S (default 100)
  --worker-per-10s N     throughput: HUBSPOT_REQUESTS_PER_10S of the worker if it should differ from
                         the sandbox's limit (to measure other pacing rates against the same limit)
  --sample-runs N        runs whose history is analysed for "where time goes" (default: all for
                         throughput, 40 for scale)
  --timeout S            give up after S seconds (default 900 throughput, 7200 scale)
  --worker-heap-mb N     run the worker with --max-old-space-size=N (default: Node's own limit)
  --idle-seconds S       how long the worker sits idle before its idle RSS is read (default 20)`;

const { values: flags } = parseArgs({
  options: {
    scenario: { type: 'string' },
    friends: { type: 'string' },
    'hubspot-per-10s': { type: 'string', default: '100' },
    'worker-per-10s': { type: 'string' },
    'sample-runs': { type: 'string' },
    timeout: { type: 'string' },
    'worker-heap-mb': { type: 'string' },
    'idle-seconds': { type: 'string', default: '20' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (flags.help || (flags.scenario !== 'throughput' && flags.scenario !== 'scale')) {
  process.stderr.write(`${HELP}\n`);
  process.exit(flags.help ? 0 : 2);
}
const scenario = flags.scenario as 'throughput' | 'scale';
const friends = Number(flags.friends ?? (scenario === 'throughput' ? 20_000 : 1_000_000));
const perTenSeconds = scenario === 'throughput' ? Number(flags['hubspot-per-10s']) : 0;
const timeoutMs = Number(flags.timeout ?? (scenario === 'throughput' ? 900 : 7200)) * 1000;
const sampleRuns = flags['sample-runs'] ? Number(flags['sample-runs']) : scenario === 'throughput' ? Number.POSITIVE_INFINITY : 40;

const workerNodeOptions = [
  ...(flags['worker-heap-mb'] ? [`--max-old-space-size=${Number(flags['worker-heap-mb'])}`] : []),
  // for experiments: more node/V8 flags for the worker (e.g. BENCH_WORKER_NODE_ARGS='--trace-gc'), recorded in the results
  ...(process.env.BENCH_WORKER_NODE_ARGS ?? '').split(' ').filter(Boolean),
];
const idleMs = Number(flags['idle-seconds']) * 1000;

const log = (line: string) => process.stderr.write(`[bench:import] ${line}\n`);
const TASK_QUEUE = 'bench-import';
const CHANNEL = `bench-${scenario}`;

// ---------------------------------------------------------------------------------------------
// The worker in its own process, and its memory

function rssOf(pid: number): { rssMb: number; hwmMb: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    return { rssMb: kb('VmRSS') / 1024, hwmMb: kb('VmHWM') / 1024 };
  } catch {
    return undefined;
  }
}

/**
 * The variables `npm run worker` sets before `node scripts/run.mjs worker` (package.json: `NAME=value` or
 * `NAME=${NAME:-default}` in front), so the benchmark's worker runs with exactly the same environment.
 */
function npmWorkerEnv(): Record<string, string> {
  const script = (JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts.worker ?? '';
  const env: Record<string, string> = {};
  for (const [, name, value] of script.matchAll(/(?:^|\s)([A-Z_][A-Z0-9_]*)=(\S+)(?=\s)/g)) {
    const fallback = /^\$\{([A-Z_][A-Z0-9_]*):-(.*)\}$/.exec(value!);
    env[name!] = fallback ? process.env[fallback[1]!] || fallback[2]! : value!;
  }
  return env;
}

async function startWorkerProcess(env: Record<string, string>): Promise<ChildProcess> {
  // `npm run worker` is `node scripts/run.mjs worker` with npmWorkerEnv(); the reporter only prints memoryUsage() lines.
  const child = spawn(process.execPath, [...workerNodeOptions, '--import', './bench/support/memory-reporter.mjs', 'scripts/run.mjs', 'worker'], {
    cwd: PROJECT_ROOT,
    // glibc's allocator settings (MALLOC_ARENA_MAX, MALLOC_TRIM_THRESHOLD_, …) and the allocation profiler's
    // (ALLOCATION_PROFILE_*) pass through, to measure their effect.
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('MALLOC_') || k.startsWith('ALLOCATION_PROFILE_'))),
      ...npmWorkerEnv(),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the worker did not start in 120 s:\n${output.slice(-2000)}`)), 120_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('[worker] polling task queue')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`the worker exited (${signal ?? code}):\n${output.slice(-2000)}`));
    });
  });
  child.removeAllListeners('exit');
  // Keep draining its output (a full pipe would block it); keep the tail for errors.
  let tail = '';
  let partial = '';
  // BENCH_WORKER_OUTPUT=<file>: the worker's whole output (but its memory lines) also goes to the file
  const copy = process.env.BENCH_WORKER_OUTPUT ? createWriteStream(process.env.BENCH_WORKER_OUTPUT) : undefined;
  const keep = (chunk: Buffer) => {
    copy?.write(chunk);
    tail = (tail + chunk.toString()).slice(-4000);
  };
  child.stdout!.removeAllListeners('data').on('data', (chunk: Buffer) => {
    partial += chunk.toString();
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (line.startsWith('{"memory"')) workerMemory.push({ t: Date.now(), ...(JSON.parse(line) as { memory: WorkerMemory }).memory });
      else keep(Buffer.from(`${line}\n`));
    }
  });
  child.stderr!.removeAllListeners('data').on('data', keep);
  child.once('exit', (code, signal) => {
    if (!stopping) log(`the worker exited unexpectedly (${signal ?? code}): ${tail.slice(-1500)}`);
  });
  return child;
}

interface WorkerMemory {
  /** the reporting thread: 'main' or 'worker-<id>' (the SDK's workflow thread) */
  thread?: string;
  rss: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
}
const workerMemory: Array<WorkerMemory & { t: number }> = [];

/** Peak V8 heap (used, total) and external memory of each thread of the worker, in MB. */
function heapByThread(samples: Array<WorkerMemory & { t: number }>): Record<string, { peakHeapUsedMb: number; peakHeapTotalMb: number; peakExternalMb: number }> {
  const byThread: Record<string, { peakHeapUsedMb: number; peakHeapTotalMb: number; peakExternalMb: number }> = {};
  for (const m of samples) {
    const t = (byThread[m.thread ?? 'main'] ??= { peakHeapUsedMb: 0, peakHeapTotalMb: 0, peakExternalMb: 0 });
    t.peakHeapUsedMb = Math.max(t.peakHeapUsedMb, round(m.heapUsed / 2 ** 20));
    t.peakHeapTotalMb = Math.max(t.peakHeapTotalMb, round(m.heapTotal / 2 ** 20));
    t.peakExternalMb = Math.max(t.peakExternalMb, round(m.external / 2 ** 20));
  }
  return byThread;
}

let stopping = false;
async function stopProcess(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await gone;
  clearTimeout(timer);
}

// ---------------------------------------------------------------------------------------------
// Where time goes: from run histories

interface RunTimes {
  runId: string;
  wallMs: number;
  lineBusyMs: number;
  hubspotBusyMs: number;
  anyBusyMs: number;
  events: number;
  queueWaitMs: { line: number[]; hubspot: number[] };
  /** HubSpot activities from scheduled to closed: while one is, HubSpot has work */
  hubspotPending: Array<[number, number]>;
  /** when each HubSpot activity started (epoch ms): the dispatch timeline */
  hubspotStarts: number[];
  /** the run's wall time split so that the parts add up (see `splitWallTime`) */
  split: WallTimeSplit;
}

/**
 * Each instant of a run counted once, by what it waited for: a HubSpot request running; else a
 * LINE call running; else a HubSpot request queued behind the pacing (the rate limit at work);
 * else nothing of ours pending at all: Temporal's own time (workflow tasks, continue-as-new,
 * activity dispatch).
 */
interface WallTimeSplit {
  hubspotRunningMs: number;
  lineRunningMs: number;
  hubspotPacedMs: number;
  temporalMs: number;
}

function splitWallTime(wall: [number, number], hubspotRunning: Array<[number, number]>, lineRunning: Array<[number, number]>, hubspotPending: Array<[number, number]>): WallTimeSplit {
  const edges: Array<[number, 'h' | 'l' | 'p', 1 | -1]> = [];
  for (const [list, kind] of [
    [hubspotRunning, 'h'],
    [lineRunning, 'l'],
    [hubspotPending, 'p'],
  ] as const) {
    for (const [a, b] of list) edges.push([a, kind, 1], [b, kind, -1]);
  }
  edges.sort((x, y) => x[0] - y[0]);
  const open = { h: 0, l: 0, p: 0 };
  const split: WallTimeSplit = { hubspotRunningMs: 0, lineRunningMs: 0, hubspotPacedMs: 0, temporalMs: 0 };
  let at = wall[0];
  const account = (until: number) => {
    const span = Math.max(0, Math.min(until, wall[1]) - Math.max(at, wall[0]));
    if (open.h > 0) split.hubspotRunningMs += span;
    else if (open.l > 0) split.lineRunningMs += span;
    else if (open.p > 0) split.hubspotPacedMs += span;
    else split.temporalMs += span;
    at = Math.max(at, until);
  };
  for (const [time, kind, delta] of edges) {
    account(time);
    open[kind] += delta;
  }
  account(wall[1]);
  return split;
}

const LINE_ACTIVITIES = new Set(['readLineProfiles', 'readFollowerPage']);
const HUBSPOT_ACTIVITIES = new Set(['readContactsByLineUserId', 'createContacts', 'updateContacts']);

function unionMs(intervals: Array<[number, number]>): number {
  const sorted = [...intervals].sort((a, b) => a[0] - b[0]);
  let total = 0;
  let [start, end] = [Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY];
  for (const [s, e] of sorted) {
    if (s > end) {
      if (end > start) total += end - start;
      [start, end] = [s, e];
    } else end = Math.max(end, e);
  }
  if (end > start && Number.isFinite(start)) total += end - start;
  return total;
}

async function runTimes(client: Client, workflowId: string, runId: string): Promise<RunTimes> {
  const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
  const events = history.events ?? [];
  const at = (e: (typeof events)[number]) => Number(e.eventTime?.seconds ?? 0) * 1000 + (e.eventTime?.nanos ?? 0) / 1e6;
  const scheduled = new Map<string, { type: string; scheduledAt: number; startedAt?: number }>();
  const line: Array<[number, number]> = [];
  const hubspot: Array<[number, number]> = [];
  const queueWaitMs = { line: [] as number[], hubspot: [] as number[] };
  const hubspotPending: Array<[number, number]> = [];
  const hubspotStarts: number[] = [];
  for (const e of events) {
    if (e.activityTaskScheduledEventAttributes) scheduled.set(String(e.eventId), { type: e.activityTaskScheduledEventAttributes.activityType?.name ?? '', scheduledAt: at(e) });
    const started = e.activityTaskStartedEventAttributes;
    if (started) {
      const s = scheduled.get(String(started.scheduledEventId));
      if (s) s.startedAt = at(e);
    }
    const done = e.activityTaskCompletedEventAttributes ?? e.activityTaskFailedEventAttributes ?? e.activityTaskTimedOutEventAttributes;
    if (done) {
      const s = scheduled.get(String(done.scheduledEventId));
      if (!s || s.startedAt === undefined) continue;
      const interval: [number, number] = [s.startedAt, at(e)];
      if (LINE_ACTIVITIES.has(s.type)) {
        line.push(interval);
        queueWaitMs.line.push(s.startedAt - s.scheduledAt);
      } else if (HUBSPOT_ACTIVITIES.has(s.type)) {
        hubspot.push(interval);
        hubspotPending.push([s.scheduledAt, at(e)]);
        hubspotStarts.push(s.startedAt);
        queueWaitMs.hubspot.push(s.startedAt - s.scheduledAt);
      }
    }
  }
  const wall: [number, number] = events.length ? [at(events[0]!), at(events[events.length - 1]!)] : [0, 0];
  const wallMs = wall[1] - wall[0];
  const split = splitWallTime(wall, hubspot, line, hubspotPending);
  return {
    runId,
    wallMs,
    lineBusyMs: unionMs(line),
    hubspotBusyMs: unionMs(hubspot),
    anyBusyMs: unionMs([...line, ...hubspot]),
    events: events.length,
    queueWaitMs,
    hubspotPending,
    hubspotStarts,
    split,
  };
}

const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
const percentile = (xs: number[], p: number) => {
  if (!xs.length) return 0;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
};
const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;

// ---------------------------------------------------------------------------------------------
// The run

interface HubspotStats {
  total: number;
  endpoints: Record<string, number>;
  statuses: Record<string, number>;
  rateLimited: number;
  maxRequestsIn10s: number;
}

const started = Date.now();
let temporal: DevServer | undefined;
let worker: ChildProcess | undefined;
const cleanups: Array<() => Promise<void>> = [];

try {
  const cli = locateTemporalCli();
  if (!cli) throw new Error('the Temporal CLI is not installed: run `npm run temporal:ensure`');
  // A large import's histories go to a file rather than the dev server's memory.
  const dbFile = scenario === 'scale' ? join(PROJECT_ROOT, '.data', 'bench', 'temporal-import-scale.sqlite') : undefined;
  if (dbFile) for (const suffix of ['', '-wal', '-shm']) rmSync(`${dbFile}${suffix}`, { force: true });
  temporal = await startDevServer({ cliPath: cli.path, ...(dbFile ? { dbFile } : {}) });
  log(`Temporal dev server at ${temporal.address}${dbFile ? ` (${dbFile})` : ' (in memory)'}`);

  const line = await startLineSandbox({ port: 0, rateLimitPerSecond: scenario === 'scale' ? 0 : 2000 });
  cleanups.push(() => line.close());
  const hubspot = await startHubspotSandbox({ port: 0, requestsPer10s: perTenSeconds, dailyLimit: 0 });
  cleanups.push(() => hubspot.close());
  line.controls.seedGeneratedFriends(friends);
  log(`sandbox LINE ${line.url} with ${friends.toLocaleString('en-US')} friends; sandbox HubSpot ${hubspot.url} (${perTenSeconds ? `${perTenSeconds} requests / 10 s` : 'unlimited'})`);

  const stale = staleReason();
  if (stale) {
    log(`${stale}: npm run build…`);
    await build();
  }
  const workerRequestsPer10s = scenario === 'scale' ? 100_000 : Number(flags['worker-per-10s'] ?? perTenSeconds);
  worker = await startWorkerProcess({
    TEMPORAL_ADDRESS: temporal.address,
    TEMPORAL_TASK_QUEUE: TASK_QUEUE,
    LINE_CHANNEL_ID: CHANNEL,
    LINE_CHANNEL_ACCESS_TOKEN: SANDBOX_LINE_CHANNEL_ACCESS_TOKEN,
    LINE_API_BASE_URL: line.url,
    HUBSPOT_ACCESS_TOKEN: SANDBOX_HUBSPOT_ACCESS_TOKEN,
    HUBSPOT_BASE_URL: hubspot.url,
    HUBSPOT_REQUESTS_PER_10S: String(workerRequestsPer10s),
    LOG_LEVEL: 'warn',
  });
  const workerPid = worker.pid!;
  const idleRss = async () => {
    const samples: number[] = [];
    for (const until = Date.now() + idleMs; Date.now() < until; ) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const rss = rssOf(workerPid);
      if (rss) samples.push(rss.rssMb);
    }
    return { lastMb: round(samples.at(-1) ?? NaN), maxMb: round(Math.max(...samples)) };
  };
  const idleBefore = await idleRss();
  log(`worker idle RSS ${idleBefore.lastMb} MB (max ${idleBefore.maxMb} MB over ${idleMs / 1000} s)`);
  const baseline = rssOf(workerPid);
  log(`worker pid ${workerPid} (HUBSPOT_REQUESTS_PER_10S=${workerRequestsPer10s}: ${hubspotActivitiesPerSecond(workerRequestsPer10s)} HubSpot activities/s)`);

  const client = await connectClient({ address: temporal.address, namespace: 'default' });
  cleanups.push(() => client.connection.close());
  // The worker's start-up calls (properties) must not count against the import's window.
  hubspot.controls.reset();

  const rssSamples: Array<{ t: number; rssMb: number }> = [];
  const importStarted = Date.now();
  const handle = await startImport(client, { channelId: CHANNEL, taskQueue: TASK_QUEUE, timeZone: 'UTC' });
  log(`import ${handle.importId} started`);
  let status: ImportStatus | undefined;
  let lastLog = 0;
  let tick = 0;
  for (;;) {
    const rss = rssOf(workerPid);
    if (rss) rssSamples.push({ t: Date.now() - importStarted, rssMb: round(rss.rssMb) });
    try {
      status = (await getImportProgress(client, handle.importId, { channelId: CHANNEL })) ?? status;
    } catch (error) {
      log(`progress unavailable: ${(error as Error).message}`);
    }
    if (status && Date.now() - lastLog >= (scenario === 'scale' ? 15_000 : 5000)) {
      lastLog = Date.now();
      log(`${progressLine(status, Date.now(), tick++)} · worker RSS ${rss ? round(rss.rssMb) : '?'} MB`);
    }
    if (status && status.state !== 'running') break;
    if (Date.now() - importStarted > timeoutMs) throw new Error(`the import did not finish within ${timeoutMs / 1000} s (${status ? handled(status) : 0} friends handled)`);
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  const wallMs = Date.parse(status.finishedAt ?? new Date().toISOString()) - Date.parse(status.startedAt);
  const peak = rssOf(workerPid);
  const stats = hubspot.controls.stats() as unknown as HubspotStats;
  const idleAfter = await idleRss();
  log(`worker peak RSS ${peak ? round(peak.hwmMb) : '?'} MB; idle RSS after the import ${idleAfter.lastMb} MB`);
  const duringImport = workerMemory.filter((m) => m.t >= importStarted);
  log(`import ${status.state} in ${round(wallMs / 1000)} s; analysing run histories…`);

  // Every run of the chain (one per page): history lengths from visibility, timings from histories.
  const runs: Array<{ runId: string; historyLength: number; historySize?: number; startTime: Date }> = [];
  for await (const run of client.workflow.list({ query: `LineImportId = '${handle.importId}'` })) {
    runs.push({ runId: run.runId, historyLength: run.historyLength, ...(run.historySize ? { historySize: run.historySize } : {}), startTime: run.startTime });
  }
  runs.sort((a, b) => a.startTime.getTime() - b.startTime.getTime());
  const step = Math.max(1, Math.floor(runs.length / Math.min(runs.length, sampleRuns)));
  const sampled = runs.filter((_, i) => i % step === 0);
  const times: RunTimes[] = [];
  for (const run of sampled) times.push(await runTimes(client, handle.workflowId, run.runId));

  const importRequests =
    (stats.endpoints['POST /crm/v3/objects/contacts/batch/read'] ?? 0) +
    (stats.endpoints['POST /crm/v3/objects/contacts/batch/create'] ?? 0) +
    (stats.endpoints['POST /crm/v3/objects/contacts/batch/update'] ?? 0);
  const requestsPerContact = importRequests / Math.max(1, status.friendsSeen);
  const contactsPerSecond = handled(status) / (wallMs / 1000);
  const sum = (f: (t: RunTimes) => number) => times.reduce((a, t) => a + f(t), 0);
  const sampledWall = sum((t) => t.wallMs);
  const queueWait = (kind: 'hubspot' | 'line') => {
    const waits = times.flatMap((t) => t.queueWaitMs[kind]);
    return { p50: round(percentile(waits, 50)), p99: round(percentile(waits, 99)) };
  };
  const whereTimeGoes = {
    sampledRuns: times.length,
    meanRunWallMs: round(mean(times.map((t) => t.wallMs))),
    // each instant once (they add up to 1): HubSpot call running > LINE call running > HubSpot call
    // waiting for the pacing > nothing of ours pending (Temporal's own time)
    split: {
      hubspotRunning: round(sum((t) => t.split.hubspotRunningMs) / sampledWall, 3),
      lineRunning: round(sum((t) => t.split.lineRunningMs) / sampledWall, 3),
      hubspotWaitingForPacing: round(sum((t) => t.split.hubspotPacedMs) / sampledWall, 3),
      temporal: round(sum((t) => t.split.temporalMs) / sampledWall, 3),
    },
    meanMsPerRun: {
      hubspotRunning: round(mean(times.map((t) => t.split.hubspotRunningMs))),
      lineRunning: round(mean(times.map((t) => t.split.lineRunningMs))),
      hubspotWaitingForPacing: round(mean(times.map((t) => t.split.hubspotPacedMs))),
      temporal: round(mean(times.map((t) => t.split.temporalMs))),
    },
    // overlapping views: the share of time with at least one LINE / HubSpot call running
    lineBusyShare: round(sum((t) => t.lineBusyMs) / sampledWall, 3),
    hubspotBusyShare: round(sum((t) => t.hubspotBusyMs) / sampledWall, 3),
    hubspotQueueWaitMs: queueWait('hubspot'),
    lineQueueWaitMs: queueWait('line'),
    // share of the sampled runs' wall time with no HubSpot request waiting or running: the pacing could not be used
    hubspotStarvedShare: round(1 - sum((t) => unionMs(t.hubspotPending)) / sampledWall, 3),
  };
  // HubSpot requests started per second of the import (all sampled runs): where the pace dropped
  const starts = times.flatMap((t) => t.hubspotStarts).sort((a, b) => a - b);
  const dispatchPerSecond: number[] = [];
  for (const t of starts) {
    const second = Math.floor((t - (starts[0] ?? t)) / 1000);
    dispatchPerSecond[second] = (dispatchPerSecond[second] ?? 0) + 1;
  }
  const largest = runs.reduce((a, r) => (r.historyLength > a.historyLength ? r : a), runs[0] ?? { runId: '', historyLength: 0, startTime: new Date() });

  const result: Record<string, unknown> = {
    scenario,
    at: new Date().toISOString(),
    machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, memoryGb: round(os.totalmem() / 2 ** 30), loadAverage: os.loadavg().map((x) => round(x, 2)), node: process.version },
    friends,
    import: {
      importId: handle.importId,
      state: status.state,
      pages: status.pages,
      friendsSeen: status.friendsSeen,
      created: status.created,
      updated: status.updated,
      unchanged: status.unchanged,
      skipped: status.skipped,
      failed: status.failed,
      wallSeconds: round(wallMs / 1000, 2),
      contactsPerSecond: round(contactsPerSecond),
    },
    hubspot: {
      limitPer10s: perTenSeconds || 'unlimited',
      workerHubspotRequestsPer10s: workerRequestsPer10s,
      workerActivitiesPerSecond: hubspotActivitiesPerSecond(workerRequestsPer10s),
      requests: stats.total,
      importRequests,
      endpoints: stats.endpoints,
      requestsPerContact: round(requestsPerContact, 4),
      rateLimited429: stats.rateLimited,
      maxRequestsInAny10s: stats.maxRequestsIn10s,
      averageRequestsPerSecond: round(importRequests / (wallMs / 1000), 2),
    },
    worker: {
      command: `${Object.entries(npmWorkerEnv())
        .map(([k, v]) => `${k}=${v} `)
        .join('')}node ${[...workerNodeOptions, 'scripts/run.mjs', 'worker'].join(' ')}  (npm run worker)`,
      idleRssMb: idleBefore.lastMb,
      idleRssMaxMb: idleBefore.maxMb,
      peakRssMb: peak ? round(peak.hwmMb) : round(Math.max(...rssSamples.map((s) => s.rssMb))),
      idleRssAfterImportMb: idleAfter.lastMb,
      targets: { idleRssMbBelow: 150, peakRssMbBelow: 300 },
      met: { idle: idleBefore.lastMb < 150, peak: (peak ? peak.hwmMb : Infinity) < 300 },
      rssBeforeImportMb: baseline ? round(baseline.rssMb) : undefined,
      nodeOptions: workerNodeOptions,
      // the worker's own view while importing: V8 heap in use (live objects plus garbage not yet collected),
      // per thread: the main thread (activities, the SDK's worker) and the workflow thread(s)
      heapByThread: heapByThread(duringImport),
      idleHeapByThread: heapByThread(workerMemory.filter((m) => m.t >= importStarted - 3000 && m.t < importStarted)),
      finalRssMb: peak ? round(peak.rssMb) : undefined,
      rssSamples: rssSamples.filter((_, i) => i % Math.max(1, Math.floor(rssSamples.length / 60)) === 0),
    },
    history: {
      runs: runs.length,
      largestHistoryLength: largest.historyLength,
      largestHistoryRun: largest.runId,
      largestHistorySizeBytes: runs.reduce((a, r) => Math.max(a, r.historySize ?? 0), 0),
      meanHistoryLength: round(mean(runs.map((r) => r.historyLength))),
    },
    whereTimeGoes,
    ...(times.length === runs.length ? { hubspotDispatchPerSecond: Array.from(dispatchPerSecond, (n) => n ?? 0) } : {}),
  };
  if (perTenSeconds) {
    const ceiling = perTenSeconds / 10 / requestsPerContact;
    result.ceiling = {
      contactsPerSecond: round(ceiling),
      ratio: round(contactsPerSecond / ceiling, 3),
      targets: {
        requestsPerContactAtMost: 0.02,
        ratioAtLeast: 0.9,
        rateLimited429: 0,
        maxRequestsInAny10sAtMost: perTenSeconds,
      },
      met: {
        requestsPerContact: requestsPerContact <= 0.02,
        ratio: contactsPerSecond / ceiling >= 0.9,
        no429: stats.rateLimited === 0,
        window: stats.maxRequestsIn10s <= perTenSeconds,
      },
    };
  }

  const dir = join(PROJECT_ROOT, 'bench', 'results');
  await mkdir(dir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  await writeFile(join(dir, `import-${scenario}-${stamp}.json`), `${JSON.stringify(result, null, 2)}\n`);
  await writeFile(join(dir, `import-${scenario}-latest.json`), `${JSON.stringify(result, null, 2)}\n`);
  const { rssSamples: _samples, ...workerSummary } = result.worker as Record<string, unknown>;
  process.stdout.write(`${JSON.stringify({ ...result, worker: workerSummary }, null, 2)}\n`);
  log(`saved to bench/results/import-${scenario}-${stamp}.json (total ${round((Date.now() - started) / 1000)} s)`);
} catch (error) {
  log(`failed: ${(error as Error).stack ?? (error as Error).message}`);
  process.exitCode = 1;
} finally {
  stopping = true;
  await stopProcess(worker);
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  await temporal?.stop();
}
