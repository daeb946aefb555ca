// POST /webhooks/hubspot → the channel's contact writer fills in a contact that got a LINE user ID in
// HubSpot: v3 signatures and replays, blocked and following friends, non-LINE values, duplicates,
// out-of-order deliveries and the service's own changes. Real Temporal, sandboxes over HTTP.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import Fastify, { type FastifyServerOptions } from 'fastify';
import { inboxStateQuery } from '../../src/contracts.ts';
import { syncDate } from '../../src/contact/values.ts';
import { hubspotWebhookRoutes } from '../../src/server/routes/hubspot-webhook.ts';
import { inboxShardOf, inboxWorkflowId } from '../../src/temporal/ids.ts';
import { contactTargetOf, FriendEventInbox } from '../../src/temporal/inbox-client.ts';
import { newLineUserId } from '../../src/sandbox/line-webhook.ts';
import { creationEvent, propertyChangeEvent, SANDBOX_HUBSPOT_APP_ID, sendHubspotWebhook, type HubspotWebhookEvent } from '../../src/sandbox/hubspot-webhooks.ts';
import { signHubspotRequest } from '../../src/hubspot/signature.ts';
import { eventually, startStack, type Stack } from '../support/stack.ts';
import { blockFriend, call, lineContact, sandboxStats, seedFriend, type SandboxContact } from '../support/sandbox-http.ts';
import { appliedEvents, friendStatus } from '../support/writer.ts';

let stack: Stack;

before(async () => {
  stack = await startStack();
});
after(async () => {
  await stack?.stop();
});

const webhookUrl = () => `${stack.url}/webhooks/hubspot`;
const send = (events: HubspotWebhookEvent[], options: { timestamp?: number; signature?: string | null; clientSecret?: string } = {}) =>
  sendHubspotWebhook({ url: webhookUrl(), clientSecret: options.clientSecret ?? stack.config.hubspotClientSecret!, events, ...options });

async function newFriend(name: string) {
  const userId = newLineUserId();
  await seedFriend(stack.line.url, { userId, displayName: name, pictureUrl: `https://profile.line-scdn.net/${userId.slice(1, 9)}` });
  return userId;
}

/** A contact someone created in HubSpot (UI, CSV, API) with a LINE user ID. */
const createdInHubspot = (properties: Record<string, string>) => call<SandboxContact>('POST', `${stack.hubspot.url}/_sandbox/contacts`, { properties });
const writer = () => ({ client: stack.client, channelId: stack.config.lineChannelId, shards: stack.config.lineInboxShards });
/** Waits until the friend's contact writer has applied `count` events, and returns what it knows of the friend. */
const applied = (userId: string, count: number) => appliedEvents(writer(), userId, count);
/** The contact writer (inbox workflow) of the friend's shard. */
const writerHandle = (userId: string) => stack.client.workflow.getHandle(inboxWorkflowId(stack.config.lineChannelId, inboxShardOf(userId, stack.config.lineInboxShards)));

/** Nothing was handed to the friend's contact writer. */
async function assertNothingStarted(userId: string) {
  assert.equal(await friendStatus(writer(), userId), null, 'the contact writer never got an event of the friend');
}

/** The HubSpot webhook routes alone, with PUBLIC_URL https://sync.example.com, in their own Fastify app. */
async function routesWithPublicUrl(options: FastifyServerOptions) {
  const app = Fastify(options);
  await app.register(hubspotWebhookRoutes, {
    inbox: new FriendEventInbox(stack.client, contactTargetOf(stack.config), { shards: stack.config.lineInboxShards }),
    clientSecret: stack.config.hubspotClientSecret!,
    publicUrl: 'https://sync.example.com',
  });
  return app;
}

const hubspotWrites = async () => {
  const { endpoints } = await sandboxStats<{ endpoints: Record<string, number> }>(stack.hubspot.url);
  return Object.entries(endpoints)
    .filter(([k]) => /^(POST \/crm\/v3\/objects\/contacts(\/batch\/(upsert|update|create)|\/merge)?|PATCH .*)$/.test(k))
    .reduce((sum, [, n]) => sum + n, 0);
};

