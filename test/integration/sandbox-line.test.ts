// The sandbox LINE API behaves like LINE's in everything the service relies on. Everything goes
// through the real @line/bot-sdk client (or plain HTTP) to a sandbox listening on a free port, and
// every body is checked against LINE's own OpenAPI specs.
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import { HTTPFetchError, type messagingApi } from '@line/bot-sdk';
import { createLineClient } from '../../src/line/client.ts';
import { verifyLineSignature } from '../../src/line/signature.ts';
import { isKnownEvent, type WebhookBody, type WebhookEvent } from '../../src/line/webhook-events.ts';
import {
  SANDBOX_LINE_BOT_USER_ID,
  SANDBOX_LINE_CHANNEL_ACCESS_TOKEN,
  SANDBOX_LINE_CHANNEL_SECRET,
  SANDBOX_LINE_LOGIN_CHANNEL_ID,
  LINE_ERROR_MESSAGES,
  generatedProfile,
  startLineSandbox,
  type StartedLineSandbox,
} from '../../src/sandbox/line.ts';
import {
  ULID_PATTERN,
  asRedelivery,
  followEvent,
  groupSource,
  newLineGroupId,
  newLineRoomId,
  newLineUserId,
  roomSource,
  sendLineWebhook,
  textMessageEvent,
  ulid,
  ulidTime,
  unfollowEvent,
  webhookBody,
} from '../../src/sandbox/line-webhook.ts';
import { steppedClock } from '../support/clock.ts';
import { messagingResponseValidator, webhookEventValidator, webhookSchemaValidator, type SpecValidator } from '../support/line-spec.ts';

const PROFILE = '/v2/bot/profile/{userId}';
const FOLLOWERS = '/v2/bot/followers/ids';

let sandbox: StartedLineSandbox;
let client: messagingApi.MessagingApiClient;
const clock = steppedClock();

before(async () => {
  sandbox = await startLineSandbox({ port: 0, now: clock.now });
  client = createLineClient({ channelAccessToken: SANDBOX_LINE_CHANNEL_ACCESS_TOKEN, baseUrl: sandbox.url });
});
after(async () => {
  await sandbox?.close();
});
beforeEach(() => {
  sandbox.controls.reset();
});

const validators = new Map<string, SpecValidator>();
function validator(path: string, status: number): SpecValidator {
  const key = `${path} ${status}`;
  let v = validators.get(key);
  if (!v) {
    v = messagingResponseValidator(path, 'get', status);
    validators.set(key, v);
  }
  return v;
}

/** Runs a call that must fail; checks the status and that the body is LINE's ErrorResponse. */
async function lineError(path: string, call: () => Promise<unknown>, status: number): Promise<{ message: string; details?: Array<{ message?: string; property?: string }> }> {
  try {
    await call();
  } catch (error) {
    assert.ok(error instanceof HTTPFetchError, `expected HTTPFetchError, got ${String(error)}`);
    assert.equal(error.status, status, `status (body ${error.body})`);
    const body = JSON.parse(error.body) as { message: string };
    validator(path, status).assert(body, `${status} body of ${path}`);
    assert.match(error.headers.get('x-line-request-id') ?? '', /^[0-9a-f-]{36}$/);
    return body;
  }
  assert.fail(`expected ${status} from ${path}`);
}

async function profile(userId: string) {
  const body = await client.getProfile(userId);
  validator(PROFILE, 200).assert(body, 'profile');
  return body;
}

async function followersPage(start: string | undefined, limit?: number) {
  const body = await client.getFollowers(start, limit);
  validator(FOLLOWERS, 200).assert(body, 'followers page');
  return body;
}

async function allFollowerPages(limit: number) {
  const pages: messagingApi.GetFollowersResponse[] = [];
  let start: string | undefined;
  do {
    const page = await followersPage(start, limit);
    pages.push(page);
    start = page.next;
  } while (start !== undefined);
  return pages;
}

function userIds(n: number): string[] {
  return Array.from({ length: n }, () => newLineUserId());
}

