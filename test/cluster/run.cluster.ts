// `npm run test:cluster`: the service on a real Temporal cluster, not the dev server.
//
// temporal-server (built from go.temporal.io/server, pinned: src/temporal/server-build.ts) on a
// throwaway PostgreSQL (persistence and visibility), every task queue in 4 partitions; a namespace
// registered as an operator would; two `npm run worker` and two `npm run server` processes; the sandbox
// LINE and HubSpot APIs at HubSpot's real limit (100 requests / 10 s). A 5,000-friend import and a burst
// of 2,000 follows spread over both servers run at once; one worker is SIGKILLed mid-way and started
// again later. Then: exactly one correct contact per friend, no workflow failed, HubSpot never over its
// limit (0 × 429 and no rolling 10 s over 100), and the figures of HubSpot's pacing.
//
// Not in `npm test` (its glob is test/**/*.test.ts): it takes minutes and builds a Go server.
// Knobs (environment): CLUSTER_IMPORT_FRIENDS (5000), CLUSTER_FOLLOWS (2000), CLUSTER_FOLLOW_RATE (100/s),
// CLUSTER_PARTITIONS (4), CLUSTER_RESTART_KILLED (1: start the killed worker again; 0: leave it dead).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { signLineBody } from '../../src/line/signature.ts';
import { startHubspotSandbox, SANDBOX_HUBSPOT_ACCESS_TOKEN, type SandboxStats } from '../../src/sandbox/hubspot.ts';
import { SANDBOX_HUBSPOT_CLIENT_SECRET } from '../../src/sandbox/hubspot-webhooks.ts';
import { followEvent, newLineUserId, webhookBody } from '../../src/sandbox/line-webhook.ts';
import { SANDBOX_LINE_CHANNEL_ACCESS_TOKEN, SANDBOX_LINE_CHANNEL_SECRET, SANDBOX_LINE_LOGIN_CHANNEL_ID, startLineSandbox } from '../../src/sandbox/line.ts';
import { SEARCH_ATTRIBUTE_VALUE_LIMIT, SEARCH_ATTRIBUTES } from '../../src/temporal/search-attributes.ts';
import { hubspotTaskQueue } from '../../src/temporal/ids.ts';
import { hubspotActivitiesPerSecond } from '../../src/temporal/worker.ts';
import { busiestWindow } from '../support/windows.ts';
import { startCluster, type Cluster } from './support/cluster.ts';
import { freePorts } from './support/ports.ts';
import { startServiceProcess, type ServiceProcess } from './support/processes.ts';

const whole = (name: string, fallback: number) => {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw)) throw new Error(`${name} must be a whole number, got "${raw}"`);
  return Number(raw);
};
const IMPORT_FRIENDS = whole('CLUSTER_IMPORT_FRIENDS', 5000);
const FOLLOWS = whole('CLUSTER_FOLLOWS', 2000);
const FOLLOW_RATE = whole('CLUSTER_FOLLOW_RATE', 100);
const PARTITIONS = whole('CLUSTER_PARTITIONS', 4);
const RESTART_KILLED = whole('CLUSTER_RESTART_KILLED', 1) === 1;
const HUBSPOT_PER_10S = 100;
const NAMESPACE = 'line-sync';
const TASK_QUEUE = 'line-hubspot-sync';
const ADMIN_TOKEN = 'cluster-test-admin-token-0123456789';
const PROBE_ACTIVITIES = whole('CLUSTER_PROBE_ACTIVITIES', 270);
const PROBE_SINGLE = 'pacing-probe-1-partition';
const PROBE_PARTITIONED = 'pacing-probe-partitioned';
/** CLUSTER_PIN_HUBSPOT_QUEUE=0 leaves the service's HubSpot queue in PARTITIONS partitions too. */
const PINNED = [PROBE_SINGLE, ...(whole('CLUSTER_PIN_HUBSPOT_QUEUE', 1) === 1 ? [hubspotTaskQueue(TASK_QUEUE)] : [])];
const DONE_TIMEOUT_MS = whole('CLUSTER_TIMEOUT_SECONDS', 900) * 1000;

// The probe's in-process workers: the SDK's warnings only.
Runtime.install({ logger: new DefaultLogger('WARN') });

