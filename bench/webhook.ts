// Benchmark of POST /webhooks/line: ack latency at rising open-loop rates, and whether every
// follow event then reaches HubSpot exactly once (and how fast the backlog drains).
//
//   npm run bench:webhook -- [--rates 10,50,100,200,300,400] [--seconds 10] [--help]
//
// The whole stack runs as `npm test` runs it (test/support/stack.ts): a Temporal dev server, the
// sandbox LINE and HubSpot APIs over HTTP and the HTTP servers in this process; the workers in this
// process for the warm-up, in a process of their own for phase 2. The load comes from a separate process (bench/support/open-loop-client.ts) on
// loopback: one follow event per request, each for its own friend, sent on schedule whatever the
// answers (open loop), latency measured from each request's due time (no coordinated omission).
//
// Phase 1, the ack path alone (workers idle), for each rate:
//   - bare: a bare Fastify app in this process (one `POST /bare` answering 200), same bodies, same
//     client, same rate: the floor that HTTP + Fastify + this machine cost;
//   - ack: the service's own webhook route on a second HTTP server whose task queue has no worker,
//     so nothing but the route + the signals to the channel's inbox workflows runs (never processed).
// Phase 2, end to end, for each rate: the real webhook with the workers running (in their own process,
//   reniced with --worker-nice: the ack path comes first, the backlog gets what is left); non-200 answers are
//   redelivered as LINE does; then a bounded wait for the backlog to drain; then a check, from the
//   sandbox HubSpot's own view, that each friend has exactly one contact with its line_user_id.
//   Each step gets its own HTTP server and workers on a fresh task queue, so a backlog one step
//   could not drain stays in Temporal (pending, unprocessed) instead of weighing on the next step.
// At the end: a check of every friend, and for friends without a contact whether their workflow is
// in Temporal (accepted and pending, not lost).
//
// Figures are printed and written to bench/results/webhook-<timestamp>.json and webhook-latest.json.
// Absolute numbers depend on the machine and whatever else runs on it; compare ratios within a run.
import { sdkLogCounts } from './support/runtime.ts'; // first: installs the SDK runtime's logger
import Fastify, { type FastifyInstance } from 'fastify';
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Client } from '@temporalio/client';
import { signLineBody } from '../src/line/signature.ts';
import type { FollowEvent } from '../src/line/webhook-events.ts';
import { asRedelivery, followEvent, newLineUserId, SANDBOX_LINE_CHANNEL_SECRET, sendLineWebhook, webhookBody } from '../src/sandbox/line-webhook.ts';
import { startServer, type RunningServer } from '../src/service.ts';
import { friendWorkflowId } from '../src/temporal/ids.ts';
import { call, type SandboxContact } from '../test/support/sandbox-http.ts';
import { inboxContents } from '../test/support/inbox.ts';
import { startStack, type Stack } from '../test/support/stack.ts';
import { killHard, startChildWorker } from '../test/support/child-worker.ts';
import { LoadClient, type OpenLoopRequest, type OpenLoopResult } from './support/load-client.ts';

// ---------------------------------------------------------------------------------------------
// Options

const HELP = `usage: npm run bench:webhook -- [options]
  --rates 10,50,100,200,300,400  events per second, one step each, rising
  --seconds 10                 length of each end-to-end step (phase 2)
  --ack-seconds 4              length of each ack-path-alone step (phase 1; 0: no phase 1)
  --bare-seconds 4             length of each bare-Fastify step (phase 1; 0: none)
  --drain-timeout 30           most seconds to wait after a step for the backlog to drain
  --budget 285                 total seconds; steps that would not fit are skipped, waits are cut
  --stop-on-backlog            no higher rates after a step whose backlog did not drain
  --timeout-ms 10000           per request
  --max-sockets 512            client sockets at most (more requests wait, and that wait is latency)
  --hubspot-per-10s 100000     sandbox HubSpot burst limit, and HUBSPOT_REQUESTS_PER_10S to match
  --log-level fatal            the service's LOG_LEVEL (503s are counted here anyway)
  --handover-per-second 5      LINE_HANDOVER_PER_SECOND: the inboxes' pace into friends' workflows (0: none;
                               set here because HubSpot's limit is lifted: the service's default would be
                               HUBSPOT_REQUESTS_PER_10S ÷ 20)
  --inbox-shards 1             LINE_INBOX_SHARDS
  --worker-nice 10             phase 2 runs each step's worker in its own process at this CPU niceness
                               (0-19; as a deployment that shares a host between webhook server and
                               worker should: the ack path first, the backlog with what is left)`;

const FLAG_OPTIONS = {
  rates: { type: 'string', default: '10,50,100,200,300,400' },
  seconds: { type: 'string', default: '10' },
  'ack-seconds': { type: 'string', default: '4' },
  'bare-seconds': { type: 'string', default: '4' },
  'drain-timeout': { type: 'string', default: '30' },
  budget: { type: 'string', default: '285' },
  'stop-on-backlog': { type: 'boolean', default: false },
  'timeout-ms': { type: 'string', default: '10000' },
  'max-sockets': { type: 'string', default: '512' },
  'hubspot-per-10s': { type: 'string', default: '100000' },
  'log-level': { type: 'string', default: 'fatal' },
  'worker-nice': { type: 'string', default: '10' },
  'handover-per-second': { type: 'string', default: '5' },
  'inbox-shards': { type: 'string', default: '1' },
  help: { type: 'boolean', default: false },
} as const;

