// POST /line/id-token → LINE verifies the token → the channel's contact writer puts the verified
// e-mail on the contact (in a batch, after the friend's other events): dummy → real, real kept, merge into a contact that already has the e-mail, LOGIN
// contacts; forged, expired and replayed tokens; a crash between the steps. Real Temporal, sandbox
// LINE and HubSpot over HTTP.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import Fastify from 'fastify';
import { inboxStateQuery } from '../../src/contracts.ts';
import { syncDate } from '../../src/contact/values.ts';
import { createLineLoginClient } from '../../src/line/login.ts';
import { idTokenRoutes } from '../../src/server/routes/id-token.ts';
import { inboxShardOf, inboxWorkflowId } from '../../src/temporal/ids.ts';
import { contactTargetOf, FriendEventInbox } from '../../src/temporal/inbox-client.ts';
import { followEvent, newLineUserId, sendLineWebhook } from '../../src/sandbox/line-webhook.ts';
import { eventually, startStack, type Stack } from '../support/stack.ts';
import { startChildWorker, killHard } from '../support/child-worker.ts';
import { allContacts, call, clearFaults, contactsWith, injectFaults, lineContact, sandboxStats, seedFriend, type SandboxContact } from '../support/sandbox-http.ts';
import { appliedEvents, friendStatus } from '../support/writer.ts';

let stack: Stack;

before(async () => {
  stack = await startStack();
});
after(async () => {
  await stack?.stop();
});

const uniqueEmail = (name: string) => `${name}.${Math.random().toString(36).slice(2, 10)}@example.com`;

async function newFriend(name = '佐藤 花子') {
  const userId = newLineUserId();
  await seedFriend(stack.line.url, { userId, displayName: name, pictureUrl: `https://profile.line-scdn.net/${userId.slice(1, 9)}` });
  return userId;
}

/** An ID token from the sandbox's LINE Login, as liff.getIDToken() would give the LIFF page. */
async function mintIdToken(seed: { userId: string; email?: string; expiresInSeconds?: number; clientId?: string }): Promise<string> {
  return (await call<{ idToken: string }>('POST', `${stack.line.url}/_sandbox/id-tokens`, seed)).idToken;
}

