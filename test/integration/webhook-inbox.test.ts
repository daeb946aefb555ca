// The webhook's inbox workflows: events batched into few signals, handed to each friend's workflow
// exactly once, kept across continue-as-new, and ended when idle.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createInboxActivities, type HandOverResult, type InboxItem } from '../../activities/inbox.ts';
import { followEvent, newLineUserId, sendLineWebhook, textMessageEvent } from '../../src/sandbox/line-webhook.ts';
import type { WebhookEvent } from '../../src/line/webhook-events.ts';
import type { FriendTarget } from '../../src/temporal/friend-client.ts';
import { friendWorkflowId, inboxShardOf, inboxWorkflowId } from '../../src/temporal/ids.ts';
import { friendStateQuery } from '../../workflows/friend.ts';
import { inboxEventsSignal, inboxStateQuery, inboxWorkflow, type InboxState } from '../../workflows/inbox.ts';
import { chattyFriend } from '../support/chatty-friend.ts';
import { inboxContents } from '../support/inbox.ts';
import { contactsWith, lineContact, seedFriend } from '../support/sandbox-http.ts';
import { eventually, startStack, type Stack } from '../support/stack.ts';

const SHARDS = 2;
let stack: Stack;
before(async () => {
  stack = await startStack({
    // Temporal suggests continue-as-new after 40 history events here (thousands in production).
    dynamicConfig: { 'limit.historyCount.suggestContinueAsNew': 40 },
    env: { FRIEND_IDLE_SECONDS: '3', LINE_INBOX_SHARDS: String(SHARDS), LINE_HANDOVER_PER_SECOND: '20' },
  });
});
after(async () => {
  await stack?.stop();
});

const send = (events: WebhookEvent[]) => sendLineWebhook({ url: `${stack.url}/webhooks/line`, channelSecret: stack.config.lineChannelSecret!, events });

async function inboxStates(): Promise<Array<InboxState | undefined>> {
  return Promise.all(
    Array.from({ length: SHARDS }, async (_, shard) => {
      const handle = stack.client.workflow.getHandle(inboxWorkflowId(stack.config.lineChannelId, shard));
      const { status } = await handle.describe();
      return status.name === 'RUNNING' ? handle.query(inboxStateQuery) : handle.result();
    }),
  );
}

test('a burst of follows goes to Temporal in a few signals and each friend gets exactly one contact', async () => {
  const userIds = Array.from({ length: 80 }, () => newLineUserId());
  await Promise.all(userIds.map((userId, i) => seedFriend(stack.line.url, { userId, displayName: `Burst ${i}` })));
  const before = await inboxContents(stack.client, stack.config.lineChannelId);

  const answers = await Promise.all(userIds.map((userId) => send([followEvent(userId)])));
  assert.deepEqual(answers.map((a) => a.status), userIds.map(() => 200));

  // Every acknowledged event is in an inbox's history, and the webhook batched them.
  // (Visibility lists a just-started inbox a moment after its start.)
  const after = await eventually(async () => {
    const contents = await inboxContents(stack.client, stack.config.lineChannelId);
    return userIds.every((id) => contents.userIds.has(id)) ? contents : undefined;
  }, { what: 'every acknowledged event in an inbox' });
  // How many signals depends on how the requests interleave (a slow CI machine spreads them out),
  // but with one signal in flight per shard, 80 simultaneous requests cannot all go alone.
  const signals = after.signals - before.signals;
  assert.ok(signals < userIds.length, `${userIds.length} events in ${signals} signals`);

  for (const userId of userIds) {
    const contacts = await eventually(async () => {
      const found = await contactsWith(stack.hubspot.url, 'line_user_id', userId);
      return found.length > 0 ? found : undefined;
    }, { timeoutMs: 60_000, what: `the contact of ${userId}` });
    assert.equal(contacts.length, 1);
    assert.equal(contacts[0]!.properties.line_created_via, 'FOLLOW');
  }
  const states = await eventually(async () => {
    const s = await inboxStates();
    return s.every((x) => x && x.backlog === 0) ? s : undefined;
  }, { what: 'the inboxes drained' });
  const received = states.reduce((n, s) => n + (s?.received ?? 0), 0);
  const delivered = states.reduce((n, s) => n + (s?.delivered ?? 0), 0);
  assert.equal(delivered, received, 'every received event was handed over');
  assert.ok(received >= userIds.length);
});

