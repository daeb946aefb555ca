// A channel's contact writer stays small (continue-as-new, remembering applied event IDs) and ends when
// idle; the next event starts a new run that finds the same contact.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { inboxStateQuery, type InboxState } from '../../src/contracts.ts';
import { inboxWorkflowId } from '../../src/temporal/ids.ts';
import { asRedelivery, followEvent, newLineUserId, sendLineWebhook, unfollowEvent } from '../../src/sandbox/line-webhook.ts';
import type { WebhookEvent } from '../../src/line/webhook-events.ts';
import { eventually, startStack, type Stack } from '../support/stack.ts';
import { chattyFriend } from '../support/chatty-friend.ts';
import { clearFaults, contactsWith, injectFaults, lineContact, sandboxStats, seedFriend } from '../support/sandbox-http.ts';
import { appliedEvents, batchesOf, friendStatus } from '../support/writer.ts';
import type { ContactBatchResult } from '../../workflows/contact-batch.ts';

let stack: Stack;
before(async () => {
  stack = await startStack({
    // Temporal suggests continue-as-new after 60 history events here (thousands in production).
    dynamicConfig: { 'limit.historyCount.suggestContinueAsNew': 60 },
    env: { LINE_INBOX_IDLE_SECONDS: '5' },
  });
});
after(async () => {
  await stack?.stop();
});

const send = (events: WebhookEvent[]) => sendLineWebhook({ url: `${stack.url}/webhooks/line`, channelSecret: stack.config.lineChannelSecret!, events });
const writer = () => ({ client: stack.client, channelId: stack.config.lineChannelId });
/** The channel's one contact writer (LINE_INBOX_SHARDS = 1). */
const writerHandle = () => stack.client.workflow.getHandle(inboxWorkflowId(stack.config.lineChannelId, 0));

async function runsOf(workflowId: string): Promise<Array<{ runId: string; status: string }>> {
  const runs: Array<{ runId: string; status: string }> = [];
  for await (const execution of stack.client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) runs.push({ runId: execution.runId, status: execution.status.name });
  return runs;
}

/** The writer's state: its running run's, or the result of its last run. */
async function writerState(): Promise<InboxState> {
  const handle = writerHandle();
  const { status } = await handle.describe();
  return status.name === 'RUNNING' ? handle.query(inboxStateQuery) : ((await handle.result()) as InboxState);
}

test('many events continue the writer as new; redeliveries of events applied in an earlier run are still ignored', async () => {
  // More webhook requests than the 60 history events: each is a signal of its own, one history event at least.
  const { userId, events } = await chattyFriend(stack.line.url, send, { displayName: 'Chatty', messages: 70 });
  const status = await appliedEvents(writer(), userId, events.length, 60_000);
  assert.equal(status.failed, 0);
  assert.equal(status.applied, events.length, 'each event applied once, across the runs');

  // Continued as new, each run staying small (Temporal suggests it at 60 events here).
  const runs = await eventually(
    async () => {
      const found = await runsOf(writerHandle().workflowId);
      return found.length >= 2 ? found : undefined;
    },
    { what: 'the writer to continue as new' },
  );
  assert.ok(runs.length >= 2, `continued as new (${runs.length} runs)`);

  // At once (before the writer idles out): LINE redelivers the very first event, applied in an earlier
  // run. It is acknowledged and recognised, not applied again.
  const redeliveredTo = (await writerHandle().describe()).runId;
  const before = await writerState();
  const hubspotBefore = await sandboxStats<{ total?: number }>(stack.hubspot.url);
  const batchesBefore = (await batchesOf(stack.client, userId)).length;
  assert.equal((await send([asRedelivery(events[0]!)])).status, 200);
  const after = await eventually(
    async () => {
      const s = await writerState();
      return s.duplicatesIgnored >= before.duplicatesIgnored + 1 ? s : undefined;
    },
    { what: 'the redelivery recognised' },
  );
  assert.equal(after.duplicatesIgnored, before.duplicatesIgnored + 1);
  assert.equal(after.received, before.received, 'not received as a new event');
  assert.equal(after.applied, before.applied, 'not applied again');
  assert.equal(after.backlog, 0);

  for (const run of runs) {
    const { historyLength } = await stack.client.workflow.getHandle(writerHandle().workflowId, run.runId).describe();
    assert.ok(historyLength <= 200, `run ${run.runId} (${run.status}) stayed small: ${historyLength} history events`);
  }
  // The batch that applied the first event ran under an earlier run of the writer than the redelivery reached.
  const batchOfFirst = await eventually(
    async () => {
      for (const batch of await batchesOf(stack.client, userId)) {
        const handle = stack.client.workflow.getHandle(batch.workflowId, batch.runId);
        const result = (await handle.result()) as ContactBatchResult;
        if (result.friends.some((f) => f.userId === userId && f.events.some((e) => e.eventId === events[0]!.webhookEventId))) return handle.describe();
      }
      return undefined;
    },
    { what: 'the batch that applied the first event' },
  );
  assert.equal(batchOfFirst.parentExecution?.workflowId, writerHandle().workflowId);
  assert.notEqual(batchOfFirst.parentExecution?.runId, redeliveredTo, 'the first event was applied by an earlier run than the one that got its redelivery');

  await new Promise((r) => setTimeout(r, 1000));
  assert.equal((await batchesOf(stack.client, userId)).length, batchesBefore, 'no batch for the redelivery');
  assert.equal((await sandboxStats<{ total?: number }>(stack.hubspot.url)).total, hubspotBefore.total, 'no HubSpot request for the redelivery');
  const again = await friendStatus(writer(), userId);
  assert.equal(again?.applied, events.length);
  assert.equal(again?.pending, 0);
  const contact = await lineContact(stack.hubspot.url, userId);
  assert.equal(contact?.properties.line_created_via, 'FOLLOW');
});

