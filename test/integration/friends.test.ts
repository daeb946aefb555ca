// GET /friends and GET /friends/summary over the sandbox HubSpot, through the real SDK over HTTP:
// paging through 12,000 LINE contacts among non-LINE ones (past search's 10,000-result ceiling),
// filters, 401/404, search's own limit, 503 when HubSpot is down.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { loadConfig, type Config } from '../../src/config.ts';
import { createHubspotClient } from '../../src/hubspot/client.ts';
import { ensureLineProperties } from '../../src/hubspot/ensure-properties.ts';
import { buildApp } from '../../src/server/app.ts';
import { startHubspotSandbox, SANDBOX_HUBSPOT_ACCESS_TOKEN } from '../../src/sandbox/hubspot.ts';
import { steppedClock } from '../support/clock.ts';

const TOKEN = 'operator-token-0123456789';
const LINE_FRIENDS = 12_000;
const OTHERS = 3_000;
const UNDATED = 25;
const DAYS = 40;
const DAY = 86_400_000;
const DAY0 = Date.UTC(2026, 0, 1);

const userId = (n: number) => `U${n.toString(16).padStart(32, '0')}`;

type Friend = { userId: string; contactId: string; name: string | null; follow: string | null; createdVia: string | null; syncDate: string | null; lastMessageAt: string | null };
type Page = { friends: Friend[]; next: string | null };

let hubspot: Awaited<ReturnType<typeof startHubspotSandbox>>;
const clock = steppedClock();
/** no Temporal is needed for these routes: a lazy connection that is never used */
let temporal: Client;
const apps: FastifyInstance[] = [];
/** what was seeded, by LINE user ID */
const seeded = new Map<string, { follow: string; createdVia: string; syncDate: number | undefined; name: string }>();

async function appWith(env: Record<string, string>, overrides: Partial<Config> = {}): Promise<FastifyInstance> {
  const config: Config = {
    ...loadConfig({ LOG_LEVEL: 'warn', LINE_CHANNEL_SECRET: 'sandbox-secret-0123', ...env }),
    hubspotAccessToken: SANDBOX_HUBSPOT_ACCESS_TOKEN,
    hubspotBaseUrl: hubspot.url,
    ...overrides,
  };
  const app = await buildApp({ config, temporal, logger: false });
  apps.push(app);
  return app;
}

const get = async (app: FastifyInstance, url: string, token: string | null = TOKEN) => {
  const response = await app.inject({ method: 'GET', url, headers: token === null ? {} : { authorization: `Bearer ${token}` } });
  return { status: response.statusCode, body: response.json() as Record<string, unknown>, headers: response.headers };
};

const CREATED_VIA = ['FOLLOW', 'UNBLOCK', 'REPLY', 'IMPORT', 'LOGIN', 'HUBSPOT'];

before(async () => {
  hubspot = await startHubspotSandbox({ port: 0, searchRequestsPerSecond: 0, requestsPer10s: 0, now: clock.now });
  temporal = new Client({ connection: Connection.lazy({ address: '127.0.0.1:1' }) });
  await ensureLineProperties(createHubspotClient({ accessToken: SANDBOX_HUBSPOT_ACCESS_TOKEN, baseUrl: hubspot.url }));
  // Seed the store directly (fast): LINE contacts spread over 40 sync dates (300 a day, so paging
  // crosses dates mid-page), some without a sync date, and non-LINE contacts between them.
  const names = ['Sakura Tanaka', '山田 花子', 'taro.yamada', 'Ken'];
  for (let n = 1, others = 0; n <= LINE_FRIENDS; n++) {
    const syncDate = n <= UNDATED ? undefined : DAY0 + ((n * 7919) % DAYS) * DAY;
    const follow = n % 7 === 0 ? 'NO' : 'YES';
    const createdVia = CREATED_VIA[n % CREATED_VIA.length]!;
    const name = n % 1000 === 0 ? names[(n / 1000) % names.length]! : `Friend ${n}`;
    hubspot.controls.createContact({
      email: `${userId(n)}@line.me`,
      line_user_id: userId(n),
      line_user_name: name,
      line_follow: follow,
      line_created_via: createdVia,
      ...(syncDate !== undefined ? { line_id_sync_date: String(syncDate) } : {}),
      ...(n % 3 === 0 ? { line_last_message: `hello ${n}`, line_last_message_at: String(DAY0 + n * 1000) } : {}),
    });
    seeded.set(userId(n), { follow, createdVia, syncDate, name });
    if (n % 4 === 0 && others < OTHERS) {
      others++;
      // not a LINE contact, even with a sync date (someone imported a CSV)
      hubspot.controls.createContact({ email: `other${others}@example.com`, firstname: 'Sakura', ...(others % 2 ? { line_id_sync_date: String(DAY0 + DAYS * DAY) } : {}) });
    }
  }
});

