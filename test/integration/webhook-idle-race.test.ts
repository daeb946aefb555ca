// Events that arrive just as an idle contact writer ends: Temporal refuses a signal to a closing
// workflow for a moment ("workflow is closing"), and the webhook must still answer 200 within its
// deadline, and every event must still be applied exactly once.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { inboxWorkflowId } from '../../src/temporal/ids.ts';
import { newLineUserId, sendLineWebhook, textMessageEvent } from '../../src/sandbox/line-webhook.ts';
import type { ContactBatchResult } from '../../workflows/contact-batch.ts';
import { eventually, startStack, type Stack } from '../support/stack.ts';
import { contactsWith, seedFriend } from '../support/sandbox-http.ts';
import { batchesOf } from '../support/writer.ts';

let stack: Stack;
before(async () => {
  // The contact writer ends after 1 s without events.
  stack = await startStack({ env: { LINE_INBOX_IDLE_SECONDS: '1' } });
});
after(async () => {
  await stack?.stop();
});

test('events sent just as the idle writer ends are all acknowledged and applied once', async () => {
  const userId = newLineUserId();
  await seedFriend(stack.line.url, { userId, displayName: 'Now and then' });
  const eventIds: string[] = [];
  const send = (text: string) => {
    const event = textMessageEvent(userId, text);
    eventIds.push(event.webhookEventId);
    return sendLineWebhook({ url: `${stack.url}/webhooks/line`, channelSecret: stack.config.lineChannelSecret!, events: [event] });
  };
  const statuses: number[] = [];
  // Events one at a time, each after a pause around the writer's idle end, so that some land while the
  // writer is closing: the writer ends 1 s after the batch of the previous event is written (which
  // takes a moment), so the pauses span 0.8 to 1.465 s, twice over.
  for (let i = 0; i < 40; i++) {
    if (i > 0) await sleep(800 + (i % 20) * 35);
    statuses.push((await send(`message ${i}`)).status);
  }
  assert.deepEqual(
    statuses.map((s, i) => (s === 200 ? 200 : `message ${i}: ${s}`)),
    statuses.map(() => 200),
  );
  assert.equal(new Set(eventIds).size, 40);

  // The writer's memory does not survive an idle end, so count in the batches that held the friend
  // (LineUserId = "U…"), across all the writer's runs: each message applied in exactly one of them.
  const applied = await eventually(
    async () => {
      const ids: string[] = [];
      for (const batch of await batchesOf(stack.client, userId)) {
        const result = (await stack.client.workflow.getHandle(batch.workflowId, batch.runId).result()) as ContactBatchResult;
        for (const friend of result.friends) {
          if (friend.userId !== userId) continue;
          assert.equal(friend.failure, undefined, `batch ${batch.workflowId} failed the friend`);
          for (const event of friend.events) {
            assert.doesNotMatch(event.outcome, /^failed/, `${event.eventId} in ${batch.workflowId}`);
            ids.push(event.eventId);
          }
        }
      }
      return eventIds.every((id) => ids.includes(id)) ? ids : undefined;
    },
    { timeoutMs: 60_000, what: 'all 40 messages applied' },
  );
  assert.deepEqual([...applied].sort(), [...eventIds].sort(), 'each of the 40 messages applied exactly once, and nothing else');

  // The writer did end and start again along the way (else this test raced nothing: the pauses are too short for this machine).
  let runs = 0;
  for await (const _ of stack.client.workflow.list({ query: `WorkflowId = '${inboxWorkflowId(stack.config.lineChannelId, 0)}'` })) runs++;
  assert.ok(runs >= 2, `writer runs: ${runs}`);
  assert.equal((await contactsWith(stack.hubspot.url, 'line_user_id', userId)).length, 1, 'one contact');
});
