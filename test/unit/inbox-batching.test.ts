// The producers' group commit into the contact writers (src/temporal/inbox-client.ts) and the shard
// rule, without a server: the client below only records calls, so these tests pin down the rules of
// the hand-over to Temporal themselves. The real thing (Temporal, the writer, its batches) is
// test/integration/webhook-inbox.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/client';
import { FriendEventInbox } from '../../src/temporal/inbox-client.ts';
import { inboxShardOf, inboxWorkflowId } from '../../src/temporal/ids.ts';
import { inboxEventsSignal, WorkflowType, type InboxBatch, type InboxItem } from '../../src/contracts.ts';

interface Call {
  kind: 'signal' | 'signalWithStart';
  workflowId: string;
  items: InboxItem[];
  target: InboxBatch['target'];
  at: number;
  /** signal-with-start only: what a writer it starts is started with */
  start?: StartOptions;
  /** the signal's name */
  signal: string;
}

interface StartOptions {
  workflowType: unknown;
  taskQueue: string;
  args: unknown[];
  searchAttributes: Array<{ key: { name: string }; value: unknown }>;
}

/** Records signals; each takes `latencyMs`; `fail` makes the next calls reject; `ended` makes plain signals NotFound. */
function recordingClient(options: { latencyMs?: number } = {}) {
  const calls: Call[] = [];
  const control = { fail: undefined as Error | undefined, ended: false };
  const answer = async (call: Call) => {
    calls.push(call);
    await sleep(options.latencyMs ?? 5);
    if (control.fail) throw control.fail;
  };
  const client = {
    withDeadline: (_deadline: number, fn: () => Promise<unknown>) => fn(),
    workflow: {
      signalWithStart: (
        workflowType: unknown,
        o: { workflowId: string; taskQueue: string; args: unknown[]; signal: { name: string }; signalArgs: [InboxBatch]; typedSearchAttributes: StartOptions['searchAttributes'] },
      ) =>
        answer({
          kind: 'signalWithStart',
          workflowId: o.workflowId,
          ...o.signalArgs[0],
          at: Date.now(),
          signal: o.signal.name,
          start: { workflowType, taskQueue: o.taskQueue, args: o.args, searchAttributes: o.typedSearchAttributes },
        }),
      getHandle: (workflowId: string) => ({
        signal: async (signal: { name: string }, batch: InboxBatch) => {
          if (control.ended) {
            control.ended = false;
            throw new WorkflowNotFoundError('workflow execution already completed', workflowId, undefined);
          }
          return answer({ kind: 'signal', workflowId, ...batch, at: Date.now(), signal: signal.name });
        },
      }),
    },
  };
  return { client: client as unknown as Client, calls, control };
}

const target = { channelId: 'C1', taskQueue: 'q', timeZone: 'Asia/Tokyo', idleMs: 900_000 };
const item = (userId: string, n: number): InboxItem => ({ userId, event: { eventId: `E${n}`, kind: 'follow', timestamp: n } });

test('a lone event is sent at once, with signal-with-start the first time and a plain signal after', async () => {
  const { client, calls } = recordingClient();
  const inbox = new FriendEventInbox(client, target, { shards: 1 });
  assert.deepEqual(await inbox.deliver([item('U1', 1)], 1000), []);
  await sleep(30);
  assert.deepEqual(await inbox.deliver([item('U1', 2)], 1000), []);
  assert.deepEqual(
    calls.map((c) => [c.kind, c.workflowId, c.items.length]),
    [
      ['signalWithStart', inboxWorkflowId('C1', 0), 1],
      ['signal', inboxWorkflowId('C1', 0), 1],
    ],
  );
  // Each batch brings the sender's current settings for the writer (a changed time zone or idle time applies at once).
  assert.ok(calls.every((c) => c.target.taskQueue === 'q' && c.target.timeZone === 'Asia/Tokyo' && c.target.idleMs === 900_000));
  assert.ok(calls.every((c) => c.signal === inboxEventsSignal.name));
});

test("the signal-with-start starts the shard's contact writer, findable as the channel's inbox", async () => {
  const { client, calls } = recordingClient();
  const inbox = new FriendEventInbox(client, target, { shards: 1 });
  await inbox.deliver([item('U1', 1)], 1000);
  const [call] = calls;
  assert.equal(call?.kind, 'signalWithStart');
  assert.equal(call.start?.workflowType, WorkflowType.inbox);
  assert.equal(call.start?.taskQueue, 'q');
  assert.deepEqual(call.start?.args, [{ channelId: 'C1', shard: 0, target }]);
  // test/support/inbox.ts and operators find the writers by these.
  const attributes = Object.fromEntries(call.start!.searchAttributes.map((a) => [a.key.name, a.value]));
  assert.deepEqual(attributes, { LineChannelId: 'C1', LineSyncKind: 'inbox' });
});