after(async () => {
  for (const app of apps) await app.close();
  await hubspot.close();
  await temporal.connection.close().catch(() => {});
});

/** Newest first: sync date descending, then record ID descending; no sync date last. */
function assertOrdered(friends: Friend[]) {
  for (let i = 1; i < friends.length; i++) {
    const a = friends[i - 1]!;
    const b = friends[i]!;
    const da = a.syncDate ?? '';
    const db = b.syncDate ?? '';
    assert.ok(da > db || (da === db && Number(a.contactId) > Number(b.contactId)), `order at ${i}: ${da}/${a.contactId} then ${db}/${b.contactId}`);
  }
}

async function pageThrough(app: FastifyInstance, query: string): Promise<{ friends: Friend[]; pages: number }> {
  const friends: Friend[] = [];
  let pages = 0;
  let after: string | null = null;
  do {
    const url = `/friends?${query}${after ? `&after=${encodeURIComponent(after)}` : ''}`;
    const { status, body } = await get(app, url);
    assert.equal(status, 200, JSON.stringify(body));
    const page = body as unknown as Page;
    pages++;
    assert.ok(page.friends.length > 0, `page ${pages} is empty (a "next" must lead to friends)`);
    friends.push(...page.friends);
    after = page.next;
  } while (after !== null && pages < 1000);
  return { friends, pages };
}

describe('GET /friends over 12,000 LINE contacts', () => {
  let app: FastifyInstance;
  before(async () => {
    hubspot.controls.setLimits({ searchRequestsPerSecond: 60 });
    app = await appWith({ ADMIN_TOKEN: TOKEN, HUBSPOT_SEARCH_REQUESTS_PER_SECOND: '50' });
  });

  test("pages through every LINE contact once, newest first, past search's 10,000-result ceiling", async () => {
    hubspot.controls.resetStats();
    const started = Date.now();
    const { friends, pages } = await pageThrough(app, 'limit=100');
    const seconds = (Date.now() - started) / 1000;
    const stats = hubspot.controls.stats();
    console.log(`  ${friends.length} friends in ${pages} pages, ${stats.searches} searches, ${seconds.toFixed(1)} s`);
    assert.equal(friends.length, LINE_FRIENDS);
    assert.equal(new Set(friends.map((f) => f.userId)).size, LINE_FRIENDS, 'no friend twice');
    for (const f of friends) assert.ok(seeded.has(f.userId), `${f.userId} is a seeded LINE contact`);
    assertOrdered(friends);
    assert.equal(
      friends.slice(-UNDATED).every((f) => f.syncDate === null),
      true,
      'friends without a sync date come last',
    );
    assert.equal(pages, LINE_FRIENDS / 100);
    // the answer's shape
    const sample = friends.find((f) => f.userId === userId(3000))!;
    assert.deepEqual(Object.keys(sample).sort(), ['contactId', 'createdVia', 'email', 'follow', 'language', 'lastMessage', 'lastMessageAt', 'name', 'pictureUrl', 'syncDate', 'userId']);
    assert.equal(sample.follow, 'YES');
    assert.equal(sample.lastMessageAt, new Date(DAY0 + 3000 * 1000).toISOString());
    assert.equal(stats.rateLimited, 0);
    assert.ok(stats.searches <= pages * 3, `at most 3 searches a page (${stats.searches} for ${pages})`);
  });

  test('a search that pages by offset past 10,000 is refused by HubSpot (why paging is by key)', async () => {
    const client = createHubspotClient({ accessToken: SANDBOX_HUBSPOT_ACCESS_TOKEN, baseUrl: hubspot.url });
    const error = await client.crm.contacts.searchApi
      .doSearch({ filterGroups: [{ filters: [{ propertyName: 'line_user_id', operator: 'HAS_PROPERTY' }] }], limit: 100, after: '10000', properties: [], sorts: [] } as never)
      .then(
        () => undefined,
        (e: unknown) => e as { code: number },
      );
    assert.equal(error?.code, 400);
  });

  test('default page: 50 friends; limit 1–100', async () => {
    const first = await get(app, '/friends');
    assert.equal(first.status, 200);
    assert.equal((first.body as unknown as Page).friends.length, 50);
    assert.equal(typeof (first.body as unknown as Page).next, 'string');
    for (const bad of ['0', '101', 'x', '-1', '2.5']) {
      const answer = await get(app, `/friends?limit=${bad}`);
      assert.equal(answer.status, 400, `limit=${bad}`);
      assert.match(String(answer.body.error), /limit/);
    }
    assert.equal((await get(app, '/friends?limit=1')).status, 200);
  });

  test('follow=NO: only blocked friends, all of them', async () => {
    const { friends } = await pageThrough(app, 'follow=NO&limit=100');
    const expected = [...seeded].filter(([, s]) => s.follow === 'NO').length;
    assert.equal(friends.length, expected);
    assert.ok(friends.every((f) => f.follow === 'NO'));
    assertOrdered(friends);
    assert.equal((await get(app, '/friends?follow=MAYBE')).status, 400);
  });

  test('q: name contains (HubSpot tokens, case-insensitive, any script); combined with follow', async () => {
    const sakura = await get(app, '/friends?q=sakura&limit=100');
    assert.equal(sakura.status, 200);
    const expectSakura = [...seeded]
      .filter(([, s]) => s.name === 'Sakura Tanaka')
      .map(([id]) => id)
      .sort();
    // non-LINE contacts named Sakura (firstname) are never listed
    assert.deepEqual((sakura.body as unknown as Page).friends.map((f) => f.userId).sort(), expectSakura);
    const yamada = await get(app, '/friends?q=%E5%B1%B1%E7%94%B0&limit=100'); // 山田
    assert.deepEqual(
      (yamada.body as unknown as Page).friends.map((f) => f.userId).sort(),
      [...seeded]
        .filter(([, s]) => s.name === '山田 花子')
        .map(([id]) => id)
        .sort(),
    );
    const partial = await get(app, '/friends?q=TAN&limit=100');
    assert.equal((partial.body as unknown as Page).friends.length, expectSakura.length, 'a part of a word matches');
    const twoWords = await get(app, '/friends?q=sakura%20tanaka&limit=100');
    assert.equal((twoWords.body as unknown as Page).friends.length, expectSakura.length);
    const blocked = await get(app, '/friends?q=friend&follow=NO&limit=100');
    assert.ok((blocked.body as unknown as Page).friends.every((f) => f.follow === 'NO' && f.name?.startsWith('Friend')));
    const none = await get(app, '/friends?q=nobody');
    assert.deepEqual(none.body, { friends: [], next: null });
    assert.equal((await get(app, '/friends?q=a%20b%20c')).status, 400, 'at most two words');
  });

  test('a cursor the service did not give is a 400', async () => {
    for (const bad of ['nonsense!', Buffer.from('{"x":1}').toString('base64url'), Buffer.from('{"d":1,"i":"1 OR 1"}').toString('base64url')]) {
      const answer = await get(app, `/friends?after=${encodeURIComponent(bad)}`);
      assert.equal(answer.status, 400, bad);
      assert.match(String(answer.body.error), /cursor/);
    }
  });

  test('GET /friends/summary: by follow state and by created-via', async () => {
    const { status, body } = await get(app, '/friends/summary');
    assert.equal(status, 200);
    const count = (pick: (s: { follow: string; createdVia: string }) => string) => {
      const out: Record<string, number> = {};
      for (const s of seeded.values()) out[pick(s)] = (out[pick(s)] ?? 0) + 1;
      return out;
    };
    assert.equal(body.total, LINE_FRIENDS);
    assert.deepEqual(body.follow, { ...count((s) => s.follow), unknown: 0 });
    assert.deepEqual(body.createdVia, { ...count((s) => s.createdVia), unknown: 0 });
  });
});