describe('a contact that gets a LINE user ID in HubSpot is filled in from LINE', () => {
  test('for a friend: name, picture, sync date, LINE Follow YES (observed when the profile was read), created_via HUBSPOT, no dummy e-mail', async () => {
    const userId = await newFriend('高橋 結菜');
    const contact = await createdInHubspot({ firstname: 'Yuna', line_user_id: userId });
    const sentAt = Date.now();
    // What HubSpot sends when a contact is created with a value: the creation and the property change.
    const answer = await send([creationEvent(contact.id), propertyChangeEvent(contact.id, userId)]);
    assert.equal(answer.status, 200);
    assert.deepEqual(answer.body, { accepted: 1 });
    await applied(userId, 1);
    const after = await lineContact(stack.hubspot.url, userId);
    assert.equal(after?.id, contact.id);
    const p = after!.properties;
    assert.equal(p.line_user_name, '高橋 結菜');
    assert.equal(p.line_user_picture, `https://profile.line-scdn.net/${userId.slice(1, 9)}`);
    assert.equal(p.line_follow, 'YES');
    assert.equal(p.line_created_via, 'HUBSPOT');
    assert.equal(Date.parse(`${p.line_id_sync_date}T00:00:00Z`), Number(syncDate(Date.now(), 'UTC')));
    const observedAt = new Date(p.line_follow_changed_at!).getTime();
    assert.ok(observedAt >= sentAt && observedAt <= Date.now(), 'observed when the profile was read, not when HubSpot saw the change');
    assert.equal(p.email, undefined, 'no dummy e-mail');
    assert.equal(p.firstname, 'Yuna');
  });

  test('for a friend who blocked the account: LINE Follow NO, created_via HUBSPOT, no dummy e-mail, no name', async () => {
    const userId = await newFriend('ブロック 済み');
    await blockFriend(stack.line.url, userId);
    const contact = await createdInHubspot({ email: `blocked.${userId.slice(1, 9)}@example.com`, line_user_id: userId });
    assert.equal((await send([propertyChangeEvent(contact.id, userId)])).status, 200);
    await applied(userId, 1);
    const p = (await lineContact(stack.hubspot.url, userId))!.properties;
    assert.equal(p.line_follow, 'NO');
    assert.ok(p.line_follow_changed_at);
    assert.equal(p.line_created_via, 'HUBSPOT');
    assert.equal(p.email, `blocked.${userId.slice(1, 9)}@example.com`, 'the e-mail is left alone');
    assert.equal(p.line_user_name, undefined, 'no profile, no name');
    assert.ok(p.line_id_sync_date);
  });

  test('an existing created_via is kept, and a contact already right is left alone (no write): our own changes cannot loop', async () => {
    const userId = await newFriend('既存 連絡先');
    const contact = await createdInHubspot({ line_user_id: userId, line_created_via: 'IMPORT' });
    assert.equal((await send([propertyChangeEvent(contact.id, userId)])).status, 200);
    await applied(userId, 1);
    assert.equal((await lineContact(stack.hubspot.url, userId))?.properties.line_created_via, 'IMPORT');
    const writes = await hubspotWrites();
    // Another change notice for the same contact (a new eventId): read, found right, nothing written.
    assert.equal((await send([propertyChangeEvent(contact.id, userId)])).status, 200);
    const state = await applied(userId, 2);
    assert.equal(state.recent.at(-1)!.outcome, 'none: unchanged');
    assert.equal(await hubspotWrites(), writes, 'no HubSpot write');
  });

  test('changes made by this app itself (INTEGRATION, sourceId = appId) are not worked on again', async () => {
    const userId = await newFriend('自分 変更');
    const event = propertyChangeEvent(1, userId, { changeSource: 'INTEGRATION', sourceId: String(SANDBOX_HUBSPOT_APP_ID) });
    const answer = await send([event]);
    assert.equal(answer.status, 200);
    assert.deepEqual(answer.body, { accepted: 0 });
    await assertNothingStarted(userId);
    // Another integration's change is worked on.
    const contact = await createdInHubspot({ line_user_id: userId });
    assert.deepEqual((await send([propertyChangeEvent(contact.id, userId, { changeSource: 'INTEGRATION', sourceId: '999' })])).body, { accepted: 1 });
    await applied(userId, 1);
  });

  test('a value that is not a LINE user ID is ignored with a log line, and starts nothing', async (t) => {
    let logs = '';
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        logs += chunk.toString();
        done();
      },
    });
    const app = await routesWithPublicUrl({ logger: { level: 'info', stream } });
    t.after(() => app.close());
    const notLine = ['hello', `U${'A'.repeat(32)}`, `${newLineUserId()}x`, `u${'0'.repeat(32)}`];
    const events = notLine.map((value, i) => propertyChangeEvent(7000 + i, value));
    const body = JSON.stringify(events);
    const timestamp = String(Date.now());
    const signature = signHubspotRequest({ clientSecret: stack.config.hubspotClientSecret!, method: 'POST', uri: 'https://sync.example.com/webhooks/hubspot', body, timestamp });
    const answer = await app.inject({
      method: 'POST',
      url: '/webhooks/hubspot',
      headers: { 'content-type': 'application/json', 'x-hubspot-request-timestamp': timestamp, 'x-hubspot-signature-v3': signature },
      payload: body,
    });
    assert.equal(answer.statusCode, 200, answer.body);
    assert.deepEqual(answer.json(), { accepted: 0 });
    assert.equal(logs.match(/is not a LINE user ID/g)?.length, notLine.length, 'one log line per ignored value');
    assert.ok(logs.includes('"objectId":"7000"'));
  });

  test('duplicate deliveries are harmless: applied once', async () => {
    const userId = await newFriend('重複 配信');
    const contact = await createdInHubspot({ line_user_id: userId });
    const event = propertyChangeEvent(contact.id, userId);
    const duplicatesBefore =
      (
        await writerHandle(userId)
          .query(inboxStateQuery)
          .catch(() => undefined)
      )?.duplicatesIgnored ?? 0;
    assert.equal((await send([event, event])).status, 200);
    assert.equal((await send([{ ...event, attemptNumber: 1 }])).status, 200);
    // The copy in the same delivery and the retried delivery are both ignored as duplicates by the writer.
    await eventually(async () => ((await writerHandle(userId).query(inboxStateQuery)).duplicatesIgnored >= duplicatesBefore + 2 ? true : undefined), {
      what: 'two duplicates ignored by the contact writer',
    });
    const state = await applied(userId, 1);
    assert.equal(state.applied, 1);
    assert.equal(state.recent.length, 1, 'one event on record');
    assert.equal((await lineContact(stack.hubspot.url, userId))?.properties.line_follow, 'YES');
  });

  test('out-of-order deliveries are harmless: a LINE user ID changed twice ends filled in for the latest value only', async () => {
    const first = await newFriend('最初 の人');
    const second = await newFriend('二番目 の人');
    const contact = await createdInHubspot({ line_user_id: second });
    const t0 = Date.now() - 60_000;
    // HubSpot delivers the newer change first, then the older one.
    assert.equal((await send([propertyChangeEvent(contact.id, second, { occurredAt: t0 + 1000 })])).status, 200);
    assert.equal((await send([propertyChangeEvent(contact.id, first, { occurredAt: t0 })])).status, 200);
    await applied(second, 1);
    const late = await applied(first, 1);
    assert.equal(late.recent.at(-1)!.outcome, 'none: no-contact');
    assert.equal(await lineContact(stack.hubspot.url, first), undefined);
    assert.equal((await lineContact(stack.hubspot.url, second))?.properties.line_user_name, '二番目 の人');
  });

  test('contact.creation alone carries no LINE user ID and starts nothing', async () => {
    const userId = await newFriend('作成 のみ');
    const contact = await createdInHubspot({ line_user_id: userId });
    const answer = await send([creationEvent(contact.id)]);
    assert.equal(answer.status, 200);
    assert.deepEqual(answer.body, { accepted: 0 });
    await assertNothingStarted(userId);
  });
});

