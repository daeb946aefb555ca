// Benchmark of POST /webhooks/line: ack latency at rising open-loop rates, and whether every
// follow event then reaches HubSpot exactly once (and how fast the backlog drains).
//
//   npm run bench:webhook -- [--rates 10,25,50,100,200,300,400] [--seconds 10] [--help]
//
// The whole stack runs as `npm test` runs it (test/support/stack.ts): a Temporal dev server, the
// sandbox LINE and HubSpot APIs over HTTP, the workers and the HTTP server, all in this process
// except Temporal. The load comes from a separate process (bench/support/open-loop-client.ts) on
// loopback: one follow event per request, each for its own friend, sent on schedule whatever the
// answers (open loop), latency measured from each request's due time (no coordinated omission).
//
// Phase 1, the ack path alone (workers idle), for each rate:
//   - bare: a bare Fastify app in this process (one `POST /bare` answering 200), same bodies, same
//     client, same rate: the floor that HTTP + Fastify + this machine cost;
//   - ack: the service's own webhook route on a second HTTP server whose task queue has no worker,
//     so nothing but the route + signalWithStart runs (its workflows are never processed).
// Phase 2, end to end, for each rate: the real webhook with the workers running; non-200 answers are
//   redelivered as LINE does; then a bounded wait for the backlog to drain; then a check, from the
//   sandbox HubSpot's own view, that each friend has exactly one contact with its line_user_id.
// At the end: a bounded wait for what is left, a check of every friend, and for friends without a
// contact whether their workflow is in Temporal (pending, not lost).
//
// Figures are printed and written to bench/results/webhook-<timestamp>.json and webhook-latest.json.
// Absolute numbers depend on the machine and whatever else runs on it; compare ratios within a run.
import Fastify, { type FastifyInstance } from 'fastify';
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
import { call, type SandboxContact } from '../test/support/sandbox-http.ts';
import { startStack, type Stack } from '../test/support/stack.ts';
import { LoadClient, type OpenLoopRequest, type OpenLoopResult } from './support/load-client.ts';

// ---------------------------------------------------------------------------------------------
// Options

const HELP = `usage: npm run bench:webhook -- [options]
  --rates 10,25,50,100,200,300,400  events per second, one step each, rising
  --seconds 10                 length of each end-to-end step (phase 2)
  --ack-seconds 5              length of each ack-path-alone step (phase 1; 0: no phase 1)
  --bare-seconds 5             length of each bare-Fastify step (phase 1; 0: none)
  --drain-timeout 30           most seconds to wait after a step for the backlog to drain
  --budget 285                 total seconds; steps that would not fit are skipped, waits are cut
  --stop-on-backlog            stop raising the rate once a step's backlog does not drain
  --timeout-ms 10000           per request
  --max-sockets 512            client sockets at most (more requests wait, and that wait is latency)
  --hubspot-per-10s 100000     sandbox HubSpot burst limit, and HUBSPOT_REQUESTS_PER_10S to match
  --log-level fatal            the service's LOG_LEVEL (503s are counted here anyway)`;

const { values: flags } = parseArgs({
  options: {
    rates: { type: 'string', default: '10,25,50,100,200,300,400' },
    seconds: { type: 'string', default: '10' },
    'ack-seconds': { type: 'string', default: '5' },
    'bare-seconds': { type: 'string', default: '5' },
    'drain-timeout': { type: 'string', default: '30' },
    budget: { type: 'string', default: '285' },
    'stop-on-backlog': { type: 'boolean', default: false },
    'timeout-ms': { type: 'string', default: '10000' },
    'max-sockets': { type: 'string', default: '512' },
    'hubspot-per-10s': { type: 'string', default: '100000' },
    'log-level': { type: 'string', default: 'fatal' },
    help: { type: 'boolean', default: false },
  },
});
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
  warmup: { rate: 20, seconds: 2 },
};

