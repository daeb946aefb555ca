// The HTTP rules every route applies before anything reaches Temporal (signatures, body shape and
// size, unknown routes, the admin token), through app.inject on the real app without the stack:
// its Temporal client is a stand-in that fails the test if any route touches it.
import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { Client } from '@temporalio/client';
import { loadConfig } from '../../src/config.ts';
import { signLineBody } from '../../src/line/signature.ts';
import { buildApp } from '../../src/server/app.ts';
import { LINE_WEBHOOK_BODY_LIMIT } from '../../src/server/routes/line-webhook.ts';

const CHANNEL_SECRET = 'route-test-channel-secret';
const ADMIN_TOKEN = 'route-test-admin-token-0123456789';
const USER_ID = `U${'0'.repeat(31)}1`;

/** A Temporal client no route may reach: any use is recorded (and fails the call). */
function untouchableTemporal(): { temporal: Client; touched: string[] } {
  const touched: string[] = [];
  const temporal = new Proxy(
    {},
    {
      get(_target, property) {
        touched.push(String(property));
        throw new Error(`the route used the Temporal client (${String(property)})`);
      },
    },
  ) as Client;
  return { temporal, touched };
}

async function appWith(t: TestContext, env: Record<string, string>) {
  const { temporal, touched } = untouchableTemporal();
  const app = await buildApp({ config: loadConfig(env), temporal, logger: false });
  t.after(async () => {
    await app.close();
    assert.deepEqual(touched, [], 'no route reached Temporal');
  });
  return app;
}

const lineApp = (t: TestContext) => appWith(t, { LINE_CHANNEL_SECRET: CHANNEL_SECRET });
const adminApp = (t: TestContext) => appWith(t, { LINE_CHANNEL_SECRET: CHANNEL_SECRET, ADMIN_TOKEN });

type App = Awaited<ReturnType<typeof appWith>>;
const postLine = (app: App, body: string | Buffer, signature: string | null = signLineBody(body, CHANNEL_SECRET)) =>
  app.inject({
    method: 'POST',
    url: '/webhooks/line',
    headers: { 'content-type': 'application/json', ...(signature === null ? {} : { 'x-line-signature': signature }) },
    payload: body,
  });

const followBody = JSON.stringify({
  destination: 'Udeadbeefdeadbeefdeadbeefdeadbeef',
  events: [
    {
      type: 'follow',
      mode: 'active',
      timestamp: 1_700_000_000_000,
      source: { type: 'user', userId: USER_ID },
      webhookEventId: '01HZZZZZZZZZZZZZZZZZZZZZZZ',
      deliveryContext: { isRedelivery: false },
      replyToken: 'r',
      follow: { isUnblocked: false },
    },
  ],
});

describe('POST /webhooks/line', () => {
  test('a missing, empty or wrong x-line-signature is 401, before the body is even parsed', async (t) => {
    const app = await lineApp(t);
    for (const signature of [null, '', 'not-a-signature', signLineBody(followBody, 'another-channel-secret'), signLineBody(`${followBody} `, CHANNEL_SECRET)]) {
      const answer = await postLine(app, followBody, signature);
      assert.equal(answer.statusCode, 401, `signature ${JSON.stringify(signature)}`);
      assert.deepEqual(answer.json(), { error: 'invalid or missing x-line-signature' });
    }
    const unparsable = await postLine(app, '{"events": [', 'wrong');
    assert.equal(unparsable.statusCode, 401, 'the signature is checked first');
  });

  test('a correctly signed body that is not JSON is 400', async (t) => {
    const app = await lineApp(t);
    for (const body of ['{"events": [', 'events', '']) {
      const answer = await postLine(app, body);
      assert.equal(answer.statusCode, 400, JSON.stringify(body));
      assert.deepEqual(answer.json(), { error: 'body is not valid JSON' });
    }
  });

  test('a correctly signed JSON body that is not a LINE webhook (no "events" array) is 400', async (t) => {
    const app = await lineApp(t);
    for (const body of ['{}', 'null', '[]', '42', '{"events": {}}', '{"destination": "U0", "events": "follow"}']) {
      const answer = await postLine(app, body);
      assert.equal(answer.statusCode, 400, body);
      assert.deepEqual(answer.json(), { error: 'body has no "events" array' });
    }
  });

  test('a body over 1 MiB is 413; one of exactly 1 MiB is read', async (t) => {
    const app = await lineApp(t);
    const frame = (size: number) => {
      const shell = JSON.stringify({ destination: 'U0', events: [], padding: '' });
      return JSON.stringify({ destination: 'U0', events: [], padding: 'x'.repeat(size - shell.length) });
    };
    const over = frame(LINE_WEBHOOK_BODY_LIMIT + 1);
    assert.equal(Buffer.byteLength(over), LINE_WEBHOOK_BODY_LIMIT + 1);
    const tooLarge = await postLine(app, over);
    assert.equal(tooLarge.statusCode, 413);
    assert.deepEqual(tooLarge.json(), { error: 'Request body is too large' });
    const atLimit = await postLine(app, frame(LINE_WEBHOOK_BODY_LIMIT));
    assert.equal(atLimit.statusCode, 200, 'the limit itself is allowed');
    assert.deepEqual(atLimit.json(), { accepted: 0 });
  });

  test("LINE's URL check and events that are not friend events are acknowledged without Temporal", async (t) => {
    const app = await lineApp(t);
    const check = await postLine(app, JSON.stringify({ destination: 'U0', events: [] }));
    assert.equal(check.statusCode, 200);
    assert.deepEqual(check.json(), { accepted: 0 });
    const group = JSON.stringify({
      destination: 'U0',
      events: [{ type: 'join', mode: 'active', timestamp: 1, source: { type: 'group', groupId: `C${'0'.repeat(32)}` }, webhookEventId: 'x', deliveryContext: { isRedelivery: false } }],
    });
    const ignored = await postLine(app, group);
    assert.equal(ignored.statusCode, 200);
    assert.deepEqual(ignored.json(), { accepted: 0 });
  });

  test('without LINE_CHANNEL_SECRET there is no LINE webhook route: 404', async (t) => {
    const app = await appWith(t, {});
    const answer = await postLine(app, followBody);
    assert.equal(answer.statusCode, 404);
    assert.equal(answer.json().error, 'Not Found');
  });
});