describe('POST /webhooks/hubspot refuses what HubSpot did not sign just now', () => {
  test('a bad signature is 401 and starts nothing', async () => {
    const userId = await newFriend('署名 不正');
    const event = propertyChangeEvent(1, userId);
    assert.equal((await send([event], { clientSecret: 'not-the-client-secret' })).status, 401);
    assert.equal((await send([event], { signature: null })).status, 401);
    assert.equal((await send([event], { signature: 'x'.repeat(44) })).status, 401);
    await assertNothingStarted(userId);
  });

  test('a replayed delivery with a timestamp older than 5 minutes is 401, even correctly signed', async () => {
    const userId = await newFriend('再送 攻撃');
    const event = propertyChangeEvent(1, userId);
    const answer = await send([event], { timestamp: Date.now() - 5 * 60 * 1000 - 5000 });
    assert.equal(answer.status, 401);
    assert.match(JSON.stringify(answer.body), /stale timestamp/);
    await assertNothingStarted(userId);
  });

  test('a body changed after signing is 401', async () => {
    const userId = await newFriend('改ざん');
    const original = JSON.stringify([propertyChangeEvent(1, newLineUserId())]);
    const timestamp = String(Date.now());
    const signature = signHubspotRequest({ clientSecret: stack.config.hubspotClientSecret!, method: 'POST', uri: webhookUrl(), body: original, timestamp });
    const answer = await sendHubspotWebhook({ url: webhookUrl(), clientSecret: '', body: JSON.stringify([propertyChangeEvent(1, userId)]), timestamp, signature });
    assert.equal(answer.status, 401);
    await assertNothingStarted(userId);
  });

  test('the signed URI is rebuilt from Host and X-Forwarded-Proto behind a proxy', async () => {
    const host = new URL(stack.url).host;
    const events: HubspotWebhookEvent[] = [];
    const viaProxy = await sendHubspotWebhook({
      url: webhookUrl(),
      clientSecret: stack.config.hubspotClientSecret!,
      events,
      signedUri: `https://${host}/webhooks/hubspot`,
      headers: { 'x-forwarded-proto': 'https' },
    });
    assert.equal(viaProxy.status, 200);
    const wrongScheme = await sendHubspotWebhook({ url: webhookUrl(), clientSecret: stack.config.hubspotClientSecret!, events, signedUri: `https://${host}/webhooks/hubspot` });
    assert.equal(wrongScheme.status, 401);
  });

  test('with PUBLIC_URL, the signed URI is PUBLIC_URL + path, whatever the Host', async (t) => {
    const app = await routesWithPublicUrl({ logger: false, trustProxy: true });
    t.after(() => app.close());
    const body = '[]';
    const timestamp = String(Date.now());
    const sign = (uri: string) => signHubspotRequest({ clientSecret: stack.config.hubspotClientSecret!, method: 'POST', uri, body, timestamp });
    const post = (signature: string) =>
      app.inject({
        method: 'POST',
        url: '/webhooks/hubspot',
        headers: { host: 'internal:8080', 'content-type': 'application/json', 'x-hubspot-request-timestamp': timestamp, 'x-hubspot-signature-v3': signature },
        payload: body,
      });
    assert.equal((await post(sign('https://sync.example.com/webhooks/hubspot'))).statusCode, 200);
    assert.equal((await post(sign('http://internal:8080/webhooks/hubspot'))).statusCode, 401);
  });

  test('a signed body that is not a JSON array is 400', async () => {
    assert.equal((await sendHubspotWebhook({ url: webhookUrl(), clientSecret: stack.config.hubspotClientSecret!, body: '[{"eventId":' })).status, 400);
    assert.equal((await sendHubspotWebhook({ url: webhookUrl(), clientSecret: stack.config.hubspotClientSecret!, body: '{"events":[]}' })).status, 400);
  });

  test('Temporal unreachable: 503, so HubSpot retries the delivery', async () => {
    const userId = await newFriend('一時 停止');
    await stack.stopWorker();
    await stack.temporal.stop();
    const answer = await send([propertyChangeEvent(1, userId)]);
    assert.equal(answer.status, 503);
  });
});