test('an inbox continues as new, carries its figures, ends when idle, and the next event starts it again', async () => {
  // One friend, many events sent one after another: one signal each, so the inbox's history grows.
  const { userId, events } = await chattyFriend(stack.line.url, send, { displayName: 'Talkative' });

  const friend = stack.client.workflow.getHandle(friendWorkflowId(stack.config.lineChannelId, userId));
  await eventually(async () => ((await friend.query(friendStateQuery).catch(() => undefined))?.applied === events.length ? true : undefined), {
    timeoutMs: 60_000,
    what: 'all events applied once',
  });
  const shard = inboxShardOf(userId, SHARDS);
  const inbox = stack.client.workflow.getHandle(inboxWorkflowId(stack.config.lineChannelId, shard));
  const runs: string[] = [];
  for await (const execution of stack.client.workflow.list({ query: `WorkflowId = '${inbox.workflowId}'` })) runs.push(execution.runId);
  assert.ok(runs.length >= 2, `the inbox continued as new (${runs.length} runs)`);

  // Idle for FRIEND_IDLE_SECONDS: the inbox ends, with the figures of all its runs.
  const result = await eventually(async () => ((await inbox.describe()).status.name === 'COMPLETED' ? inbox.result() : undefined), {
    timeoutMs: 30_000,
    what: 'the inbox to end when idle',
  });
  assert.equal(result.backlog, 0);
  assert.equal(result.delivered, result.received);
  assert.ok(result.received >= events.length, `received ${result.received}`);

  // The next event starts a new inbox run, and reaches the friend.
  assert.equal((await send([textMessageEvent(userId, 'back again')])).status, 200);
  await eventually(async () => ((await stack.client.workflow.getHandle(friend.workflowId).query(friendStateQuery).catch(() => undefined))?.applied ? true : undefined), {
    what: 'the new event applied',
  });
  await eventually(async () => {
    let count = 0;
    for await (const _ of stack.client.workflow.list({ query: `WorkflowId = '${inbox.workflowId}'` })) count++;
    return count === runs.length + 1 ? true : undefined;
  }, { what: 'a new inbox run took the event' });
  const contact = await lineContact(stack.hubspot.url, userId);
  assert.equal(contact?.properties.line_created_via, 'FOLLOW');
});

test('a hand-over resumes after the events a failed attempt already delivered, and reports what Temporal refuses for good', async () => {
  // Friends' workflows on a queue no worker polls: this test reads what reached them, untouched.
  const target: FriendTarget = { channelId: `inbox-test-${Date.now()}`, taskQueue: 'inbox-test-no-worker', timeZone: 'Asia/Tokyo' };
  const [first, second, third] = [newLineUserId(), newLineUserId(), newLineUserId()];
  const items: InboxItem[] = [
    { userId: first!, event: { eventId: 'E-1', kind: 'follow', timestamp: Date.now() } },
    { userId: second!, event: { eventId: 'E-2', kind: 'follow', timestamp: Date.now() } },
    // A workflow ID over Temporal's 1,000-character limit: INVALID_ARGUMENT, which no retry changes.
    { userId: `U${'f'.repeat(1100)}`, event: { eventId: 'E-3', kind: 'follow', timestamp: Date.now() } },
    { userId: third!, event: { eventId: 'E-4', kind: 'message', timestamp: Date.now() } },
  ];
  // A previous attempt heartbeated that it had delivered item 0.
  const env = new MockActivityEnvironment({ heartbeatDetails: { done: [0], refused: [] } });
  const { handOverFriendEvents } = createInboxActivities({ temporal: stack.client });
  const result: HandOverResult = await env.run(handOverFriendEvents, target, items);

  assert.equal(result.delivered, 3);
  assert.deepEqual(result.refused.map((r) => r.eventId), ['E-3']);
  assert.match(result.refused[0]!.reason, /length|long|exceeds|limit/i);
  const exists = async (userId: string) =>
    stack.client.workflow
      .getHandle(friendWorkflowId(target.channelId, userId))
      .describe()
      .then(
        () => true,
        () => false,
      );
  assert.equal(await exists(first!), false, 'item 0 was not sent again');
  assert.equal(await exists(second!), true);
  assert.equal(await exists(third!), true);
});