function parseFlags() {
  try {
    return parseArgs({ options: FLAG_OPTIONS }).values;
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${HELP}`);
    process.exit(2);
  }
}

const flags = parseFlags();
if (flags.help) {
  console.log(HELP);
  process.exit(0);
}

function positive(name: string, text: string, { integer = false, zero = false } = {}): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value < 0 || (!zero && value === 0) || (integer && !Number.isInteger(value))) {
    console.error(`--${name} must be a ${integer ? 'whole ' : ''}number${zero ? '' : ' above 0'}, not "${text}"\n\n${HELP}`);
    process.exit(2);
  }
  return value;
}

const options = {
  rates: flags.rates.split(',').map((r) => positive('rates', r.trim())),
  seconds: positive('seconds', flags.seconds),
  ackSeconds: positive('ack-seconds', flags['ack-seconds'], { zero: true }),
  bareSeconds: positive('bare-seconds', flags['bare-seconds'], { zero: true }),
  drainTimeoutMs: positive('drain-timeout', flags['drain-timeout']) * 1000,
  budgetMs: positive('budget', flags.budget) * 1000,
  stopOnBacklog: flags['stop-on-backlog'],
  timeoutMs: positive('timeout-ms', flags['timeout-ms'], { integer: true }),
  maxSockets: positive('max-sockets', flags['max-sockets'], { integer: true }),
  hubspotPer10s: positive('hubspot-per-10s', flags['hubspot-per-10s'], { integer: true }),
  logLevel: flags['log-level'],
  handOverPerSecond: positive('handover-per-second', flags['handover-per-second'], { integer: true, zero: true }),
  inboxShards: positive('inbox-shards', flags['inbox-shards'], { integer: true }),
  workerNice: positive('worker-nice', flags['worker-nice'], { integer: true, zero: true }),
  warmup: { rate: 20, seconds: 2 },
};

/**
 * A step is "sustained" when all its events reach HubSpot exactly once and no backlog built up: its
 * last tenth of events took at most this much longer (send → contact) than its first tenth.
 */
const SUSTAINED_GROWTH_MS = Math.max(1000, options.seconds * 100);
/** kept back from the budget for the final check and the shutdown */
const RESERVE_MS = 12_000;
/** the ack-only server's task queue: no worker polls it, so its workflows are never processed */
const ACK_ONLY_TASK_QUEUE = 'bench-webhook-ack-only';
/** The ack-only server's LINE channel: its inbox workflows (never processed) are apart from the steps'. */
const ACK_ONLY_CHANNEL = 'bench-ack-only';

// ---------------------------------------------------------------------------------------------
// Figures

interface Dist {
  n: number;
  p50: number | null;
  p90: number | null;
  p99: number | null;
  max: number | null;
  mean: number | null;
}

const round = (v: number, digits = 1): number | null => (Number.isFinite(v) ? Number(v.toFixed(digits)) : null);

function dist(values: number[]): Dist {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  const at = (p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]! : NaN);
  const mean = sorted.length ? sorted.reduce((s, v) => s + v, 0) / sorted.length : NaN;
  return { n: sorted.length, p50: round(at(50)), p90: round(at(90)), p99: round(at(99)), max: round(sorted[sorted.length - 1] ?? NaN), mean: round(mean) };
}

interface LoadFigures {
  rate: number;
  sent: number;
  achievedRate: number | null;
  /** due time → end of answer */
  latencyMs: Dist;
  statuses: Record<string, number>;
  non200: number;
  errors: Record<string, number>;
  /** how late the client itself sent (due → handed to the socket) */
  sendLagMs: { p50: number | null; p99: number | null; max: number | null };
  maxInFlight: number;
  clientCpuMs: number;
  /** inside the route: the Temporal client's signal (or signal-with-start) of an inbox, one per batch of events (not for bare) */
  signalWithStartMs?: Dist;
  /** event-loop delay of this process (service + workers + sandboxes) while sending */
  eventLoopDelayMs: { p50: number | null; p99: number | null; max: number | null };
}

// ---------------------------------------------------------------------------------------------
// CPU of the pieces: this process (HTTP servers + workers + sandboxes) and the Temporal dev server

function procCpuMs(pid: number | undefined): number {
  if (!pid) return NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime, stime, cutime, cstime: fields 14-17 of proc(5), in clock ticks (100 per second)
    return ((Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) * 1000) / 100;
  } catch {
    return NaN;
  }
}

interface CpuSnapshot {
  at: number;
  nodeMs: number;
  temporalMs: number;
}

/** Worker processes running now (phase 2): their CPU counts as "node" (once one exits and is reaped, its CPU is in ours). */
const workerPids = new Set<number>();

function cpuNow(stack: Stack): CpuSnapshot {
  const own = process.cpuUsage();
  let workersMs = 0;
  for (const pid of workerPids) workersMs += procCpuMs(pid) || 0;
  return { at: performance.now(), nodeMs: (own.user + own.system) / 1000 + workersMs, temporalMs: procCpuMs(stack.temporal.process?.pid) };
}

/** Waits (at most `maxMs`) until this process and Temporal are nearly idle, so that one step's tail does not weigh on the next. */
async function settle(stack: Stack, maxMs = 5000): Promise<number> {
  const start = performance.now();
  let last = cpuNow(stack);
  while (performance.now() - start < maxMs) {
    await sleep(500);
    const now = cpuNow(stack);
    const seconds = (now.at - last.at) / 1000;
    const busy = (now.nodeMs - last.nodeMs + (Number.isFinite(now.temporalMs) ? now.temporalMs - last.temporalMs : 0)) / 1000 / seconds;
    last = now;
    if (busy < 0.25) break;
  }
  return performance.now() - start;
}

// ---------------------------------------------------------------------------------------------
// Sandbox views

/** the requests that write a contact (the friend workflow creates, updates or upserts) */
const WRITES = ['POST /crm/v3/objects/contacts', 'PATCH /crm/v3/objects/contacts/:contactId', 'POST /crm/v3/objects/contacts/batch/upsert'];
const writesOf = (stats: HubspotStats) => WRITES.reduce((sum, endpoint) => sum + (stats.endpoints[endpoint] ?? 0), 0);
const BATCH_READ = 'POST /crm/v3/objects/contacts/batch/read';
const PROFILE = 'GET /v2/bot/profile/:userId';

interface HubspotStats {
  total: number;
  endpoints: Record<string, number>;
  statuses: Record<string, number>;
  rateLimited: number;
}

type LineStats = Record<string, { requests: number; statuses: Record<string, number> }>;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const hubspotStats = (stack: Stack) => call<HubspotStats>('GET', `${stack.hubspot.url}/_sandbox/stats`);
const lineStats = (stack: Stack) => call<LineStats>('GET', `${stack.line.url}/_sandbox/stats`);

interface ContactView {
  /** friend → how many contacts carry their line_user_id */
  count: Map<string, number>;
  /** friend → epoch ms their (first) contact was created */
  createdAt: Map<string, number>;
  contactsWithLineUserId: number;
}

async function contactView(stack: Stack): Promise<ContactView> {
  const view = await call<{ contacts: SandboxContact[] }>('GET', `${stack.hubspot.url}/_sandbox/contacts?limit=100000000`);
  const count = new Map<string, number>();
  const createdAt = new Map<string, number>();
  let contactsWithLineUserId = 0;
  for (const contact of view.contacts) {
    const userId = contact.properties['line_user_id'];
    if (!userId) continue;
    contactsWithLineUserId++;
    count.set(userId, (count.get(userId) ?? 0) + 1);
    createdAt.set(userId, Math.min(createdAt.get(userId) ?? Infinity, Date.parse(contact.createdAt)));
  }
  return { count, createdAt, contactsWithLineUserId };
}

function tally(userIds: string[], view: ContactView) {
  let missing = 0;
  let duplicated = 0;
  for (const userId of userIds) {
    const n = view.count.get(userId) ?? 0;
    if (n === 0) missing++;
    if (n > 1) duplicated++;
  }
  return { exactlyOnce: userIds.length - missing - duplicated, missing, duplicated };
}

/** How many of these friends have a workflow in Temporal (visibility; lags its writes slightly). */
async function workflowsOf(client: Client, userIds: string[]): Promise<Set<string>> {
  const found = new Set<string>();
  for (let i = 0; i < userIds.length; i += 200) {
    const batch = userIds.slice(i, i + 200);
    for await (const execution of client.workflow.list({ query: `LineUserId IN (${batch.map((id) => `"${id}"`).join(',')})` })) {
      const userId = execution.searchAttributes?.['LineUserId'];
      const value = Array.isArray(userId) ? userId[0] : userId;
      if (typeof value === 'string') found.add(value);
    }
  }
  return found;
}

/** Where one follow's time went, from its friend workflow's history (means over a sample of friends). */
interface HistoryBreakdown {
  sampled: number;
  historyEvents: number | null;
  workflowTasks: number | null;
  activities: number | null;
  /** summed over the event's workflow tasks: scheduled → started (waiting for the worker) */
  workflowTaskWaitMs: number | null;
  /** summed: started → completed (the worker running workflow code, and the round trip) */
  workflowTaskRunMs: number | null;
  /** summed over activities: scheduled → started, started → completed */
  activityWaitMs: number | null;
  activityRunMs: number | null;
  /** per activity type: mean started → completed */
  activityRunMsByType: Record<string, number | null>;
  /** signal to the (absent) import workflow: initiated → failed/completed */
  externalSignalMs: number | null;
  /** first event (started + signaled) → the contact write completed */
  firstToWriteMs: number | null;
}

const WRITE_ACTIVITIES = new Set(['createContact', 'updateContactById', 'upsertContactByLineUserId', 'upsertContactsByLineUserId']);

async function historyBreakdown(client: Client, channelId: string, userIds: string[]): Promise<HistoryBreakdown> {
  const ms = (t: { seconds?: unknown; nanos?: number | null } | null | undefined) => (t ? Number(t.seconds) * 1000 + (t.nanos ?? 0) / 1e6 : NaN);
  const rows: Array<Record<string, number>> = [];
  const byType = new Map<string, number[]>();
  for (const userId of userIds) {
    let events;
    try {
      events = (await client.workflow.getHandle(friendWorkflowId(channelId, userId)).fetchHistory()).events ?? [];
    } catch {
      continue;
    }
    const at = new Map<number, number>();
    const activityType = new Map<number, string>();
    const row = { historyEvents: events.length, workflowTasks: 0, activities: 0, workflowTaskWaitMs: 0, workflowTaskRunMs: 0, activityWaitMs: 0, activityRunMs: 0, externalSignalMs: 0, firstToWriteMs: NaN };
    const first = ms(events[0]?.eventTime);
    for (const e of events) {
      const id = Number(e.eventId);
      const t = ms(e.eventTime);
      at.set(id, t);
      if (e.workflowTaskStartedEventAttributes) row.workflowTaskWaitMs += t - (at.get(Number(e.workflowTaskStartedEventAttributes.scheduledEventId)) ?? t);
      if (e.workflowTaskCompletedEventAttributes) {
        row.workflowTasks++;
        row.workflowTaskRunMs += t - (at.get(Number(e.workflowTaskCompletedEventAttributes.startedEventId)) ?? t);
      }
      if (e.activityTaskScheduledEventAttributes) activityType.set(id, e.activityTaskScheduledEventAttributes.activityType?.name ?? '?');
      if (e.activityTaskCompletedEventAttributes) {
        const a = e.activityTaskCompletedEventAttributes;
        const scheduled = at.get(Number(a.scheduledEventId)) ?? t;
        const started = at.get(Number(a.startedEventId)) ?? scheduled;
        const type = activityType.get(Number(a.scheduledEventId)) ?? '?';
        row.activities++;
        row.activityWaitMs += started - scheduled;
        row.activityRunMs += t - started;
        byType.set(type, [...(byType.get(type) ?? []), t - started]);
        if (WRITE_ACTIVITIES.has(type) && Number.isNaN(row.firstToWriteMs)) row.firstToWriteMs = t - first;
      }
      const ext = e.signalExternalWorkflowExecutionFailedEventAttributes ?? e.externalWorkflowExecutionSignaledEventAttributes;
      if (ext) row.externalSignalMs += t - (at.get(Number(ext.initiatedEventId)) ?? t);
    }
    rows.push(row);
  }
  const mean = (key: string) => (rows.length ? round(rows.reduce((sum, r) => sum + (r[key] ?? NaN), 0) / rows.length) : null);
  return {
    sampled: rows.length,
    historyEvents: mean('historyEvents'),
    workflowTasks: mean('workflowTasks'),
    activities: mean('activities'),
    workflowTaskWaitMs: mean('workflowTaskWaitMs'),
    workflowTaskRunMs: mean('workflowTaskRunMs'),
    activityWaitMs: mean('activityWaitMs'),
    activityRunMs: mean('activityRunMs'),
    activityRunMsByType: Object.fromEntries([...byType].map(([type, values]) => [type, round(values.reduce((a, b) => a + b, 0) / values.length)])),
    externalSignalMs: mean('externalSignalMs'),
    firstToWriteMs: mean('firstToWriteMs'),
  };
}

// ---------------------------------------------------------------------------------------------
// Requests

function signedFollow(event: FollowEvent): OpenLoopRequest {
  const body = JSON.stringify(webhookBody([event]));
  return {
    body,
    headers: { 'content-type': 'application/json; charset=utf-8', 'user-agent': 'LineBotWebhook/2.0', 'x-line-signature': signLineBody(body, SANDBOX_LINE_CHANNEL_SECRET) },
  };
}

const freshUserIds = (n: number) => Array.from({ length: n }, () => newLineUserId());

async function seedFriends(lineUrl: string, userIds: string[]): Promise<void> {
  for (let i = 0; i < userIds.length; i += 5000) {
    await call('POST', `${lineUrl}/_sandbox/friends`, { friends: userIds.slice(i, i + 5000).map((userId) => ({ userId })) });
  }
}

async function startBareApp(): Promise<{ app: FastifyInstance; url: string }> {
  const app = Fastify({ logger: false, bodyLimit: 1024 * 1024 });
  app.post('/bare', async () => ({ ok: true }));
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  return { app, url: `${address}/bare` };
}

/** Times every signal and signal-with-start a route makes through this client (bench-side instrumentation only). */
function timeInboxSignals(client: Client, recorder: { recording: boolean; samples: number[] }): void {
  const timed =
    <A extends unknown[]>(call: (...args: A) => Promise<unknown>) =>
    async (...args: A) => {
      const t0 = performance.now();
      try {
        return await call(...args);
      } finally {
        if (recorder.recording) recorder.samples.push(performance.now() - t0);
      }
    };
  const workflows = client.workflow as unknown as {
    signalWithStart: (...args: unknown[]) => Promise<unknown>;
    getHandle: (...args: unknown[]) => { signal: (...args: unknown[]) => Promise<unknown> };
  };
  workflows.signalWithStart = timed(workflows.signalWithStart.bind(workflows));
  const getHandle = workflows.getHandle.bind(workflows);
  workflows.getHandle = (...args: unknown[]) => {
    const handle = getHandle(...args);
    handle.signal = timed(handle.signal.bind(handle));
    return handle;
  };
}

// ---------------------------------------------------------------------------------------------
// Running load

interface Bench {
  stack: Stack;
  ackOnly: RunningServer;
  bare: { app: FastifyInstance; url: string };
  client: LoadClient;
  sws: { recording: boolean; samples: number[] };
}

async function load(bench: Bench, url: string, rate: number, requests: OpenLoopRequest[], timeSws: boolean): Promise<{ figures: LoadFigures; result: OpenLoopResult }> {
  const loop = monitorEventLoopDelay({ resolution: 10 });
  bench.sws.samples = [];
  bench.sws.recording = timeSws;
  loop.enable();
  const result = await bench.client.run({ url, rate, requests, timeoutMs: options.timeoutMs, maxSockets: options.maxSockets });
  loop.disable();
  bench.sws.recording = false;
  const statuses: Record<string, number> = {};
  for (const s of result.status) statuses[String(s)] = (statuses[String(s)] ?? 0) + 1;
  const ms = (ns: number) => round(ns / 1e6);
  const figures: LoadFigures = {
    rate,
    sent: result.status.length,
    achievedRate: round(result.achievedRate),
    latencyMs: dist(result.latencyMs),
    statuses,
    non200: result.status.filter((s) => s !== 200).length,
    errors: result.errors,
    sendLagMs: { p50: round(result.sendLagMs.p50, 2), p99: round(result.sendLagMs.p99, 2), max: round(result.sendLagMs.max, 2) },
    maxInFlight: result.maxInFlight,
    clientCpuMs: Math.round(result.clientCpuMs),
    ...(timeSws ? { signalWithStartMs: dist(bench.sws.samples) } : {}),
    eventLoopDelayMs: { p50: ms(loop.percentile(50)), p99: ms(loop.percentile(99)), max: ms(loop.max) },
  };
  return { figures, result };
}

// ---------------------------------------------------------------------------------------------
// Phase 1: the ack path alone

interface AckStep {
  rate: number;
  bare: LoadFigures | null;
  ack: LoadFigures | null;
  /** CPU per webhook request while the ack-only server took them (workers idle) */
  ackCpu: { nodeMsPerRequest: number | null; temporalMsPerRequest: number | null; nodeCores: number | null; temporalCores: number | null } | null;
}

async function ackStep(bench: Bench, rate: number, bareSeconds: number, ackSeconds: number): Promise<AckStep & { ackedUserIds: string[] }> {
  const requestsFor = (seconds: number) => {
    const ids = freshUserIds(Math.max(1, Math.round(rate * seconds)));
    return { ids, requests: ids.map((id) => signedFollow(followEvent(id))) };
  };
  let bare: LoadFigures | null = null;
  if (bareSeconds > 0) bare = (await load(bench, bench.bare.url, rate, requestsFor(bareSeconds).requests, false)).figures;
  let ack: LoadFigures | null = null;
  let ackCpu: AckStep['ackCpu'] = null;
  const ackedUserIds: string[] = [];
  if (ackSeconds > 0) {
    const { ids, requests } = requestsFor(ackSeconds);
    const before = cpuNow(bench.stack);
    const { figures, result } = await load(bench, `${bench.ackOnly.url}/webhooks/line`, rate, requests, true);
    const after = cpuNow(bench.stack);
    ack = figures;
    const seconds = (after.at - before.at) / 1000;
    ackCpu = {
      nodeMsPerRequest: round((after.nodeMs - before.nodeMs) / ids.length, 2),
      temporalMsPerRequest: round((after.temporalMs - before.temporalMs) / ids.length, 2),
      nodeCores: round((after.nodeMs - before.nodeMs) / 1000 / seconds, 2),
      temporalCores: round((after.temporalMs - before.temporalMs) / 1000 / seconds, 2),
    };
    result.status.forEach((s, i) => s === 200 && ackedUserIds.push(ids[i]!));
  }
  return { rate, bare, ack, ackCpu, ackedUserIds };
}

// ---------------------------------------------------------------------------------------------
// Phase 2: end to end

/** An HTTP server and workers of their own (own task queue), as `npm start` wires them. */
interface StepService {
  url: string;
  taskQueue: string;
  channelId: string;
  server: RunningServer;
  worker: ChildProcess;
  stop(): Promise<void>;
}

async function startStepService(bench: Bench, taskQueue: string): Promise<StepService> {
  // A channel of its own too: the channel's inbox workflows run on the step's task queue.
  const channelId = taskQueue;
  const config = { ...bench.stack.config, taskQueue, lineChannelId: channelId };
  const worker = await startChildWorker(config);
  const stopWorker = async () => {
    workerPids.delete(worker.pid!);
    await killHard(worker);
  };
  os.setPriority(worker.pid!, options.workerNice);
  workerPids.add(worker.pid!);
  const server = await startServer(config).catch(async (error: unknown) => {
    await stopWorker();
    throw error;
  });
  timeInboxSignals(server.client, bench.sws);
  let stopped: Promise<void> | undefined;
  return {
    url: server.url,
    taskQueue,
    channelId,
    server,
    worker,
    stop: () => (stopped ??= Promise.all([server.stop(), stopWorker()]).then(() => {})),
  };
}

interface E2eStep {
  rate: number;
  warmup: boolean;
  taskQueue: string;
  channelId: string;
  webhook: LoadFigures;
  /** the webhook's signals to the inbox workflows: how many, and events per signal */
  inboxSignals?: { signals: number; events: number; eventsPerSignal: number | null };
  redelivery: { needed: number; stillFailing: number; attempts: number };
  drain: {
    /** every event of the step was written to HubSpot before the wait ended */
    caughtUp: boolean;
    waitedMs: number;
    /** events not yet written when the wait ended (left in Temporal: the step's workers stop) */
    backlogLeft: number;
    /** contact writes per second from this step's first send to the end of its wait: the workers' throughput */
    appliedPerSecond: number | null;
  };
  /** this step's friends, checked right after the wait */
  delivery: {
    events: number;
    exactlyOnce: number;
    missing: number;
    duplicated: number;
    /** last send → last of this step's contacts created (when all are there) */
    drainMs: number | null;
    /** events ÷ (first send → last contact created) (when all are there) */
    endToEndRate: number | null;
    /** send → contact, median of the step's last tenth minus median of its first tenth: the backlog's growth */
    latencyGrowthMs: number | null;
    sustained: boolean;
  };
  vendorRequests: { hubspotWrites: number; hubspotBatchReads: number; hubspotStatuses: Record<string, number>; lineProfileReads: number; lineProfileStatuses: Record<string, number> };
  cpu: {
    /** CPU per event from the first send to the end of the wait; only when the step caught up */
    nodeMsPerEvent: number | null;
    temporalMsPerEvent: number | null;
    clientMsPerEvent: number | null;
    /** average cores busy while sending */
    nodeCoresWhileSending: number | null;
    temporalCoresWhileSending: number | null;
    /** average cores busy from the first send to the end of the wait */
    nodeCores: number | null;
    temporalCores: number | null;
  };
  /** SDK warnings during the step (e.g. workflow tasks slower than 5 s) */
  sdkWarnings: Record<string, number>;
  /** filled in by the final check */
  final?: { exactlyOnce: number; missing: number; duplicated: number; pendingInTemporal: number; lost: number; neverAccepted: number; endToEndMs: Dist };
  /** filled in at the end: a sample of this step's friends that reached HubSpot */
  history?: HistoryBreakdown;
}

interface Ledger {
  sent: number;
  writesAtStart: number;
}

function diffCounts(after: Record<string, number>, before: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, value] of Object.entries(after)) {
    const d = value - (before[key] ?? 0);
    if (d !== 0) out[key] = d;
  }
  return out;
}

/** LINE redelivers an unanswered or non-200 event (same webhookEventId, isRedelivery: true) a little later. */
async function redeliver(url: string, events: FollowEvent[], status: number[], deadline: number): Promise<{ redelivery: E2eStep['redelivery']; accepted: boolean[] }> {
  const accepted = status.map((s) => s === 200);
  let failing = events.map((_, i) => i).filter((i) => !accepted[i]);
  const needed = failing.length;
  let attempts = 0;
  for (let round = 0; round < 3 && failing.length > 0 && Date.now() < deadline; round++) {
    await sleep(1000);
    const next: number[] = [];
    for (let k = 0; k < failing.length; k += 32) {
      if (Date.now() > deadline) {
        next.push(...failing.slice(k));
        break;
      }
      const batch = failing.slice(k, k + 32);
      const answers = await Promise.all(
        batch.map((i) =>
          sendLineWebhook({ url, channelSecret: SANDBOX_LINE_CHANNEL_SECRET, events: [asRedelivery(events[i]!)], timeoutMs: options.timeoutMs }).then(
            (r) => r.status,
            () => 0,
          ),
        ),
      );
      attempts += batch.length;
      answers.forEach((s, j) => (s === 200 ? (accepted[batch[j]!] = true) : next.push(batch[j]!)));
    }
    failing = next;
  }
  return { redelivery: { needed, stillFailing: failing.length, attempts }, accepted };
}

/** Waits until the ledger's events are all written, or the deadline, or the pace says it cannot make it. */
async function waitForBacklog(bench: Bench, ledger: Ledger, deadline: number): Promise<{ caughtUp: boolean; backlogLeft: number }> {
  const history: Array<{ at: number; applied: number }> = [];
  for (;;) {
    const stats = await hubspotStats(bench.stack);
    const applied = writesOf(stats) - ledger.writesAtStart;
    const backlog = ledger.sent - applied;
    if (backlog <= 0) return { caughtUp: true, backlogLeft: 0 };
    const now = Date.now();
    history.push({ at: now, applied });
    const old = history.find((h) => h.at <= now - 4000);
    if (old) {
      const pace = (applied - old.applied) / ((now - old.at) / 1000);
      if (pace <= 0 || now + (backlog / pace) * 1000 > deadline) return { caughtUp: false, backlogLeft: backlog };
    }
    if (now > deadline) return { caughtUp: false, backlogLeft: backlog };
    await sleep(250);
  }
}

type E2eRun = E2eStep & { userIds: string[]; accepted: boolean[]; dueAtEpochMs: number[] };

async function e2eStep(bench: Bench, service: { url: string; taskQueue: string; channelId: string }, rate: number, seconds: number, drainDeadline: number, warmup: boolean): Promise<E2eRun> {
  const { stack } = bench;
  const n = Math.max(1, Math.round(rate * seconds));
  const userIds = freshUserIds(n);
  await seedFriends(stack.line.url, userIds); // so that their profiles can be read
  const events = userIds.map((id) => followEvent(id));
  const requests = events.map(signedFollow);
  await sleep(300);

  const warningsBefore = sdkLogCounts();
  const [hubspotBefore, lineBefore] = await Promise.all([hubspotStats(stack), lineStats(stack)]);
  const ledger: Ledger = { sent: n, writesAtStart: writesOf(hubspotBefore) };
  const cpuBefore = cpuNow(stack);
  const { figures: webhook, result } = await load(bench, `${service.url}/webhooks/line`, rate, requests, true);
  const cpuAfterSend = cpuNow(stack);

  const { redelivery, accepted } = await redeliver(`${service.url}/webhooks/line`, events, result.status, Math.min(drainDeadline, Date.now() + 5_000));
  const waitStart = Date.now();
  const wait = await waitForBacklog(bench, ledger, drainDeadline);
  const waitedMs = Date.now() - waitStart;
  const cpuAfter = cpuNow(stack);
  let [hubspotAfter, lineAfter, view] = await Promise.all([hubspotStats(stack), lineStats(stack), contactView(stack)]);
  // Writes can outnumber events (a 409 re-read then an update): the contacts themselves say when all are there.
  while (wait.caughtUp && tally(userIds, view).missing > 0 && Date.now() < drainDeadline) {
    await sleep(500);
    [hubspotAfter, lineAfter, view] = await Promise.all([hubspotStats(stack), lineStats(stack), contactView(stack)]);
  }

  const counts = tally(userIds, view);
  const created = userIds.map((id) => view.createdAt.get(id) ?? NaN);
  const allThere = counts.missing === 0;
  const lastCreated = Math.max(...created.filter(Number.isFinite));
  const drainMs = allThere ? Math.max(0, lastCreated - result.dueAtEpochMs[n - 1]!) : null;
  const writes = writesOf(hubspotAfter) - writesOf(hubspotBefore);
  const spanS = (cpuAfter.at - cpuBefore.at) / 1000;
  const sendS = (cpuAfterSend.at - cpuBefore.at) / 1000;
  const perEvent = (ms: number) => (wait.caughtUp ? round(ms / n, 1) : null);
  const tenth = Math.max(1, Math.floor(n / 10));
  const e2eMs = created.map((c, i) => c - result.dueAtEpochMs[i]!);
  const growth = allThere ? (dist(e2eMs.slice(-tenth)).p50 ?? NaN) - (dist(e2eMs.slice(0, tenth)).p50 ?? NaN) : NaN;

  return {
    rate,
    warmup,
    taskQueue: service.taskQueue,
    channelId: service.channelId,
    userIds,
    accepted,
    dueAtEpochMs: result.dueAtEpochMs,
    webhook,
    redelivery,
    drain: { caughtUp: wait.caughtUp, waitedMs, backlogLeft: wait.backlogLeft, appliedPerSecond: round(writes / spanS) },
    delivery: {
      events: n,
      ...counts,
      drainMs: drainMs === null ? null : Math.round(drainMs),
      endToEndRate: allThere ? round((n * 1000) / (lastCreated - result.startedAtEpochMs)) : null,
      latencyGrowthMs: round(growth, 0),
      sustained: allThere && counts.duplicated === 0 && redelivery.stillFailing === 0 && growth <= SUSTAINED_GROWTH_MS,
    },
    vendorRequests: {
      hubspotWrites: writes,
      hubspotBatchReads: (hubspotAfter.endpoints[BATCH_READ] ?? 0) - (hubspotBefore.endpoints[BATCH_READ] ?? 0),
      hubspotStatuses: diffCounts(hubspotAfter.statuses, hubspotBefore.statuses),
      lineProfileReads: (lineAfter[PROFILE]?.requests ?? 0) - (lineBefore[PROFILE]?.requests ?? 0),
      lineProfileStatuses: diffCounts(lineAfter[PROFILE]?.statuses ?? {}, lineBefore[PROFILE]?.statuses ?? {}),
    },
    cpu: {
      nodeMsPerEvent: perEvent(cpuAfter.nodeMs - cpuBefore.nodeMs),
      temporalMsPerEvent: perEvent(cpuAfter.temporalMs - cpuBefore.temporalMs),
      clientMsPerEvent: round(webhook.clientCpuMs / n, 2),
      nodeCoresWhileSending: round((cpuAfterSend.nodeMs - cpuBefore.nodeMs) / 1000 / sendS, 2),
      temporalCoresWhileSending: round((cpuAfterSend.temporalMs - cpuBefore.temporalMs) / 1000 / sendS, 2),
      nodeCores: round((cpuAfter.nodeMs - cpuBefore.nodeMs) / 1000 / spanS, 2),
      temporalCores: round((cpuAfter.temporalMs - cpuBefore.temporalMs) / 1000 / spanS, 2),
    },
    sdkWarnings: diffCounts(sdkLogCounts(), warningsBefore),
  };
}

// ---------------------------------------------------------------------------------------------
// Printing

function table(rows: Array<Array<string | number | null | undefined>>, header: string[]): string {
  const cells = [header, ...rows.map((r) => r.map((c) => (c === null || c === undefined ? '-' : String(c))))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(cells[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

const ratio = (a: number | null | undefined, b: number | null | undefined) => (a != null && b != null && b > 0 ? round(a / b) : null);

function printReport(ackSteps: AckStep[], e2e: E2eStep[], summary: Record<string, unknown>, skipped: string[]): void {
  if (ackSteps.length > 0) {
    console.log("\nPhase 1: ack path alone (route + inbox signal, no worker load) vs bare Fastify. ms from each request's due time to its answer (open loop)");
    console.log(
      table(
        ackSteps.map((s) => [
          s.rate,
          s.bare?.achievedRate,
          s.bare?.latencyMs.p50,
          s.bare?.latencyMs.p99,
          s.ack?.achievedRate,
          s.ack?.latencyMs.p50,
          s.ack?.latencyMs.p90,
          s.ack?.latencyMs.p99,
          s.ack?.latencyMs.max,
          s.ack?.non200,
          s.ack?.signalWithStartMs?.p50,
          s.ack?.signalWithStartMs?.p99,
          ratio(s.ack?.latencyMs.p50, s.bare?.latencyMs.p50),
          ratio(s.ack?.latencyMs.p99, s.bare?.latencyMs.p99),
          s.ackCpu?.nodeMsPerRequest,
          s.ackCpu?.temporalMsPerRequest,
          s.ackCpu?.temporalCores,
        ]),
        ['rate/s', 'bare/s', 'bare p50', 'bare p99', 'ack/s', 'ack p50', 'p90', 'p99', 'max', 'non200', 'sig p50', 'sig p99', 'x p50', 'x p99', 'node ms/req', 'tmprl ms/req', 'tmprl cores'],
      ),
    );
    console.log('  sig: the signal to an inbox inside the route (one per batch of events); x: ack ÷ bare; ms/req: CPU per webhook request (node = this process, tmprl = Temporal dev server)');
  }
  const measured = e2e.filter((s) => !s.warmup);
  const bareAt = (rate: number) => ackSteps.find((a) => a.rate === rate)?.bare ?? null;
  console.log('\nPhase 2: webhook with the workers running — ack latency, ms from due time (open loop)');
  console.log(
    table(
      measured.map((s) => [
        s.rate,
        s.webhook.sent,
        s.webhook.achievedRate,
        s.webhook.latencyMs.p50,
        s.webhook.latencyMs.p90,
        s.webhook.latencyMs.p99,
        s.webhook.latencyMs.max,
        s.webhook.non200,
        s.webhook.signalWithStartMs?.p50,
        s.webhook.signalWithStartMs?.p99,
        s.inboxSignals?.eventsPerSignal,
        s.webhook.eventLoopDelayMs.p99,
        ratio(s.webhook.latencyMs.p50, bareAt(s.rate)?.latencyMs.p50),
        ratio(s.webhook.latencyMs.p99, bareAt(s.rate)?.latencyMs.p99),
      ]),
      ['rate/s', 'sent', 'sent/s', 'p50', 'p90', 'p99', 'max', 'non200', 'sig p50', 'sig p99', 'ev/sig', 'loop p99', 'x p50', 'x p99'],
    ),
  );
  console.log('  ev/sig: events per inbox signal (the webhook batches what arrives while a signal is in flight); loop: event-loop delay of the service process; x: webhook ÷ bare Fastify at the same rate (phase 1)');

  console.log('\nPhase 2: delivery to HubSpot (each friend: exactly one contact with its line_user_id)');
  console.log(
    table(
      measured.map((s) => [
        s.rate,
        s.delivery.events,
        s.delivery.exactlyOnce,
        s.delivery.missing,
        s.delivery.duplicated,
        s.redelivery.needed,
        s.redelivery.stillFailing,
        s.vendorRequests.hubspotWrites,
        s.delivery.drainMs === null ? `no (${(s.drain.waitedMs / 1000).toFixed(0)} s)` : (s.delivery.drainMs / 1000).toFixed(1),
        s.delivery.latencyGrowthMs === null ? null : (s.delivery.latencyGrowthMs / 1000).toFixed(1),
        s.drain.appliedPerSecond,
        s.delivery.endToEndRate,
        s.final?.endToEndMs.p50,
        s.final?.endToEndMs.p99,
        s.delivery.sustained ? 'yes' : 'NO',
      ]),
      ['rate/s', 'events', 'once', 'missing', 'dup', 'non200', 'failing', 'writes', 'drain s', 'growth s', 'applied/s', 'e2e ev/s', 'e2e p50', 'e2e p99', 'sustained'],
    ),
  );
  console.log(
    `  once/missing/dup: the step's friends right after its drain wait; non200/failing: non-200 answers, redelivered as LINE does / still not accepted;\n` +
      `  writes: HubSpot contact writes; drain s: last send → last contact of the step ("no": not all there when the wait ended);\n` +
      `  growth s: send → contact of the step's last tenth minus its first tenth (medians), i.e. the backlog that built up;\n` +
      `  applied/s: contact writes per second over the step and its wait; e2e ev/s: events ÷ (first send → last contact);\n` +
      `  e2e p50/p99 ms: each event's send → its contact (those in HubSpot at the end);\n` +
      `  sustained: all exactly once, nothing left failing, growth ≤ ${(SUSTAINED_GROWTH_MS / 1000).toFixed(1)} s (the workers kept pace)`,
  );
  console.log('\nPhase 2: every friend at the end of the run, and CPU');
  console.log(
    table(
      measured.map((s) => [
        s.rate,
        s.delivery.events,
        s.final?.exactlyOnce,
        s.final?.pendingInTemporal,
        s.final?.neverAccepted,
        s.final?.lost,
        s.final?.duplicated,
        s.cpu.nodeCores,
        s.cpu.temporalCores,
        s.cpu.nodeMsPerEvent,
        s.cpu.temporalMsPerEvent,
        s.cpu.clientMsPerEvent,
      ]),
      ['rate/s', 'events', 'once', 'pending', 'not acc.', 'LOST', 'DUP', 'node cores', 'tmprl cores', 'node ms/ev', 'tmprl ms/ev', 'client ms/ev'],
    ),
  );
  console.log(
    `  pending: accepted, workflow in Temporal, not applied (the step's workers were stopped after its wait); not acc.: never answered 200 and not in\n` +
      `  Temporal (LINE would go on redelivering); LOST: answered 200 but in neither; DUP: more than one contact;\n` +
      `  cores: average CPU over the step and its wait (node = this process: HTTP servers + workers + sandboxes; tmprl = Temporal dev server;\n` +
      `  the rest of the machine is other work); ms/ev: CPU per event, for steps whose events were all written within the wait`,
  );
  console.log('\nWhere the time goes, per follow event (means over a sample of each step\'s friends that reached HubSpot, from their workflow histories; ms)');
  const types = [...new Set(e2e.flatMap((s) => Object.keys(s.history?.activityRunMsByType ?? {})))];
  console.log(
    table(
      e2e
        .filter((s) => s.history && s.history.sampled > 0)
        .map((s) => [
          s.warmup ? `${s.rate} (warm-up)` : s.rate,
          s.history!.sampled,
          s.history!.historyEvents,
          s.history!.workflowTasks,
          s.history!.activities,
          s.history!.workflowTaskWaitMs,
          s.history!.workflowTaskRunMs,
          s.history!.activityWaitMs,
          s.history!.activityRunMs,
          ...types.map((t) => s.history!.activityRunMsByType[t] ?? null),
          s.history!.externalSignalMs,
          s.history!.firstToWriteMs,
          s.final?.endToEndMs.p50,
        ]),
      ['rate/s', 'n', 'events', 'WFTs', 'acts', 'WFT wait', 'WFT run', 'act wait', 'act run', ...types.map((t) => `${t}`), 'ext signal', 'start→write', 'e2e p50'],
    ),
  );
  console.log(
    '  WFT wait/run: summed over the event\'s workflow tasks, scheduled → started (queued for the worker) and started → completed (worker + round trip);\n' +
      '  act wait/run: the same for its activities (per-type columns: mean run time); ext signal: the signal to the import workflow (none running: it fails);\n' +
      '  start→write: workflow start → contact write completed; e2e p50: webhook send → contact created',
  );
  for (const s of skipped) console.log(`  skipped: ${s}`);
  console.log('\nSummary');
  for (const [key, value] of Object.entries(summary)) console.log(`  ${key}: ${typeof value === 'object' && value !== null ? JSON.stringify(value) : value}`);
}