async function postForm(path: string, form: Record<string, string>) {
  const response = await fetch(`${sandbox.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form).toString(),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function control<T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const response = await fetch(`${sandbox.url}${path}`, {
    method,
    ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as T };
}

// -----------------------------------------------------------------------------------------------

describe('GET /v2/bot/profile/{userId}', () => {
  test("a friend's profile is answered with userId, displayName, pictureUrl, statusMessage and language", async () => {
    const [friend] = sandbox.controls.seedFriends([{ displayName: 'LINE 太郎', pictureUrl: 'https://profile.line-scdn.net/0habc', statusMessage: 'Hello, LINE!', language: 'ja' }]);
    assert.deepEqual(await profile(friend!.userId), {
      userId: friend!.userId,
      displayName: 'LINE 太郎',
      pictureUrl: 'https://profile.line-scdn.net/0habc',
      statusMessage: 'Hello, LINE!',
      language: 'ja',
    });
  });

  test('properties a user does not have are absent, not null or empty', async () => {
    const [friend] = sandbox.controls.seedFriends([{ displayName: 'no picture', pictureUrl: null, statusMessage: null, language: null }]);
    assert.deepEqual(await profile(friend!.userId), { userId: friend!.userId, displayName: 'no picture' });
  });

  test("a blocked friend's profile is 404 Not found", async () => {
    const [friend] = sandbox.controls.seedFriends([{}]);
    sandbox.controls.block(friend!.userId);
    const body = await lineError(PROFILE, () => client.getProfile(friend!.userId), 404);
    assert.deepEqual(body, { message: 'Not found' });
  });

  test("an unknown user's profile is 404 Not found", async () => {
    assert.deepEqual(await lineError(PROFILE, () => client.getProfile(newLineUserId()), 404), { message: 'Not found' });
  });

  test("a removed user's profile is 404, and unblocking makes a profile readable again", async () => {
    const [gone, back] = sandbox.controls.seedFriends([{}, { displayName: 'もどってきた' }]);
    sandbox.controls.remove(gone!.userId);
    await lineError(PROFILE, () => client.getProfile(gone!.userId), 404);
    sandbox.controls.block(back!.userId);
    await lineError(PROFILE, () => client.getProfile(back!.userId), 404);
    assert.equal(sandbox.controls.follow(back!.userId).previousState, 'blocked');
    assert.equal((await profile(back!.userId)).displayName, 'もどってきた');
  });

  test('a malformed user ID is 400 with LINE message', async () => {
    for (const bad of ['not-a-user', `U${'A'.repeat(32)}`, `U${'a'.repeat(31)}`, `C${'a'.repeat(32)}`]) {
      assert.deepEqual(await lineError(PROFILE, () => client.getProfile(bad), 400), { message: LINE_ERROR_MESSAGES.invalidUserId });
    }
  });

  test('generated friends have realistic, deterministic profiles (Japanese-ish names, https pictures or none)', async () => {
    const seeded = sandbox.controls.seedGeneratedFriends(200);
    const ids = sandbox.controls.followerIds();
    assert.equal(ids.length, 200);
    assert.equal(ids[0], seeded.firstUserId);
    assert.equal(ids[199], seeded.lastUserId);
    let withPicture = 0;
    for (const [index, userId] of ids.slice(0, 60).entries()) {
      const answer = await profile(userId);
      assert.equal(answer.userId, userId);
      assert.deepEqual(answer, { userId, ...generatedProfile(index + 1) });
      assert.ok(answer.displayName.length > 0);
      if (answer.pictureUrl !== undefined) {
        withPicture += 1;
        assert.match(answer.pictureUrl, /^https:\/\/profile\.line-scdn\.net\/0h[\w-]+$/);
      }
    }
    assert.ok(withPicture > 30 && withPicture < 60, `most but not all generated friends have a picture (${withPicture}/60)`);
    assert.ok(
      ids.some((id, i) => i < 60 && /[\u3040-\u30ff\u4e00-\u9fff]/.test(generatedProfile(i + 1).displayName)),
      'some names are in Japanese script',
    );
    // the n-th generated friend is the same user in every run
    sandbox.controls.reset();
    assert.equal(sandbox.controls.seedGeneratedFriends(1).firstUserId, ids[0]);
  });
});

describe('GET /v2/bot/followers/ids', () => {
  test('2,500 friends with limit 1000 come in 3 pages with the exact ids in follow order; next only while more remain', async () => {
    const ids = userIds(2500);
    sandbox.controls.seedFriends(ids.map((userId) => ({ userId })));
    const pages = await allFollowerPages(1000);
    assert.deepEqual(
      pages.map((p) => p.userIds.length),
      [1000, 1000, 500],
    );
    assert.ok(pages[0]!.next && pages[1]!.next);
    assert.equal(pages[2]!.next, undefined);
    assert.ok(!('next' in pages[2]!), 'the last page has no next property at all');
    assert.deepEqual(
      pages.flatMap((p) => p.userIds),
      ids,
    );
  });

  test('without a limit a page holds 300 ids (LINE default)', async () => {
    sandbox.controls.seedGeneratedFriends(301);
    const first = await followersPage(undefined);
    assert.equal(first.userIds.length, 300);
    const second = await followersPage(first.next);
    assert.equal(second.userIds.length, 1);
    assert.equal(second.next, undefined);
  });

  test('exactly a full last page has no next', async () => {
    sandbox.controls.seedGeneratedFriends(2000);
    const pages = await allFollowerPages(1000);
    assert.deepEqual(
      pages.map((p) => p.userIds.length),
      [1000, 1000],
    );
    assert.equal(pages[1]!.next, undefined);
  });

  test('no friends: an empty list and no next', async () => {
    assert.deepEqual(await followersPage(undefined, 1000), { userIds: [] });
  });

  test('the continuation token is opaque: not an id, not a number', async () => {
    sandbox.controls.seedGeneratedFriends(5);
    const { next } = await followersPage(undefined, 2);
    assert.ok(next && !/^\d+$/.test(next) && !next.startsWith('U'));
  });

  test('blocked friends are not followers', async () => {
    const ids = userIds(5);
    sandbox.controls.seedFriends(ids.map((userId) => ({ userId })));
    sandbox.controls.block(ids[2]!);
    sandbox.controls.seedFriends([{ userId: newLineUserId(), state: 'blocked' }]);
    assert.deepEqual((await followersPage(undefined, 1000)).userIds, [ids[0], ids[1], ids[3], ids[4]]);
  });

  test('friends who block between pages disappear without skipping or repeating anyone else', async () => {
    const ids = userIds(10);
    sandbox.controls.seedFriends(ids.map((userId) => ({ userId })));
    const first = await followersPage(undefined, 4);
    assert.deepEqual(first.userIds, ids.slice(0, 4));
    // one already read, the one right at the continuation point, and one further on
    sandbox.controls.block(ids[1]!);
    sandbox.controls.block(ids[4]!);
    sandbox.controls.block(ids[6]!);
    const second = await followersPage(first.next, 4);
    assert.deepEqual(second.userIds, [ids[5], ids[7], ids[8], ids[9]]);
    assert.equal(second.next, undefined);
  });

  test('the same token read again after blocks answers the same position (a retried page is safe)', async () => {
    const ids = userIds(6);
    sandbox.controls.seedFriends(ids.map((userId) => ({ userId })));
    const first = await followersPage(undefined, 2);
    const again1 = await followersPage(first.next, 2);
    sandbox.controls.block(ids[3]!);
    const again2 = await followersPage(first.next, 2);
    assert.deepEqual(again1.userIds, [ids[2], ids[3]]);
    assert.deepEqual(again2.userIds, [ids[2], ids[4]]);
  });

  test('a friend who follows while paging is on a later page', async () => {
    const ids = userIds(3);
    sandbox.controls.seedFriends(ids.map((userId) => ({ userId })));
    const first = await followersPage(undefined, 2);
    const [late] = sandbox.controls.seedFriends([{}]);
    const second = await followersPage(first.next, 2);
    assert.deepEqual(second.userIds, [ids[2], late!.userId]);
  });

  test('1,000,000 friends are seeded at once and page through each id once, down to a continuation token deep in the list', async () => {
    // (how fast seeding and deep pages are is measured by `npm run bench:import -- --scenario scale`)
    sandbox.controls.seedGeneratedFriends(1_000_000);
    // a few blocked and removed ones among them
    const gone = [sandbox.controls.generatedUserIdAt(10)!, sandbox.controls.generatedUserIdAt(500_000)!, sandbox.controls.generatedUserIdAt(999_999)!];
    sandbox.controls.block(gone[0]!);
    sandbox.controls.remove(gone[1]!);
    sandbox.controls.block(gone[2]!);
    assert.deepEqual(sandbox.controls.counts(), { friends: 1_000_000 - 3, blocked: 2, total: 1_000_000 - 1 });

    // every page, in process (the HTTP layer is covered above)
    const seen = new Set<string>();
    let pages = 0;
    let position: number | undefined = 1;
    while (position !== undefined) {
      const page = sandbox.controls.followersPage(position, 1000);
      for (const id of page.userIds) seen.add(id);
      pages += 1;
      position = page.nextPosition;
    }
    assert.equal(pages, 1000);
    assert.equal(seen.size, 1_000_000 - 3);
    for (const id of gone) assert.ok(!seen.has(id));

    // over HTTP, through the SDK: the last page, from a continuation token deep in the list
    const last = await followersPage(sandbox.controls.encodeContinuation(999_001), 1000);
    assert.equal(last.userIds.length, 999);
    assert.equal(last.next, undefined);
    assert.equal(last.userIds.at(-1), sandbox.controls.generatedUserIdAt(1_000_000));
    // a generated friend's profile is readable like any other
    const someone = sandbox.controls.generatedUserIdAt(777_777)!;
    assert.equal((await profile(someone)).userId, someone);
  });

  test('an unverified account gets 403 "Access to this API is not available for your account"', async () => {
    sandbox.controls.seedGeneratedFriends(3);
    sandbox.controls.setFollowersIdsAllowed(false);
    assert.deepEqual(await lineError(FOLLOWERS, () => client.getFollowers(undefined, 1000), 403), { message: LINE_ERROR_MESSAGES.forbidden });
    sandbox.controls.setFollowersIdsAllowed(true);
    assert.equal((await followersPage(undefined, 1000)).userIds.length, 3);
  });

  test('a limit over 1000 (or under 1) is 400 with details naming the limit parameter', async () => {
    const over = await lineError(FOLLOWERS, () => client.getFollowers(undefined, 1001), 400);
    assert.equal(over.details?.[0]?.property, 'limit');
    const under = await lineError(FOLLOWERS, () => client.getFollowers(undefined, 0), 400);
    assert.equal(under.details?.[0]?.property, 'limit');
    assert.equal((await followersPage(undefined, 1000)).userIds.length, 0);
  });

  test('a continuation token that was not issued by this account (or before a reset) is 400', async () => {
    sandbox.controls.seedGeneratedFriends(5);
    const { next } = await followersPage(undefined, 2);
    await lineError(FOLLOWERS, () => client.getFollowers('yANU9IA-not-a-token', 2), 400);
    await lineError(FOLLOWERS, () => client.getFollowers(`${next!.slice(0, -1)}${next!.endsWith('A') ? 'B' : 'A'}`, 2), 400);
    sandbox.controls.reset();
    await lineError(FOLLOWERS, () => client.getFollowers(next, 2), 400);
  });
});

describe('authentication', () => {
  test('a wrong channel access token is 401 with LINE message', async () => {
    const stranger = createLineClient({ channelAccessToken: 'not-the-token', baseUrl: sandbox.url });
    const [friend] = sandbox.controls.seedFriends([{}]);
    assert.deepEqual(await lineError(PROFILE, () => stranger.getProfile(friend!.userId), 401), { message: LINE_ERROR_MESSAGES.invalidToken });
    assert.deepEqual(await lineError(FOLLOWERS, () => stranger.getFollowers(undefined, 10), 401), { message: LINE_ERROR_MESSAGES.invalidToken });
  });

  test('a missing Authorization header is 401 asking for the Bearer scheme', async () => {
    const response = await fetch(`${sandbox.url}/v2/bot/followers/ids`);
    assert.equal(response.status, 401);
    const body = await response.json();
    validator(FOLLOWERS, 401).assert(body);
    assert.deepEqual(body, { message: LINE_ERROR_MESSAGES.missingAuthorization });
  });

  test('the token must be sent as "Bearer <token>"', async () => {
    const response = await fetch(`${sandbox.url}/v2/bot/followers/ids`, { headers: { authorization: SANDBOX_LINE_CHANNEL_ACCESS_TOKEN } });
    assert.equal(response.status, 401);
  });
});

describe('rate limits and injected faults', () => {
  test('over the per-endpoint limit the API answers 429 with LINE message and no Retry-After, then recovers', async () => {
    sandbox.controls.setRateLimit(3);
    const [a, b] = sandbox.controls.seedFriends([{}, {}]);
    // the limit is per endpoint, whatever the parameters
    await profile(a!.userId);
    await profile(b!.userId);
    await lineError(PROFILE, () => client.getProfile(newLineUserId()), 404);
    try {
      await client.getProfile(a!.userId);
      assert.fail('expected 429');
    } catch (error) {
      assert.ok(error instanceof HTTPFetchError);
      assert.equal(error.status, 429);
      assert.equal(error.headers.get('retry-after'), null);
      assert.deepEqual(JSON.parse(error.body), { message: LINE_ERROR_MESSAGES.rateLimited });
      validator(PROFILE, 429).assert(JSON.parse(error.body));
    }
    // another endpoint has its own budget
    await followersPage(undefined, 10);
    clock.advance(1000);
    assert.equal((await profile(a!.userId)).userId, a!.userId);
  });

  test('LINE allows 2,000 requests per second per endpoint by default', () => {
    assert.equal(sandbox.controls.settings().rateLimitPerSecond, 2000);
  });

  test('an injected 429 answers the next N matching calls, other paths are untouched, then the API recovers', async () => {
    const [friend] = sandbox.controls.seedFriends([{}]);
    sandbox.controls.injectFault({ status: 429, count: 2, pathPrefix: '/v2/bot/profile' });
    for (let i = 0; i < 2; i++) {
      const body = await lineError(PROFILE, () => client.getProfile(friend!.userId), 429);
      assert.deepEqual(body, { message: LINE_ERROR_MESSAGES.rateLimited });
    }
    await followersPage(undefined, 10);
    assert.equal((await profile(friend!.userId)).userId, friend!.userId);
  });

  test('injected 500 and 503 answer with LINE error bodies, then the API recovers', async () => {
    sandbox.controls.seedGeneratedFriends(3);
    sandbox.controls.injectFault({ status: 500, count: 1, pathPrefix: '/v2/bot/followers' });
    sandbox.controls.injectFault({ status: 503, count: 1, pathPrefix: '/v2/bot/followers' });
    await lineError(FOLLOWERS, () => client.getFollowers(undefined, 10), 500);
    await lineError(FOLLOWERS, () => client.getFollowers(undefined, 10), 503);
    assert.equal((await followersPage(undefined, 10)).userIds.length, 3);
  });

  test('faults injected over HTTP hit the API but never the /_sandbox/ controls; stats count calls per endpoint and status', async () => {
    const [friend] = sandbox.controls.seedFriends([{}]);
    assert.equal((await control('POST', '/_sandbox/faults', { status: 502, count: 1 })).status, 200);
    assert.equal((await control('GET', '/_sandbox/friends')).status, 200);
    await lineError(PROFILE, () => client.getProfile(friend!.userId), 502);
    await profile(friend!.userId);
    await lineError(PROFILE, () => client.getProfile(newLineUserId()), 404);
    const stats = (await control<Record<string, { requests: number; statuses: Record<string, number> }>>('GET', '/_sandbox/stats')).body;
    assert.deepEqual(stats['GET /v2/bot/profile/:userId'], { requests: 3, statuses: { '200': 1, '404': 1, '502': 1 } });
    assert.equal(
      Object.keys(stats).some((key) => key.includes('_sandbox')),
      false,
    );
  });
});

describe('POST /oauth2/v2.1/verify (LINE Login ID tokens)', () => {
  const verify = (form: Record<string, string>) => postForm('/oauth2/v2.1/verify', form);
  const invalid = (description: string) => ({ status: 400, body: { error: 'invalid_request', error_description: description } });

  test('a seeded ID token verifies with its claims (no bearer token needed)', async () => {
    const userId = newLineUserId();
    sandbox.controls.seedFriends([{ userId, displayName: 'Login 花子', pictureUrl: 'https://profile.line-scdn.net/0hpic' }]);
    const seeded = await control<{ idToken: string }>('POST', '/_sandbox/id-tokens', { userId, email: 'hanako@example.com', nonce: 'n-123' });
    assert.equal(seeded.status, 200);
    assert.match(seeded.body.idToken, /^[\w-]+\.[\w-]+\.[\w-]+$/);
    const answer = await verify({ id_token: seeded.body.idToken, client_id: SANDBOX_LINE_LOGIN_CHANNEL_ID, nonce: 'n-123', user_id: userId });
    assert.equal(answer.status, 200);
    const { exp, iat, ...claims } = answer.body as { exp: number; iat: number };
    assert.deepEqual(claims, {
      iss: 'https://access.line.me',
      sub: userId,
      aud: SANDBOX_LINE_LOGIN_CHANNEL_ID,
      nonce: 'n-123',
      amr: ['linesso'],
      name: 'Login 花子',
      picture: 'https://profile.line-scdn.net/0hpic',
      email: 'hanako@example.com',
    });
    assert.ok(Number.isInteger(iat) && Math.abs(iat - Date.now() / 1000) < 60, 'iat in seconds');
    assert.equal(exp - iat, 3600);
  });

  test('nonce and user_id are optional', async () => {
    const { idToken } = sandbox.controls.seedIdToken({ userId: newLineUserId(), nonce: 'abc' });
    assert.equal((await verify({ id_token: idToken, client_id: SANDBOX_LINE_LOGIN_CHANNEL_ID })).status, 200);
  });

  test('a token without e-mail permission has no email claim', async () => {
    const { idToken } = sandbox.controls.seedIdToken({ userId: newLineUserId() });
    const answer = await verify({ id_token: idToken, client_id: SANDBOX_LINE_LOGIN_CHANNEL_ID });
    assert.equal(answer.status, 200);
    assert.equal('email' in answer.body, false);
  });

  test('a forged token (payload altered, signature kept) is "Invalid IdToken."', async () => {
    const { idToken } = sandbox.controls.seedIdToken({ userId: newLineUserId(), email: 'me@example.com' });
    const [header, payload, signature] = idToken.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
    const forged = `${header}.${Buffer.from(JSON.stringify({ ...claims, email: 'ceo@example.com' })).toString('base64url')}.${signature}`;
    assert.deepEqual(await verify({ id_token: forged, client_id: SANDBOX_LINE_LOGIN_CHANNEL_ID }), invalid('Invalid IdToken.'));
  });

  test('a token that is not a sandbox JWT is "Invalid IdToken."', async () => {
    for (const token of ['garbage', 'a.b.c', 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJVMSJ9.']) {
      assert.deepEqual(await verify({ id_token: token, client_id: SANDBOX_LINE_LOGIN_CHANNEL_ID }), invalid('Invalid IdToken.'));
    }
  });

  test('an expired token is "IdToken expired."', async () => {
    const { idToken } = sandbox.controls.seedIdToken({ userId: newLineUserId(), expiresInSeconds: -60 });
    assert.deepEqual(await verify({ id_token: idToken, client_id: SANDBOX_LINE_LOGIN_CHANNEL_ID }), invalid('IdToken expired.'));
  });

  test('another channel\'s client_id is "Invalid IdToken Audience."', async () => {
    const { idToken } = sandbox.controls.seedIdToken({ userId: newLineUserId() });
    assert.deepEqual(await verify({ id_token: idToken, client_id: '1999999999' }), invalid('Invalid IdToken Audience.'));
    const other = sandbox.controls.seedIdToken({ userId: newLineUserId(), clientId: '1999999999' });
    assert.deepEqual(await verify({ id_token: other.idToken, client_id: SANDBOX_LINE_LOGIN_CHANNEL_ID }), invalid('Invalid IdToken Audience.'));
  });

  test('a different nonce is "Invalid IdToken Nonce."', async () => {
    const { idToken } = sandbox.controls.seedIdToken({ userId: newLineUserId(), nonce: 'expected' });
    assert.deepEqual(await verify({ id_token: idToken, client_id: SANDBOX_LINE_LOGIN_CHANNEL_ID, nonce: 'other' }), invalid('Invalid IdToken Nonce.'));
  });

  test('a different user_id is "Invalid IdToken Subject."', async () => {
    const { idToken } = sandbox.controls.seedIdToken({ userId: newLineUserId() });
    assert.deepEqual(await verify({ id_token: idToken, client_id: SANDBOX_LINE_LOGIN_CHANNEL_ID, user_id: newLineUserId() }), invalid('Invalid IdToken Subject.'));
  });

  test('parameters are read from a form body only: a JSON body is a 400', async () => {
    const { idToken } = sandbox.controls.seedIdToken({ userId: newLineUserId() });
    const response = await fetch(`${sandbox.url}/oauth2/v2.1/verify`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id_token: idToken, client_id: SANDBOX_LINE_LOGIN_CHANNEL_ID }),
    });
    assert.equal(response.status, 400);
    assert.equal(((await response.json()) as { error: string }).error, 'invalid_request');
  });
});

describe('controls over HTTP', () => {
  test('friends are seeded, read, blocked, followed and removed under /_sandbox/friends', async () => {
    const userId = newLineUserId();
    const seeded = await control<{ added: number; friends: number }>('POST', '/_sandbox/friends', { friends: [{ userId, displayName: 'コントロール' }] });
    assert.equal(seeded.status, 200);
    assert.equal(seeded.body.added, 1);
    assert.deepEqual((await control('GET', `/_sandbox/friends/${userId}`)).body, { userId, state: 'friend', seq: 1, displayName: 'コントロール', ...pick(generatedProfile(userId)) });
    assert.deepEqual((await control('POST', `/_sandbox/friends/${userId}/block`)).body, { userId, state: 'blocked', previousState: 'friend' });
    assert.equal((await control<{ previousState: string }>('POST', `/_sandbox/friends/${userId}/follow`, { displayName: '改名' })).body.previousState, 'blocked');
    assert.equal((await profile(userId)).displayName, '改名');
    assert.equal((await control('DELETE', `/_sandbox/friends/${userId}`)).status, 200);
    assert.equal((await control('GET', `/_sandbox/friends/${userId}`)).status, 404);
    assert.equal((await control('POST', `/_sandbox/friends/${userId}/block`)).status, 404);
    assert.equal((await control('POST', '/_sandbox/friends', { friends: [{ userId: 'bad' }] })).status, 400);
  });

  test('{count: N} seeds N generated friends and GET /_sandbox/friends answers the counts', async () => {
    const seeded = await control<{ added: number; firstUserId: string }>('POST', '/_sandbox/friends', { count: 1000 });
    assert.equal(seeded.body.added, 1000);
    assert.match(seeded.body.firstUserId, /^U[0-9a-f]{32}$/);
    assert.deepEqual((await control('GET', '/_sandbox/friends')).body, { friends: 1000, blocked: 0, total: 1000 });
  });

  test('settings switch the follower-ID permission and the rate limit; reset restores them', async () => {
    assert.deepEqual((await control('POST', '/_sandbox/settings', { followersIdsAllowed: false, rateLimitPerSecond: 5 })).body, { followersIdsAllowed: false, rateLimitPerSecond: 5 });
    await lineError(FOLLOWERS, () => client.getFollowers(), 403);
    assert.equal((await control('POST', '/_sandbox/reset')).status, 200);
    assert.deepEqual((await control('GET', '/_sandbox/settings')).body, { followersIdsAllowed: true, rateLimitPerSecond: 2000 });
  });

  test('the bot info names the webhook destination', async () => {
    assert.equal((await client.getBotInfo()).userId, SANDBOX_LINE_BOT_USER_ID);
  });
});

function pick(profile: { pictureUrl?: string; statusMessage?: string; language?: string }) {
  const out: Record<string, string> = {};
  if (profile.pictureUrl !== undefined) out.pictureUrl = profile.pictureUrl;
  if (profile.statusMessage !== undefined) out.statusMessage = profile.statusMessage;
  if (profile.language !== undefined) out.language = profile.language;
  return out;
}

// -----------------------------------------------------------------------------------------------

describe('webhook events built by the sandbox follow webhook.yml', () => {
  const callback = webhookSchemaValidator('CallbackRequest');
  const event = webhookEventValidator();

  function check(events: WebhookEvent[]) {
    const body = webhookBody(events);
    callback.assert(body, 'webhook body');
    for (const e of events) event.assert(e, `${e.type} event`);
    return body;
  }

  test('follow, unfollow and message events from a user, a group and a room match LINE schemas', () => {
    const userId = newLineUserId();
    check([
      followEvent(userId),
      followEvent(userId, { isUnblocked: true }),
      unfollowEvent(userId),
      textMessageEvent(userId, 'こんにちは'),
      textMessageEvent(groupSource(newLineGroupId(), userId), 'みなさん'),
      textMessageEvent(groupSource(newLineGroupId()), 'no user id'),
      textMessageEvent(roomSource(newLineRoomId(), userId), 'room'),
    ]);
    check([]);
  });

  test("LINE's schemas catch a malformed event (the validators are not vacuous)", () => {
    const follow = followEvent(newLineUserId()) as unknown as Record<string, unknown>;
    assert.equal(event({ ...follow, follow: undefined }), false, 'follow without follow.isUnblocked');
    assert.equal(event({ ...follow, mode: 'sleeping' }), false, 'unknown mode');
    assert.equal(event({ ...follow, invented: true }), false, 'a property LINE does not define');
    assert.equal(callback({ destination: 'Uabc', events: [] }), false, 'short destination');
  });

  test('follow and message carry a reply token, unfollow never, and standby mode none', () => {
    const userId = newLineUserId();
    assert.match(followEvent(userId).replyToken ?? '', /^[0-9a-f]{32}$/);
    assert.ok(textMessageEvent(userId, 'x').replyToken);
    assert.equal('replyToken' in unfollowEvent(userId), false);
    const standby = [followEvent(userId, { mode: 'standby' }), textMessageEvent(userId, 'x', { mode: 'standby' }), unfollowEvent(userId, { mode: 'standby' })];
    for (const e of standby) assert.equal('replyToken' in e, false);
    check(standby);
    assert.throws(() => followEvent(userId, { mode: 'standby', replyToken: 'r' }));
  });

  test('an event has the common properties LINE sends: type, timestamp, mode, webhookEventId, deliveryContext, source', () => {
    const userId = newLineUserId();
    const e = followEvent(userId, { timestamp: 1_700_000_000_123 });
    assert.deepEqual(Object.keys(e).sort(), ['deliveryContext', 'follow', 'mode', 'replyToken', 'source', 'timestamp', 'type', 'webhookEventId']);
    assert.deepEqual(e.source, { type: 'user', userId });
    assert.equal(e.mode, 'active');
    assert.deepEqual(e.deliveryContext, { isRedelivery: false });
    assert.deepEqual(e.follow, { isUnblocked: false });
    const message = textMessageEvent(userId, 'hi');
    assert.equal(message.message.type, 'text');
    assert.match(message.message.id, /^\d{18}$/);
    assert.ok(isKnownEvent(message));
  });

  test('webhookEventId is a ULID carrying the event time, and IDs made in one millisecond still sort in order', () => {
    const e = unfollowEvent(newLineUserId(), { timestamp: 1_700_000_000_123 });
    assert.match(e.webhookEventId, ULID_PATTERN);
    assert.equal(e.webhookEventId.length, 26);
    assert.equal(ulidTime(e.webhookEventId), 1_700_000_000_123);
    assert.equal(ulid(0).slice(0, 10), '0000000000');
    const now = Date.now();
    const ids = Array.from({ length: 1000 }, () => ulid(now));
    assert.equal(new Set(ids).size, 1000);
    assert.deepEqual([...ids].sort(), ids);
    const later = ulid(now + 1);
    assert.ok(later > ids[999]!);
  });

  test('a redelivery repeats webhookEventId, timestamp and content with isRedelivery: true', () => {
    const original = followEvent(newLineUserId());
    const again = asRedelivery(original);
    assert.equal(again.webhookEventId, original.webhookEventId);
    assert.equal(again.timestamp, original.timestamp);
    assert.deepEqual(again.deliveryContext, { isRedelivery: true });
    assert.deepEqual({ ...again, deliveryContext: original.deliveryContext }, original);
    check([again]);
  });

  test("the destination is the bot's 33-character user ID", () => {
    assert.match(webhookBody([]).destination, /^U[0-9a-f]{32}$/);
    assert.equal(webhookBody([]).destination, SANDBOX_LINE_BOT_USER_ID);
  });
});

describe('sendLineWebhook', () => {
  let receiver: Server;
  let received: Array<{ headers: IncomingMessage['headers']; raw: Buffer }> = [];
  let receiverUrl = '';

  before(async () => {
    receiver = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        received.push({ headers: request.headers, raw: Buffer.concat(chunks) });
        response.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const address = receiver.address();
    receiverUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/webhooks/line`;
  });
  after(async () => {
    await new Promise((resolve) => receiver.close(resolve));
  });
  afterEach(() => {
    received = [];
  });

  test('it signs exactly the bytes it sends with x-line-signature and answers status and body', async () => {
    const events = [textMessageEvent(newLineUserId(), '署名🍣')];
    const result = await sendLineWebhook({ url: receiverUrl, channelSecret: SANDBOX_LINE_CHANNEL_SECRET, events });
    assert.equal(result.status, 200);
    assert.deepEqual(result.body, { ok: true });
    const [request] = received;
    assert.equal(request!.headers['content-type'], 'application/json; charset=utf-8');
    assert.ok(verifyLineSignature(request!.raw, request!.headers['x-line-signature'] as string, SANDBOX_LINE_CHANNEL_SECRET));
    const body = JSON.parse(request!.raw.toString('utf8')) as WebhookBody;
    assert.deepEqual(body, { destination: SANDBOX_LINE_BOT_USER_ID, events });
  });

  test('a signature override is sent as given, and null sends no signature header', async () => {
    await sendLineWebhook({ url: receiverUrl, channelSecret: 'x', events: [], signature: 'forged' });
    await sendLineWebhook({ url: receiverUrl, channelSecret: 'x', events: [], signature: null });
    assert.equal(received[0]!.headers['x-line-signature'], 'forged');
    assert.equal('x-line-signature' in received[1]!.headers, false);
  });

  test('a string body is sent byte for byte and signed as such', async () => {
    const raw = '{"destination":"U5a4d0b0c0e0f4a6b8c9d0e1f2a3b4c5d",  "events":[]}';
    await sendLineWebhook({ url: receiverUrl, channelSecret: SANDBOX_LINE_CHANNEL_SECRET, body: raw });
    assert.equal(received[0]!.raw.toString('utf8'), raw);
    assert.ok(verifyLineSignature(received[0]!.raw, received[0]!.headers['x-line-signature'] as string, SANDBOX_LINE_CHANNEL_SECRET));
  });
});