describe('GET /friends: who may read it', () => {
  test('404 when ADMIN_TOKEN is not set', async () => {
    const app = await appWith({});
    assert.equal((await get(app, '/friends')).status, 404);
    assert.equal((await get(app, '/friends/summary')).status, 404);
  });

  test('401 for a missing or wrong token, with a Bearer challenge', async () => {
    const app = await appWith({ ADMIN_TOKEN: TOKEN });
    for (const token of [null, 'wrong-token-0123456789', `${TOKEN}x`]) {
      const answer = await get(app, '/friends', token);
      assert.equal(answer.status, 401);
      assert.match(String(answer.headers['www-authenticate']), /^Bearer/);
    }
    assert.equal((await get(app, '/friends/summary', 'wrong-token-0123456789')).status, 401);
    const basic = await app.inject({ method: 'GET', url: '/friends', headers: { authorization: `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}` } });
    assert.equal(basic.statusCode, 401, 'the JSON routes take the bearer token only');
  });
});

describe("GET /friends within search's own limit", () => {
  test("concurrent readers stay within 5 searches a second, and never spend the sync's burst budget", async () => {
    // HubSpot's own figures: search about 5/s; the sync's budget so small that one search in it would show.
    hubspot.controls.setLimits({ searchRequestsPerSecond: 5, requestsPer10s: 1 });
    const app = await appWith({ ADMIN_TOKEN: TOKEN }); // default pace: 4 searches a second
    clock.advance(1000); // HubSpot's second forgets earlier tests' searches
    hubspot.controls.resetStats();
    const started = Date.now();
    const answers = await Promise.all(Array.from({ length: 6 }, (_, i) => get(app, `/friends?limit=20&q=friend${i % 2 ? '&follow=YES' : ''}`)));
    const elapsed = Date.now() - started;
    const stats = hubspot.controls.stats();
    console.log(`  6 concurrent pages: ${stats.searches} searches in ${elapsed} ms, at most ${stats.maxSearchesInSecond} in a second`);
    for (const a of answers) assert.equal(a.status, 200, JSON.stringify(a.body));
    assert.ok(stats.searches >= 12, `${stats.searches} searches`);
    assert.ok(stats.maxSearchesInSecond <= 5, `at most 5 searches in any second (${stats.maxSearchesInSecond})`);
    assert.equal(stats.rateLimited, 0, `no 429 (${JSON.stringify(stats.rateLimitedByPolicy)})`);
    assert.ok(elapsed >= ((stats.searches - 4) / 4) * 1000 - 300, `paced (${elapsed} ms for ${stats.searches} searches)`);
    // searches spent nothing of the sync's window (1 request per 10 s here: a second request counted in it would have been a 429)
    assert.equal(stats.rateLimitedByPolicy.TEN_SECONDLY_ROLLING, 0);
    assert.equal(stats.total - stats.searches, 0, 'nothing but searches');
    hubspot.controls.setLimits({ requestsPer10s: 0, searchRequestsPerSecond: 0 });
  });

  test('a 429 from search (another app of the portal searching) is waited out', async () => {
    const app = await appWith({ ADMIN_TOKEN: TOKEN, HUBSPOT_SEARCH_REQUESTS_PER_SECOND: '50' });
    hubspot.controls.addFault({
      status: 429,
      count: 1,
      pathPrefix: '/crm/v3/objects/contacts/search',
      body: { status: 'error', message: 'You have reached your secondly limit.', errorType: 'RATE_LIMIT', policyName: 'SECONDLY' },
    });
    const answer = await get(app, '/friends?limit=5');
    assert.equal(answer.status, 200);
    assert.equal((answer.body as unknown as Page).friends.length, 5);
  });
});

