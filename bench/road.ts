// Benchmark of the batched road: LINE webhook → contact writer (inboxWorkflow) → contactBatchWorkflow → HubSpot.
//
//   npm run bench:road -- [--scenario lifted,limited,cost,import] [--seconds 20] [--help]
//
// Layout, per scenario: a fresh stack (test/support/stack.ts: a Temporal dev server, the sandbox LINE
// and HubSpot APIs over HTTP, in this process) whose own in-process worker is stopped at once; per
// step a service of its own (fresh LINE channel and task queue): the HTTP server in this process,
// the worker in a process of its own (test/support/child-worker.ts, normal priority, the README's
// defaults: nothing tuned but HUBSPOT_REQUESTS_PER_10S). The load comes from a separate process
// (bench/support/open-loop-client.ts): one event per request, open loop, latency from each request's
// due time. HubSpot figures come from the sandbox's own counters (a snapshot taken once the worker is
// up, so its start-up property checks are not counted) and its own view of the contacts.
//
// Scenarios:
//   lifted   HubSpot limit lifted (sandbox and HUBSPOT_REQUESTS_PER_10S = 100000); follows of new
//            friends at each --rates for --seconds: ack p50/p99/max, non-200, exactly one contact per
//            friend, event→contact latency (contact createdAt − request due time), ack ÷ a bare
//            Fastify route (same client, same rate, same run), highest sustained rate of those run.
//   limited  HubSpot at 100 requests / 10 s (sandbox and config): --limited-follows new friends at
//            200/s (last send → all contacts ≤ 30 s, HubSpot requests per new friend ≤ 0.03, 0 × 429);
//            then --limited-messages text messages from --known-friends known friends at 200/s
//            (HubSpot requests per message ≤ 0.02).
//   cost     Temporal history events and billed actions per friend event, at 1/s and at 200/s, from
//            the histories of every workflow of the step's channel (LineChannelId = "<channel>").
//            Targets at 200/s: ≤ 3 history events and ≤ 0.5 actions per event.
//   import   --import-friends seeded in the sandbox LINE, HubSpot at 100 / 10 s, the import started
//            with live follows at --import-live-rate beside it for its whole duration: both complete,
//            import friends/s ÷ the ceiling (≥ 0.9), 0 × 429, the live follows' event→contact p99.
//
// Results: printed, and written to bench/results/road-<timestamp>.json and road-latest.json. Each
// follow step also prints a per-second timeline and the writer's runs with their slow or failed
// workflow tasks; ROAD_SAVE_WRITER_HISTORY=<path prefix> saves those runs' histories for a replay.
// Absolute numbers depend on the machine and whatever else runs on it; compare ratios within a run.
import { sdkLogCounts } from './support/runtime.ts'; // first: installs the SDK runtime's logger
import Fastify, { type FastifyInstance } from 'fastify';
import type { ChildProcess } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Client } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import { DEFAULT_BATCH_POLICY } from '../src/batching/policy.ts';
import { handled } from '../src/cli/import-progress.ts';
import type { Config } from '../src/config.ts';
import { batchFriendsFor, inboxStateQuery, type InboxState } from '../src/contracts.ts';
import { signLineBody } from '../src/line/signature.ts';
import type { WebhookEvent } from '../src/line/webhook-events.ts';
import type { SandboxStats } from '../src/sandbox/hubspot.ts';
import { followEvent, newLineUserId, SANDBOX_LINE_CHANNEL_SECRET, textMessageEvent, webhookBody } from '../src/sandbox/line-webhook.ts';
import { startServer, type RunningServer } from '../src/service.ts';
import { getImportProgress, startImport, type ImportStatus } from '../src/temporal/import-client.ts';
import { inboxWorkflowId } from '../src/temporal/ids.ts';
import { hubspotActivitiesPerSecond } from '../src/temporal/worker.ts';
import { killHard, startChildWorker } from '../test/support/child-worker.ts';
import { call } from '../test/support/sandbox-http.ts';
import { startStack, type Stack } from '../test/support/stack.ts';
import { LoadClient, type OpenLoopRequest, type OpenLoopResult } from './support/load-client.ts';

// ---------------------------------------------------------------------------------------------
// Options

const SCENARIOS = ['lifted', 'limited', 'cost', 'import'] as const;
type Scenario = (typeof SCENARIOS)[number];

const HELP = `usage: npm run bench:road -- [options]
  --scenario lifted,limited,cost,import   which scenarios (default all), comma-separated
  --seconds 20             lifted: length of each rate's step
  --rates 200,400          lifted: follows per second, one step each (add higher ones to look for the highest sustained rate)
  --bare-seconds 10        lifted: length of the bare-Fastify run at each rate (0: none)
  --limited-follows 2000   limited: new friends' follows at 200/s
  --known-friends 200      limited: friends seeded (by follows) before the messages
  --limited-messages 2000  limited: text messages from the known friends at 200/s
  --cost-slow 30           cost: events at 1/s
  --cost-fast 2000         cost: events at 200/s
  --import-friends 20000   import: friends seeded in the sandbox LINE
  --import-live-rate 20    import: live follows per second beside the import
  --drain-timeout 120      most seconds to wait for a step's events to reach HubSpot
  --timeout-ms 10000       per request
  --max-sockets 512        client sockets at most`;