// -----------------------------------------------------------------------------------------------

describe('npm run line (the sandbox friend command)', () => {
  const cli = fileURLToPath(new URL('../../src/main/line-friend.ts', import.meta.url));
  const root = fileURLToPath(new URL('../../', import.meta.url));
  let service: Server;
  let serviceUrl = '';
  let webhooks: Array<{ valid: boolean; body: WebhookBody }> = [];
  let answerStatus = 200;

  before(async () => {
    service = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const raw = Buffer.concat(chunks);
        webhooks.push({
          valid: verifyLineSignature(raw, request.headers['x-line-signature'] as string | undefined, SANDBOX_LINE_CHANNEL_SECRET),
          body: JSON.parse(raw.toString('utf8')) as WebhookBody,
        });
        response.writeHead(answerStatus, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => service.listen(0, '127.0.0.1', resolve));
    const address = service.address();
    serviceUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  });
  after(async () => {
    await new Promise((resolve) => service.close(resolve));
  });
  beforeEach(() => {
    webhooks = [];
    answerStatus = 200;
  });

  function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      execFile(
        process.execPath,
        ['--import', 'tsx', cli, ...args],
        {
          cwd: root,
          env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', SERVICE_URL: serviceUrl, LINE_API_BASE_URL: sandbox.url, ...env },
          timeout: 15_000,
        },
        (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
      );
    });
  }

  test('follow makes a new friend with a generated name in the sandbox and sends a signed follow event', async () => {
    const result = await run(['follow']);
    assert.equal(result.code, 0, result.stderr);
    const userId = /userId: (U[0-9a-f]{32})/.exec(result.stdout)?.[1];
    assert.ok(userId, result.stdout);
    assert.match(result.stdout, /→ 200/);
    assert.equal(sandbox.controls.getFriend(userId)?.state, 'friend');
    assert.equal(webhooks.length, 1);
    assert.ok(webhooks[0]!.valid, 'signed with the sandbox channel secret');
    const [event] = webhooks[0]!.body.events as Array<WebhookEvent & { follow?: { isUnblocked: boolean } }>;
    assert.equal(event!.type, 'follow');
    assert.deepEqual(event!.follow, { isUnblocked: false });
    assert.deepEqual(event!.source, { type: 'user', userId });
    webhookSchemaValidator('CallbackRequest').assert(webhooks[0]!.body);
  });

  test('unfollow blocks the friend, and unblock sends follow with isUnblocked: true; a name and redelivery can be given', async () => {
    const userId = newLineUserId();
    const blocked = await run(['unfollow', userId, '--name', 'Taro']);
    assert.equal(blocked.code, 0, blocked.stderr);
    assert.equal(sandbox.controls.getFriend(userId)?.state, 'blocked');
    assert.equal(sandbox.controls.getFriend(userId)?.displayName, 'Taro');
    assert.equal(webhooks[0]!.body.events[0]!.type, 'unfollow');
    const unblocked = await run(['unblock', userId, '--redeliver']);
    assert.equal(unblocked.code, 0, unblocked.stderr);
    assert.equal(sandbox.controls.getFriend(userId)?.state, 'friend');
    const [first, again] = webhooks.slice(1).map((w) => w.body.events[0] as WebhookEvent & { follow: { isUnblocked: boolean } });
    assert.deepEqual(first!.follow, { isUnblocked: true });
    assert.equal(again!.webhookEventId, first!.webhookEventId);
    assert.deepEqual(again!.deliveryContext, { isRedelivery: true });
  });

  test('message in a group sends the group source and changes no friend; a service error exits non-zero', async () => {
    answerStatus = 503;
    const userId = newLineUserId();
    const groupId = newLineGroupId();
    const result = await run(['message', userId, '--group', groupId, '--text', 'やあ']);
    assert.notEqual(result.code, 0);
    assert.match(result.stdout, /→ 503/);
    assert.equal(sandbox.controls.getFriend(userId), undefined);
    const event = webhooks[0]!.body.events[0] as WebhookEvent & { message: { text: string } };
    assert.deepEqual(event.source, { type: 'group', groupId, userId });
    assert.equal(event.message.text, 'やあ');
  });

  test('import-seed N seeds N friends without webhooks; bad input and an unreachable service are one clear line', async () => {
    const seeded = await run(['import-seed', '250']);
    assert.equal(seeded.code, 0, seeded.stderr);
    assert.equal(sandbox.controls.counts().friends, 250);
    assert.equal(webhooks.length, 0);
    const [usage, down] = await Promise.all([run(['follow', 'not-a-user-id']), run(['follow'], { SERVICE_URL: 'http://127.0.0.1:9' })]);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /is not a LINE user ID/);
    assert.equal(down.code, 1);
    assert.match(down.stderr, /^cannot reach the service at http:\/\/127\.0\.0\.1:9: is `npm start` running\?\n$/);
  });
});
