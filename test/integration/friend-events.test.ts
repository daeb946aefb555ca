// LINE webhook → friend workflow → LINE profile → HubSpot upsert, end to end on a real Temporal
// dev server with the sandbox APIs over HTTP and correctly signed webhooks.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { syncDate } from '../../src/contact/values.ts';
import { LineChannelId, LineUserId } from '../../src/temporal/search-attributes.ts';
import { asRedelivery, followEvent, groupSource, newLineGroupId, newLineUserId, otherEvent, sendLineWebhook, textMessageEvent, unfollowEvent } from '../../src/sandbox/line-webhook.ts';
import type { WebhookEvent } from '../../src/line/webhook-events.ts';
import { eventually, startStack, type Stack } from '../support/stack.ts';
import { blockFriend, call, clearFaults, injectFaults, lineContact, sandboxStats, seedFriend, unblockFriend } from '../support/sandbox-http.ts';
import { webhookEventValidator } from '../support/line-spec.ts';
import { appliedEvents, batchesOf, friendStatus } from '../support/writer.ts';
import type { ContactBatchResult } from '../../workflows/contact-batch.ts';

let stack: Stack;
const validateEvent = webhookEventValidator();

before(async () => {
  // A 1 s rate-limit window (HubSpot's is 10 s) keeps the 429 storm short; the service waits what HubSpot says.
  stack = await startStack({ hubspot: { windowMs: 1000 } });
});
after(async () => {
  await stack?.stop();
});

async function send(events: WebhookEvent[]) {
  for (const event of events) {
    assert.ok(validateEvent(event), `test payload must follow LINE's webhook.yml: ${JSON.stringify(validateEvent.errors)}`);
  }
  return sendLineWebhook({ url: `${stack.url}/webhooks/line`, channelSecret: stack.config.lineChannelSecret!, events });
}

async function newFriend(name = 'テスト 太郎') {
  const userId = newLineUserId();
  await seedFriend(stack.line.url, { userId, displayName: name, pictureUrl: `https://profile.line-scdn.net/${userId.slice(1, 9)}` });
  return userId;
}

const writer = () => ({ client: stack.client, channelId: stack.config.lineChannelId });
/** Waits until the friend's contact writer has applied `count` events, and returns what it knows of the friend. */
const applied = (userId: string, count: number, timeoutMs?: number) => appliedEvents(writer(), userId, count, timeoutMs);
/** Nothing was queued or applied for the friend. */
const untouched = async (userId: string) => assert.equal(await friendStatus(writer(), userId), null);

describe('the LINE webhook endpoint', () => {
  // 401 / 400 / 413 / 404 (signature, body shape, size): test/unit/routes.test.ts, without the stack.
  test("LINE's URL check (no events) is answered 200", async () => {
    const result = await send([]);
    assert.equal(result.status, 200);
  });

  test('other event types and unknown fields are acknowledged and ignored', async () => {
    const userId = newLineUserId();
    const postback = otherEvent('postback', { type: 'user', userId }, { replyToken: 'r', postback: { data: 'a=1' } });
    const future = { ...followEvent(newLineUserId()), type: 'someFutureType', brandNewField: { nested: true } } as unknown as WebhookEvent;
    const result = await sendLineWebhook({ url: `${stack.url}/webhooks/line`, channelSecret: stack.config.lineChannelSecret!, events: [postback, future] });
    assert.equal(result.status, 200);
    await untouched(userId);
  });
});