test('an idle writer ends; the next event starts a new run that finds the same contact', async () => {
  const userId = newLineUserId();
  await seedFriend(stack.line.url, { userId, displayName: 'Quiet' });
  await send([followEvent(userId)]);
  await appliedEvents(writer(), userId, 1);
  const contactId = (await lineContact(stack.hubspot.url, userId))?.id;
  assert.ok(contactId, 'the follow created the contact');

  const handle = writerHandle();
  const ended = await eventually(async () => ((await handle.describe()).status.name === 'COMPLETED' ? ((await handle.result()) as InboxState) : undefined), {
    timeoutMs: 30_000,
    what: 'the writer to end after 5 s without events',
  });
  assert.equal(ended.backlog, 0);
  assert.equal(ended.batchesInFlight, 0);
  assert.ok(ended.applied >= 1, `the ended run reports what it applied (${ended.applied})`);
  const runsBefore = (await runsOf(handle.workflowId)).length;

  await fetch(`${stack.line.url}/_sandbox/friends/${userId}/block`, { method: 'POST' });
  const block = unfollowEvent(userId);
  assert.equal((await send([block])).status, 200);
  const status = await eventually(
    async () => {
      const s = await friendStatus(writer(), userId);
      return s?.recent.some((e) => e.eventId === block.webhookEventId) && s.pending === 0 ? s : undefined;
    },
    { what: 'the block applied' },
  );
  assert.equal(status.failed, 0);
  assert.deepEqual(
    status.recent.map((e) => e.eventId),
    [block.webhookEventId],
    'a new run, remembering only the new event',
  );
  assert.equal((await handle.describe()).status.name, 'RUNNING', 'the event started the writer again');
  await eventually(async () => ((await runsOf(handle.workflowId)).length === runsBefore + 1 ? true : undefined), { what: 'a new writer run took the event' });
  const contacts = await contactsWith(stack.hubspot.url, 'line_user_id', userId);
  assert.equal(contacts.length, 1, 'no duplicate');
  assert.equal(contacts[0]!.id, contactId, 'the same contact');
  assert.equal(contacts[0]!.properties.line_follow, 'NO', 'the block applied by the new run');
});

test('a HubSpot outage does not hold the writer back: it continues as new while a batch waits, and the batch reports to the new run', async () => {
  const userId = newLineUserId();
  await seedFriend(stack.line.url, { userId, displayName: 'Outage' });
  await injectFaults(stack.hubspot.url, { status: 503, count: 100_000, pathPrefix: '/crm/v3/objects/contacts/batch/read' });
  try {
    assert.equal((await send([followEvent(userId)])).status, 200);
    // The run that holds the follow's batch (a run left by the test before, or one the follow started).
    const holding = (await writerHandle().describe()).runId;
    // More events keep coming while the batch waits for HubSpot, until the writer's history grows past
    // Temporal's suggestion and it continues as new (each step first gives its own batches up to 3 s).
    let sent = 0;
    while ((await writerHandle().describe()).runId === holding) {
      assert.ok(sent < 1500, 'the writer continued as new during the outage');
      assert.equal((await send([unfollowEvent(newLineUserId())])).status, 200);
      sent++;
      await new Promise((r) => setTimeout(r, 30));
    }
    assert.equal(await lineContact(stack.hubspot.url, userId), undefined, 'nothing written while HubSpot is down');
  } finally {
    await clearFaults(stack.hubspot.url);
  }
  const status = await appliedEvents(writer(), userId, 1, 90_000);
  assert.match(status.recent.at(-1)!.outcome, /create FOLLOW contact/, "the new run got the batch's result");
  assert.equal((await contactsWith(stack.hubspot.url, 'line_user_id', userId)).length, 1);
});
