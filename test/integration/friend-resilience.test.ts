// The contact writer and its batches survive a worker killed mid-batch; the webhook says 503 when Temporal is gone.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { followEvent, newLineUserId, sendLineWebhook } from '../../src/sandbox/line-webhook.ts';
import type { ContactBatchResult } from '../../workflows/contact-batch.ts';
import { eventually, startStack, type Stack } from '../support/stack.ts';
import { startChildWorker, killHard } from '../support/child-worker.ts';
import { clearFaults, contactsWith, injectFaults, lineContact, sandboxStats, seedFriend } from '../support/sandbox-http.ts';
import { appliedEvents, batchesOf } from '../support/writer.ts';

let stack: Stack;
before(async () => {
  stack = await startStack();
  await stack.stopWorker();
});
after(async () => {
  await stack?.stop();
});

test('a worker killed in the middle of a batch: the contact is right, and one, once a worker runs again', async (t) => {
  const child = await startChildWorker(stack.config);
  t.after(() => killHard(child));
  const userId = newLineUserId();
  await seedFriend(stack.line.url, { userId, displayName: 'Kill Test' });
  // The profile is read, then HubSpot keeps failing: the event's batch is mid-way when the worker dies.
  await injectFaults(stack.hubspot.url, { status: 503, count: 1000, pathPrefix: '/crm/v3/objects/contacts/batch/read' });
  const event = followEvent(userId);
  const answer = await sendLineWebhook({ url: `${stack.url}/webhooks/line`, channelSecret: stack.config.lineChannelSecret!, events: [event] });
  assert.equal(answer.status, 200);
  await eventually(
    async () => {
      const stats = await sandboxStats<{ endpoints?: Record<string, number> }>(stack.hubspot.url);
      const reads = Object.entries(stats.endpoints ?? {}).find(([k]) => k.includes('batch/read'))?.[1] ?? 0;
      return reads >= 1 ? true : undefined;
    },
    { what: 'the worker reaching HubSpot' },
  );
  await killHard(child);
  await clearFaults(stack.hubspot.url);
  assert.equal(await lineContact(stack.hubspot.url, userId), undefined, 'nothing written while HubSpot failed');

  await stack.startWorker();
  const state = await appliedEvents({ client: stack.client, channelId: stack.config.lineChannelId }, userId, 1, 60_000);
  assert.equal(state.failed, 0);
  assert.equal(state.applied, 1);
  assert.deepEqual(
    state.recent.map((e) => [e.eventId, e.outcome]),
    [[event.webhookEventId, 'create FOLLOW contact']],
  );
  const contacts = await contactsWith(stack.hubspot.url, 'line_user_id', userId);
  assert.equal(contacts.length, 1, 'exactly one contact');
  const contact = await lineContact(stack.hubspot.url, userId);
  assert.equal(contact?.properties.line_follow, 'YES');
  assert.equal(contact?.properties.line_user_name, 'Kill Test');
  assert.equal(contact?.properties.line_created_via, 'FOLLOW');
  // The batch the dead worker had started is the one that finished it: no second batch for the event.
  const batches = await eventually(
    async () => {
      const found = await batchesOf(stack.client, userId);
      return found.length ? found : undefined;
    },
    { what: "the friend's batch, found by LineUserId" },
  );
  assert.deepEqual(
    batches.map((b) => b.workflowId),
    [state.recent[0]!.batchWorkflowId],
  );
  const result = (await stack.client.workflow.getHandle(batches[0]!.workflowId, batches[0]!.runId).result()) as ContactBatchResult;
  assert.deepEqual(
    result.friends.find((f) => f.userId === userId)?.events.map((e) => e.eventId),
    [event.webhookEventId],
  );
});

test("Temporal unreachable: the webhook answers 503 within LINE's 2 s, so LINE can redeliver", async () => {
  await stack.stopWorker();
  await stack.temporal.stop();
  const started = Date.now();
  const answer = await sendLineWebhook({ url: `${stack.url}/webhooks/line`, channelSecret: stack.config.lineChannelSecret!, events: [followEvent(newLineUserId())] });
  const took = Date.now() - started;
  assert.equal(answer.status, 503);
  assert.ok(took < 2000, `answered in ${took} ms`);
  const ready = await fetch(`${stack.url}/readyz`);
  assert.equal(ready.status, 503);
});
