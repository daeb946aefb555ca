// The channel's contact writers (inbox workflows): the webhook's events reach them in few signals; each
// writer applies every event ID once, in batches across friends (never two batches holding one friend
// at once), carries its backlog and figures across continue-as-new, and ends when idle.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Client } from '@temporalio/client';
import { inboxEventsSignal, inboxStateQuery, type ContactTarget, type InboxBatch, type InboxItem, type InboxState } from '../../src/contracts.ts';
import { followEvent, newLineUserId, sendLineWebhook, textMessageEvent } from '../../src/sandbox/line-webhook.ts';
import type { WebhookEvent } from '../../src/line/webhook-events.ts';
import { inboxShardOf, inboxWorkflowId } from '../../src/temporal/ids.ts';
import { isWorkflowClosing } from '../../src/temporal/connection.ts';
import { signalInbox } from '../../src/temporal/inbox-client.ts';
import { LineChannelId, SyncKind } from '../../src/temporal/search-attributes.ts';
import type { ContactBatchResult } from '../../workflows/contact-batch.ts';
import { inboxWorkflow, type InboxWorkflowInput } from '../../workflows/inbox.ts';
import { chattyFriend } from '../support/chatty-friend.ts';
import { inboxContents } from '../support/inbox.ts';
import { contactsWith, lineContact, seedFriend } from '../support/sandbox-http.ts';
import { eventually, startStack, type Stack } from '../support/stack.ts';
import { appliedEvents, friendStatus } from '../support/writer.ts';

const SHARDS = 2;
let stack: Stack;
before(async () => {
  stack = await startStack({
    // Temporal suggests continue-as-new after 40 history events here (thousands in production).
    dynamicConfig: { 'limit.historyCount.suggestContinueAsNew': 40 },
    env: { LINE_INBOX_IDLE_SECONDS: '3', LINE_INBOX_SHARDS: String(SHARDS) },
  });
});
after(async () => {
  await stack?.stop();
});

const send = (events: WebhookEvent[]) => sendLineWebhook({ url: `${stack.url}/webhooks/line`, channelSecret: stack.config.lineChannelSecret!, events });
const writer = () => ({ client: stack.client, channelId: stack.config.lineChannelId, shards: SHARDS });

/** A writer's state: its running run's, or what its last run returned. */
async function writerState(client: Client, workflowId: string): Promise<InboxState> {
  const handle = client.workflow.getHandle(workflowId);
  const { status } = await handle.describe();
  return status.name === 'RUNNING' ? handle.query(inboxStateQuery) : ((await handle.result()) as InboxState);
}

async function runsOf(workflowId: string): Promise<string[]> {
  const runs: string[] = [];
  for await (const execution of stack.client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) runs.push(execution.runId);
  return runs;
}

interface BatchRecord {
  workflowId: string;
  parentRunId: string | undefined;
  startedAt: number;
  closedAt: number;
  result: ContactBatchResult;
}

/** Every batch workflow of a channel, with its result (waits for the open ones). */
async function batchesOfChannel(channelId: string): Promise<BatchRecord[]> {
  const found: BatchRecord[] = [];
  for await (const execution of stack.client.workflow.list({ query: `LineChannelId = "${channelId}" AND LineSyncKind = "batch"` })) {
    const handle = stack.client.workflow.getHandle(execution.workflowId, execution.runId);
    const result = (await handle.result()) as ContactBatchResult;
    const closed = await handle.describe();
    found.push({
      workflowId: execution.workflowId,
      parentRunId: closed.parentExecution?.runId ?? undefined,
      startedAt: closed.startTime.getTime(),
      closedAt: closed.closeTime!.getTime(),
      result,
    });
  }
  return found;
}

/** The most batches open at one moment. */
function mostAtOnce(batches: BatchRecord[]): number {
  const edges = batches.flatMap((b) => [[b.startedAt, 1] as const, [b.closedAt, -1] as const]).sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  let open = 0;
  let most = 0;
  for (const [, step] of edges) most = Math.max(most, (open += step));
  return most;
}