let clients = 0;
/** Each post from its own client address (X-Forwarded-For; the app trusts its proxy), so the per-address rate limit stays out of the way. */
async function postIdToken(body: unknown, headers: Record<string, string> = {}) {
  clients++;
  const response = await fetch(`${stack.url}/line/id-token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': `10.${(clients >> 16) & 255}.${(clients >> 8) & 255}.${clients & 255}`, ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json().catch(() => undefined)) as Record<string, unknown> | undefined, headers: response.headers };
}

const writer = () => ({ client: stack.client, channelId: stack.config.lineChannelId, shards: stack.config.lineInboxShards });
/** Waits until the friend's contact writer has applied `count` events, and returns what it knows of the friend. */
const applied = (userId: string, count: number, timeoutMs?: number) => appliedEvents(writer(), userId, count, timeoutMs);
/** The contact writer (inbox workflow) of the friend's shard. */
const writerHandle = (userId: string) => stack.client.workflow.getHandle(inboxWorkflowId(stack.config.lineChannelId, inboxShardOf(userId, stack.config.lineInboxShards)));
/** The routes' own hand-over to the contact writers, as src/server/app.ts builds it. */
const newInbox = () => new FriendEventInbox(stack.client, contactTargetOf(stack.config), { shards: stack.config.lineInboxShards });

async function createHubspotContact(properties: Record<string, string>): Promise<SandboxContact> {
  return call<SandboxContact>('POST', `${stack.hubspot.url}/_sandbox/contacts`, { properties });
}

const sandboxContact = (id: string) => call<SandboxContact & { mergedInto?: string; archived: boolean }>('GET', `${stack.hubspot.url}/_sandbox/contacts/${id}`);

async function follow(userId: string) {
  const answer = await sendLineWebhook({ url: `${stack.url}/webhooks/line`, channelSecret: stack.config.lineChannelSecret!, events: [followEvent(userId)] });
  assert.equal(answer.status, 200);
}

/** Nothing was handed to the friend's contact writer, and no contact exists. */
async function assertNothingStarted(userId: string) {
  assert.equal(await friendStatus(writer(), userId), null, 'the contact writer never got an event of the friend');
  assert.equal(await lineContact(stack.hubspot.url, userId), undefined);
}

function assertAllLineProperties(contact: SandboxContact | undefined, userId: string, expected: { name: string; createdVia: string }) {
  assert.ok(contact, 'the contact exists');
  const p = contact.properties;
  assert.equal(p.line_user_id, userId);
  assert.equal(p.line_user_name, expected.name);
  assert.equal(p.line_user_picture, `https://profile.line-scdn.net/${userId.slice(1, 9)}`);
  assert.equal(p.line_follow, 'YES');
  assert.ok(p.line_follow_changed_at, 'line_follow_changed_at is set');
  assert.equal(p.line_created_via, expected.createdVia);
  assert.equal(Date.parse(`${p.line_id_sync_date}T00:00:00Z`), Number(syncDate(Date.now(), 'UTC')));
}

/** Everything in a workflow history as text, payload bytes decoded (protobuf's toJSON would base64 them). */
function textOf(value: unknown, seen = new Set<unknown>()): string {
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  if (value === null || typeof value !== 'object') return String(value);
  if (seen.has(value)) return '';
  seen.add(value);
  return Object.values(value)
    .map((v) => textOf(v, seen))
    .join(' ');
}

describe('a verified e-mail reaches the contact', () => {
  test('a friend without a contact gets a LOGIN contact with the real e-mail (and every LINE property)', async () => {
    const userId = await newFriend('佐藤 花子');
    const email = uniqueEmail('Hanako');
    const answer = await postIdToken({ idToken: await mintIdToken({ userId, email }) });
    assert.equal(answer.status, 202);
    assert.deepEqual(answer.body, { userId });
    await applied(userId, 1);
    const contact = await lineContact(stack.hubspot.url, userId);
    assertAllLineProperties(contact, userId, { name: '佐藤 花子', createdVia: 'LOGIN' });
    assert.equal(contact!.properties.email, email.toLowerCase(), 'the real e-mail, never a dummy');
  });

  test('a dummy e-mail becomes the verified one, on the same contact', async () => {
    const userId = await newFriend('田中 太郎');
    await follow(userId);
    await applied(userId, 1);
    const before = await lineContact(stack.hubspot.url, userId);
    assert.equal(before?.properties.email?.toLowerCase(), `${userId}@line.me`.toLowerCase());
    const email = uniqueEmail('taro');
    assert.equal((await postIdToken({ idToken: await mintIdToken({ userId, email }) })).status, 202);
    await applied(userId, 2);
    const after = await lineContact(stack.hubspot.url, userId);
    assert.equal(after?.id, before!.id);
    assert.equal(after?.properties.email, email);
    assert.equal(after?.properties.line_created_via, 'FOLLOW', 'created_via is set once');
  });

  test('a real e-mail is never replaced: not by another verified e-mail, not by a dummy on a later follow', async () => {
    const userId = await newFriend();
    const real = uniqueEmail('real');
    // A LINE contact whose e-mail somebody entered in HubSpot.
    const contact = await createHubspotContact({ email: real, line_user_id: userId, line_created_via: 'HUBSPOT' });
    const other = uniqueEmail('other');
    assert.equal((await postIdToken({ idToken: await mintIdToken({ userId, email: other }) })).status, 202);
    await applied(userId, 1);
    let now = await lineContact(stack.hubspot.url, userId);
    assert.equal(now?.id, contact.id);
    assert.equal(now?.properties.email, real);
    assert.equal(now?.properties.line_follow, 'YES', 'the rest is filled in');
    assert.deepEqual(await contactsWith(stack.hubspot.url, 'email', other), [], 'the other e-mail created no contact');
    await follow(userId);
    await applied(userId, 2);
    now = await lineContact(stack.hubspot.url, userId);
    assert.equal(now?.properties.email, real);
  });

  test('when another contact has the e-mail, the LINE contact is merged into it: it keeps its ID and gets every LINE property', async () => {
    const userId = await newFriend('山本 葵');
    const email = uniqueEmail('aoi');
    const existing = await createHubspotContact({ email, firstname: 'Aoi', lastname: 'Yamamoto' });
    await follow(userId);
    await applied(userId, 1);
    const lineOnly = await lineContact(stack.hubspot.url, userId);
    assert.ok(lineOnly && lineOnly.id !== existing.id);

    assert.equal((await postIdToken({ idToken: await mintIdToken({ userId, email }) })).status, 202);
    const state = await applied(userId, 2);
    assert.equal(state.failed, 0, JSON.stringify(state.recent));
    const merged = await lineContact(stack.hubspot.url, userId);
    assert.equal(merged?.id, existing.id, 'the contact that had the e-mail survives, with its ID');
    assertAllLineProperties(merged, userId, { name: '山本 葵', createdVia: 'FOLLOW' });
    assert.equal(merged!.properties.email, email);
    assert.equal(merged!.properties.firstname, 'Aoi', 'its own properties are kept');
    const gone = await sandboxContact(lineOnly.id);
    assert.equal(gone.mergedInto, existing.id, 'the LINE contact is merged away');
    assert.equal((await contactsWith(stack.hubspot.url, 'email', email)).length, 1, 'one contact has the e-mail');
    assert.match(state.recent.at(-1)!.outcome, /^merge LINE contact \d+ into \d+; /);
  });

  test('with no LINE contact, the contact that has the e-mail becomes the LINE contact (LOGIN), and nothing is created', async () => {
    const userId = await newFriend('小林 蓮');
    const email = uniqueEmail('ren');
    const existing = await createHubspotContact({ email, firstname: 'Ren' });
    const countBefore = (await allContacts(stack.hubspot.url)).length;
    assert.equal((await postIdToken({ idToken: await mintIdToken({ userId, email }) })).status, 202);
    await applied(userId, 1);
    const contact = await lineContact(stack.hubspot.url, userId);
    assert.equal(contact?.id, existing.id);
    assertAllLineProperties(contact, userId, { name: '小林 蓮', createdVia: 'LOGIN' });
    assert.equal(contact!.properties.email, email);
    assert.equal((await allContacts(stack.hubspot.url)).length, countBefore, 'no contact created');
  });

  test("an e-mail that belongs to another LINE user's contact merges nothing", async () => {
    const someoneElse = newLineUserId();
    const email = uniqueEmail('shared');
    const theirs = await createHubspotContact({ email, line_user_id: someoneElse, line_created_via: 'HUBSPOT' });
    const userId = await newFriend();
    await follow(userId);
    await applied(userId, 1);
    const mine = await lineContact(stack.hubspot.url, userId);
    assert.equal((await postIdToken({ idToken: await mintIdToken({ userId, email }) })).status, 202);
    const state = await applied(userId, 2);
    assert.match(state.recent.at(-1)!.outcome, /another LINE user/);
    assert.equal((await lineContact(stack.hubspot.url, userId))?.id, mine!.id);
    assert.equal((await lineContact(stack.hubspot.url, userId))?.properties.email?.toLowerCase(), `${userId}@line.me`.toLowerCase(), 'the dummy e-mail stays');
    assert.equal((await lineContact(stack.hubspot.url, someoneElse))?.id, theirs.id);
  });

  test('the same token posted twice is applied once', async () => {
    const userId = await newFriend();
    const idToken = await mintIdToken({ userId, email: uniqueEmail('twice') });
    assert.equal((await postIdToken({ idToken })).status, 202);
    await applied(userId, 1);
    const before = await sandboxStats<{ total: number }>(stack.hubspot.url);
    const duplicatesBefore = (await writerHandle(userId).query(inboxStateQuery)).duplicatesIgnored;
    assert.equal((await postIdToken({ idToken })).status, 202);
    await eventually(async () => ((await writerHandle(userId).query(inboxStateQuery)).duplicatesIgnored > duplicatesBefore ? true : undefined), {
      what: 'the repeat ignored as a duplicate by the contact writer',
    });
    const state = await friendStatus(writer(), userId);
    assert.equal(state?.applied, 1);
    assert.equal(state?.pending, 0);
    assert.equal(state?.recent.length, 1, 'one event on record');
    assert.equal((await sandboxStats<{ total: number }>(stack.hubspot.url)).total, before.total, 'no HubSpot request for the repeat');
  });

  test('a verified friend who is not (or no longer) a friend still gets a LOGIN contact, with LINE Follow NO', async () => {
    const userId = newLineUserId(); // LINE Login user who never added the account
    const email = uniqueEmail('stranger');
    assert.equal((await postIdToken({ idToken: await mintIdToken({ userId, email }) })).status, 202);
    await applied(userId, 1);
    const contact = await lineContact(stack.hubspot.url, userId);
    assert.equal(contact?.properties.email, email);
    assert.equal(contact?.properties.line_follow, 'NO');
    assert.equal(contact?.properties.line_created_via, 'LOGIN');
  });
});

describe('POST /line/id-token refuses what it cannot trust', () => {
  test('a forged token (payload changed, or made up) is 401 and changes nothing', async () => {
    const userId = await newFriend();
    const genuine = await mintIdToken({ userId, email: uniqueEmail('genuine') });
    const [header, payload, signature] = genuine.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
    const forgedPayload = Buffer.from(JSON.stringify({ ...claims, email: 'attacker@example.com' })).toString('base64url');
    const forged = await postIdToken({ idToken: `${header}.${forgedPayload}.${signature}` });
    assert.equal(forged.status, 401);
    assert.match(String(forged.body?.error), /LINE rejected the ID token/);
    const madeUp = await postIdToken({ idToken: `${header}.${forgedPayload}.${'A'.repeat(43)}` });
    assert.equal(madeUp.status, 401);
    await assertNothingStarted(userId);
    assert.deepEqual(await contactsWith(stack.hubspot.url, 'email', 'attacker@example.com'), []);
  });

  test('an expired token is 401', async () => {
    const userId = await newFriend();
    const answer = await postIdToken({ idToken: await mintIdToken({ userId, email: uniqueEmail('late'), expiresInSeconds: -60 }) });
    assert.equal(answer.status, 401);
    assert.match(String(answer.body?.error), /expired/i);
    await assertNothingStarted(userId);
  });

  test('a token issued for another LINE Login channel is 401', async () => {
    const userId = await newFriend();
    const answer = await postIdToken({ idToken: await mintIdToken({ userId, email: uniqueEmail('aud'), clientId: '1999999999' }) });
    assert.equal(answer.status, 401);
    await assertNothingStarted(userId);
  });

  test('an e-mail in the body is refused, never used', async () => {
    const userId = await newFriend();
    const idToken = await mintIdToken({ userId, email: uniqueEmail('verified') });
    const answer = await postIdToken({ idToken, email: 'chosen-by-client@example.com' });
    assert.equal(answer.status, 400);
    assert.match(String(answer.body?.error), /only "idToken"/);
    await assertNothingStarted(userId);
  });

  test('malformed bodies are 400: no token, a number, a too long or non-JWT string, not JSON', async () => {
    for (const body of [{}, { idToken: 12345678901234567890 }, { idToken: 'x'.repeat(5000) }, { idToken: 'not a token at all, really not' }, '{"idToken":', '[]']) {
      const answer = await postIdToken(body);
      assert.equal(answer.status, 400, JSON.stringify(body).slice(0, 60));
    }
  });

  test('a token without an e-mail (no email scope or permission) is 422 and changes nothing', async () => {
    const userId = await newFriend();
    const answer = await postIdToken({ idToken: await mintIdToken({ userId }) });
    assert.equal(answer.status, 422);
    assert.match(String(answer.body?.error), /no e-mail/);
    await assertNothingStarted(userId);
  });

  test('LINE failing (5xx) is 503, so the page can post the same token again', async () => {
    const userId = await newFriend();
    const idToken = await mintIdToken({ userId, email: uniqueEmail('retry') });
    await injectFaults(stack.line.url, { status: 500, count: 1, pathPrefix: '/oauth2/v2.1/verify' });
    const failed = await postIdToken({ idToken });
    assert.equal(failed.status, 503);
    await assertNothingStarted(userId);
    assert.equal((await postIdToken({ idToken })).status, 202);
    await applied(userId, 1);
  });

  test('each client address is rate-limited (token bucket), before the body is read', async (t) => {
    const app = Fastify({ logger: false, trustProxy: true });
    const login = createLineLoginClient({ baseUrl: stack.line.url, channelId: stack.config.lineLoginChannelId! });
    await app.register(idTokenRoutes, { inbox: newInbox(), login, rateLimit: { capacity: 2, refillPerSecond: 0 } });
    t.after(() => app.close());
    const from = (ip: string) => app.inject({ method: 'POST', url: '/line/id-token', headers: { 'x-forwarded-for': ip }, payload: { idToken: 'a.b.c' } });
    assert.equal((await from('203.0.113.7')).statusCode, 400);
    assert.equal((await from('203.0.113.7')).statusCode, 400);
    const limited = await from('203.0.113.7');
    assert.equal(limited.statusCode, 429);
    assert.ok(Number(limited.headers['retry-after']) >= 1);
    assert.equal((await from('198.51.100.9')).statusCode, 400, 'another address has its own bucket');
  });

  test('the ID token appears neither in the logs nor in the workflow history; the verified e-mail does reach Temporal', async (t) => {
    let logs = '';
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        logs += chunk.toString();
        done();
      },
    });
    const app = Fastify({ logger: { level: 'trace', stream } });
    const login = createLineLoginClient({ baseUrl: stack.line.url, channelId: stack.config.lineLoginChannelId! });
    await app.register(idTokenRoutes, { inbox: newInbox(), login });
    t.after(() => app.close());
    const userId = await newFriend();
    const email = uniqueEmail('private');
    const idToken = await mintIdToken({ userId, email });
    const answer = await app.inject({ method: 'POST', url: '/line/id-token', payload: { idToken } });
    assert.equal(answer.statusCode, 202);
    const rejected = await app.inject({ method: 'POST', url: '/line/id-token', payload: { idToken: `${idToken.slice(0, -4)}AAAA` } });
    assert.equal(rejected.statusCode, 401);
    const state = await applied(userId, 1);

    const signature = idToken.split('.')[2]!;
    assert.ok(logs.includes(userId), 'the logs were captured');
    assert.ok(!logs.includes(signature) && !logs.includes(idToken.split('.')[1]!), 'no part of the token in the logs');
    assert.ok(!logs.includes(email), 'no e-mail in the logs');

    // The writer's histories (every run: the signal that brought the e-mail) and the batch's that applied it.
    const batchHistory = textOf(await stack.client.workflow.getHandle(state.recent.at(-1)!.batchWorkflowId).fetchHistory());
    let writerHistory = '';
    for await (const run of stack.client.workflow.list({ query: `WorkflowId = "${inboxWorkflowId(stack.config.lineChannelId, inboxShardOf(userId, stack.config.lineInboxShards))}"` })) {
      writerHistory += textOf(await stack.client.workflow.getHandle(run.workflowId, run.runId).fetchHistory());
    }
    for (const [name, history] of [
      ['the contact writer', writerHistory],
      ['the batch', batchHistory],
    ] as const) {
      assert.ok(history.includes(email), `payloads were decoded: the e-mail is in ${name}'s history`);
      assert.ok(!history.includes(signature) && !history.includes(idToken.split('.')[1]!), `no part of the token in ${name}'s history`);
    }
  });
});

