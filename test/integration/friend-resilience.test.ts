// The friend flow survives a worker killed mid-event; the webhook says 503 when Temporal is gone.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { friendWorkflowId } from '../../src/temporal/ids.ts';
import { followEvent, newLineUserId, sendLineWebhook } from '../../src/sandbox/line-webhook.ts';
import { friendStateQuery } from '../../workflows/friend.ts';
import { eventually, startStack, type Stack } from '../support/stack.ts';
import { startChildWorker, killHard } from '../support/child-worker.ts';
import { clearFaults, injectFaults, lineContact, sandboxStats, seedFriend } from '../support/sandbox-http.ts';

let stack: Stack;
before(async () => {
  stack = await startStack();
  await stack.stopWorker();
});
after(async () => {
  await stack?.stop();
});

test('a worker killed in the middle of an event: the contact is right once a worker runs again', async (t) => {
  const child = await startChildWorker(stack.config);
  t.after(() => killHard(child));
  const userId = newLineUserId();
  await seedFriend(stack.line.url, { userId, displayName: 'Kill Test' });
  // The profile is read, then HubSpot keeps failing: the event is mid-way when the worker dies.
  await injectFaults(stack.hubspot.url, { status: 503, count: 1000, pathPrefix: '/crm/v3/objects/contacts/batch/read' });
  const event = followEvent(userId);
  const answer = await sendLineWebhook({ url: `${stack.url}/webhooks/line`, channelSecret: stack.config.lineChannelSecret!, events: [event] });
  assert.equal(answer.status, 200);
  await eventually(async () => {
    const stats = await sandboxStats<{ endpoints?: Record<string, number> }>(stack.hubspot.url);
    const reads = Object.entries(stats.endpoints ?? {}).find(([k]) => k.includes('batch/read'))?.[1] ?? 0;
    return reads >= 1 ? true : undefined;
  }, { what: 'the worker reaching HubSpot' });
  await killHard(child);
  await clearFaults(stack.hubspot.url);
  assert.equal(await lineContact(stack.hubspot.url, userId), undefined, 'nothing written while HubSpot failed');

  await stack.startWorker();
  const state = await eventually(async () => {
    const s = await stack.client.workflow.getHandle(friendWorkflowId(stack.config.lineChannelId, userId)).query(friendStateQuery);
    return s.applied >= 1 ? s : undefined;
  }, { timeoutMs: 60_000, what: 'the event applied by the new worker' });
  assert.equal(state.failed, 0);
  const contact = await lineContact(stack.hubspot.url, userId);
  assert.equal(contact?.properties.line_follow, 'YES');
  assert.equal(contact?.properties.line_user_name, 'Kill Test');
});

test('Temporal unreachable: the webhook answers 503 within LINE\'s 2 s, so LINE can redeliver', async () => {
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
