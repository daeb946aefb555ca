// A friend's workflow stays small (continue-as-new, remembering applied events) and ends when idle.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { friendWorkflowId } from '../../src/temporal/ids.ts';
import { asRedelivery, followEvent, newLineUserId, sendLineWebhook, unfollowEvent } from '../../src/sandbox/line-webhook.ts';
import type { WebhookEvent } from '../../src/line/webhook-events.ts';
import { friendStateQuery } from '../../workflows/friend.ts';
import { eventually, startStack, type Stack } from '../support/stack.ts';
import { chattyFriend } from '../support/chatty-friend.ts';
import { lineContact, seedFriend } from '../support/sandbox-http.ts';

let stack: Stack;
before(async () => {
  stack = await startStack({
    // Temporal suggests continue-as-new after 60 history events here (thousands in production).
    dynamicConfig: { 'limit.historyCount.suggestContinueAsNew': 60 },
    env: { FRIEND_IDLE_SECONDS: '3' },
  });
});
after(async () => {
  await stack?.stop();
});

const send = (events: WebhookEvent[]) => sendLineWebhook({ url: `${stack.url}/webhooks/line`, channelSecret: stack.config.lineChannelSecret!, events });

test('many events continue as new; redeliveries of events applied in an earlier run are still ignored', async () => {
  const { userId, events } = await chattyFriend(stack.line.url, send, { displayName: 'Chatty' });
  const handle = stack.client.workflow.getHandle(friendWorkflowId(stack.config.lineChannelId, userId));
  await eventually(async () => ((await handle.query(friendStateQuery)).applied >= events.length ? true : undefined), { timeoutMs: 60_000, what: 'all events applied' });

  const first = await stack.client.workflow.getHandle(handle.workflowId).describe();
  const runs: string[] = [];
  for await (const execution of stack.client.workflow.list({ query: `WorkflowId = '${handle.workflowId}'` })) runs.push(execution.runId);
  assert.ok(runs.length >= 2, `continued as new (${runs.length} runs)`);
  assert.ok(first.historyLength <= 200, `the current run's history stays small (${first.historyLength} events)`);

  // LINE redelivers the very first event, applied two runs ago.
  assert.equal((await send([asRedelivery(events[0]!)])).status, 200);
  const state = await eventually(async () => {
    const s = await handle.query(friendStateQuery);
    return s.duplicatesIgnored >= 1 ? s : undefined;
  }, { what: 'the redelivery recognised' });
  assert.equal(state.pending, 0);
  const contact = await lineContact(stack.hubspot.url, userId);
  assert.equal(contact?.properties.line_created_via, 'FOLLOW');
});

test('an idle friend workflow ends; the next event starts a new one that finds the same contact', async () => {
  const userId = newLineUserId();
  await seedFriend(stack.line.url, { userId, displayName: 'Quiet' });
  await send([followEvent(userId)]);
  const handle = stack.client.workflow.getHandle(friendWorkflowId(stack.config.lineChannelId, userId));
  const result = await eventually(async () => ((await handle.describe()).status.name === 'COMPLETED' ? handle.result() : undefined), {
    timeoutMs: 30_000,
    what: 'the workflow to end after 3 s without events',
  });
  assert.equal(result.applied, 1);
  const contactId = (await lineContact(stack.hubspot.url, userId))?.id;
  await fetch(`${stack.line.url}/_sandbox/friends/${userId}/block`, { method: 'POST' });
  await send([unfollowEvent(userId)]);
  await eventually(async () => ((await lineContact(stack.hubspot.url, userId))?.properties.line_follow === 'NO' ? true : undefined), { what: 'the block applied by a new run' });
  assert.equal((await lineContact(stack.hubspot.url, userId))?.id, contactId, 'same contact, no duplicate');
});