test('a hand-over keeps to its pace (LINE_HANDOVER_PER_SECOND ÷ LINE_INBOX_SHARDS)', async () => {
  const target: FriendTarget = { channelId: `inbox-pace-${Date.now()}`, taskQueue: 'inbox-test-no-worker', timeZone: 'Asia/Tokyo' };
  const items: InboxItem[] = Array.from({ length: 11 }, (_, i) => ({ userId: newLineUserId(), event: { eventId: `P-${i}`, kind: 'follow', timestamp: Date.now() } }));
  const { handOverFriendEvents } = createInboxActivities({ temporal: stack.client, perSecond: 20 });
  const started = Date.now();
  const result: HandOverResult = await new MockActivityEnvironment().run(handOverFriendEvents, target, items);
  const elapsed = Date.now() - started;
  assert.equal(result.delivered, 11);
  // 11 sends 50 ms apart: at least 500 ms, however many run at once.
  assert.ok(elapsed >= 490, `took ${elapsed} ms`);
});

test('a backlog too large to carry into continue-as-new is handed over without the pace, so the history never outgrows Temporal', async () => {
  const channelId = `inbox-cap-${Date.now()}`;
  // Friends' workflows on a queue no worker polls: only the inbox (on the stack's queue) runs.
  const target: FriendTarget = { channelId, taskQueue: 'inbox-test-no-worker', timeZone: 'Asia/Tokyo', idleMs: 3000 };
  const workflowId = inboxWorkflowId(channelId, 0);
  const signals = 40;
  for (let i = 0; i < signals; i++) {
    const items: InboxItem[] = [0, 1].map((k) => ({ userId: newLineUserId(), event: { eventId: `C-${i}-${k}`, kind: 'follow', timestamp: Date.now() } }));
    await stack.client.workflow.signalWithStart(inboxWorkflow, {
      workflowId,
      taskQueue: stack.config.taskQueue,
      // At most 3 events carried: with Temporal suggesting continue-as-new after 40 history events, the backlog must drain unpaced.
      args: [{ channelId, shard: 0, target, maxCarriedBacklog: 3 }],
      signal: inboxEventsSignal,
      signalArgs: [{ target, items }],
    });
  }
  const handle = stack.client.workflow.getHandle(workflowId);
  const state = await eventually(
    async () => {
      const { status } = await handle.describe();
      const s = status.name === 'RUNNING' ? await handle.query(inboxStateQuery) : await handle.result();
      return s.delivered === signals * 2 ? s : undefined;
    },
    { timeoutMs: 60_000, what: 'every event handed over' },
  );
  assert.ok(state.unpacedHandOvers >= 1, `unpaced hand-overs: ${state.unpacedHandOvers}`);
  assert.equal(state.received, signals * 2);
  assert.equal(state.refused, 0);
  // The continue-as-new follows the last hand-over (and visibility lists the new run a moment later).
  await eventually(async () => {
    let runs = 0;
    for await (const _ of stack.client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) runs++;
    return runs >= 2 ? true : undefined;
  }, { what: 'the inbox to continue as new' });
});