describe('GET /friends when HubSpot is down', () => {
  test('503 with a clear error and Retry-After when HubSpot answers 5xx', async () => {
    const app = await appWith({ ADMIN_TOKEN: TOKEN, HUBSPOT_SEARCH_REQUESTS_PER_SECOND: '50' });
    hubspot.controls.addFault({ status: 502, count: 1, pathPrefix: '/crm/v3/objects/contacts/search' });
    const answer = await get(app, '/friends');
    assert.equal(answer.status, 503);
    assert.match(String(answer.body.error), /HubSpot is unavailable/);
    assert.ok(Number(answer.headers['retry-after']) > 0);
    hubspot.controls.clearFaults();
  });

  test('503 when HubSpot cannot be reached at all', async () => {
    const app = await appWith({ ADMIN_TOKEN: TOKEN }, { hubspotBaseUrl: 'http://127.0.0.1:9' });
    const answer = await get(app, '/friends');
    assert.equal(answer.status, 503);
    assert.match(String(answer.body.error), /HubSpot is unavailable/);
    assert.equal((await get(app, '/friends/summary')).status, 503);
  });

  test('503 naming the variable when the server has no HubSpot token', async () => {
    const app = await appWith({ ADMIN_TOKEN: TOKEN }, { hubspotAccessToken: undefined });
    const answer = await get(app, '/friends');
    assert.equal(answer.status, 503);
    assert.match(String(answer.body.error), /HUBSPOT_ACCESS_TOKEN/);
  });
});

describe('sandbox HubSpot as HubSpot', () => {
  test('a string property value holds at most 65,536 characters (line_last_message is cut to that)', async () => {
    hubspot.controls.setLimits({ requestsPer10s: 0, searchRequestsPerSecond: 0 });
    const client = createHubspotClient({ accessToken: SANDBOX_HUBSPOT_ACCESS_TOKEN, baseUrl: hubspot.url });
    const ok = await client.crm.contacts.basicApi.create({ properties: { email: 'long-ok@example.com', line_last_message: 'a'.repeat(65_536) }, associations: [] });
    assert.equal(ok.properties['line_last_message']?.length, 65_536);
    const error = await client.crm.contacts.basicApi.create({ properties: { email: 'long-no@example.com', line_last_message: 'a'.repeat(65_537) }, associations: [] }).then(
      () => undefined,
      (e: unknown) => e as { code: number; body: { category?: string } },
    );
    assert.equal(error?.code, 400);
    assert.equal(error?.body.category, 'VALIDATION_ERROR');
  });
});