test("each shard's events go to its own writer, in their own signals; a friend's events always to the same one", async () => {
  const { client, calls } = recordingClient({ latencyMs: 20 });
  const shards = 3;
  const inbox = new FriendEventInbox(client, target, { shards });
  const users = Array.from({ length: 12 }, (_, n) => `U${n.toString(16).padStart(32, '0')}`);
  assert.ok(new Set(users.map((u) => inboxShardOf(u, shards))).size > 1, 'the users span shards');
  const items = users.flatMap((u, n) => [item(u, 2 * n), item(u, 2 * n + 1)]);
  assert.deepEqual(
    await Promise.all(items.map((i) => inbox.deliver([i], 2000))),
    items.map(() => []),
  );
  for (const call of calls) {
    for (const i of call.items) assert.equal(call.workflowId, inboxWorkflowId('C1', inboxShardOf(i.userId, shards)), `${i.userId} in its shard's signal`);
    const shard = Number(call.workflowId.split('/').at(-1));
    if (call.start) assert.deepEqual(call.start.args, [{ channelId: 'C1', shard, target }]);
  }
  assert.equal(new Set(calls.map((c) => c.workflowId)).size, new Set(users.map((u) => inboxShardOf(u, shards))).size);
  assert.deepEqual(calls.flatMap((c) => c.items.map((i) => i.event.eventId)).sort(), items.map((i) => i.event.eventId).sort(), 'each event sent once');
  // Within a shard, events go in the order they arrived.
  for (const workflowId of new Set(calls.map((c) => c.workflowId))) {
    const mine = calls.filter((c) => c.workflowId === workflowId).flatMap((c) => c.items.map((i) => Number(i.event.eventId.slice(1))));
    assert.deepEqual(
      mine,
      [...mine].sort((a, b) => a - b),
      `${workflowId}: in arrival order`,
    );
  }
});

test('events arriving while a signal is in flight go together in the next one, in arrival order', async () => {
  const { client, calls } = recordingClient({ latencyMs: 40 });
  const inbox = new FriendEventInbox(client, target, { shards: 1 });
  const requests = Array.from({ length: 30 }, (_, n) => inbox.deliver([item(`U${n}`, n)], 2000));
  assert.deepEqual(
    await Promise.all(requests),
    requests.map(() => []),
  );
  assert.equal(calls.length, 2, 'the first event alone, then the 29 that waited');
  assert.deepEqual(
    calls.flatMap((c) => c.items.map((i) => i.event.eventId)),
    Array.from({ length: 30 }, (_, n) => `E${n}`),
  );
  assert.equal(inbox.stats.largestBatch, 29);
});

test('signals of one shard start at least minGapMs apart; a batch holds at most maxBatch events', async () => {
  const { client, calls } = recordingClient({ latencyMs: 1 });
  const inbox = new FriendEventInbox(client, target, { shards: 1, minGapMs: 30, maxBatch: 4 });
  const requests: Array<Promise<unknown>> = [];
  for (let n = 0; n < 12; n++) {
    requests.push(inbox.deliver([item(`U${n}`, n)], 3000));
    await sleep(5);
  }
  await Promise.all(requests);
  for (let i = 1; i < calls.length; i++) assert.ok(calls[i]!.at - calls[i - 1]!.at >= 28, `gap ${calls[i]!.at - calls[i - 1]!.at} ms`);
  assert.ok(calls.every((c) => c.items.length <= 4));
  assert.equal(
    calls.reduce((n, c) => n + c.items.length, 0),
    12,
  );
});

test('a failed signal fails every request whose events it carried; the next batch is tried afresh', async () => {
  const { client, calls, control } = recordingClient({ latencyMs: 20 });
  const inbox = new FriendEventInbox(client, target, { shards: 1 });
  control.fail = new Error('Temporal unavailable');
  const failed = await Promise.all([inbox.deliver([item('U1', 1)], 1000), inbox.deliver([item('U2', 2), item('U3', 3)], 1000)]);
  assert.deepEqual(
    failed[0]!.map((f) => f.userId),
    ['U1'],
  );
  assert.deepEqual(
    failed[1]!.map((f) => f.userId),
    ['U2', 'U3'],
  );
  assert.match(failed[1]![0]!.reason, /Temporal unavailable/);
  control.fail = undefined;
  assert.deepEqual(await inbox.deliver([item('U4', 4)], 1000), []);
  assert.ok(calls.length >= 3);
});

test('past its deadline a request fails, and events whose request already failed are not sent', async () => {
  const { client, calls } = recordingClient({ latencyMs: 200 });
  const inbox = new FriendEventInbox(client, target, { shards: 1 });
  const slow = inbox.deliver([item('U1', 1)], 1000); // in flight for 200 ms
  const late = await inbox.deliver([item('U2', 2)], 50); // waits behind it and gives up
  assert.deepEqual(
    late.map((f) => f.userId),
    ['U2'],
  );
  assert.match(late[0]!.reason, /within 50 ms/);
  assert.deepEqual(await slow, []);
  await sleep(50);
  assert.deepEqual(
    calls.flatMap((c) => c.items.map((i) => i.userId)),
    ['U1'],
    'U2 was never sent: LINE redelivers it',
  );
});

test('a writer that ended (idle) is started again by the next batch', async () => {
  const { client, calls, control } = recordingClient();
  const inbox = new FriendEventInbox(client, target, { shards: 1 });
  await inbox.deliver([item('U1', 1)], 1000);
  control.ended = true;
  await sleep(30);
  assert.deepEqual(await inbox.deliver([item('U1', 2)], 1000), []);
  assert.deepEqual(
    calls.map((c) => c.kind),
    ['signalWithStart', 'signalWithStart'],
  );
});

test("a friend's events always go to the same shard, and shards spread friends evenly", () => {
  const ids = Array.from({ length: 4000 }, (_, i) => `U${i.toString(16).padStart(32, '0')}`);
  for (const shards of [1, 2, 4, 7, 64]) {
    const counts = new Array<number>(shards).fill(0);
    for (const id of ids) {
      const shard = inboxShardOf(id, shards);
      assert.ok(Number.isInteger(shard) && shard >= 0 && shard < shards);
      assert.equal(inboxShardOf(id, shards), shard, 'stable');
      counts[shard]!++;
    }
    const expected = ids.length / shards;
    for (const c of counts) assert.ok(Math.abs(c - expected) < expected * 0.35 + 10, `shards ${shards}: ${counts.join(',')}`);
  }
  assert.equal(inboxShardOf('Uabc', 0), 0, 'no shards configured means one');
});