describe('unknown routes', () => {
  test('an unknown path or method is 404', async (t) => {
    const app = await adminApp(t);
    for (const [method, url] of [
      ['GET', '/nope'],
      ['GET', '/webhooks/line'],
      ['PUT', '/webhooks/line'],
      ['POST', '/webhooks'],
      ['GET', '/imports'],
    ] as const) {
      const answer = await app.inject({ method, url });
      assert.equal(answer.statusCode, 404, `${method} ${url}`);
      assert.equal(answer.json().error, 'Not Found');
    }
  });
});

const ADMIN_ROUTES = [
  ['POST', '/imports'],
  ['GET', '/imports/00000000-0000-4000-8000-000000000000'],
  ['DELETE', '/imports/00000000-0000-4000-8000-000000000000'],
  ['GET', '/friends'],
  ['GET', '/friends/summary'],
  ['GET', '/console'],
  ['GET', '/console/status.json'],
  ['GET', '/console/summary.json'],
  ['POST', '/console/import'],
  ['POST', '/console/import/cancel'],
] as const;

describe('operator routes', () => {
  test('without ADMIN_TOKEN they do not exist: 404', async (t) => {
    const app = await lineApp(t);
    for (const [method, url] of [...ADMIN_ROUTES, ['GET', '/console/sign-in'], ['POST', '/console/sign-in']] as const) {
      const answer = await app.inject({ method, url, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      assert.equal(answer.statusCode, 404, `${method} ${url}`);
    }
  });

  test('the JSON routes want the admin bearer token: 401 with a Bearer challenge otherwise', async (t) => {
    const app = await adminApp(t);
    const basic = `Basic ${Buffer.from(`operator:${ADMIN_TOKEN}`).toString('base64')}`;
    for (const [method, url] of ADMIN_ROUTES.filter(([, url]) => !url.startsWith('/console'))) {
      for (const authorization of [undefined, 'Bearer wrong-token-0123456789', `Bearer ${ADMIN_TOKEN}x`, `Bearer ${ADMIN_TOKEN.slice(1)}`, ADMIN_TOKEN, basic]) {
        const answer = await app.inject({ method, url, headers: authorization === undefined ? {} : { authorization } });
        assert.equal(answer.statusCode, 401, `${method} ${url} with ${authorization}`);
        assert.match(String(answer.headers['www-authenticate']), /^Bearer realm=/);
        assert.deepEqual(answer.json(), { error: 'missing or wrong admin bearer token' });
      }
    }
  });

  test('the console wants a sign-in: its page answers 401 with the sign-in form, its JSON and actions 401 with a Basic challenge', async (t) => {
    const app = await adminApp(t);
    for (const authorization of [undefined, 'Bearer wrong-token-0123456789', `Basic ${Buffer.from('operator:wrong').toString('base64')}`]) {
      const headers = authorization === undefined ? {} : { authorization };
      const page = await app.inject({ method: 'GET', url: '/console', headers });
      assert.equal(page.statusCode, 401, `page with ${authorization}`);
      assert.match(String(page.headers['content-type']), /^text\/html/);
      assert.match(String(page.headers['www-authenticate']), /^Basic realm=/);
      assert.match(page.body, /<form/);
      for (const [method, url] of ADMIN_ROUTES.filter(([, url]) => url.startsWith('/console/'))) {
        const answer = await app.inject({ method, url, headers: { ...headers, cookie: 'lhs_console=forged' } });
        assert.equal(answer.statusCode, 401, `${method} ${url} with ${authorization}`);
        assert.match(String(answer.headers['www-authenticate']), /^Basic realm=/);
        assert.deepEqual(answer.json(), { error: 'sign in to the console first' });
      }
    }
    const wrongSignIn = await app.inject({ method: 'POST', url: '/console/sign-in', payload: { token: 'wrong-token-0123456789' } });
    assert.equal(wrongSignIn.statusCode, 401);
    assert.equal(wrongSignIn.headers['set-cookie'], undefined, 'no session for a wrong token');
  });
});