/** A writer started as the producers start it, but with its own batch policy (a test channel of its own). */
/** A producer's signal; while the writer is between two runs ("workflow is closing") it tries again, as the activities do. */
async function signalWriter(target: ContactTarget, items: InboxItem[], policy?: InboxWorkflowInput['policy']): Promise<void> {
  for (;;) {
    try {
      return await signalWriterOnce(target, items, policy);
    } catch (error) {
      if (!isWorkflowClosing(error)) throw error;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

async function signalWriterOnce(target: ContactTarget, items: InboxItem[], policy?: InboxWorkflowInput['policy']): Promise<void> {
  if (!policy) return signalInbox(stack.client, target, 0, inboxEventsSignal, [{ target, items }]);
  await stack.client.workflow.signalWithStart(inboxWorkflow, {
    workflowId: inboxWorkflowId(target.channelId, 0),
    taskQueue: target.taskQueue,
    args: [{ channelId: target.channelId, shard: 0, target, policy }],
    signal: inboxEventsSignal,
    signalArgs: [{ target, items } satisfies InboxBatch],
    typedSearchAttributes: [
      { key: LineChannelId, value: target.channelId },
      { key: SyncKind, value: 'inbox' },
    ],
  });
}

const testTarget = (name: string): ContactTarget => ({ channelId: `${name}-${Date.now()}`, taskQueue: stack.config.taskQueue, timeZone: 'Asia/Tokyo', idleMs: 60_000 });
const follow = (userId: string, eventId: string, timestamp = Date.now()): InboxItem => ({ userId, event: { eventId, kind: 'follow', timestamp } });

test('a burst of follows goes to Temporal in a few signals, is written in a few batches, and each friend gets exactly one contact', async () => {
  const userIds = Array.from({ length: 80 }, () => newLineUserId());
  await Promise.all(userIds.map((userId, i) => seedFriend(stack.line.url, { userId, displayName: `Burst ${i}` })));
  const before = await inboxContents(stack.client, stack.config.lineChannelId);

  const answers = await Promise.all(userIds.map((userId) => send([followEvent(userId)])));
  assert.deepEqual(
    answers.map((a) => a.status),
    userIds.map(() => 200),
  );

  // Every acknowledged event is in a writer's history, and the webhook batched them.
  // (Visibility lists a just-started writer a moment after its start.)
  const after = await eventually(
    async () => {
      const contents = await inboxContents(stack.client, stack.config.lineChannelId);
      return userIds.every((id) => contents.userIds.has(id)) ? contents : undefined;
    },
    { what: 'every acknowledged event in a writer' },
  );
  // How many signals depends on how the requests interleave (a slow CI machine spreads them out),
  // but with one signal in flight per shard, 80 simultaneous requests cannot all go alone.
  const signals = after.signals - before.signals;
  assert.ok(signals < userIds.length, `${userIds.length} events in ${signals} signals`);

  for (const userId of userIds) {
    const contacts = await eventually(
      async () => {
        const found = await contactsWith(stack.hubspot.url, 'line_user_id', userId);
        return found.length > 0 ? found : undefined;
      },
      { timeoutMs: 60_000, what: `the contact of ${userId}` },
    );
    assert.equal(contacts.length, 1);
    assert.equal(contacts[0]!.properties.line_created_via, 'FOLLOW');
  }
  const states = await eventually(
    async () => {
      const s = await Promise.all(Array.from({ length: SHARDS }, (_, shard) => writerState(stack.client, inboxWorkflowId(stack.config.lineChannelId, shard))));
      return s.every((x) => x.backlog === 0 && x.batchesInFlight === 0) ? s : undefined;
    },
    { what: 'the writers drained' },
  );
  const sum = (key: 'received' | 'applied' | 'failed' | 'duplicatesIgnored') => states.reduce((n, s) => n + s[key], 0);
  assert.equal(sum('received'), userIds.length);
  assert.equal(sum('applied'), sum('received'), 'every received event was applied');
  assert.equal(sum('failed'), 0);
  assert.equal(sum('duplicatesIgnored'), 0);

  // Each friend's follow was written by exactly one batch; a batch held many friends (a signal's events
  // that wait for a batch go together in the next one, so there are no more batches than signals).
  const batches = await eventually(
    async () => {
      const found = await batchesOfChannel(stack.config.lineChannelId);
      const held = new Set(found.flatMap((b) => b.result.friends.map((f) => f.userId)));
      return userIds.every((id) => held.has(id)) ? found : undefined;
    },
    { what: "every friend's batch listed" },
  );
  for (const userId of userIds) {
    const holding = batches.filter((b) => b.result.friends.some((f) => f.userId === userId));
    assert.equal(holding.length, 1, `${userId} in ${holding.length} batches`);
    assert.deepEqual(
      holding[0]!.result.friends.find((f) => f.userId === userId)!.events.map((e) => e.outcome),
      ['create FOLLOW contact'],
    );
  }
  assert.ok(batches.length < userIds.length, `${userIds.length} friends in ${batches.length} batches`);
});

test('a writer continues as new, carries its figures, ends when idle, and the next event starts it again', async () => {
  // One friend, more events than the 40 history events, sent one after another: one signal each.
  const { userId, events } = await chattyFriend(stack.line.url, send, { displayName: 'Talkative', messages: 45 });
  const status = await appliedEvents(writer(), userId, events.length, 60_000);
  assert.equal(status.applied, events.length, 'every event applied once');
  assert.equal(status.failed, 0);
  const inbox = stack.client.workflow.getHandle(inboxWorkflowId(stack.config.lineChannelId, inboxShardOf(userId, SHARDS)));
  await eventually(async () => ((await runsOf(inbox.workflowId)).length >= 2 ? true : undefined), { what: 'the writer to continue as new' });

  // Idle for LINE_INBOX_IDLE_SECONDS: the writer ends, with the figures of all its runs.
  const result = await eventually(async () => ((await inbox.describe()).status.name === 'COMPLETED' ? ((await inbox.result()) as InboxState) : undefined), {
    timeoutMs: 30_000,
    what: 'the writer to end when idle',
  });
  assert.equal(result.backlog, 0);
  assert.equal(result.batchesInFlight, 0);
  assert.equal(result.failed, 0);
  assert.equal(result.applied, result.received);
  assert.ok(result.received >= events.length, `received ${result.received} (carried from the earlier runs)`);
  const contactId = (await lineContact(stack.hubspot.url, userId))?.id;
  const runs = (await runsOf(inbox.workflowId)).length;

  // The next event starts a new writer run, which finds the friend's contact.
  const back = textMessageEvent(userId, 'back again');
  assert.equal((await send([back])).status, 200);
  const again = await eventually(
    async () => {
      const s = await friendStatus(writer(), userId);
      return s?.recent.some((e) => e.eventId === back.webhookEventId) && s.pending === 0 ? s : undefined;
    },
    { what: 'the new event applied' },
  );
  assert.equal(again.recent.at(-1)?.outcome.startsWith('failed'), false, again.recent.at(-1)?.outcome);
  await eventually(async () => ((await runsOf(inbox.workflowId)).length === runs + 1 ? true : undefined), { what: 'a new writer run took the event' });
  const contacts = await contactsWith(stack.hubspot.url, 'line_user_id', userId);
  assert.equal(contacts.length, 1, 'no duplicate');
  assert.equal(contacts[0]!.id, contactId, 'the same contact');
  assert.equal(contacts[0]!.properties.line_created_via, 'FOLLOW');
});

test('a writer applies each event ID once however often producers send it, and reports a friend it cannot write without holding up the others', async () => {
  const target = testTarget('writer-once');
  const [a, b, c] = [newLineUserId(), newLineUserId(), newLineUserId()];
  for (const userId of [a!, b!, c!]) await seedFriend(stack.line.url, { userId, displayName: `Once ${userId.slice(1, 5)}` });
  // Not a LINE user ID: LINE refuses to read its profile (400), which no retry changes.
  const bad = `U${'X'.repeat(32)}`;
  const t0 = Date.now() - 10_000;
  // The first signal repeats E-1; a producer's retried signal brings E-1 and E-2 again at once.
  await signalWriter(target, [follow(a!, 'E-1', t0), follow(b!, 'E-2', t0), follow(bad, 'E-3', t0), { userId: c!, event: { eventId: 'E-4', kind: 'message', timestamp: t0 } }, follow(a!, 'E-1', t0)]);
  await signalWriter(target, [follow(a!, 'E-1', t0), follow(b!, 'E-2', t0)]);
  const workflowId = inboxWorkflowId(target.channelId, 0);
  const state = await eventually(
    async () => {
      const s = await writerState(stack.client, workflowId);
      return s.applied + s.failed >= 4 && s.backlog === 0 && s.batchesInFlight === 0 ? s : undefined;
    },
    { timeoutMs: 60_000, what: 'the four events applied or failed' },
  );
  assert.equal(state.received, 4);
  assert.equal(state.duplicatesIgnored, 3);
  assert.equal(state.applied, 3);
  assert.equal(state.failed, 1);
  assert.deepEqual(
    state.recentFailures.map((f) => [f.userId, f.eventId]),
    [[bad, 'E-3']],
  );
  assert.match(state.recentFailures[0]!.reason, /LINE refused the profile/);

  // All four went in the first batch: the refused friend failed alone, the others were written.
  const ref = { client: stack.client, channelId: target.channelId };
  const statuses = await Promise.all([a!, b!, c!, bad].map((userId) => friendStatus(ref, userId)));
  assert.deepEqual(
    statuses.map((s) => [s?.applied, s?.failed, s?.recent.map((e) => e.eventId)]),
    [
      [1, 0, ['E-1']],
      [1, 0, ['E-2']],
      [1, 0, ['E-4']],
      [0, 1, ['E-3']],
    ],
  );
  assert.equal(new Set(statuses.map((s) => s?.recent[0]?.batchWorkflowId)).size, 1, 'one batch');
  assert.equal((await lineContact(stack.hubspot.url, a!))?.properties.line_created_via, 'FOLLOW');
  assert.equal((await lineContact(stack.hubspot.url, b!))?.properties.line_created_via, 'FOLLOW');
  assert.equal((await lineContact(stack.hubspot.url, c!))?.properties.line_created_via, 'REPLY');
  assert.equal(await lineContact(stack.hubspot.url, bad), undefined);

  // An event applied before comes again later: ignored, no new batch.
  await signalWriter(target, [{ userId: c!, event: { eventId: 'E-4', kind: 'message', timestamp: t0 } }]);
  const later = await eventually(
    async () => {
      const s = await writerState(stack.client, workflowId);
      return s.duplicatesIgnored >= 4 ? s : undefined;
    },
    { what: 'the late redelivery ignored' },
  );
  assert.equal(later.received, 4);
  assert.equal(later.batches, state.batches);
  assert.equal((await batchesOfChannel(target.channelId)).length, 1);
  await stack.client.workflow.getHandle(workflowId).terminate('test done');
});

test('a writer keeps to its batch limits, and never has two batches holding one friend at once', async () => {
  const target = testTarget('writer-limits');
  const policy = { maxFriends: 3, maxInFlight: 2, lingerMs: 200 };
  const friends = Array.from({ length: 10 }, () => newLineUserId());
  const busy = newLineUserId();
  await Promise.all([...friends, busy].map((userId) => seedFriend(stack.line.url, { userId, displayName: 'Limits' })));
  const t0 = Date.now() - 60_000;
  // The busy friend talks in every signal, so its later events arrive while a batch holds it.
  const message = (n: number): InboxItem => ({ userId: busy, event: { eventId: `B-${n}`, kind: 'message', timestamp: t0 + n * 1000 } });
  await signalWriter(target, [follow(busy, 'B-0', t0), ...friends.map((userId, i) => follow(userId, `F-${i}`, t0)), message(1)], policy);
  const workflowId = inboxWorkflowId(target.channelId, 0);
  // The later messages only once a batch is being written (the busy friend is first in line, so in it):
  // sent at once, they could all reach the writer's first activation and go in one batch.
  await eventually(
    async () => {
      const s = await writerState(stack.client, workflowId);
      return s.batchesInFlight > 0 || s.applied > 0 ? true : undefined;
    },
    { timeoutMs: 30_000, what: 'a first batch started' },
  );
  for (let n = 2; n <= 6; n++) await signalWriter(target, [message(n)], policy);

  const state = await eventually(
    async () => {
      const s = await writerState(stack.client, workflowId);
      return s.applied + s.failed >= friends.length + 7 && s.backlog === 0 && s.batchesInFlight === 0 ? s : undefined;
    },
    { timeoutMs: 60_000, what: 'every event applied' },
  );
  assert.equal(state.failed, 0);
  assert.equal(state.applied, friends.length + 7);

  const batches = await eventually(
    async () => {
      const found = await batchesOfChannel(target.channelId);
      return found.length === state.batches ? found : undefined;
    },
    { what: 'every batch listed' },
  );
  for (const batch of batches) assert.ok(batch.result.friends.length <= policy.maxFriends, `${batch.workflowId}: ${batch.result.friends.length} friends`);
  assert.equal(mostAtOnce(batches), policy.maxInFlight, 'batches side by side, never more than maxInFlight');

  const holding = batches.filter((b) => b.result.friends.some((f) => f.userId === busy)).sort((x, y) => x.startedAt - y.startedAt);
  assert.ok(holding.length >= 2, `the busy friend's events came while a batch held it (${holding.length} batches)`);
  assert.equal(mostAtOnce(holding), 1, 'one batch at a time holds the busy friend');
  const applied = holding.flatMap((b) => b.result.friends.find((f) => f.userId === busy)!.events.map((e) => e.eventId));
  assert.deepEqual(applied, ['B-0', 'B-1', 'B-2', 'B-3', 'B-4', 'B-5', 'B-6'], 'each once, in order');
  assert.equal((await contactsWith(stack.hubspot.url, 'line_user_id', busy)).length, 1);
  await stack.client.workflow.getHandle(workflowId).terminate('test done');
});

test('a backlog waiting when the writer continues as new is carried into the next run and applied there, each event once', async () => {
  const target = testTarget('writer-carry');
  // Small batches, one at a time: the writer is still busy when Temporal suggests a new run.
  const policy = { maxFriends: 2, maxInFlight: 1 };
  const signals = 40;
  for (let i = 0; i < signals; i++)
    await signalWriter(
      target,
      [0, 1].map((k) => follow(newLineUserId(), `C-${i}-${k}`)),
      policy,
    );
  const workflowId = inboxWorkflowId(target.channelId, 0);
  const state = await eventually(
    async () => {
      const s = await writerState(stack.client, workflowId);
      return s.applied + s.failed >= signals * 2 && s.backlog === 0 && s.batchesInFlight === 0 ? s : undefined;
    },
    { timeoutMs: 90_000, what: 'every event applied' },
  );
  assert.equal(state.received, signals * 2, 'the figures are carried across the runs');
  assert.equal(state.applied + state.failed, signals * 2);
  assert.equal(state.duplicatesIgnored, 0);

  // The writer continued as new with events still waiting; the next run applied them.
  const runs = await eventually(
    async () => {
      const found = await runsOf(workflowId);
      return found.length >= 2 ? found : undefined;
    },
    { what: 'the writer to continue as new' },
  );
  let carried = 0;
  for (const runId of runs) {
    const history = await stack.client.workflow.getHandle(workflowId, runId).fetchHistory();
    const payload = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0]?.data;
    const input = JSON.parse(Buffer.from(payload!).toString('utf8')) as InboxWorkflowInput;
    carried += input.carried?.queue.friends.reduce((n, f) => n + f.events.length, 0) ?? 0;
  }
  assert.ok(carried > 0, `events carried into a new run: ${carried}`);
  const batches = await eventually(
    async () => {
      const found = await batchesOfChannel(target.channelId);
      return found.length === state.batches ? found : undefined;
    },
    { what: 'every batch listed' },
  );
  assert.ok(new Set(batches.map((b) => b.parentRunId)).size >= 2, 'batches ran under more than one run');
  const eventIds = batches.flatMap((b) => b.result.friends.flatMap((f) => f.events.map((e) => e.eventId))).sort();
  const expected = Array.from({ length: signals }, (_, i) => [`C-${i}-0`, `C-${i}-1`])
    .flat()
    .sort();
  assert.deepEqual(eventIds, expected, 'each event applied exactly once, across the runs');
  await stack.client.workflow.getHandle(workflowId).terminate('test done');
});