const log = (line: string) => process.stderr.write(`[cluster ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const round = (n: number, d = 2) => Math.round(n * 10 ** d) / 10 ** d;

let cluster: Cluster;
let line: Awaited<ReturnType<typeof startLineSandbox>>;
let hubspot: Awaited<ReturnType<typeof startHubspotSandbox>>;
const processes: ServiceProcess[] = [];
const startedAt = Date.now();

before(async () => {
  const t0 = Date.now();
  cluster = await startCluster({
    partitions: PARTITIONS,
    // Every queue in PARTITIONS partitions but the HubSpot queue, pinned to one as the README tells
    // operators (and the pacing probe's single-partition queue): see the pacing test below.
    dynamicConfig: Object.fromEntries(
      ['matching.numTaskqueueReadPartitions', 'matching.numTaskqueueWritePartitions'].map((key) => [key, PINNED.map((taskQueueName) => ({ value: 1, constraints: { taskQueueName } }))]),
    ),
  });
  log(`temporal-server ${cluster.tools.version} on PostgreSQL :${cluster.postgres.port} at ${cluster.address}, ${PARTITIONS} task-queue partitions (${Date.now() - t0} ms)`);
  await cluster.registerNamespace(NAMESPACE);
  log(`namespace ${NAMESPACE} registered`);
  line = await startLineSandbox({ port: 0 });
  hubspot = await startHubspotSandbox({ port: 0, requestsPer10s: HUBSPOT_PER_10S, dailyLimit: 0 });
});

after(async () => {
  await Promise.all(processes.map((p) => p.kill().catch(() => {})));
  await Promise.all([line?.close(), hubspot?.close()].map((p) => p?.catch(() => {})));
  await cluster?.stop();
  log(`done in ${round((Date.now() - startedAt) / 1000, 1)} s (cluster up to down)`);
});

function serviceEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    TEMPORAL_ADDRESS: cluster.address,
    TEMPORAL_NAMESPACE: NAMESPACE,
    TEMPORAL_TASK_QUEUE: TASK_QUEUE,
    TEMPORAL_SEARCH_ATTRIBUTE_VALUE_LIMIT: String(SEARCH_ATTRIBUTE_VALUE_LIMIT),
    LINE_CHANNEL_SECRET: SANDBOX_LINE_CHANNEL_SECRET,
    LINE_CHANNEL_ACCESS_TOKEN: SANDBOX_LINE_CHANNEL_ACCESS_TOKEN,
    LINE_LOGIN_CHANNEL_ID: SANDBOX_LINE_LOGIN_CHANNEL_ID,
    LINE_API_BASE_URL: line.url,
    LINE_INBOX_SHARDS: '2',
    HUBSPOT_ACCESS_TOKEN: SANDBOX_HUBSPOT_ACCESS_TOKEN,
    HUBSPOT_CLIENT_SECRET: SANDBOX_HUBSPOT_CLIENT_SECRET,
    HUBSPOT_BASE_URL: hubspot.url,
    HUBSPOT_REQUESTS_PER_10S: String(HUBSPOT_PER_10S),
    ADMIN_TOKEN,
    LOG_LEVEL: 'warn',
    ...extra,
  };
}

const startWorkerProcess = async (name: string) => {
  const p = await startServiceProcess(name, 'worker', serviceEnv(), /polling task queue/);
  processes.push(p);
  return p;
};
const startServerProcess = async (name: string, port: number) => {
  const p = await startServiceProcess(name, 'server', serviceEnv({ PORT: String(port), HOST: '127.0.0.1' }), /listening on/);
  processes.push(p);
  return p;
};

/** Sends one signed follow per friend at `rate`/s, alternating between the servers; `onSent(n)` after each. */
async function sendFollows(urls: string[], userIds: string[], rate: number, onSent: (n: number) => Promise<void> | void) {
  const statuses: number[] = new Array(userIds.length);
  const inFlight: Promise<void>[] = [];
  const start = performance.now();
  for (const [i, userId] of userIds.entries()) {
    const due = start + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    const body = JSON.stringify(webhookBody([followEvent(userId)]));
    const url = `${urls[i % urls.length]}/webhooks/line`;
    inFlight.push(
      (async () => {
        // LINE redelivers what was not acknowledged: so does this sender, a few times.
        for (let attempt = 1; ; attempt++) {
          try {
            const response = await fetch(url, {
              method: 'POST',
              headers: { 'content-type': 'application/json; charset=utf-8', 'user-agent': 'LineBotWebhook/2.0', 'x-line-signature': signLineBody(body, SANDBOX_LINE_CHANNEL_SECRET) },
              body,
              signal: AbortSignal.timeout(10_000),
            });
            await response.arrayBuffer();
            statuses[i] = response.status;
            if (response.status === 200 || attempt >= 3) return;
          } catch {
            statuses[i] = 0;
            if (attempt >= 3) return;
          }
          await sleep(1000);
        }
      })(),
    );
    await onSent(i + 1);
  }
  await Promise.all(inFlight);
  return { statuses, seconds: (performance.now() - start) / 1000 };
}

test(
  `on a Temporal cluster (${PARTITIONS} partitions, PostgreSQL): a ${IMPORT_FRIENDS}-friend import and ${FOLLOWS} follows over two servers, a worker killed mid-way: one correct contact each, HubSpot never over its limit`,
  { timeout: DONE_TIMEOUT_MS + 300_000 },
  async () => {
    // Two workers at once: both make sure the search attributes and HubSpot properties exist (idempotent).
    const t0 = Date.now();
    const [workerA] = await Promise.all([startWorkerProcess('worker A'), startWorkerProcess('worker B')]);
    const [portA, portB] = await freePorts(2);
    const servers = await Promise.all([startServerProcess('server 1', portA!), startServerProcess('server 2', portB!)]);
    log(`2 workers and 2 servers up (${Date.now() - t0} ms)`);
    assert.equal(servers.length, 2);
    const urls = [`http://127.0.0.1:${portA}`, `http://127.0.0.1:${portB}`];

    // The workers registered the search attributes on the namespace (SQL visibility: per namespace).
    const connection = await Connection.connect({ address: cluster.address });
    try {
      const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace: NAMESPACE });
      for (const key of SEARCH_ATTRIBUTES) assert.ok(customAttributes && key.name in customAttributes, `search attribute ${key.name} registered by the workers`);
    } finally {
      await connection.close();
    }

    // Friends: IMPORT_FRIENDS already there (the import reads them), FOLLOWS new ones (also in the
    // follower list, so the import and the follows race for them: still one contact each).
    line.controls.seedGeneratedFriends(IMPORT_FRIENDS);
    const imported = Array.from({ length: IMPORT_FRIENDS }, (_, i) => line.controls.generatedUserIdAt(i + 1)!);
    const followed = Array.from({ length: FOLLOWS }, () => newLineUserId());
    line.controls.seedFriends(followed.map((userId, i) => ({ userId, displayName: `Follower ${i}` })));
    const everyone = [...imported, ...followed];

    // HubSpot's rolling window, sampled every second: the pacing figures.
    const base = hubspot.controls.stats() as SandboxStats;
    const samples: Array<{ at: number; total: number }> = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        samples.push({ at: Date.now(), total: (hubspot.controls.stats() as SandboxStats).total - base.total });
        await sleep(1000);
      }
    })();

    const work0 = Date.now();
    const started = await fetch(`${urls[0]}/imports`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }, body: '{}' });
    assert.equal(started.status, 202, await started.clone().text());
    const { importId } = (await started.json()) as { importId: string };
    log(`import ${importId} started through server 1`);

    let killedAt: number | undefined;
    const follows = await sendFollows(urls, followed, FOLLOW_RATE, async (n) => {
      if (n === Math.floor(FOLLOWS / 2)) {
        await workerA.kill();
        killedAt = Date.now();
        log(`worker A SIGKILLed after ${n} follows (${round((killedAt - work0) / 1000, 1)} s in)`);
      }
    });
    const non200 = follows.statuses.filter((s) => s !== 200).length;
    log(`${FOLLOWS} follows sent in ${round(follows.seconds, 1)} s over 2 servers; non-200: ${non200}`);
    if (RESTART_KILLED) {
      await startWorkerProcess('worker A again');
      log('worker A started again');
    }

    // Wait for the import to end and every friend to have a contact.
    const deadline = Date.now() + DONE_TIMEOUT_MS;
    let progress: Record<string, unknown> | undefined;
    let allThereAt: number | undefined;
    for (;;) {
      const response = await fetch(`${urls[1]}/imports/${importId}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } }).catch(() => undefined);
      if (response?.ok) progress = (await response.json()) as Record<string, unknown>;
      const withContact = new Set(hubspot.controls.listContacts({ limit: 1_000_000_000 }).contacts.map((c) => c.properties.line_user_id));
      const missing = everyone.filter((id) => !withContact.has(id)).length;
      if (missing === 0) allThereAt ??= Date.now();
      if (progress?.state !== 'running' && missing === 0) break;
      if (Date.now() > deadline)
        assert.fail(
          `not done in time: ${missing} friends without a contact, import ${JSON.stringify(progress)}\nworker tails:\n${processes.map((p) => `${p.name}: ${p.tail().slice(-1500)}`).join('\n')}`,
        );
      await sleep(1000);
    }
    const workSeconds = (allThereAt! - work0) / 1000;
    sampling = false;
    await sampler;
    log(`import ${JSON.stringify(progress)}; every friend has a contact ${round(workSeconds, 1)} s after the import started`);

    // Exactly one correct contact per friend.
    const { contacts } = hubspot.controls.listContacts({ limit: 1_000_000_000 });
    const byUser = new Map<string, typeof contacts>();
    for (const c of contacts) {
      const id = c.properties.line_user_id;
      if (id) byUser.set(id, [...(byUser.get(id) ?? []), c]);
    }
    const wrong: string[] = [];
    for (const id of everyone) {
      const found = byUser.get(id) ?? [];
      if (found.length !== 1) {
        wrong.push(`${id}: ${found.length} contacts`);
        continue;
      }
      const contact = found[0]!;
      const profile = line.controls.getFriend(id);
      if (contact.properties.line_user_name !== profile?.displayName) wrong.push(`${id}: line_user_name ${contact.properties.line_user_name} ≠ ${profile?.displayName}`);
      if (contact.properties.line_follow !== 'YES') wrong.push(`${id}: line_follow ${contact.properties.line_follow}`);
    }
    assert.deepEqual(wrong.slice(0, 20), [], `${wrong.length} friends without exactly one correct contact`);
    assert.equal(contacts.length, everyone.length, 'no other contacts');
    assert.equal(non200, 0, 'every follow acknowledged with 200');
    assert.equal(progress?.state, 'completed');

    // HubSpot never over its limit.
    const stats = hubspot.controls.stats() as SandboxStats;
    const requests = stats.total - base.total;
    // Busiest rolling 10 s of the sampled series, and the rate while there was work.
    let busiest = 0;
    for (const s of samples) {
      const earlier = [...samples].reverse().find((e) => e.at <= s.at - 10_000);
      if (earlier) busiest = Math.max(busiest, s.total - earlier.total);
    }
    const ceiling = hubspotActivitiesPerSecond(HUBSPOT_PER_10S);
    const figures = {
      partitions: PARTITIONS,
      friends: everyone.length,
      hubspotRequests: requests,
      rateLimited429: stats.rateLimited - base.rateLimited,
      maxRequestsIn10s: stats.maxRequestsIn10s,
      busiestSampled10s: busiest,
      requestsPerSecondWhileBusy: round(requests / workSeconds),
      workerCeilingPerSecond: ceiling,
      useOfCeiling: round(requests / workSeconds / ceiling),
      friendsPerSecond: round(everyone.length / workSeconds, 1),
      workSeconds: round(workSeconds, 1),
      endpoints: Object.fromEntries(
        Object.entries(stats.endpoints)
          .map(([k, v]) => [k, v - (base.endpoints[k] ?? 0)])
          .filter(([, v]) => (v as number) > 0),
      ),
      killedAfterSeconds: killedAt ? round((killedAt - work0) / 1000, 1) : null,
      restartedKilled: RESTART_KILLED,
    };
    log(`figures ${JSON.stringify(figures)}`);
    assert.equal(figures.rateLimited429, 0, 'no 429 from HubSpot');
    assert.ok(stats.maxRequestsIn10s <= HUBSPOT_PER_10S, `at most ${HUBSPOT_PER_10S} requests in any rolling 10 s (saw ${stats.maxRequestsIn10s})`);

    // No workflow failed, and an operator finds a friend's batches by LineUserId on SQL visibility.
    const client = await Connection.connect({ address: cluster.address });
    try {
      const failed = await client.workflowService.countWorkflowExecutions({
        namespace: NAMESPACE,
        query: 'ExecutionStatus = "Failed" OR ExecutionStatus = "Terminated" OR ExecutionStatus = "TimedOut"',
      });
      assert.equal(Number(failed.count ?? 0), 0, 'no failed, terminated or timed-out workflow');
      const friend = followed[0]!;
      const found = await client.workflowService.listWorkflowExecutions({ namespace: NAMESPACE, query: `LineUserId = "${friend}"`, pageSize: 10 });
      assert.ok((found.executions ?? []).length >= 1, `a batch of ${friend} found by LineUserId`);
    } finally {
      await client.close();
    }
  },
);

// How Temporal's matching service applies maxTaskQueueActivitiesPerSecond (the HubSpot pacing) when a
// queue has several partitions and two workers poll it: the probe runs the same number of activities
// on a queue of PARTITIONS partitions and on one pinned to a single partition, with two workers each
// set like the HubSpot workers (src/temporal/worker.ts), and measures when each activity started.
test(`HubSpot pacing with two workers, on ${PARTITIONS} partitions and on one: the rate holds for the whole queue, the bursts add up per partition`, { timeout: 600_000 }, async () => {
  // The server's limiter alone (these probe activities have no HubspotBudget): its worst 10 s is 11 × rate.
  const rate = (HUBSPOT_PER_10S * 0.9) / 10;
  const connection = await NativeConnection.connect({ address: cluster.address });
  const clientConnection = await Connection.connect({ address: cluster.address });
  const client = new Client({ connection: clientConnection, namespace: NAMESPACE });
  const starts: Record<string, number[]> = { [PROBE_SINGLE]: [], [PROBE_PARTITIONED]: [] };
  const workers: Worker[] = [];
  const connections: NativeConnection[] = [];
  try {
    const workflowQueue = 'pacing-probe-workflows';
    workers.push(await Worker.create({ connection, namespace: NAMESPACE, taskQueue: workflowQueue, workflowsPath: new URL('./support/pacing-workflow.ts', import.meta.url).pathname }));
    for (const queue of [PROBE_SINGLE, PROBE_PARTITIONED]) {
      for (let w = 0; w < 2; w++) {
        // A connection of its own per worker: the SDK allows one worker per queue and client.
        const own = await NativeConnection.connect({ address: cluster.address });
        connections.push(own);
        workers.push(
          await Worker.create({
            connection: own,
            namespace: NAMESPACE,
            taskQueue: queue,
            activities: {
              async probe() {
                starts[queue]!.push(Date.now());
                await sleep(100); // about a HubSpot batch call
              },
            },
            maxTaskQueueActivitiesPerSecond: rate,
            maxConcurrentActivityTaskExecutions: 20,
          }),
        );
      }
    }
    const running = workers.map((w) => w.run());
    const results: Record<string, unknown>[] = [];
    try {
      for (const [queue, partitions] of [
        [PROBE_PARTITIONED, PARTITIONS],
        [PROBE_SINGLE, 1],
      ] as const) {
        const t0 = Date.now();
        await client.workflow.execute('pacingProbeWorkflow', { taskQueue: workflowQueue, workflowId: `pacing-probe/${queue}`, args: [queue, PROBE_ACTIVITIES] });
        const times = [...starts[queue]!].sort((a, b) => a - b);
        const seconds = (times.at(-1)! - times[0]!) / 1000;
        const figures = {
          queue,
          partitions,
          activities: times.length,
          setRatePerSecond: rate,
          achievedPerSecond: round((times.length - 1) / seconds),
          useOfSetRate: round((times.length - 1) / seconds / rate),
          busiest10s: busiestWindow(times, 10_000),
          busiest1s: busiestWindow(times, 1000),
          firstToLastSeconds: round(seconds, 1),
          workflowSeconds: round((Date.now() - t0) / 1000, 1),
        };
        results.push(figures);
        log(`pacing ${JSON.stringify(figures)}`);
      }
    } catch (error) {
      log(`pacing probe failed: ${(error as Error).stack ?? String(error)}`);
      throw error;
    } finally {
      workers.forEach((w) => w.getState() === 'RUNNING' && w.shutdown());
      await Promise.allSettled(running);
    }
    const [partitioned, single] = results as Array<{ queue: string; busiest10s: number; activities: number; useOfSetRate: number }>;
    for (const r of results) assert.equal(r.activities, PROBE_ACTIVITIES);
    // Pinned to one partition (what the README asks for the HubSpot queue): never over HubSpot's 100 per rolling 10 s.
    assert.ok(single!.busiest10s <= HUBSPOT_PER_10S, `one partition: ${single!.busiest10s} activities in the busiest 10 s (limit ${HUBSPOT_PER_10S})`);
    // Several partitions: the server splits the rate evenly (rate ÷ partitions each), so the whole queue
    // keeps its rate (not under-used), but each partition bursts ceil(rate ÷ partitions): the bursts add
    // up to more than one partition's, so the busiest 10 s can pass 10 × rate + rate (the figure above).
    assert.ok(partitioned!.useOfSetRate >= 0.85, `${PARTITIONS} partitions still use the set rate (${partitioned!.useOfSetRate})`);
    const bound = 10 * rate + PARTITIONS * Math.max(1, Math.ceil(rate / PARTITIONS)) + 1;
    assert.ok(partitioned!.busiest10s <= bound, `${PARTITIONS} partitions: busiest 10 s ${partitioned!.busiest10s} within 10 × rate + the partitions' bursts (${bound})`);
  } catch (error) {
    log(`pacing probe failed: ${(error as Error).stack ?? String(error)}`);
    throw error;
  } finally {
    for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
    for (const c of [connection, ...connections]) await c.close().catch(() => {});
    await clientConnection.close();
  }
});