/** A step is "sustained" when its events are all in HubSpot this soon after its last send. */
const SUSTAINED_DRAIN_MS = Math.max(2000, options.seconds * 100);
/** kept back from the budget for the final check and the shutdown */
const RESERVE_MS = 12_000;
/** the ack-only server's task queue: no worker polls it, so its workflows are never processed */
const ACK_ONLY_TASK_QUEUE = 'bench-webhook-ack-only';

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
  /** inside the route: the Temporal client's signalWithStart (not for bare) */
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

function cpuNow(stack: Stack): CpuSnapshot {
  const own = process.cpuUsage();
  return { at: performance.now(), nodeMs: (own.user + own.system) / 1000, temporalMs: procCpuMs(stack.temporal.process?.pid) };
}

// ---------------------------------------------------------------------------------------------
// Sandbox views

const UPSERT = 'POST /crm/v3/objects/contacts/batch/upsert';
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

/** Times every signalWithStart a route makes through this client (bench-side instrumentation only). */
function timeSignalWithStart(client: Client, recorder: { recording: boolean; samples: number[] }): void {
  const workflows = client.workflow as unknown as { signalWithStart: (...args: unknown[]) => Promise<unknown> };
  const original = workflows.signalWithStart.bind(workflows);
  workflows.signalWithStart = async (...args: unknown[]) => {
    const t0 = performance.now();
    try {
      return await original(...args);
    } finally {
      if (recorder.recording) recorder.samples.push(performance.now() - t0);
    }
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
}

async function ackStep(bench: Bench, rate: number, bareSeconds: number, ackSeconds: number): Promise<AckStep & { ackedUserIds: string[] }> {
  const requestsFor = (seconds: number) => {
    const ids = freshUserIds(Math.max(1, Math.round(rate * seconds)));
    return { ids, requests: ids.map((id) => signedFollow(followEvent(id))) };
  };
  let bare: LoadFigures | null = null;
  if (bareSeconds > 0) bare = (await load(bench, bench.bare.url, rate, requestsFor(bareSeconds).requests, false)).figures;
  let ack: LoadFigures | null = null;
  const ackedUserIds: string[] = [];
  if (ackSeconds > 0) {
    const { ids, requests } = requestsFor(ackSeconds);
    const { figures, result } = await load(bench, `${bench.ackOnly.url}/webhooks/line`, rate, requests, true);
    ack = figures;
    result.status.forEach((s, i) => s === 200 && ackedUserIds.push(ids[i]!));
  }
  return { rate, bare, ack, ackedUserIds };
}

// ---------------------------------------------------------------------------------------------
// Phase 2: end to end

interface E2eStep {
  rate: number;
  warmup: boolean;
  webhook: LoadFigures;
  redelivery: { needed: number; stillFailing: number; attempts: number };
  drain: {
    /** every event sent so far (this step's and earlier backlog) was in HubSpot before the wait ended */
    caughtUp: boolean;
    waitedMs: number;
    /** backlog (events sent so far minus upserts) when the wait ended */
    backlogLeft: number;
    /** upserts per second from this step's first send to the end of its wait: the workers' throughput */
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
    /** each event: due time → its contact created */
    endToEndMs: Dist;
    sustained: boolean;
  };
  vendorRequests: { hubspotUpserts: number; hubspotBatchReads: number; hubspotStatuses: Record<string, number>; lineProfileReads: number; lineProfileStatuses: Record<string, number> };
  cpu: {
    /** CPU per event from the first send to the end of the wait */
    nodeMsPerEvent: number | null;
    temporalMsPerEvent: number | null;
    clientMsPerEvent: number | null;
    /** average cores busy while sending */
    nodeCoresWhileSending: number | null;
    temporalCoresWhileSending: number | null;
  };
  /** filled in by the final check */
  final?: { exactlyOnce: number; missing: number; duplicated: number; pendingInTemporal: number; lost: number; neverAccepted: number };
}

interface Ledger {
  /** every friend sent in phase 2 */
  sent: number;
  upsertsAtStart: number;
}

function diffCounts(after: Record<string, number>, before: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, value] of Object.entries(after)) {
    const d = value - (before[key] ?? 0);
    if (d !== 0) out[key] = d;
  }
  return out;
}