// ---------------------------------------------------------------------------------------------
// Main

const RESULTS_DIR = fileURLToPath(new URL('./results/', import.meta.url));
/** friends per step whose workflow histories are read for "where the time goes" */
const HISTORY_SAMPLE = 12;
/** worker + server start, seeding, and their stop, around each end-to-end step */
const STEP_OVERHEAD_MS = 8000;

async function main(): Promise<void> {
  const startedAt = Date.now();
  const elapsed = () => Date.now() - startedAt;
  const budgetLeft = () => options.budgetMs - elapsed() - RESERVE_MS;
  const loadBefore = os.loadavg();
  console.log(
    `webhook benchmark: rates ${options.rates.join(', ')}/s; phase 1 bare ${options.bareSeconds} s + ack ${options.ackSeconds} s, phase 2 ${options.seconds} s each; ` +
      `${os.availableParallelism()} cores, load average ${loadBefore.map((l) => l.toFixed(2)).join(' ')}`,
  );

  let stack: Stack | undefined;
  let ackOnly: RunningServer | undefined;
  let bare: Bench['bare'] | undefined;
  let client: LoadClient | undefined;
  let stepService: StepService | undefined;
  let stopping: Promise<void> | undefined;
  const stopAll = () =>
    (stopping ??= (async () => {
      await client?.close().catch(() => {});
      await bare?.app.close().catch(() => {});
      await stepService?.stop().catch(() => {});
      await ackOnly?.stop().catch(() => {});
      await stack?.stop().catch((error: unknown) => console.error(`stopping the stack: ${(error as Error).message}`));
    })());
  const onSignal = (signal: NodeJS.Signals) => {
    console.error(`\n${signal}: stopping…`);
    void stopAll().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    const t = performance.now();
    stack = await startStack({
      hubspot: { requestsPer10s: options.hubspotPer10s, dailyLimit: 0, searchRequestsPerSecond: 0 },
      env: { HUBSPOT_REQUESTS_PER_10S: String(options.hubspotPer10s), LOG_LEVEL: options.logLevel, LINE_HANDOVER_PER_SECOND: String(options.handOverPerSecond), LINE_INBOX_SHARDS: String(options.inboxShards) },
    });
    ackOnly = await startServer({ ...stack.config, taskQueue: ACK_ONLY_TASK_QUEUE, lineChannelId: ACK_ONLY_CHANNEL });
    bare = await startBareApp();
    client = await LoadClient.start();
    console.log(`stack up in ${((performance.now() - t) / 1000).toFixed(1)} s: service ${stack.url}, ack-only ${ackOnly.url}, bare ${bare.url}, Temporal ${stack.temporal.address}`);

    const sws = { recording: false, samples: [] as number[] };
    timeInboxSignals(stack.client, sws);
    timeInboxSignals(ackOnly.client, sws);
    const bench: Bench = { stack, ackOnly, bare, client, sws };
    const skipped: string[] = [];

    // Warm-up (JIT, sockets, caches) with the stack's own server and workers: not in the tables.
    await ackStep(bench, options.warmup.rate, 1, 1);
    const warm = await e2eStep(bench, { url: stack.url, taskQueue: stack.config.taskQueue, channelId: stack.config.lineChannelId }, options.warmup.rate, options.warmup.seconds, Date.now() + 30_000, true);
    console.log(
      `warm-up: ${warm.webhook.sent} events at ${options.warmup.rate}/s: ack p50 ${warm.webhook.latencyMs.p50} ms; ` +
        `all in HubSpot ${warm.delivery.drainMs === null ? 'NOT within 30 s' : `${(warm.delivery.drainMs / 1000).toFixed(1)} s after the last send`}`,
    );
    await stack.stopWorker();

    // Phase 1
    const phase2NeedMs = options.rates.length * (options.seconds * 1000 + STEP_OVERHEAD_MS + 5000);
    const ackSteps: AckStep[] = [];
    const ackedOnlyIds: string[] = [];
    if (options.ackSeconds > 0 || options.bareSeconds > 0) {
      for (const rate of options.rates) {
        if (budgetLeft() - phase2NeedMs < (options.ackSeconds + options.bareSeconds + 3) * 1000) {
          skipped.push(`phase 1 at ${rate}/s (budget)`);
          continue;
        }
        await settle(stack);
        const { ackedUserIds, ...step } = await ackStep(bench, rate, options.bareSeconds, options.ackSeconds);
        ackSteps.push(step);
        ackedOnlyIds.push(...ackedUserIds);
        console.log(
          `phase 1 ${rate}/s: bare p50 ${step.bare?.latencyMs.p50 ?? '-'} p99 ${step.bare?.latencyMs.p99 ?? '-'} ms; ack p50 ${step.ack?.latencyMs.p50 ?? '-'} p99 ${step.ack?.latencyMs.p99 ?? '-'} ms ` +
            `(signal p50 ${step.ack?.signalWithStartMs?.p50 ?? '-'} p99 ${step.ack?.signalWithStartMs?.p99 ?? '-'}), non-200 ${step.ack?.non200 ?? '-'}`,
        );
      }
    }

    // Phase 2: each step with its own server and workers on a fresh task queue
    const e2e: E2eRun[] = [warm];
    let stopReason: string | undefined;
    for (const [index, rate] of options.rates.entries()) {
      if (stopReason) {
        skipped.push(`phase 2 at ${rate}/s: ${stopReason}`);
        continue;
      }
      const needMs = options.seconds * 1000 + STEP_OVERHEAD_MS;
      if (budgetLeft() < needMs) {
        skipped.push(`phase 2 at ${rate}/s (budget)`);
        continue;
      }
      await settle(stack);
      // What is left of the budget, shared between the remaining steps' drain waits.
      const stepsLeft = options.rates.length - index;
      const waitShare = (budgetLeft() - stepsLeft * needMs) / stepsLeft;
      stepService = await startStepService(bench, `${stack.config.taskQueue}-bench-${index + 1}-${rate}`);
      let step: E2eRun;
      try {
        const drainDeadline = Date.now() + options.seconds * 1000 + 2000 + Math.max(3000, Math.min(options.drainTimeoutMs, waitShare));
        step = await e2eStep(bench, stepService, rate, options.seconds, drainDeadline, false);
      } finally {
        await stepService.stop();
        stepService = undefined;
      }
      e2e.push(step);
      const w = step.webhook.latencyMs;
      console.log(
        `phase 2 ${rate}/s: ${step.webhook.sent} sent at ${step.webhook.achievedRate}/s, ack p50 ${w.p50} p99 ${w.p99} max ${w.max} ms, non-200 ${step.webhook.non200} ` +
          `(${step.redelivery.stillFailing} still failing after redelivery); ${step.delivery.exactlyOnce}/${step.delivery.events} in HubSpot exactly once ` +
          `${step.delivery.drainMs === null ? `when the wait ended (${(step.drain.waitedMs / 1000).toFixed(1)} s)` : `${(step.delivery.drainMs / 1000).toFixed(1)} s after the last send`}, ` +
          `dup ${step.delivery.duplicated}, applied ${step.drain.appliedPerSecond}/s`,
      );
      if (!step.drain.caughtUp && options.stopOnBacklog) stopReason = `the ${rate}/s step's backlog did not drain`;
    }

    // Final: every friend, and Temporal for those without a contact.
    await sleep(1000);
    const view = await contactView(stack);
    const allIds = e2e.flatMap((s) => s.userIds);
    const missingIds = allIds.filter((id) => !view.count.has(id));
    const inTemporal = missingIds.length > 0 ? await workflowsOf(stack.client, missingIds) : new Set<string>();
    for (const step of e2e) {
      // Accepted events not yet in a friend's workflow wait in the channel's inbox: in Temporal too.
      const inbox = await inboxContents(stack.client, step.channelId);
      step.inboxSignals = { signals: inbox.signals, events: inbox.items.length, eventsPerSignal: inbox.signals ? round(inbox.items.length / inbox.signals, 2) : null };
      for (const id of step.userIds) if (!view.count.has(id) && inbox.userIds.has(id)) inTemporal.add(id);
      const counts = tally(step.userIds, view);
      let pendingInTemporal = 0;
      let lost = 0;
      let neverAccepted = 0;
      step.userIds.forEach((id, i) => {
        if (view.count.has(id)) return;
        if (inTemporal.has(id)) pendingInTemporal++;
        else if (step.accepted[i]) lost++;
        else neverAccepted++;
      });
      const endToEndMs = dist(step.userIds.map((id, i) => (view.createdAt.get(id) ?? NaN) - step.dueAtEpochMs[i]!));
      step.final = { exactlyOnce: counts.exactlyOnce, missing: counts.missing, duplicated: counts.duplicated, pendingInTemporal, lost, neverAccepted, endToEndMs };
      // Spread the sample over the step: the first friends and the last ones saw different backlogs.
      const done = step.userIds.filter((id) => view.count.get(id) === 1);
      const sample = done.filter((_, i) => i % Math.max(1, Math.floor(done.length / HISTORY_SAMPLE)) === 0).slice(0, HISTORY_SAMPLE);
      step.history = await historyBreakdown(stack.client, step.channelId, sample);
    }
    // Every 200 of phase 1 must be in Temporal too: in the ack-only channel's inbox (no worker ever ran it).
    const ackOnlyInbox = await inboxContents(stack.client, ACK_ONLY_CHANNEL);
    const ackOnlyInTemporal = ackedOnlyIds.filter((id) => ackOnlyInbox.userIds.has(id)).length;
    const hubspotEnd = await hubspotStats(stack);

    const measured = e2e.filter((s) => !s.warmup);
    const sustained = measured.filter((s) => s.delivery.sustained);
    const at200 = measured.find((s) => s.rate === 200);
    const sum = (pick: (s: E2eRun) => number | undefined) => e2e.reduce((acc, s) => acc + (pick(s) ?? 0), 0);
    const summary = {
      highestSustainedRate: sustained.length ? Math.max(...sustained.map((s) => s.rate)) : `none of ${options.rates.join(', ')}/s`,
      bestEndToEndRate: Math.max(0, ...measured.map((s) => s.delivery.endToEndRate ?? 0)) || null,
      bestAppliedPerSecond: Math.max(0, ...measured.map((s) => s.drain.appliedPerSecond ?? 0)) || null,
      target200: at200
        ? {
            ackP99Ms: at200.webhook.latencyMs.p99,
            ackAloneP99Ms: ackSteps.find((a) => a.rate === 200)?.ack?.latencyMs.p99 ?? null,
            p99Under100Ms: (at200.webhook.latencyMs.p99 ?? Infinity) < 100,
            lost: at200.final?.lost ?? null,
            duplicated: at200.final?.duplicated ?? null,
            allInHubspot: at200.final?.missing === 0,
            met: (at200.webhook.latencyMs.p99 ?? Infinity) < 100 && at200.final?.missing === 0 && at200.final?.duplicated === 0,
          }
        : 'not measured (200 not in --rates, or skipped)',
      ratioAckAloneToBare: Object.fromEntries(ackSteps.map((a) => [a.rate, { p50: ratio(a.ack?.latencyMs.p50, a.bare?.latencyMs.p50), p99: ratio(a.ack?.latencyMs.p99, a.bare?.latencyMs.p99) }])),
      ratioWebhookToBare: Object.fromEntries(
        measured.map((s) => {
          const b = ackSteps.find((a) => a.rate === s.rate)?.bare;
          return [s.rate, { p50: ratio(s.webhook.latencyMs.p50, b?.latencyMs.p50), p99: ratio(s.webhook.latencyMs.p99, b?.latencyMs.p99) }];
        }),
      ),
      final: {
        friends: allIds.length,
        exactlyOnce: sum((s) => s.final?.exactlyOnce),
        pendingInTemporal: sum((s) => s.final?.pendingInTemporal),
        neverAccepted: sum((s) => s.final?.neverAccepted),
        lost: sum((s) => s.final?.lost),
        duplicated: sum((s) => s.final?.duplicated),
        unexpectedContacts: view.contactsWithLineUserId - allIds.reduce((acc, id) => acc + (view.count.get(id) ?? 0), 0),
        hubspotWrites: writesOf(hubspotEnd),
        /** contact writes beyond one per contact (retries, 409 re-reads then updates) */
        extraWrites: writesOf(hubspotEnd) - view.contactsWithLineUserId,
        hubspot429: hubspotEnd.rateLimited,
        ackOnlyAccepted: ackedOnlyIds.length,
        ackOnlyInTemporal,
        ackOnlyEventsPerSignal: ackOnlyInbox.signals ? round(ackOnlyInbox.items.length / ackOnlyInbox.signals, 2) : null,
      },
      sdkWarnings: sdkLogCounts(),
      loadAverage: { before: loadBefore.map((l) => round(l, 2)), after: os.loadavg().map((l) => round(l, 2)) },
      runSeconds: round(elapsed() / 1000),
    };

    printReport(ackSteps, e2e, summary, skipped);

    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const report = {
      benchmark: 'webhook',
      at: new Date().toISOString(),
      options: { ...options, sustainedGrowthMs: SUSTAINED_GROWTH_MS },
      machine: { cores: os.availableParallelism(), cpu: os.cpus()[0]?.model, node: process.version, platform: `${os.platform()} ${os.release()}` },
      summary,
      phase1: ackSteps,
      phase2: e2e.map(({ userIds: _ids, accepted: _accepted, dueAtEpochMs: _due, ...rest }) => rest),
      skipped,
    };
    await mkdir(RESULTS_DIR, { recursive: true });
    const text = `${JSON.stringify(report, null, 2)}\n`;
    const file = join(RESULTS_DIR, `webhook-${stamp}.json`);
    await writeFile(file, text);
    await writeFile(join(RESULTS_DIR, 'webhook-latest.json'), text);
    console.log(`\nwrote ${file} (and webhook-latest.json)`);
  } finally {
    await stopAll();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