describe('every step re-reads HubSpot, so crashes, lost answers and races converge', () => {
  test('someone takes the e-mail between our read and our create: the 409 is re-evaluated, not a failure', async () => {
    const userId = await newFriend('競合 テスト');
    const email = uniqueEmail('race');
    const existing = await createHubspotContact({ email, firstname: 'Race' });
    // Our read of the e-mail misses it once (as if it was taken right after we looked).
    await injectFaults(stack.hubspot.url, { status: 404, count: 1, pathPrefix: `/crm/v3/objects/contacts/${encodeURIComponent(email)}` });
    assert.equal((await postIdToken({ idToken: await mintIdToken({ userId, email }) })).status, 202);
    const state = await applied(userId, 1);
    assert.equal(state.failed, 0, JSON.stringify(state.recent));
    assert.match(state.recent.at(-1)!.outcome, /conflict, re-reading/);
    const contact = await lineContact(stack.hubspot.url, userId);
    assert.equal(contact?.id, existing.id);
    assertAllLineProperties(contact, userId, { name: '競合 テスト', createdVia: 'LOGIN' });
    assert.equal((await contactsWith(stack.hubspot.url, 'email', email)).length, 1);
  });

  test('a merge HubSpot did but whose answer was lost: the retry finds it done and the contact ends right', async () => {
    const userId = await newFriend('消失 応答');
    const email = uniqueEmail('lost');
    const existing = await createHubspotContact({ email });
    await follow(userId);
    await applied(userId, 1);
    const lineOnly = (await lineContact(stack.hubspot.url, userId))!;
    const merges = async () => (await sandboxStats<{ endpoints: Record<string, number> }>(stack.hubspot.url)).endpoints['POST /crm/v3/objects/contacts/merge'] ?? 0;
    const mergesBefore = await merges();
    // The workflow's first merge attempt fails; its retry comes a couple of seconds later.
    await injectFaults(stack.hubspot.url, { status: 503, count: 1, pathPrefix: '/crm/v3/objects/contacts/merge' });
    assert.equal((await postIdToken({ idToken: await mintIdToken({ userId, email }) })).status, 202);
    await eventually(async () => ((await merges()) > mergesBefore ? true : undefined), { what: 'the merge attempted' });
    // Meanwhile the merge goes through at HubSpot, as if the workflow's attempt had, and its answer was lost.
    const response = await fetch(`${stack.hubspot.url}/crm/v3/objects/contacts/merge`, {
      method: 'POST',
      headers: { authorization: `Bearer ${stack.config.hubspotAccessToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ primaryObjectId: existing.id, objectIdToMerge: lineOnly.id }),
    });
    assert.equal(response.status, 200);
    const state = await applied(userId, 2, 60_000);
    assert.equal(state.failed, 0, JSON.stringify(state.recent));
    // The retried merge found the LINE contact gone (404): re-read instead of failing.
    assert.match(state.recent.at(-1)!.outcome, /^merge LINE contact \d+ into \d+: refused, re-reading; /);
    const contact = await lineContact(stack.hubspot.url, userId);
    assert.equal(contact?.id, existing.id);
    assertAllLineProperties(contact, userId, { name: '消失 応答', createdVia: 'FOLLOW' });
    assert.equal((await contactsWith(stack.hubspot.url, 'email', email)).length, 1);
  });

  test('a worker killed between the reads and the merge: another worker finishes it, nothing lost, nothing doubled', async () => {
    await stack.stopWorker();
    const child = await startChildWorker(stack.config);
    let killed = false;
    try {
      const userId = await newFriend('再起動 テスト');
      const email = uniqueEmail('crash');
      const existing = await createHubspotContact({ email, lastname: 'Crash' });
      await follow(userId);
      await applied(userId, 1, 60_000);
      const lineOnly = (await lineContact(stack.hubspot.url, userId))!;
      // HubSpot refuses the merge while the worker lives, so the worker dies with the merge pending.
      await injectFaults(stack.hubspot.url, { status: 503, count: 1000, pathPrefix: '/crm/v3/objects/contacts/merge' });
      const mergesBefore = (await sandboxStats<{ endpoints: Record<string, number> }>(stack.hubspot.url)).endpoints['POST /crm/v3/objects/contacts/merge'] ?? 0;
      assert.equal((await postIdToken({ idToken: await mintIdToken({ userId, email }) })).status, 202);
      await eventually(async () => ((await sandboxStats<{ endpoints: Record<string, number> }>(stack.hubspot.url)).endpoints['POST /crm/v3/objects/contacts/merge'] ?? 0) > mergesBefore || undefined, {
        what: 'the merge attempted',
        timeoutMs: 60_000,
      });
      // The e-mail is held by the writer, in a batch still waiting for its merge, when the worker dies.
      const held = await friendStatus(writer(), userId);
      assert.equal(held?.applied, 1, 'only the follow is applied so far');
      assert.ok(held!.pending >= 1, 'the verified e-mail is still being applied');
      await killHard(child);
      killed = true;
      await clearFaults(stack.hubspot.url);
      assert.equal((await sandboxContact(lineOnly.id)).mergedInto, undefined, 'nothing merged while HubSpot refused');

      await stack.startWorker();
      const state = await applied(userId, 2, 90_000);
      assert.equal(state.failed, 0, JSON.stringify(state.recent));
      assert.equal(state.applied, 2, 'the follow and the e-mail, each once');
      assert.match(state.recent.at(-1)!.outcome, /^merge LINE contact \d+ into \d+; /, JSON.stringify(state.recent));
      const contact = await lineContact(stack.hubspot.url, userId);
      assert.equal(contact?.id, existing.id);
      assertAllLineProperties(contact, userId, { name: '再起動 テスト', createdVia: 'FOLLOW' });
      assert.equal(contact!.properties.lastname, 'Crash');
      assert.equal((await sandboxContact(lineOnly.id)).mergedInto, existing.id);
      assert.equal((await contactsWith(stack.hubspot.url, 'email', email)).length, 1);
    } finally {
      if (!killed) await killHard(child);
      if (!stack.worker) await stack.startWorker();
    }
  });
});

describe('when Temporal cannot take the e-mail', () => {
  test('POST /line/id-token answers 503, so the page can post the same token again', async () => {
    const userId = await newFriend();
    const idToken = await mintIdToken({ userId, email: uniqueEmail('down') });
    await stack.stopWorker();
    await stack.temporal.stop();
    const answer = await postIdToken({ idToken });
    assert.equal(answer.status, 503);
    assert.match(String(answer.body?.error), /post the same token again/);
  });
});