async function redeliver(bench: Bench, events: FollowEvent[], status: number[], deadline: number): Promise<{ redelivery: E2eStep['redelivery']; accepted: boolean[] }> {
  const accepted = status.map((s) => s === 200);
  let failing = events.map((_, i) => i).filter((i) => !accepted[i]);
  const needed = failing.length;
  let attempts = 0;
  // LINE redelivers the same event (same webhookEventId) with isRedelivery: true, a little later.
  for (let round = 0; round < 3 && failing.length > 0 && Date.now() < deadline; round++) {
    await sleep(1000);
    const next: number[] = [];
    for (let k = 0; k < failing.length; k += 32) {
      const batch = failing.slice(k, k + 32);
      if (Date.now() > deadline) {
        next.push(...failing.slice(k));
        break;
      }
      const answers = await Promise.all(
        batch.map((i) =>
          sendLineWebhook({ url: `${bench.stack.url}/webhooks/line`, channelSecret: SANDBOX_LINE_CHANNEL_SECRET, events: [asRedelivery(events[i]!)], timeoutMs: options.timeoutMs }).then(
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

/** Waits until every event sent so far is upserted, or the deadline, or the pace says it cannot make it. */
async function waitForBacklog(bench: Bench, ledger: Ledger, deadline: number): Promise<{ caughtUp: boolean; backlogLeft: number; upserts: number }> {
  const history: Array<{ at: number; applied: number }> = [];
  for (;;) {
    const stats = await hubspotStats(bench.stack);
    const applied = (stats.endpoints[UPSERT] ?? 0) - ledger.upsertsAtStart;
    const backlog = ledger.sent - applied;
    if (backlog <= 0) return { caughtUp: true, backlogLeft: 0, upserts: stats.endpoints[UPSERT] ?? 0 };
    const now = Date.now();
    history.push({ at: now, applied });
    const old = history.find((h) => h.at <= now - 4000);
    if (old) {
      const pace = (applied - old.applied) / ((now - old.at) / 1000);
      if (pace <= 0 || now + (backlog / pace) * 1000 > deadline) return { caughtUp: false, backlogLeft: backlog, upserts: stats.endpoints[UPSERT] ?? 0 };
    }
    if (now > deadline) return { caughtUp: false, backlogLeft: backlog, upserts: stats.endpoints[UPSERT] ?? 0 };
    await sleep(250);
  }
}

async function e2eStep(
  bench: Bench,
  ledger: Ledger,
  rate: number,
  seconds: number,
  drainDeadline: number,
  warmup: boolean,
): Promise<E2eStep & { userIds: string[]; accepted: boolean[] }> {
  const { stack } = bench;
  const n = Math.max(1, Math.round(rate * seconds));
  const userIds = freshUserIds(n);
  await seedFriends(stack.line.url, userIds); // so that their profiles can be read
  const events = userIds.map((id) => followEvent(id));
  const requests = events.map(signedFollow);
  await sleep(300);

  const [hubspotBefore, lineBefore] = await Promise.all([hubspotStats(stack), lineStats(stack)]);
  const cpuBefore = cpuNow(stack);
  ledger.sent += n;
  const { figures: webhook, result } = await load(bench, `${stack.url}/webhooks/line`, rate, requests, true);
  const cpuAfterSend = cpuNow(stack);

  const { redelivery, accepted } = await redeliver(bench, events, result.status, drainDeadline);
  const waitStart = Date.now();
  const wait = await waitForBacklog(bench, ledger, drainDeadline);
  const waitedMs = Date.now() - waitStart;
  const cpuAfter = cpuNow(stack);
  const [hubspotAfter, lineAfter, view] = await Promise.all([hubspotStats(stack), lineStats(stack), contactView(stack)]);

  const counts = tally(userIds, view);
  const created = userIds.map((id) => view.createdAt.get(id) ?? NaN);
  const allThere = counts.missing === 0;
  const lastCreated = Math.max(...created.filter(Number.isFinite));
  const drainMs = allThere ? Math.max(0, lastCreated - result.dueAtEpochMs[n - 1]!) : null;
  const upserts = (hubspotAfter.endpoints[UPSERT] ?? 0) - (hubspotBefore.endpoints[UPSERT] ?? 0);
  const spanS = (cpuAfter.at - cpuBefore.at) / 1000;
  const sendS = (cpuAfterSend.at - cpuBefore.at) / 1000;
  const perEvent = (ms: number) => round(ms / n, 2);

  return {
    rate,
    warmup,
    userIds,
    accepted,
    webhook,
    redelivery,
    drain: { caughtUp: wait.caughtUp, waitedMs, backlogLeft: wait.backlogLeft, appliedPerSecond: round(upserts / spanS) },
    delivery: {
      events: n,
      ...counts,
      drainMs: drainMs === null ? null : Math.round(drainMs),
      endToEndRate: allThere ? round((n * 1000) / (lastCreated - result.startedAtEpochMs)) : null,
      endToEndMs: dist(created.map((c, i) => c - result.dueAtEpochMs[i]!)),
      sustained: allThere && counts.duplicated === 0 && redelivery.stillFailing === 0 && drainMs !== null && drainMs <= SUSTAINED_DRAIN_MS,
    },
    vendorRequests: {
      hubspotUpserts: upserts,
      hubspotBatchReads: (hubspotAfter.endpoints[BATCH_READ] ?? 0) - (hubspotBefore.endpoints[BATCH_READ] ?? 0),
      hubspotStatuses: diffCounts(hubspotAfter.statuses, hubspotBefore.statuses),
      lineProfileReads: (lineAfter[PROFILE]?.requests ?? 0) - (lineBefore[PROFILE]?.requests ?? 0),
      lineProfileStatuses: diffCounts(lineAfter[PROFILE]?.statuses ?? {}, lineBefore[PROFILE]?.statuses ?? {}),
    },
    cpu: {
      nodeMsPerEvent: perEvent(cpuAfter.nodeMs - cpuBefore.nodeMs),
      temporalMsPerEvent: perEvent(cpuAfter.temporalMs - cpuBefore.temporalMs),
      clientMsPerEvent: perEvent(webhook.clientCpuMs),
      nodeCoresWhileSending: round((cpuAfterSend.nodeMs - cpuBefore.nodeMs) / 1000 / sendS, 2),
      temporalCoresWhileSending: round((cpuAfterSend.temporalMs - cpuBefore.temporalMs) / 1000 / sendS, 2),
    },
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
    console.log('\nPhase 1: ack path alone (route + signalWithStart, workers idle) vs bare Fastify. ms from each request\'s due time to its answer (open loop)');
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
        ]),
        ['rate/s', 'bare/s', 'bare p50', 'bare p99', 'ack/s', 'ack p50', 'p90', 'p99', 'max', 'non200', 'sWS p50', 'sWS p99', 'x p50', 'x p99'],
      ),
    );
    console.log('  sWS: signalWithStart inside the route; x: ack ÷ bare');
  }
  const measured = e2e.filter((s) => !s.warmup);
  const bareAt = (rate: number) => ackSteps.find((a) => a.rate === rate)?.bare ?? null;
  console.log('\nPhase 2: webhook end to end (workers running) — ack latency, ms from due time (open loop)');
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
        s.webhook.eventLoopDelayMs.p99,
        ratio(s.webhook.latencyMs.p50, bareAt(s.rate)?.latencyMs.p50),
        ratio(s.webhook.latencyMs.p99, bareAt(s.rate)?.latencyMs.p99),
      ]),
      ['rate/s', 'sent', 'sent/s', 'p50', 'p90', 'p99', 'max', 'non200', 'sWS p50', 'sWS p99', 'loop p99', 'x p50', 'x p99'],
    ),
  );
  console.log('  loop: event-loop delay of the service process; x: webhook ÷ bare Fastify at the same rate (phase 1)');

  console.log('\nPhase 2: delivery to HubSpot (each friend: exactly one contact with its line_user_id)');
  console.log(
    table(
      measured.map((s) => [
        s.rate,
        s.delivery.events,
        s.delivery.exactlyOnce,
        s.delivery.missing,
        s.delivery.duplicated,
        s.final?.exactlyOnce,
        s.final?.pendingInTemporal,
        s.final?.lost,
        s.final?.duplicated,
        s.redelivery.needed,
        s.redelivery.stillFailing,
        s.vendorRequests.hubspotUpserts,
        s.drain.backlogLeft,
        s.delivery.drainMs === null ? 'no' : (s.delivery.drainMs / 1000).toFixed(1),
        s.drain.appliedPerSecond,
        s.delivery.endToEndRate,
        s.delivery.endToEndMs.p50,
        s.delivery.endToEndMs.p99,
        s.cpu.nodeMsPerEvent,
        s.cpu.temporalMsPerEvent,
        s.delivery.sustained ? 'yes' : 'NO',
      ]),
      ['rate/s', 'events', 'once', 'missing', 'dup', 'final once', 'pending', 'lost', 'dup', 'redeliv', 'failing', 'upserts', 'backlog', 'drain s', 'applied/s', 'e2e ev/s', 'e2e p50', 'e2e p99', 'node ms/ev', 'tmprl ms/ev', 'sustained'],
    ),
  );
  console.log(
    `  once/missing/dup: this step's friends right after its drain wait; final: at the end of the run (pending = workflow in Temporal, not yet in HubSpot;\n` +
      `  lost = accepted but in neither); redeliv/failing: non-200 answers redelivered as LINE does / still not accepted; backlog: all steps' events not yet\n` +
      `  upserted when the wait ended; drain s: last send → last contact of the step; applied/s: upserts per second over the step and its wait (worker throughput);\n` +
      `  e2e ev/s: events ÷ (first send → last contact); e2e p50/p99 ms: each event's send → its contact; ms/ev: CPU per event, node = this process\n` +
      `  (HTTP server + workers + sandboxes), tmprl = Temporal dev server; sustained: all exactly once within ${(SUSTAINED_DRAIN_MS / 1000).toFixed(1)} s of the last send, nothing failing`,
  );
  for (const s of skipped) console.log(`  skipped: ${s}`);
  console.log('\nSummary');
  for (const [key, value] of Object.entries(summary)) console.log(`  ${key}: ${typeof value === 'object' && value !== null ? JSON.stringify(value) : value}`);
}