const { values: flags } = (() => {
  try {
    return parseArgs({
      options: {
        scenario: { type: 'string', default: SCENARIOS.join(',') },
        seconds: { type: 'string', default: '20' },
        rates: { type: 'string', default: '200,400' },
        'bare-seconds': { type: 'string', default: '10' },
        'limited-follows': { type: 'string', default: '2000' },
        'known-friends': { type: 'string', default: '200' },
        'limited-messages': { type: 'string', default: '2000' },
        'cost-slow': { type: 'string', default: '30' },
        'cost-fast': { type: 'string', default: '2000' },
        'import-friends': { type: 'string', default: '20000' },
        'import-live-rate': { type: 'string', default: '20' },
        'drain-timeout': { type: 'string', default: '120' },
        'timeout-ms': { type: 'string', default: '10000' },
        'max-sockets': { type: 'string', default: '512' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${HELP}`);
    process.exit(2);
  }
})();
if (flags.help) {
  console.log(HELP);
  process.exit(0);
}

function num(name: string, text: string, { zero = false } = {}): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value < 0 || (!zero && value === 0)) {
    console.error(`--${name} must be a number${zero ? '' : ' above 0'}, not "${text}"\n\n${HELP}`);
    process.exit(2);
  }
  return value;
}

const scenarios = flags.scenario
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean) as Scenario[];
for (const s of scenarios) {
  if (!SCENARIOS.includes(s)) {
    console.error(`unknown scenario "${s}" (one of ${SCENARIOS.join(', ')})\n\n${HELP}`);
    process.exit(2);
  }
}
const options = {
  scenarios,
  seconds: num('seconds', flags.seconds),
  rates: flags.rates.split(',').map((r) => num('rates', r.trim())),
  bareSeconds: num('bare-seconds', flags['bare-seconds'], { zero: true }),
  limitedFollows: Math.round(num('limited-follows', flags['limited-follows'])),
  knownFriends: Math.round(num('known-friends', flags['known-friends'])),
  limitedMessages: Math.round(num('limited-messages', flags['limited-messages'])),
  costSlow: Math.round(num('cost-slow', flags['cost-slow'])),
  costFast: Math.round(num('cost-fast', flags['cost-fast'])),
  importFriends: Math.round(num('import-friends', flags['import-friends'])),
  importLiveRate: num('import-live-rate', flags['import-live-rate']),
  drainTimeoutMs: num('drain-timeout', flags['drain-timeout']) * 1000,
  timeoutMs: Math.round(num('timeout-ms', flags['timeout-ms'])),
  maxSockets: Math.round(num('max-sockets', flags['max-sockets'])),
};

const LIFTED_PER_10S = 100_000;
const LIMITED_PER_10S = 100;
const LIMITED_RATE = 200;
const COST_FAST_RATE = 200;
/** a lifted step is "sustained" when all its friends got exactly one contact, every answer was 200, and event→contact latency did not grow by more than this over the step */
const SUSTAINED_GROWTH_MS = 1000;

const log = (line: string) => console.log(`[road] ${line}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const RUN_STAMP = Date.now().toString(36);

// ---------------------------------------------------------------------------------------------
// Figures

interface Dist {
  n: number;
  p50: number | null;
  p99: number | null;
  max: number | null;
  mean: number | null;
}
const round = (v: number | null | undefined, digits = 1): number | null => (v !== null && v !== undefined && Number.isFinite(v) ? Number(v.toFixed(digits)) : null);
function dist(values: number[]): Dist {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  const at = (p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]! : NaN);
  const mean = sorted.length ? sorted.reduce((s, v) => s + v, 0) / sorted.length : NaN;
  return { n: sorted.length, p50: round(at(50)), p99: round(at(99)), max: round(sorted[sorted.length - 1] ?? NaN), mean: round(mean) };
}
const ratio = (a: number | null | undefined, b: number | null | undefined) => (a != null && b != null && b > 0 ? round(a / b, 2) : null);

interface Verdict {
  scenario: Scenario;
  target: string;
  measured: string | number | null;
  pass: boolean;
}
const verdicts: Verdict[] = [];
function judge(scenario: Scenario, target: string, measured: number | string | null, pass: boolean): void {
  verdicts.push({ scenario, target, measured, pass });
  log(`${pass ? 'PASS' : 'FAIL'} ${scenario}: ${target} — measured ${measured ?? 'n/a'}`);
}

function table(rows: Array<Array<unknown>>, header: string[]): string {
  const cells = [header, ...rows.map((r) => r.map((c) => (c === null || c === undefined ? '-' : String(c))))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells
    .map((r, k) => {
      const line = r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
      return k === 0 ? `${line}\n${widths.map((w) => '─'.repeat(w)).join('  ')}` : line;
    })
    .join('\n');
}

// ---------------------------------------------------------------------------------------------
// Requests and load

function signed(event: WebhookEvent): OpenLoopRequest {
  const body = JSON.stringify(webhookBody([event]));
  return { body, headers: { 'content-type': 'application/json; charset=utf-8', 'user-agent': 'LineBotWebhook/2.0', 'x-line-signature': signLineBody(body, SANDBOX_LINE_CHANNEL_SECRET) } };
}
const freshUserIds = (n: number) => Array.from({ length: n }, () => newLineUserId());
async function seedFriends(lineUrl: string, userIds: string[]): Promise<void> {
  for (let i = 0; i < userIds.length; i += 5000) await call('POST', `${lineUrl}/_sandbox/friends`, { friends: userIds.slice(i, i + 5000).map((userId) => ({ userId })) });
}

interface LoadFigures {
  rate: number;
  sent: number;
  achievedRate: number | null;
  ackMs: Dist;
  non200: number;
  statuses: Record<string, number>;
  errors: Record<string, number>;
  sendLagMs: { p50: number | null; p99: number | null; max: number | null };
  maxInFlight: number;
}

let loadClient: LoadClient | undefined;
async function load(url: string, rate: number, requests: OpenLoopRequest[]): Promise<{ figures: LoadFigures; result: OpenLoopResult }> {
  const result = await loadClient!.run({ url, rate, requests, timeoutMs: options.timeoutMs, maxSockets: options.maxSockets });
  const statuses: Record<string, number> = {};
  for (const s of result.status) statuses[String(s)] = (statuses[String(s)] ?? 0) + 1;
  return {
    result,
    figures: {
      rate,
      sent: result.status.length,
      achievedRate: round(result.achievedRate),
      ackMs: dist(result.latencyMs),
      non200: result.status.filter((s) => s !== 200).length,
      statuses,
      errors: result.errors,
      sendLagMs: { p50: round(result.sendLagMs.p50, 2), p99: round(result.sendLagMs.p99, 2), max: round(result.sendLagMs.max, 2) },
      maxInFlight: result.maxInFlight,
    },
  };
}

let bare: { app: FastifyInstance; url: string } | undefined;
async function startBareApp(): Promise<{ app: FastifyInstance; url: string }> {
  const app = Fastify({ logger: false, bodyLimit: 1024 * 1024 });
  app.post('/bare', async () => ({ ok: true }));
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  return { app, url: `${address}/bare` };
}

// ---------------------------------------------------------------------------------------------
// Stack and services

async function newStack(requestsPer10s: number): Promise<Stack> {
  const stack = await startStack({
    hubspot: { requestsPer10s, dailyLimit: 0 },
    env: { HUBSPOT_REQUESTS_PER_10S: String(requestsPer10s) },
  });
  // Each step brings its own worker in its own process; the stack's in-process one would only compete.
  await stack.stopWorker();
  return stack;
}

interface Service {
  name: string;
  config: Config;
  url: string;
  server: RunningServer;
  worker: ChildProcess;
  /** the worker process's last output (errors, warnings) */
  workerTail(): string;
  stop(): Promise<void>;
}

const services = new Set<Service>();
async function startService(stack: Stack, name: string): Promise<Service> {
  const id = `${name}-${RUN_STAMP}`;
  const config: Config = { ...stack.config, taskQueue: id, lineChannelId: id };
  const worker = await startChildWorker(config);
  let tail = '';
  const keep = (chunk: Buffer) => (tail = (tail + chunk.toString()).slice(-6000));
  worker.stdout?.on('data', keep);
  worker.stderr?.on('data', keep);
  const server = await startServer(config).catch(async (error: unknown) => {
    await killHard(worker);
    throw error;
  });
  let stopped: Promise<void> | undefined;
  const service: Service = {
    name: id,
    config,
    url: server.url,
    server,
    worker,
    workerTail: () => tail,
    stop: () =>
      (stopped ??= (async () => {
        services.delete(service);
        await Promise.all([server.stop().catch(() => {}), killHard(worker)]);
      })()),
  };
  services.add(service);
  return service;
}

const hubspotStats = (stack: Stack) => stack.hubspot.controls.stats() as SandboxStats;
const BATCH_ENDPOINTS = ['POST /crm/v3/objects/contacts/batch/read', 'POST /crm/v3/objects/contacts/batch/create', 'POST /crm/v3/objects/contacts/batch/update'];
function statsDelta(after: SandboxStats, before: SandboxStats) {
  const endpoints: Record<string, number> = {};
  for (const [k, v] of Object.entries(after.endpoints)) if (v - (before.endpoints[k] ?? 0) !== 0) endpoints[k] = v - (before.endpoints[k] ?? 0);
  const statuses: Record<string, number> = {};
  for (const [k, v] of Object.entries(after.statuses)) if (v - (before.statuses[k] ?? 0) !== 0) statuses[k] = v - (before.statuses[k] ?? 0);
  return {
    total: after.total - before.total,
    batchRequests: BATCH_ENDPOINTS.reduce((s, e) => s + (endpoints[e] ?? 0), 0),
    rateLimited: after.rateLimited - before.rateLimited,
    endpoints,
    statuses,
    /** over the sandbox's whole life (not only this step) */
    maxRequestsIn10s: after.maxRequestsIn10s,
  };
}

interface ContactView {
  count: Map<string, number>;
  createdAt: Map<string, number>;
  updatedAt: Map<string, number>;
  total: number;
}
function contactView(stack: Stack): ContactView {
  const { contacts } = stack.hubspot.controls.listContacts({ limit: 1_000_000_000 });
  const view: ContactView = { count: new Map(), createdAt: new Map(), updatedAt: new Map(), total: contacts.length };
  for (const c of contacts) {
    const userId = c.properties['line_user_id'];
    if (!userId) continue;
    view.count.set(userId, (view.count.get(userId) ?? 0) + 1);
    view.createdAt.set(userId, Math.min(view.createdAt.get(userId) ?? Infinity, Date.parse(c.createdAt)));
    view.updatedAt.set(userId, Math.max(view.updatedAt.get(userId) ?? 0, Date.parse(c.updatedAt)));
  }
  return view;
}
function tally(userIds: string[], view: ContactView) {
  let missing = 0;
  let duplicated = 0;
  for (const id of userIds) {
    const n = view.count.get(id) ?? 0;
    if (n === 0) missing++;
    if (n > 1) duplicated++;
  }
  return { friends: userIds.length, exactlyOnce: userIds.length - missing - duplicated, missing, duplicated };
}

async function writerState(client: Client, channelId: string): Promise<InboxState | undefined> {
  try {
    return await client.withDeadline(Date.now() + 5000, () => client.workflow.getHandle(inboxWorkflowId(channelId, 0)).query(inboxStateQuery));
  } catch {
    return undefined;
  }
}

/** Waits until the writer has applied (or failed) `received` events and holds none, or the deadline; returns its last state. */
async function waitForWriter(client: Client, channelId: string, received: number, deadline: number): Promise<{ state: InboxState | undefined; caughtUp: boolean }> {
  let state: InboxState | undefined;
  for (;;) {
    state = await writerState(client, channelId);
    if (state && state.received + state.duplicatesIgnored >= received && state.backlog === 0 && state.batchesInFlight === 0 && state.importBacklog === 0) return { state, caughtUp: true };
    if (Date.now() > deadline) return { state, caughtUp: false };
    await sleep(250);
  }
}

/** Waits until every one of `userIds` has a contact (sandbox view), or the deadline. */
async function waitForContacts(stack: Stack, userIds: string[], deadline: number): Promise<ContactView> {
  for (;;) {
    const view = contactView(stack);
    if (tally(userIds, view).missing === 0 || Date.now() > deadline) return view;
    await sleep(500);
  }
}

/** What a step that did not finish left behind: the writer's state, its batches' states, the worker's output. */
const diagnoses: Array<Record<string, unknown>> = [];
async function diagnose(stack: Stack, service: Service, state: InboxState | undefined): Promise<void> {
  const byStatus: Record<string, number> = {};
  const open: string[] = [];
  try {
    for await (const e of stack.client.workflow.list({ query: `LineChannelId = "${service.config.lineChannelId}"` })) {
      const key = `${e.workflowId.split('/')[0]} ${e.status.name}`;
      byStatus[key] = (byStatus[key] ?? 0) + 1;
      if (e.status.name === 'RUNNING' && open.length < 5) open.push(`${e.workflowId} (history ${e.historyLength})`);
    }
  } catch (error) {
    byStatus['list failed'] = 1;
    open.push((error as Error).message);
  }
  const d = { channel: service.config.lineChannelId, at: new Date().toISOString(), writer: state, workflows: byStatus, open, workerTail: service.workerTail().slice(-3000) };
  diagnoses.push(d);
  log(`DIAGNOSIS ${service.config.lineChannelId}: writer ${JSON.stringify(state)}; workflows ${JSON.stringify(byStatus)}; running ${open.join(', ')}`);
  log(`worker output tail:\n${d.workerTail.slice(-1500)}`);
}

// ---------------------------------------------------------------------------------------------
// A step of follows of new friends

interface FollowStep {
  channel: string;
  rate: number;
  webhook: LoadFigures;
  delivery: ReturnType<typeof tally> & { allThere: boolean; missingAmongAnswered200: number };
  /** due time of the request → contact created in the sandbox */
  eventToContactMs: Dist;
  /** last request's due time → last contact created */
  lastSendToAllContactsMs: number | null;
  /** event→contact median of the step's last tenth minus that of its first tenth */
  latencyGrowthMs: number | null;
  /** per second of due time: events, event→contact p50 and max, ack max (where the tail comes from) */
  /** the writer's runs (continue-as-new), in seconds from the step's first due time */
  writerRuns: Array<{ startS: number; closeS: number | null; historyEvents: number; tasks: number; slowTasks: string[] }>;
  timeline: Array<{ second: number; sent: number; e2cP50: number | null; e2cMax: number | null; ackMax: number | null }>;
  hubspot: ReturnType<typeof statsDelta>;
  writer: InboxState | undefined;
  writerCaughtUp: boolean;
}

async function followStep(stack: Stack, service: Service, rate: number, n: number): Promise<FollowStep & { userIds: string[]; result: OpenLoopResult }> {
  const userIds = freshUserIds(n);
  await seedFriends(stack.line.url, userIds);
  const requests = userIds.map((id) => signed(followEvent(id)));
  await sleep(300);
  const before = hubspotStats(stack);
  const { figures, result } = await load(`${service.url}/webhooks/line`, rate, requests);
  const accepted = result.status.filter((s) => s === 200).length;
  const deadline = Date.now() + options.drainTimeoutMs;
  const writer = await waitForWriter(stack.client, service.config.lineChannelId, accepted, deadline);
  const view = await waitForContacts(stack, userIds, Math.min(deadline, Date.now() + 5000));
  const after = hubspotStats(stack);
  const counts = tally(userIds, view);
  if (!writer.caughtUp || counts.missing > 0) await diagnose(stack, service, writer.state);
  const created = userIds.map((id) => view.createdAt.get(id) ?? NaN);
  const e2e = created.map((c, i) => c - result.dueAtEpochMs[i]!);
  const tenth = Math.max(1, Math.floor(n / 10));
  const allThere = counts.missing === 0;
  const lastCreated = Math.max(...created.filter(Number.isFinite));
  return {
    channel: service.config.lineChannelId,
    rate,
    webhook: figures,
    delivery: { ...counts, allThere, missingAmongAnswered200: userIds.filter((id, i) => result.status[i] === 200 && !view.count.has(id)).length },
    eventToContactMs: dist(e2e),
    lastSendToAllContactsMs: allThere ? Math.round(lastCreated - result.dueAtEpochMs[n - 1]!) : null,
    latencyGrowthMs: allThere ? round((dist(e2e.slice(-tenth)).p50 ?? NaN) - (dist(e2e.slice(0, tenth)).p50 ?? NaN), 0) : null,
    timeline: timelineOf(result.dueAtEpochMs, e2e, result.latencyMs),
    writerRuns: await writerRuns(stack.client, service.config.lineChannelId, Math.min(...result.dueAtEpochMs)),
    hubspot: statsDelta(after, before),
    writer: writer.state,
    writerCaughtUp: writer.caughtUp,
    userIds,
    result,
  };
}

async function writerRuns(client: Client, channelId: string, t0: number): Promise<FollowStep['writerRuns']> {
  const runs: FollowStep['writerRuns'] = [];
  for await (const w of client.workflow.list({ query: `WorkflowId = "${inboxWorkflowId(channelId, 0)}"` })) {
    // Workflow tasks of the run: when each was scheduled, started and completed (where a stall comes from).
    const history = await client.workflow.getHandle(w.workflowId, w.runId).fetchHistory();
    const events = history.events ?? [];
    if (process.env.ROAD_SAVE_WRITER_HISTORY) {
      const { encodeHistory } = await import('../test/support/record-histories.ts');
      await writeFile(
        `${process.env.ROAD_SAVE_WRITER_HISTORY}-${runs.length}.json`,
        JSON.stringify({ workflowId: w.workflowId, runId: w.runId, type: w.type, status: w.status.name, events: events.length, history: encodeHistory(history) }),
      );
    }
    const at = (e: (typeof events)[number]) => Number(e.eventTime?.seconds ?? 0) * 1000 + Math.round((e.eventTime?.nanos ?? 0) / 1e6);
    let scheduled = 0;
    let started = 0;
    const slow: string[] = [];
    let tasks = 0;
    for (const e of events) {
      if (e.workflowTaskScheduledEventAttributes) scheduled = at(e);
      else if (e.workflowTaskStartedEventAttributes) started = at(e);
      else if (e.workflowTaskCompletedEventAttributes || e.workflowTaskFailedEventAttributes || e.workflowTaskTimedOutEventAttributes) {
        tasks++;
        const wait = started - scheduled;
        const work = at(e) - started;
        if (wait > 300 || work > 300 || !e.workflowTaskCompletedEventAttributes)
          slow.push(`${((scheduled - t0) / 1000).toFixed(1)}s wait ${wait} work ${work}${e.workflowTaskCompletedEventAttributes ? '' : ' FAILED'}`);
      }
    }
    runs.push({
      startS: round((w.startTime.getTime() - t0) / 1000, 2) ?? 0,
      closeS: w.closeTime ? round((w.closeTime.getTime() - t0) / 1000, 2) : null,
      historyEvents: events.length,
      tasks,
      slowTasks: slow,
    });
  }
  return runs.sort((a, b) => a.startS - b.startS);
}

/** Per second of due time: how many were sent, their event→contact p50 and max, and the slowest ack. */
function timelineOf(due: number[], e2e: number[], ack: number[]): FollowStep['timeline'] {
  const start = Math.min(...due);
  const seconds = new Map<number, number[]>();
  due.forEach((d, i) => {
    const second = Math.floor((d - start) / 1000);
    seconds.set(second, [...(seconds.get(second) ?? []), i]);
  });
  return [...seconds]
    .sort(([a], [b]) => a - b)
    .map(([second, idx]) => {
      const e = dist(idx.map((i) => e2e[i]!));
      return { second, sent: idx.length, e2cP50: e.p50, e2cMax: e.max, ackMax: dist(idx.map((i) => ack[i]!)).max };
    });
}

const stripRun = <T extends { userIds: string[]; result: OpenLoopResult }>({ userIds: _u, result: _r, ...rest }: T) => rest;

// ---------------------------------------------------------------------------------------------
// Scenario 1: lifted

async function lifted() {
  const stack = await newStack(LIFTED_PER_10S);
  try {
    // Warm-up (JIT, sockets, workflow cache) on a service of its own; not reported.
    {
      const warm = await startService(stack, 'road-lifted-warmup');
      try {
        await followStep(stack, warm, 50, 100);
        if (options.bareSeconds > 0)
          await load(
            bare!.url,
            50,
            freshUserIds(100).map((id) => signed(followEvent(id))),
          );
      } finally {
        await warm.stop();
      }
    }
    const steps: Array<FollowStep & { bare: LoadFigures | null; ackToBare: { p50: number | null; p99: number | null; max: number | null }; sustained: boolean }> = [];
    for (const rate of options.rates) {
      let bareFigures: LoadFigures | null = null;
      if (options.bareSeconds > 0) {
        bareFigures = (
          await load(
            bare!.url,
            rate,
            freshUserIds(Math.round(rate * options.bareSeconds)).map((id) => signed(followEvent(id))),
          )
        ).figures;
      }
      const service = await startService(stack, `road-lifted-${rate}`);
      let step;
      try {
        step = stripRun(await followStep(stack, service, rate, Math.round(rate * options.seconds)));
      } finally {
        await service.stop();
      }
      log(
        `lifted ${rate}/s timeline (second: e→c max s / ack max ms): ` +
          step.timeline.map((t) => `${t.second}:${((t.e2cMax ?? NaN) / 1000).toFixed(1)}/${Math.round(t.ackMax ?? NaN)}`).join(' ') +
          `; writer runs: ${step.writerRuns.map((r) => `${r.startS}–${r.closeS ?? '…'} s, ${r.historyEvents} events, ${r.tasks} tasks, slow: ${r.slowTasks.join(', ') || 'none'}`).join(' | ')}`,
      );
      const sustained = step.delivery.exactlyOnce === step.delivery.friends && step.webhook.non200 === 0 && (step.latencyGrowthMs ?? Infinity) <= SUSTAINED_GROWTH_MS;
      const full = {
        ...step,
        bare: bareFigures,
        ackToBare: {
          p50: ratio(step.webhook.ackMs.p50, bareFigures?.ackMs.p50),
          p99: ratio(step.webhook.ackMs.p99, bareFigures?.ackMs.p99),
          max: ratio(step.webhook.ackMs.max, bareFigures?.ackMs.max),
        },
        sustained,
      };
      steps.push(full);
      const w = step.webhook.ackMs;
      log(
        `lifted ${rate}/s: ${step.webhook.sent} sent at ${step.webhook.achievedRate}/s; ack p50 ${w.p50} p99 ${w.p99} max ${w.max} ms (bare p50 ${bareFigures?.ackMs.p50 ?? '-'} p99 ${bareFigures?.ackMs.p99 ?? '-'}); ` +
          `non-200 ${step.webhook.non200}; ${step.delivery.exactlyOnce}/${step.delivery.friends} exactly once (missing ${step.delivery.missing}, of them answered 200: ${step.delivery.missingAmongAnswered200}; dup ${step.delivery.duplicated}); ` +
          `event→contact p50 ${step.eventToContactMs.p50} p99 ${step.eventToContactMs.p99} ms; growth ${step.latencyGrowthMs} ms; HubSpot requests ${step.hubspot.total}`,
      );
    }
    console.log(`\nlifted: HubSpot limit lifted (${LIFTED_PER_10S}/10 s), follows of new friends, ${options.seconds} s per rate (bare: ${options.bareSeconds} s)`);
    console.log(
      table(
        steps.map((s) => [
          s.rate,
          s.webhook.sent,
          s.webhook.achievedRate,
          s.webhook.ackMs.p50,
          s.webhook.ackMs.p99,
          s.webhook.ackMs.max,
          s.bare?.ackMs.p50,
          s.bare?.ackMs.p99,
          s.bare?.ackMs.max,
          s.ackToBare.p50,
          s.ackToBare.p99,
          s.webhook.non200,
          `${s.delivery.exactlyOnce}/${s.delivery.friends}`,
          s.delivery.duplicated,
          s.eventToContactMs.p50,
          s.eventToContactMs.p99,
          s.latencyGrowthMs,
          s.hubspot.total,
          s.sustained ? 'yes' : 'no',
        ]),
        [
          'rate/s',
          'sent',
          'achieved',
          'ack p50',
          'ack p99',
          'ack max',
          'bare p50',
          'bare p99',
          'bare max',
          '÷bare p50',
          '÷bare p99',
          'non-200',
          'exactly 1',
          'dup',
          'e→c p50',
          'e→c p99',
          'growth',
          'HS reqs',
          'sustained',
        ],
      ),
    );
    console.log('  ms; e→c: request due time → contact createdAt in the sandbox; growth: e→c median of the last tenth − first tenth');
    for (const s of steps) {
      judge('lifted', `${s.rate}/s: every answer 200`, s.webhook.non200, s.webhook.non200 === 0);
      judge('lifted', `${s.rate}/s: no event answered 200 lost`, s.delivery.missingAmongAnswered200, s.delivery.missingAmongAnswered200 === 0);
      judge(
        'lifted',
        `${s.rate}/s: every friend exactly one contact`,
        `${s.delivery.exactlyOnce}/${s.delivery.friends} (missing ${s.delivery.missing}, dup ${s.delivery.duplicated})`,
        s.delivery.exactlyOnce === s.delivery.friends,
      );
      judge('lifted', `${s.rate}/s: ack p99 < 100 ms`, s.webhook.ackMs.p99, (s.webhook.ackMs.p99 ?? Infinity) < 100);
      if (s.rate === 200) judge('lifted', '200/s: event→contact p99 < 5 s', s.eventToContactMs.p99, (s.eventToContactMs.p99 ?? Infinity) < 5000);
    }
    const sustained = steps.filter((s) => s.sustained).map((s) => s.rate);
    return { steps, highestSustainedRateOfThoseRun: sustained.length ? Math.max(...sustained) : null, ratesRun: options.rates };
  } finally {
    await stack.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// Scenario 2: limited

/**
 * HubSpot requests per message that the batching rules (src/batching/policy.ts) give for `messages`
 * sent round-robin by `friends` friends at `rate`/s while the writer keeps up, when a friend's messages
 * come further apart than a batch waits (so no batch holds two of one friend): every batch costs a read
 * and an update and holds at most `maxFriends` messages, and the first message goes alone (the writer
 * was idle). Fewer only when batches back up and a friend's messages fold. Null when they can fold anyway.
 */
function keptUpRequestsPerMessage(messages: number, friends: number, rate: number, maxFriends: number): number | null {
  if ((friends / rate) * 1000 < DEFAULT_BATCH_POLICY.lingerMs || messages < 1) return null;
  const batches = 1 + Math.ceil((messages - 1) / Math.min(friends, maxFriends));
  return round((2 * batches) / messages, 4);
}

async function limited() {
  const stack = await newStack(LIMITED_PER_10S);
  try {
    // Part A: new friends
    const a = await startService(stack, 'road-limited-follows');
    let follows;
    try {
      follows = stripRun(await followStep(stack, a, LIMITED_RATE, options.limitedFollows));
    } finally {
      await a.stop();
    }
    const perNewFriend = follows.hubspot.total / options.limitedFollows;
    log(
      `limited follows: ${follows.webhook.sent} at ${follows.webhook.achievedRate}/s, ack p50 ${follows.webhook.ackMs.p50} p99 ${follows.webhook.ackMs.p99} ms, non-200 ${follows.webhook.non200}; ` +
        `${follows.delivery.exactlyOnce}/${follows.delivery.friends} exactly once; last send → all contacts ${follows.lastSendToAllContactsMs} ms; ` +
        `HubSpot ${follows.hubspot.total} requests (${JSON.stringify(follows.hubspot.endpoints)}), 429 ${follows.hubspot.rateLimited}`,
    );

    // Part B: messages from known friends
    const b = await startService(stack, 'road-limited-messages');
    let messages;
    try {
      const friends = freshUserIds(options.knownFriends);
      await seedFriends(stack.line.url, friends);
      const seedLoad = await load(
        `${b.url}/webhooks/line`,
        50,
        friends.map((id) => signed(followEvent(id))),
      );
      const seeded = await waitForWriter(stack.client, b.config.lineChannelId, seedLoad.result.status.filter((s) => s === 200).length, Date.now() + options.drainTimeoutMs);
      const seedView = await waitForContacts(stack, friends, Date.now() + 10_000);
      const seedCounts = tally(friends, seedView);
      await sleep(1000);
      const before = hubspotStats(stack);
      const stateBefore = await writerState(stack.client, b.config.lineChannelId);
      const events = Array.from({ length: options.limitedMessages }, (_, i) => textMessageEvent(friends[i % friends.length]!, `message ${i}`));
      const { figures, result } = await load(`${b.url}/webhooks/line`, LIMITED_RATE, events.map(signed));
      const accepted = result.status.filter((s) => s === 200).length;
      const expected = (stateBefore ? stateBefore.received + stateBefore.duplicatesIgnored : 0) + accepted;
      const writer = await waitForWriter(stack.client, b.config.lineChannelId, expected, Date.now() + options.drainTimeoutMs);
      const doneAt = Date.now();
      const after = hubspotStats(stack);
      const view = contactView(stack);
      const hubspot = statsDelta(after, before);
      messages = {
        channel: b.config.lineChannelId,
        knownFriends: { ...seedCounts, seedWriterCaughtUp: seeded.caughtUp },
        webhook: figures,
        writerCaughtUp: writer.caughtUp,
        applied: writer.state && stateBefore ? writer.state.applied - stateBefore.applied : null,
        failed: writer.state && stateBefore ? writer.state.failed - stateBefore.failed : null,
        batches: writer.state && stateBefore ? writer.state.batches - stateBefore.batches : null,
        /** last request due → the writer reported every message applied (polled every 250 ms) */
        lastSendToAppliedMs: Math.round(doneAt - result.dueAtEpochMs[result.dueAtEpochMs.length - 1]!),
        contactsAfter: tally(friends, view),
        hubspot,
        requestsPerMessage: round(hubspot.total / options.limitedMessages, 4),
        keptUpRequestsPerMessage: keptUpRequestsPerMessage(options.limitedMessages, friends.length, LIMITED_RATE, batchFriendsFor(b.config.temporalSearchAttributeValueLimit ?? 2048)),
      };
      log(
        `limited messages: ${figures.sent} at ${figures.achievedRate}/s from ${friends.length} known friends, ack p50 ${figures.ackMs.p50} p99 ${figures.ackMs.p99} ms, non-200 ${figures.non200}; ` +
          `applied ${messages.applied}, failed ${messages.failed} in ${messages.batches} batches; HubSpot ${hubspot.total} requests (${JSON.stringify(hubspot.endpoints)}), 429 ${hubspot.rateLimited}`,
      );
    } finally {
      await b.stop();
    }
    const end = hubspotStats(stack);
    console.log(`\nlimited: HubSpot at ${LIMITED_PER_10S} requests / 10 s (sandbox and HUBSPOT_REQUESTS_PER_10S; worker ${hubspotActivitiesPerSecond(LIMITED_PER_10S)} HubSpot activities/s)`);
    console.log(
      table(
        [
          [
            'new-friend follows',
            follows.webhook.sent,
            follows.webhook.achievedRate,
            follows.webhook.ackMs.p50,
            follows.webhook.ackMs.p99,
            follows.webhook.non200,
            `${follows.delivery.exactlyOnce}/${follows.delivery.friends}`,
            follows.lastSendToAllContactsMs,
            follows.hubspot.total,
            round(perNewFriend, 4),
            follows.hubspot.rateLimited,
          ],
          [
            'known-friend messages',
            messages.webhook.sent,
            messages.webhook.achievedRate,
            messages.webhook.ackMs.p50,
            messages.webhook.ackMs.p99,
            messages.webhook.non200,
            `${messages.applied}/${messages.webhook.sent} applied`,
            messages.lastSendToAppliedMs,
            messages.hubspot.total,
            messages.requestsPerMessage,
            messages.hubspot.rateLimited,
          ],
        ],
        ['step', 'sent', 'achieved', 'ack p50', 'ack p99', 'non-200', 'delivered', 'last send→done ms', 'HS reqs', 'HS reqs/event', '429'],
      ),
    );
    console.log(`  sandbox: most requests in any rolling 10 s over the scenario ${end.maxRequestsIn10s} (limit ${LIMITED_PER_10S})`);
    if (messages.keptUpRequestsPerMessage !== null)
      console.log(
        `  messages: what the batching rules give for this load while the writer keeps up: ${messages.keptUpRequestsPerMessage} HubSpot requests per message (a friend's messages come ${round(options.knownFriends / LIMITED_RATE, 2)} s apart, longer than a batch waits, so no batch holds two of one friend; the first message goes alone)`,
      );
    judge('limited', 'follows: every new friend exactly one contact', `${follows.delivery.exactlyOnce}/${follows.delivery.friends}`, follows.delivery.exactlyOnce === follows.delivery.friends);
    judge(
      'limited',
      'follows: last send → every contact in HubSpot ≤ 30 s',
      follows.lastSendToAllContactsMs === null ? 'not all there' : `${round(follows.lastSendToAllContactsMs / 1000)} s`,
      follows.lastSendToAllContactsMs !== null && follows.lastSendToAllContactsMs <= 30_000,
    );
    judge('limited', 'follows: HubSpot requests per new friend ≤ 0.03', round(perNewFriend, 4), perNewFriend <= 0.03);
    judge('limited', 'follows: 0 × 429', follows.hubspot.rateLimited, follows.hubspot.rateLimited === 0);
    judge('limited', 'messages: all applied', `${messages.applied}/${messages.webhook.sent}`, messages.writerCaughtUp && messages.applied === messages.webhook.sent);
    judge('limited', 'messages: HubSpot requests per message ≤ 0.02', messages.requestsPerMessage, (messages.requestsPerMessage ?? Infinity) <= 0.02);
    judge('limited', 'messages: 0 × 429', messages.hubspot.rateLimited, messages.hubspot.rateLimited === 0);
    return { follows: { ...follows, requestsPerNewFriend: round(perNewFriend, 4) }, messages, maxRequestsIn10s: end.maxRequestsIn10s };
  } finally {
    await stack.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// Scenario 3: cost (history events and billed actions)

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

interface Cost {
  runs: number;
  historyEvents: number;
  actions: number;
  actionsByKind: Record<string, number>;
}

/**
 * Actions as Temporal Cloud bills them, from one run's history (../shared/spec/vendor-apis.md "Temporal"):
 * start (client start, signal-with-start, continue-as-new) 1 — a child's start is counted once, at its
 * parent (StartChildWorkflowExecutionInitiated); a signal-with-start that started the run is 1 for
 * both the start and its signal; signal 1; child start 1; timer 1; activity start 1 and each retry
 * attempt 1; all local activities of one workflow task 1; search-attribute upsert 1; signal to another
 * workflow 1. Not in a history, so not counted: queries, heartbeats that reach the server.
 */
function countActions(events: HistoryEvent[]): Record<string, number> {
  const kinds: Record<string, number> = {};
  const add = (kind: string, n = 1) => (kinds[kind] = (kinds[kind] ?? 0) + n);
  const started = events[0]?.workflowExecutionStartedEventAttributes;
  const startedBySignalWithStart = Boolean(started && !started.parentWorkflowExecution && !started.continuedExecutionRunId && events[1]?.workflowExecutionSignaledEventAttributes);
  const localActivityTasks = new Set<string>();
  for (const [index, e] of events.entries()) {
    if (e.workflowExecutionStartedEventAttributes) {
      if (e.workflowExecutionStartedEventAttributes.parentWorkflowExecution) continue; // billed at the parent
      add(e.workflowExecutionStartedEventAttributes.continuedExecutionRunId ? 'continue-as-new start' : startedBySignalWithStart ? 'signal-with-start' : 'workflow start');
    } else if (e.workflowExecutionSignaledEventAttributes) {
      if (index === 1 && startedBySignalWithStart) continue; // the signal of the signal-with-start: one action with the start
      add('signal received');
    } else if (e.startChildWorkflowExecutionInitiatedEventAttributes) add('child workflow start');
    else if (e.timerStartedEventAttributes) add('timer');
    else if (e.activityTaskScheduledEventAttributes) add('activity');
    else if (e.activityTaskStartedEventAttributes) {
      const attempt = e.activityTaskStartedEventAttributes.attempt ?? 1;
      if (attempt > 1) add('activity retry', attempt - 1);
    } else if (e.markerRecordedEventAttributes) {
      const name = e.markerRecordedEventAttributes.markerName ?? '';
      if (/local/i.test(name)) localActivityTasks.add(String(e.markerRecordedEventAttributes.workflowTaskCompletedEventId));
    } else if (e.upsertWorkflowSearchAttributesEventAttributes) add('search-attribute upsert');
    else if (e.signalExternalWorkflowExecutionInitiatedEventAttributes) add('signal sent');
  }
  if (localActivityTasks.size) add('local activities (per workflow task)', localActivityTasks.size);
  return kinds;
}

async function channelCost(client: Client, channelId: string): Promise<{ inbox: Cost; batch: Cost; other: Cost; eventTypes: Record<string, number> }> {
  const empty = (): Cost => ({ runs: 0, historyEvents: 0, actions: 0, actionsByKind: {} });
  const out = { inbox: empty(), batch: empty(), other: empty(), eventTypes: {} as Record<string, number> };
  const mod = (await import('@temporalio/proto')) as unknown as { temporal?: typeof temporal; default?: { temporal: typeof temporal } };
  const proto = (mod.temporal ?? mod.default!.temporal) as typeof temporal;
  const typeName = (t: unknown) => (typeof t === 'number' ? (proto.api.enums.v1.EventType[t] ?? String(t)) : String(t)).replace(/^EVENT_TYPE_/, '');
  for await (const execution of client.workflow.list({ query: `LineChannelId = "${channelId}"` })) {
    const kind = execution.workflowId.startsWith('line-inbox/') ? 'inbox' : execution.workflowId.startsWith('line-batch/') ? 'batch' : 'other';
    const history = await client.workflow.getHandle(execution.workflowId, execution.runId).fetchHistory();
    const events = history.events ?? [];
    const cost = out[kind];
    cost.runs++;
    cost.historyEvents += events.length;
    for (const [k, v] of Object.entries(countActions(events))) {
      cost.actionsByKind[k] = (cost.actionsByKind[k] ?? 0) + v;
      cost.actions += v;
    }
    for (const e of events) {
      const name = `${kind}: ${typeName(e.eventType)}`;
      out.eventTypes[name] = (out.eventTypes[name] ?? 0) + 1;
    }
  }
  return out;
}

async function cost() {
  const stack = await newStack(LIFTED_PER_10S);
  try {
    const steps = [];
    for (const { rate, n } of [
      { rate: 1, n: options.costSlow },
      { rate: COST_FAST_RATE, n: options.costFast },
    ]) {
      const service = await startService(stack, `road-cost-${rate}`);
      let step;
      try {
        step = stripRun(await followStep(stack, service, rate, n));
        await sleep(1500); // visibility of the last batch's close
      } finally {
        await service.stop();
      }
      const c = await channelCost(stack.client, step.channel);
      const events = step.webhook.sent - step.webhook.non200;
      const total = {
        runs: c.inbox.runs + c.batch.runs + c.other.runs,
        historyEvents: c.inbox.historyEvents + c.batch.historyEvents + c.other.historyEvents,
        actions: c.inbox.actions + c.batch.actions + c.other.actions,
      };
      const actionsByKind: Record<string, number> = {};
      for (const part of [c.inbox, c.batch, c.other]) for (const [k, v] of Object.entries(part.actionsByKind)) actionsByKind[k] = (actionsByKind[k] ?? 0) + v;
      const full = {
        rate,
        events,
        webhook: step.webhook,
        delivery: step.delivery,
        eventToContactMs: step.eventToContactMs,
        writerBatches: step.writer?.batches ?? null,
        ...c,
        total,
        actionsByKind,
        historyEventsPerEvent: round(total.historyEvents / events, 3),
        actionsPerEvent: round(total.actions / events, 3),
        friendsPerBatch: c.batch.runs ? round(events / c.batch.runs, 1) : null,
        /** the LINE batch read heartbeats (not in histories, billed when they reach the server): at least one per batch */
        note: 'heartbeats and queries are not in histories and not counted',
      };
      steps.push(full);
      log(
        `cost ${rate}/s: ${events} events, ${total.runs} runs (${c.inbox.runs} writer, ${c.batch.runs} batch), ${total.historyEvents} history events (${full.historyEventsPerEvent}/event), ${total.actions} actions (${full.actionsPerEvent}/event) ${JSON.stringify(actionsByKind)}`,
      );
    }
    console.log('\ncost: Temporal history events and billed actions per friend event (follows of new friends, HubSpot limit lifted)');
    console.log(
      table(
        steps.map((s) => [
          s.rate,
          s.events,
          `${s.delivery.exactlyOnce}/${s.delivery.friends}`,
          s.inbox.runs,
          s.batch.runs,
          s.friendsPerBatch,
          s.inbox.historyEvents,
          s.batch.historyEvents,
          s.historyEventsPerEvent,
          s.inbox.actions,
          s.batch.actions,
          s.actionsPerEvent,
        ]),
        ['rate/s', 'events', 'exactly 1', 'writer runs', 'batches', 'friends/batch', 'writer hist', 'batch hist', 'hist/event', 'writer acts', 'batch acts', 'acts/event'],
      ),
    );
    for (const s of steps)
      console.log(
        `  ${s.rate}/s actions by kind: ${Object.entries(s.actionsByKind)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')}`,
      );
    console.log('  (heartbeats that reach the server and queries are billed too but are not in histories: not counted)');
    const fast = steps.find((s) => s.rate === COST_FAST_RATE);
    if (fast) {
      judge('cost', `${COST_FAST_RATE}/s: ≤ 3 history events per event`, fast.historyEventsPerEvent, (fast.historyEventsPerEvent ?? Infinity) <= 3);
      judge('cost', `${COST_FAST_RATE}/s: ≤ 0.5 actions per event`, fast.actionsPerEvent, (fast.actionsPerEvent ?? Infinity) <= 0.5);
      judge('cost', `${COST_FAST_RATE}/s: every friend exactly one contact`, `${fast.delivery.exactlyOnce}/${fast.delivery.friends}`, fast.delivery.exactlyOnce === fast.delivery.friends);
    }
    return { steps };
  } finally {
    await stack.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// Scenario 4: import with live follows beside it

async function importScenario() {
  const stack = await newStack(LIMITED_PER_10S);
  try {
    const seed = stack.line.controls.seedGeneratedFriends(options.importFriends);
    const service = await startService(stack, 'road-import');
    const channelId = service.config.lineChannelId;
    try {
      await sleep(500);
      const before = hubspotStats(stack);
      const contactsBefore = contactView(stack).total;
      const started = Date.now();
      const handle = await startImport(stack.client, { channelId, taskQueue: service.config.taskQueue, timeZone: service.config.syncDateTimeZone, shards: service.config.lineInboxShards });
      log(`import ${handle.importId} of ${seed.added} friends started`);
      let status: ImportStatus | undefined;
      let running = true;
      const poll = (async () => {
        for (;;) {
          try {
            status = (await getImportProgress(stack.client, handle.importId, { channelId })) ?? status;
          } catch {
            // progress unavailable for a moment
          }
          if (status && status.state !== 'running') break;
          if (Date.now() - started > options.drainTimeoutMs * 5) break;
          await sleep(1000);
        }
        running = false;
      })();
      // Live follows at a steady rate for the import's whole duration, a few seconds of schedule at a time.
      const live: { userIds: string[]; due: number[]; status: number[]; latency: number[] } = { userIds: [], due: [], status: [], latency: [] };
      const chunkSeconds = 5;
      while (running) {
        const ids = freshUserIds(Math.round(options.importLiveRate * chunkSeconds));
        await seedFriends(stack.line.url, ids);
        const { result } = await load(
          `${service.url}/webhooks/line`,
          options.importLiveRate,
          ids.map((id) => signed(followEvent(id))),
        );
        live.userIds.push(...ids);
        live.due.push(...result.dueAtEpochMs);
        live.status.push(...result.status);
        live.latency.push(...result.latencyMs);
        if (Date.now() % 3 === 0 || !running) log(`import: ${status ? `${handled(status)} handled, ${status.state}` : 'starting'}; live follows sent ${live.userIds.length}`);
      }
      await poll;
      const importDoneAt = Date.now();
      const accepted = live.status.filter((s) => s === 200).length;
      // every live event, and the import's rows, applied
      const writer = await waitForWriter(stack.client, channelId, accepted, Date.now() + options.drainTimeoutMs);
      const view = await waitForContacts(stack, live.userIds, Date.now() + 10_000);
      const after = hubspotStats(stack);
      const hubspot = statsDelta(after, before);
      const liveCounts = tally(live.userIds, view);
      if (!writer.caughtUp || liveCounts.missing > 0 || status?.state !== 'completed') await diagnose(stack, service, writer.state);
      const e2e = live.userIds.map((id, i) => (view.createdAt.get(id) ?? NaN) - live.due[i]!);
      const contactsCreated = view.total - contactsBefore;
      const wallMs = status?.finishedAt && status.startedAt ? Date.parse(status.finishedAt) - Date.parse(status.startedAt) : importDoneAt - started;
      const importHandled = status ? handled(status) : 0;
      const importPerSecond = importHandled / (wallMs / 1000);
      // The ceiling as bench/import.ts computes it: the limit ÷ the requests each contact cost (here
      // every batch request of the scenario over every contact created, import and live together).
      const requestsPerContact = hubspot.batchRequests / Math.max(1, contactsCreated);
      const ceiling = LIMITED_PER_10S / 10 / requestsPerContact;
      const figures = {
        channel: channelId,
        seeded: options.importFriends,
        import: status
          ? {
              state: status.state,
              friendsSeen: status.friendsSeen,
              created: status.created,
              updated: status.updated,
              unchanged: status.unchanged,
              skipped: status.skipped,
              failed: status.failed,
              pages: status.pages,
              wallSeconds: round(wallMs / 1000, 2),
              friendsPerSecond: round(importPerSecond),
            }
          : null,
        live: {
          rate: options.importLiveRate,
          sent: live.userIds.length,
          non200: live.status.filter((s) => s !== 200).length,
          ackMs: dist(live.latency),
          delivery: liveCounts,
          /** only the follows answered 200 (a 503'd one is not in Temporal; its contact may come from the import's row later) */
          eventToContactMs: dist(e2e.filter((_, i) => live.status[i] === 200)),
          eventToContactMsAllSent: dist(e2e),
        },
        writerCaughtUp: writer.caughtUp,
        writer: writer.state,
        contactsCreated,
        hubspot,
        requestsPerContact: round(requestsPerContact, 4),
        ceilingContactsPerSecond: round(ceiling),
        importRatioToCeiling: round(importPerSecond / ceiling, 3),
        allContactsPerSecond: round(contactsCreated / (wallMs / 1000)),
      };
      console.log(`\nimport: ${options.importFriends} friends, HubSpot at ${LIMITED_PER_10S}/10 s, live follows at ${options.importLiveRate}/s beside it`);
      console.log(
        table(
          [
            [
              figures.import?.state,
              figures.import ? handled(status!) : null,
              figures.import?.wallSeconds,
              figures.import?.friendsPerSecond,
              figures.ceilingContactsPerSecond,
              figures.importRatioToCeiling,
              figures.requestsPerContact,
              hubspot.rateLimited,
              figures.live.sent,
              figures.live.non200,
              `${liveCounts.exactlyOnce}/${liveCounts.friends}`,
              figures.live.ackMs.p99,
              figures.live.eventToContactMs.p50,
              figures.live.eventToContactMs.p99,
            ],
          ],
          ['import', 'handled', 'wall s', 'friends/s', 'ceiling/s', 'ratio', 'HS req/contact', '429', 'live sent', 'non-200', 'live exactly 1', 'live ack p99', 'live e→c p50', 'live e→c p99'],
        ),
      );
      console.log(
        `  ceiling = ${LIMITED_PER_10S}/10 s ÷ (HubSpot batch requests ${hubspot.batchRequests} ÷ contacts created ${contactsCreated}); the HubSpot queue runs at ${hubspotActivitiesPerSecond(LIMITED_PER_10S)}/s, each process keeps its window exact (src/hubspot/budget.ts)`,
      );
      judge('import', 'the import completes', figures.import?.state ?? 'no status', figures.import?.state === 'completed' && importHandled >= options.importFriends);
      judge('import', 'live follows: every answer 200', figures.live.non200, figures.live.non200 === 0);
      judge('import', 'live follows complete: every friend exactly one contact', `${liveCounts.exactlyOnce}/${liveCounts.friends}`, liveCounts.exactlyOnce === liveCounts.friends);
      judge('import', 'import friends/s ÷ ceiling ≥ 0.9', round(importPerSecond / ceiling, 4), importPerSecond / ceiling >= 0.9);
      judge('import', '0 × 429', hubspot.rateLimited, hubspot.rateLimited === 0);
      log(`import: live follows event→contact p99 ${figures.live.eventToContactMs.p99} ms (no target; reported)`);
      return figures;
    } finally {
      await service.stop();
    }
  } finally {
    await stack.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// Main

const RESULTS_DIR = fileURLToPath(new URL('./results/', import.meta.url));

async function main(): Promise<void> {
  const startedAt = performance.now();
  const loadBefore = os.loadavg();
  log(`scenarios ${options.scenarios.join(', ')}; ${os.availableParallelism()} cores, load average ${loadBefore.map((l) => l.toFixed(2)).join(' ')}`);
  let stopping: Promise<void> | undefined;
  const stopAll = () =>
    (stopping ??= (async () => {
      for (const s of [...services]) await s.stop().catch(() => {});
      await loadClient?.close().catch(() => {});
      await bare?.app.close().catch(() => {});
    })());
  process.once('SIGINT', () => void stopAll().finally(() => process.exit(130)));
  process.once('SIGTERM', () => void stopAll().finally(() => process.exit(143)));

  const results: Record<string, unknown> = {};
  const errors: Record<string, string> = {};
  try {
    loadClient = await LoadClient.start();
    bare = await startBareApp();
    for (const scenario of options.scenarios) {
      const t = performance.now();
      log(`— ${scenario} —`);
      try {
        results[scenario] = await { lifted, limited, cost, import: importScenario }[scenario]();
      } catch (error) {
        errors[scenario] = (error as Error).stack ?? String(error);
        console.error(`[road] ${scenario} failed: ${(error as Error).stack}`);
        judge(scenario, 'the scenario ran to its end', (error as Error).message, false);
        for (const s of [...services]) await s.stop().catch(() => {});
      }
      log(`${scenario} took ${round((performance.now() - t) / 1000)} s`);
    }
  } finally {
    await stopAll();
  }

  console.log('\nTargets');
  console.log(
    table(
      verdicts.map((v) => [v.pass ? 'PASS' : 'FAIL', v.scenario, v.target, v.measured]),
      ['', 'scenario', 'target', 'measured'],
    ),
  );

  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const report = {
    benchmark: 'road',
    at: new Date().toISOString(),
    command: `npm run bench:road -- ${process.argv.slice(2).join(' ')}`.trim(),
    options,
    machine: {
      cores: os.availableParallelism(),
      cpu: os.cpus()[0]?.model,
      node: process.version,
      loadAverage: { before: loadBefore.map((l) => round(l, 2)), after: os.loadavg().map((l) => round(l, 2)) },
    },
    verdicts,
    results,
    errors,
    diagnoses,
    sdkWarnings: sdkLogCounts(),
    runSeconds: round((performance.now() - startedAt) / 1000),
  };
  await mkdir(RESULTS_DIR, { recursive: true });
  const text = `${JSON.stringify(report, null, 2)}\n`;
  const file = join(RESULTS_DIR, `road-${stamp}.json`);
  await writeFile(file, text);
  await writeFile(join(RESULTS_DIR, 'road-latest.json'), text);
  console.log(`\nwrote ${file} (and road-latest.json)`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