describe('friend events become HubSpot contacts', () => {
  test("a new friend's follow creates the contact with all seven LINE properties and the dummy e-mail", async () => {
    const userId = await newFriend('山田 花子');
    const event = followEvent(userId);
    const result = await send([event]);
    assert.equal(result.status, 200);
    await applied(userId, 1);
    const contact = await lineContact(stack.hubspot.url, userId);
    assert.ok(contact, 'contact created');
    const p = contact.properties;
    assert.equal(p.email, `${userId.toLowerCase()}@line.me`, 'HubSpot stores e-mails lower-cased');
    assert.equal(p.line_user_id, userId);
    assert.equal(p.line_user_name, '山田 花子');
    assert.equal(p.line_user_picture, `https://profile.line-scdn.net/${userId.slice(1, 9)}`);
    assert.equal(p.line_follow, 'YES');
    assert.equal(p.line_created_via, 'FOLLOW');
    assert.equal(new Date(p.line_follow_changed_at!).getTime(), event.timestamp);
    assert.equal(Date.parse(`${p.line_id_sync_date}T00:00:00Z`), Number(syncDate(Date.now(), 'UTC')));
    const [batch] = await eventually(
      async () => {
        const found = await batchesOf(stack.client, userId);
        return found.length ? found : undefined;
      },
      { what: 'the batch that wrote the friend, found by LineUserId' },
    );
    const description = await stack.client.workflow.getHandle(batch!.workflowId, batch!.runId).describe();
    assert.ok(description.typedSearchAttributes.get(LineUserId)?.includes(userId), 'findable in the Temporal UI by LineUserId');
    assert.equal(description.typedSearchAttributes.get(LineChannelId), stack.config.lineChannelId);
    const batchResult = (await stack.client.workflow.getHandle(batch!.workflowId, batch!.runId).result()) as ContactBatchResult;
    const mine = batchResult.friends.find((f) => f.userId === userId);
    assert.deepEqual(
      mine?.events.map((e) => [e.eventId, e.outcome]),
      [[event.webhookEventId, 'create FOLLOW contact']],
      "the batch's result says what was decided and written",
    );
  });

  test('a redelivered event is applied once', async () => {
    const userId = await newFriend();
    const event = followEvent(userId);
    assert.equal((await send([event])).status, 200);
    await applied(userId, 1);
    const before = await sandboxStats<{ endpoints?: Record<string, number>; total?: number }>(stack.hubspot.url);
    assert.equal((await send([asRedelivery(event)])).status, 200);
    assert.equal((await send([asRedelivery(event)])).status, 200);
    // The redeliveries are acknowledged and ignored: still one applied event, no HubSpot request.
    await new Promise((r) => setTimeout(r, 1500));
    const state = await applied(userId, 1);
    assert.equal(state.applied, 1);
    const after = await sandboxStats<{ total?: number }>(stack.hubspot.url);
    assert.equal(after.total, before.total, 'no HubSpot request for a redelivery');
  });

  test('a block sets LINE Follow to NO and an unblock restores it to YES', async () => {
    const userId = await newFriend();
    const t0 = Date.now() - 60_000;
    await send([followEvent(userId, { timestamp: t0 })]);
    await applied(userId, 1);
    await blockFriend(stack.line.url, userId);
    await send([unfollowEvent(userId, { timestamp: t0 + 1000 })]);
    await applied(userId, 2);
    let contact = await lineContact(stack.hubspot.url, userId);
    assert.equal(contact?.properties.line_follow, 'NO');
    assert.equal(new Date(contact!.properties.line_follow_changed_at!).getTime(), t0 + 1000);
    await unblockFriend(stack.line.url, userId);
    await send([followEvent(userId, { timestamp: t0 + 2000, isUnblocked: true })]);
    await applied(userId, 3);
    contact = await lineContact(stack.hubspot.url, userId);
    assert.equal(contact?.properties.line_follow, 'YES');
    assert.equal(contact?.properties.line_created_via, 'FOLLOW', 'created_via is set once');
  });

  test('an older follow arriving after a newer block leaves LINE Follow at NO', async () => {
    const userId = await newFriend();
    const t0 = Date.now() - 60_000;
    await send([followEvent(userId, { timestamp: t0 })]);
    await applied(userId, 1);
    await blockFriend(stack.line.url, userId);
    await send([unfollowEvent(userId, { timestamp: t0 + 5000 })]);
    await applied(userId, 2);
    await send([followEvent(userId, { timestamp: t0 + 2000, isUnblocked: true })]);
    await applied(userId, 3);
    const contact = await lineContact(stack.hubspot.url, userId);
    assert.equal(contact?.properties.line_follow, 'NO');
    assert.equal(new Date(contact!.properties.line_follow_changed_at!).getTime(), t0 + 5000);
  });

  test('an unblock from someone without a contact creates an UNBLOCK contact', async () => {
    const userId = await newFriend();
    await send([followEvent(userId, { isUnblocked: true })]);
    await applied(userId, 1);
    const contact = await lineContact(stack.hubspot.url, userId);
    assert.equal(contact?.properties.line_created_via, 'UNBLOCK');
    assert.equal(contact?.properties.line_follow, 'YES');
  });

  test('a reply from a new friend creates a REPLY contact', async () => {
    const userId = await newFriend('佐藤');
    await send([textMessageEvent(userId, 'こんにちは')]);
    await applied(userId, 1);
    const contact = await lineContact(stack.hubspot.url, userId);
    assert.equal(contact?.properties.line_created_via, 'REPLY');
    assert.equal(contact?.properties.line_follow, 'YES');
    assert.equal(contact?.properties.email, `${userId.toLowerCase()}@line.me`);
  });

  test('events in standby mode are handled like active ones', async () => {
    const userId = await newFriend();
    await send([followEvent(userId, { mode: 'standby' })]);
    await applied(userId, 1);
    assert.equal((await lineContact(stack.hubspot.url, userId))?.properties.line_follow, 'YES');
  });

  test('a message in a group creates nothing', async () => {
    const userId = await newFriend();
    const result = await send([textMessageEvent(groupSource(newLineGroupId(), userId), 'hi all')]);
    assert.equal(result.status, 200);
    await untouched(userId);
    assert.equal(await lineContact(stack.hubspot.url, userId), undefined);
  });

  test('a block from an unknown user creates nothing', async () => {
    const userId = newLineUserId();
    await send([unfollowEvent(userId)]);
    const state = await applied(userId, 1);
    assert.match(state.recent[0]!.outcome, /no-contact-for-blocked-user/);
    assert.equal(await lineContact(stack.hubspot.url, userId), undefined);
  });

  test('an existing contact with a real e-mail keeps it', async () => {
    const userId = await newFriend();
    await call('POST', `${stack.hubspot.url}/_sandbox/contacts`, { properties: { email: 'hanako@example.co.jp', firstname: 'Hanako', line_user_id: userId } });
    await send([followEvent(userId)]);
    await applied(userId, 1);
    const contact = await lineContact(stack.hubspot.url, userId);
    assert.equal(contact?.properties.email, 'hanako@example.co.jp');
    assert.equal(contact?.properties.firstname, 'Hanako');
    assert.equal(contact?.properties.line_follow, 'YES');
    assert.equal(contact?.properties.line_created_via, 'HUBSPOT', 'it had a LINE user ID before the service wrote to it');
  });
});

describe('failures on the way are retried until the contact is right', () => {
  test('a 429 storm from HubSpot and a run of 5xx end with the right contact', async () => {
    const userId = await newFriend();
    await injectFaults(stack.hubspot.url, { status: 429, count: 3, pathPrefix: '/crm/v3/objects/contacts/batch/read' });
    await injectFaults(stack.hubspot.url, { status: 502, count: 3, pathPrefix: '/crm/v3/objects/contacts/batch/create' });
    await injectFaults(stack.line.url, { status: 500, count: 2, pathPrefix: '/v2/bot/profile' });
    await send([followEvent(userId)]);
    const state = await applied(userId, 1, 90_000);
    assert.equal(state.failed, 0);
    const contact = await lineContact(stack.hubspot.url, userId);
    assert.equal(contact?.properties.line_follow, 'YES');
    await clearFaults(stack.hubspot.url);
    await clearFaults(stack.line.url);
  });
});