// ---------------------------------------------------------------------------------------------
// Main

const RESULTS_DIR = fileURLToPath(new URL('./results/', import.meta.url));

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
  let stopping: Promise<void> | undefined;
  const stopAll = () =>
    (stopping ??= (async () => {
      await client?.close().catch(() => {});
      await bare?.app.close().catch(() => {});
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
      env: { HUBSPOT_REQUESTS_PER_10S: String(options.hubspotPer10s), LOG_LEVEL: options.logLevel },
    });
    ackOnly = await startServer({ ...stack.config, taskQueue: ACK_ONLY_TASK_QUEUE });
    bare = await startBareApp();
    client = await LoadClient.start();
    console.log(`stack up in ${((performance.now() - t) / 1000).toFixed(1)} s: service ${stack.url}, ack-only ${ackOnly.url}, bare ${bare.url}, Temporal ${stack.temporal.address}`);

    const sws = { recording: false, samples: [] as number[] };
    timeSignalWithStart(stack.client, sws);
    timeSignalWithStart(ackOnly.client, sws);
    const bench: Bench = { stack, ackOnly, bare, client, sws };
    const ledger: Ledger = { sent: 0, upsertsAtStart: (await hubspotStats(stack)).endpoints[UPSERT] ?? 0 };
    const skipped: string[] = [];

    // Warm-up (JIT, sockets, caches): not reported in the tables.
    await ackStep(bench, options.warmup.rate, 1, 1);
    const warm = await e2eStep(bench, ledger, options.warmup.rate, options.warmup.seconds, Date.now() + 30_000, true);
    console.log(`warm-up: ${warm.webhook.sent} events at ${options.warmup.rate}/s: ack p50 ${warm.webhook.latencyMs.p50} ms; all in HubSpot ${warm.delivery.drainMs === null ? 'NOT within 30 s' : `${(warm.delivery.drainMs / 1000).toFixed(1)} s after the last send`}`);

    // Phase 1
    const ackSteps: AckStep[] = [];
    const ackedOnlyIds: string[] = [];
    if (options.ackSeconds > 0 || options.bareSeconds > 0) {
      for (const rate of options.rates) {
        const phase2Need = options.rates.length * (options.seconds + 3) * 1000;
        if (budgetLeft() - phase2Need < (options.ackSeconds + options.bareSeconds + 2) * 1000) {
          skipped.push(`phase 1 at ${rate}/s (budget)`);
          continue;
        }
        const step = await ackStep(bench, rate, options.bareSeconds, options.ackSeconds);
        ackSteps.push(step);
        ackedOnlyIds.push(...step.ackedUserIds);
        console.log(
          `phase 1 ${rate}/s: bare p50 ${step.bare?.latencyMs.p50 ?? '-'} p99 ${step.bare?.latencyMs.p99 ?? '-'} ms; ack p50 ${step.ack?.latencyMs.p50 ?? '-'} p99 ${step.ack?.latencyMs.p99 ?? '-'} ms ` +
            `(signalWithStart p50 ${step.ack?.signalWithStartMs?.p50 ?? '-'} p99 ${step.ack?.signalWithStartMs?.p99 ?? '-'}), non-200 ${step.ack?.non200 ?? '-'}`,
        );
      }
    }

    // Phase 2
    const e2e: Array<Awaited<ReturnType<typeof e2eStep>>> = [warm];
    let stopReason: string | undefined;
    for (const [index, rate] of options.rates.entries()) {
      if (stopReason) {
        skipped.push(`phase 2 at ${rate}/s: ${stopReason}`);
        continue;
      }
      const stepsLeft = options.rates.length - index;
      const needMs = (options.seconds + 3) * 1000;
      if (budgetLeft() < needMs) {
        skipped.push(`phase 2 at ${rate}/s (budget)`);
        continue;
      }
      // Share what is left of the budget between the remaining steps' waits (and the final one).
      const waitShare = (budgetLeft() - stepsLeft * needMs) / (stepsLeft + 1);
      const drainDeadline = Date.now() + needMs + Math.max(3000, Math.min(options.drainTimeoutMs, waitShare));
      const step = await e2eStep(bench, ledger, rate, options.seconds, drainDeadline, false);
      e2e.push(step);
      const w = step.webhook.latencyMs;
      console.log(
        `phase 2 ${rate}/s: ${step.webhook.sent} sent at ${step.webhook.achievedRate}/s, ack p50 ${w.p50} p99 ${w.p99} max ${w.max} ms, non-200 ${step.webhook.non200} ` +
          `(${step.redelivery.stillFailing} still failing after redelivery); ${step.delivery.exactlyOnce}/${step.delivery.events} in HubSpot exactly once after ${(step.drain.waitedMs / 1000).toFixed(1)} s wait, ` +
          `dup ${step.delivery.duplicated}, backlog ${step.drain.backlogLeft}, applied ${step.drain.appliedPerSecond}/s`,
      );
      if (!step.drain.caughtUp && options.stopOnBacklog) stopReason = `the ${rate}/s step's backlog did not drain`;
    }

    // Final: a last bounded wait, then every friend, and Temporal for those without a contact.
    const finalWait = await waitForBacklog(bench, ledger, Date.now() + Math.max(0, budgetLeft()));
    const view = await contactView(stack);
    const allIds = e2e.flatMap((s) => s.userIds);
    const missingIds = allIds.filter((id) => !view.count.has(id));
    const inTemporal = missingIds.length > 0 ? await workflowsOf(stack.client, missingIds) : new Set<string>();
    for (const step of e2e) {
      const t2 = tally(step.userIds, view);
      let pendingInTemporal = 0;
      let lost = 0;
      let neverAccepted = 0;
      step.userIds.forEach((id, i) => {
        if (view.count.has(id)) return;
        if (inTemporal.has(id)) pendingInTemporal++;
        else if (step.accepted[i]) lost++;
        else neverAccepted++;
      });
      step.final = { exactlyOnce: t2.exactlyOnce, missing: t2.missing, duplicated: t2.duplicated, pendingInTemporal, lost, neverAccepted };
    }
    // Every 200 of phase 1 must have its workflow in Temporal too.
    const ackOnlyInTemporal = ackedOnlyIds.length > 0 ? (await workflowsOf(stack.client, ackedOnlyIds)).size : 0;
    const hubspotEnd = await hubspotStats(stack);

    const measured = e2e.filter((s) => !s.warmup);
    const sustained = measured.filter((s) => s.delivery.sustained);
    const at200 = measured.find((s) => s.rate === 200);
    const totals = e2e.reduce(
      (acc, s) => ({
        once: acc.once + (s.final?.exactlyOnce ?? 0),
        pending: acc.pending + (s.final?.pendingInTemporal ?? 0),
        lost: acc.lost + (s.final?.lost ?? 0),
        dup: acc.dup + (s.final?.duplicated ?? 0),
        neverAccepted: acc.neverAccepted + (s.final?.neverAccepted ?? 0),
      }),
      { once: 0, pending: 0, lost: 0, dup: 0, neverAccepted: 0 },
    );
    const summary = {
      highestSustainedRate: sustained.length ? Math.max(...sustained.map((s) => s.rate)) : `none of ${options.rates.join(', ')}/s`,
      bestEndToEndRate: Math.max(0, ...measured.map((s) => s.delivery.endToEndRate ?? 0)) || null,
      bestAppliedPerSecond: Math.max(0, ...measured.map((s) => s.drain.appliedPerSecond ?? 0)) || null,
      target200: at200
        ? {
            ackP99Ms: at200.webhook.latencyMs.p99,
            ackP99Under100Ms: (at200.webhook.latencyMs.p99 ?? Infinity) < 100,
            ackAloneP99Ms: ackSteps.find((a) => a.rate === 200)?.ack?.latencyMs.p99 ?? null,
            lost: at200.final?.lost ?? null,
            duplicated: at200.final?.duplicated ?? null,
            allInHubspotByEnd: at200.final?.missing === 0,
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
        exactlyOnce: totals.once,
        pendingInTemporal: totals.pending,
        lost: totals.lost,
        duplicated: totals.dup,
        neverAccepted: totals.neverAccepted,
        backlogAtEnd: finalWait.backlogLeft,
        unexpectedContacts: view.contactsWithLineUserId - allIds.reduce((s, id) => s + (view.count.get(id) ?? 0), 0),
        hubspotUpserts: (hubspotEnd.endpoints[UPSERT] ?? 0) - ledger.upsertsAtStart,
        hubspot429: hubspotEnd.rateLimited,
        ackOnlyAccepted: ackedOnlyIds.length,
        ackOnlyWorkflowsInTemporal: ackOnlyInTemporal,
      },
      loadAverage: { before: loadBefore.map((l) => round(l, 2)), after: os.loadavg().map((l) => round(l, 2)) },
      runSeconds: round(elapsed() / 1000),
    };

    printReport(ackSteps, e2e, summary, skipped);

    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const report = {
      benchmark: 'webhook',
      at: new Date().toISOString(),
      options: { ...options, sustainedDrainMs: SUSTAINED_DRAIN_MS },
      machine: { cores: os.availableParallelism(), cpu: os.cpus()[0]?.model, node: process.version, platform: `${os.platform()} ${os.release()}` },
      summary,
      phase1: ackSteps,
      phase2: e2e.map(({ userIds: _ids, accepted: _accepted, ...rest }) => rest),
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
