// The webhook's group commit (src/temporal/inbox-client.ts) and the shard rule, without a server:
// the client below only records calls, so these tests pin down the batching rules themselves. The
// real thing (Temporal, the inbox workflow, the hand-over) is test/integration/webhook-inbox.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/client';
import { FriendEventInbox } from '../../src/temporal/inbox-client.ts';
import { inboxShardOf, inboxWorkflowId } from '../../src/temporal/ids.ts';
import type { InboxBatch, InboxItem } from '../../workflows/inbox.ts';

interface Call {
  kind: 'signal' | 'signalWithStart';
  workflowId: string;
  items: InboxItem[];
  target: InboxBatch['target'];
  at: number;
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
      signalWithStart: (_workflow: unknown, o: { workflowId: string; signalArgs: [InboxBatch] }) =>
        answer({ kind: 'signalWithStart', workflowId: o.workflowId, ...o.signalArgs[0], at: Date.now() }),
      getHandle: (workflowId: string) => ({
        signal: async (_signal: unknown, batch: InboxBatch) => {
          if (control.ended) {
            control.ended = false;
            throw new WorkflowNotFoundError('workflow execution already completed', workflowId, undefined);
          }
          return answer({ kind: 'signal', workflowId, ...batch, at: Date.now() });
        },
      }),
    },
  };
  return { client: client as unknown as Client, calls, control };
}

const target = { channelId: 'C1', taskQueue: 'q', timeZone: 'Asia/Tokyo' };
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
  // Each batch brings the sender's current settings for friends' workflows (a changed time zone applies at once).
  assert.ok(calls.every((c) => c.target.taskQueue === 'q' && c.target.timeZone === 'Asia/Tokyo'));
});

test('events arriving while a signal is in flight go together in the next one, in arrival order', async () => {
  const { client, calls } = recordingClient({ latencyMs: 40 });
  const inbox = new FriendEventInbox(client, target, { shards: 1 });
  const requests = Array.from({ length: 30 }, (_, n) => inbox.deliver([item(`U${n}`, n)], 2000));
  assert.deepEqual(await Promise.all(requests), requests.map(() => []));
  assert.equal(calls.length, 2, 'the first event alone, then the 29 that waited');
  assert.deepEqual(calls.flatMap((c) => c.items.map((i) => i.event.eventId)), Array.from({ length: 30 }, (_, n) => `E${n}`));
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
  assert.equal(calls.reduce((n, c) => n + c.items.length, 0), 12);
});

test('a failed signal fails every request whose events it carried; the next batch is tried afresh', async () => {
  const { client, calls, control } = recordingClient({ latencyMs: 20 });
  const inbox = new FriendEventInbox(client, target, { shards: 1 });
  control.fail = new Error('Temporal unavailable');
  const failed = await Promise.all([inbox.deliver([item('U1', 1)], 1000), inbox.deliver([item('U2', 2), item('U3', 3)], 1000)]);
  assert.deepEqual(failed[0]!.map((f) => f.userId), ['U1']);
  assert.deepEqual(failed[1]!.map((f) => f.userId), ['U2', 'U3']);
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
  assert.deepEqual(late.map((f) => f.userId), ['U2']);
  assert.match(late[0]!.reason, /within 50 ms/);
  assert.deepEqual(await slow, []);
  await sleep(50);
  assert.deepEqual(calls.flatMap((c) => c.items.map((i) => i.userId)), ['U1'], 'U2 was never sent: LINE redelivers it');
});

test('an inbox that ended (idle) is started again by the next batch', async () => {
  const { client, calls, control } = recordingClient();
  const inbox = new FriendEventInbox(client, target, { shards: 1 });
  await inbox.deliver([item('U1', 1)], 1000);
  control.ended = true;
  await sleep(30);
  assert.deepEqual(await inbox.deliver([item('U1', 2)], 1000), []);
  assert.deepEqual(calls.map((c) => c.kind), ['signalWithStart', 'signalWithStart']);
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
