// The operator console in a real browser: headless Chromium (Debian's `chromium`, CHROMIUM_PATH to
// use another) driven by puppeteer-core, against the whole stack (Temporal dev server with its Web
// UI, workers, HTTP server, sandbox LINE and HubSpot). Sign-in both ways, the list with the friends'
// messages, filters, a friend's story in the Temporal UI, import progress and cancel. Screenshots go
// to bench/results/console-*.png (git-ignored) for people to look at.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { followEvent, newLineUserId, sendLineWebhook, textMessageEvent, unfollowEvent, userSource } from '../../src/sandbox/line-webhook.ts';
import type { WebhookEvent } from '../../src/line/webhook-events.ts';
import { eventually, startStack, type Stack } from '../support/stack.ts';
import { call, lineContact } from '../support/sandbox-http.ts';

// The few DOM shapes the page functions below touch (no DOM lib in this Node project).
interface El {
  innerText: string;
  textContent: string | null;
  value: string;
  disabled: boolean;
  style: { width: string };
  dataset: Record<string, string | undefined>;
  getAttribute(name: string): string | null;
}
declare const document: { getElementById(id: string): El | null; body: El };

const ADMIN_TOKEN = 'console-test-admin-token-0123456789';
const RESULTS = resolve(import.meta.dirname, '../../bench/results');
const CHROMIUM = process.env.CHROMIUM_PATH ?? ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].find((p) => existsSync(p));

let stack: Stack;
let browser: Browser;

const friends = {
  taro: { userId: newLineUserId(), displayName: 'Taro Console', pictureUrl: 'https://profile.line-scdn.net/0hTaroConsole' },
  hanako: { userId: newLineUserId(), displayName: '山田 花子', pictureUrl: 'https://profile.line-scdn.net/0hHanako' },
  blocked: { userId: newLineUserId(), displayName: 'Blocked Ken', pictureUrl: 'https://profile.line-scdn.net/0hKen' },
};

async function webhook(events: WebhookEvent[]) {
  const result = await sendLineWebhook({ url: `${stack.url}/webhooks/line`, channelSecret: stack.config.lineChannelSecret!, events });
  assert.equal(result.status, 200, result.text);
}

async function shot(page: Page, name: string) {
  mkdirSync(RESULTS, { recursive: true });
  await page.screenshot({ path: resolve(RESULTS, `console-${name}.png`), fullPage: true });
}

before(async () => {
  assert.ok(CHROMIUM, 'Chromium is not installed: apt-get install -y chromium (.ci/run does), or set CHROMIUM_PATH');
  stack = await startStack({ env: { ADMIN_TOKEN }, temporalUi: true });
  browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });

  // Friends through the live road: follows, a text message, a sticker, a block.
  for (const f of Object.values(friends)) await call('POST', `${stack.line.url}/_sandbox/friends`, { friends: [{ ...f }] });
  const t0 = Date.now() - 60_000;
  await webhook([followEvent(friends.taro.userId, { timestamp: t0 }), followEvent(friends.hanako.userId, { timestamp: t0 + 1 }), followEvent(friends.blocked.userId, { timestamp: t0 + 2 })]);
  // (a friend's contact exists before it blocks: a blocked user's profile cannot be read, so a follow applied after the block creates none)
  await eventually(async () => ((await lineContact(stack.hubspot.url, friends.blocked.userId)) ? true : undefined), { timeoutMs: 30_000, what: 'the follows applied' });
  const sticker = textMessageEvent(userSource(friends.hanako.userId), 'x', { timestamp: t0 + 20 });
  (sticker as unknown as { message: unknown }).message = { id: '5000000000001', type: 'sticker', packageId: '446', stickerId: '1988', stickerResourceType: 'STATIC', quoteToken: 'q' };
  await webhook([textMessageEvent(userSource(friends.taro.userId), 'コンソールで見えますか？', { timestamp: t0 + 10 }), sticker]);
  await call('POST', `${stack.line.url}/_sandbox/friends/${friends.blocked.userId}/block`);
  await webhook([unfollowEvent(friends.blocked.userId, { timestamp: t0 + 30 })]);
  await eventually(
    async () => {
      const [taro, hanako, ken] = await Promise.all([
        lineContact(stack.hubspot.url, friends.taro.userId),
        lineContact(stack.hubspot.url, friends.hanako.userId),
        lineContact(stack.hubspot.url, friends.blocked.userId),
      ]);
      return taro?.properties['line_last_message'] && hanako?.properties['line_last_message'] && ken?.properties['line_follow'] === 'NO' ? true : undefined;
    },
    { timeoutMs: 30_000, what: 'the friends in HubSpot' },
  ).catch(async (error: unknown) => {
    for (const f of Object.values(friends)) console.log(JSON.stringify(await lineContact(stack.hubspot.url, f.userId)));
    throw error;
  });
});

after(async () => {
  await browser?.close();
  await stack?.stop();
});

const consoleUrl = (query = '') => `${stack.url}/console${query}`;
const rowsOf = (page: Page) =>
  page.$$eval('#friends tbody tr', (rows) =>
    rows.map((r) => ({ userId: r.getAttribute('data-user-id'), text: (r as unknown as El).innerText, link: (r.querySelector('a.story') as unknown as El | null)?.getAttribute('href') ?? null })),
  );

describe('the operator console in Chromium', () => {
  test('without credentials: 401 and the sign-in form (with a Basic challenge)', async () => {
    const response = await fetch(consoleUrl());
    assert.equal(response.status, 401);
    assert.match(response.headers.get('www-authenticate') ?? '', /^Basic realm=/);
    assert.match(await response.text(), /name="token"/);
  });

  test('HTTP Basic (the token as password, any user name): the friends with their messages, in English', async () => {
    const context = await browser.createBrowserContext();
    const page = await context.newPage();
    await page.setViewport({ width: 1280, height: 800 });
    await page.authenticate({ username: 'any-operator', password: ADMIN_TOKEN });
    await page.setExtraHTTPHeaders({ 'Accept-Language': 'en-US,en;q=0.9' });
    const response = await page.goto(consoleUrl(), { waitUntil: 'load' });
    assert.equal(response?.status(), 200);
    const rows = await rowsOf(page);
    const byId = new Map(rows.map((r) => [r.userId, r]));
    assert.match(byId.get(friends.taro.userId)?.text ?? '', /Taro Console[\s\S]*YES[\s\S]*FOLLOW[\s\S]*コンソールで見えますか？/);
    assert.match(byId.get(friends.hanako.userId)?.text ?? '', /\[sticker\]/);
    assert.match(byId.get(friends.blocked.userId)?.text ?? '', /NO/);
    // the picture is the profile's (this machine cannot load it: the page shows the name's initial instead)
    assert.ok((await response!.text()).includes(`src="${friends.taro.pictureUrl}"`));
    assert.equal(await page.$eval(`tr[data-user-id="${friends.taro.userId}"] .nopic`, (e) => e.textContent), 'T');
    assert.match(await page.$eval('#friends thead', (h) => (h as unknown as El).innerText), /Last message/);
    // live panels fill in from /console/status.json and /console/summary.json
    await page.waitForFunction(() => document.getElementById('backlog')?.textContent !== '…', { timeout: 10_000 });
    await page.waitForFunction(() => /LINE contacts/.test(document.getElementById('summary-body')?.textContent ?? ''), { timeout: 15_000 });
    await shot(page, 'basic-en');
    await context.close();
  });

  test('the sign-in form: a wrong token is refused, the right one sets an HttpOnly SameSite cookie; Japanese labels', async () => {
    const context = await browser.createBrowserContext();
    const page = await context.newPage();
    await page.setViewport({ width: 1280, height: 800 });
    await page.setExtraHTTPHeaders({ 'Accept-Language': 'ja,en;q=0.5' });
    // (GET /console without credentials sends a Basic challenge with the form; headless Chromium shows
    // no password dialog, so the form is opened on its own page)
    const first = await page.goto(`${stack.url}/console/sign-in`, { waitUntil: 'load' });
    assert.equal(first?.status(), 200);
    await page.type('input[name="token"]', 'not-the-token-0123456789');
    await Promise.all([page.waitForNavigation(), page.click('button[type="submit"]')]);
    assert.ok(await page.$('#signin-error'), 'a wrong token says so');
    assert.match(await page.$eval('#signin-error', (e) => e.textContent ?? ''), /管理トークンが違います/);
    await page.type('input[name="token"]', ADMIN_TOKEN);
    await Promise.all([page.waitForNavigation(), page.click('button[type="submit"]')]);
    assert.equal(new URL(page.url()).pathname, '/console');
    const cookies = await context.cookies();
    const session = cookies.find((c) => c.name === 'lhs_console');
    assert.ok(session, 'a session cookie');
    assert.equal(session.httpOnly, true);
    assert.equal(session.sameSite, 'Strict');
    assert.notEqual(session.value, ADMIN_TOKEN, 'the cookie is not the token');
    assert.match(await page.$eval('#friends thead', (h) => (h as unknown as El).innerText), /最新メッセージ/);
    assert.equal((await rowsOf(page)).length, 3);
    await shot(page, 'cookie-ja');
    // signing out forgets it
    await Promise.all([page.waitForNavigation(), page.click('header form button')]);
    assert.ok(await page.$('input[name="token"]'));
    await context.close();
  });

  test('filters: follow state and name, through the form', async () => {
    const context = await browser.createBrowserContext();
    const page = await context.newPage();
    await page.setViewport({ width: 1280, height: 800 });
    await page.authenticate({ username: 'ops', password: ADMIN_TOKEN });
    await page.goto(consoleUrl(), { waitUntil: 'load' });
    await page.select('#filter-follow', 'NO');
    await Promise.all([page.waitForNavigation(), page.click('#filter-submit')]);
    assert.deepEqual(
      (await rowsOf(page)).map((r) => r.userId),
      [friends.blocked.userId],
    );
    await page.select('#filter-follow', '');
    await page.type('#filter-q', '花子');
    await Promise.all([page.waitForNavigation(), page.click('#filter-submit')]);
    assert.deepEqual(
      (await rowsOf(page)).map((r) => r.userId),
      [friends.hanako.userId],
    );
    await page.goto(consoleUrl('?q=nobody'), { waitUntil: 'load' });
    assert.ok(await page.$('#no-friends'));
    await shot(page, 'filtered');
    await context.close();
  });

  test("a friend's link opens its story in the Temporal UI: workflows filtered by LineUserId", async () => {
    const context = await browser.createBrowserContext();
    const page = await context.newPage();
    await page.setViewport({ width: 1280, height: 800 });
    await page.authenticate({ username: 'ops', password: ADMIN_TOKEN });
    await page.goto(consoleUrl(), { waitUntil: 'load' });
    const link = (await rowsOf(page)).find((r) => r.userId === friends.taro.userId)?.link;
    assert.ok(link, 'a link');
    const url = new URL(link);
    assert.equal(url.origin, stack.temporal.uiUrl);
    assert.equal(url.pathname, '/namespaces/default/workflows');
    assert.equal(url.searchParams.get('query'), `LineUserId="${friends.taro.userId}"`);
    // The Temporal UI lists the friend's batch workflows (its story), and only those with this friend.
    const ui = await context.newPage();
    await ui.goto(link, { waitUntil: 'load' });
    await ui.waitForFunction(() => /contactBatchWorkflow/.test(document.body.innerText), { timeout: 30_000 });
    await shot(ui, 'temporal-story');
    await context.close();
  });

  test('import: start, a live progress bar, cancel', async () => {
    // Many friends to import, and a slow HubSpot, so that the import is seen running.
    await call('POST', `${stack.line.url}/_sandbox/friends`, { friends: Array.from({ length: 3000 }, (_, i) => ({ userId: newLineUserId(), displayName: `Imported ${i}` })) });
    const context = await browser.createBrowserContext();
    const page = await context.newPage();
    await page.setViewport({ width: 1280, height: 800 });
    await page.authenticate({ username: 'ops', password: ADMIN_TOKEN });
    try {
      await page.goto(consoleUrl(), { waitUntil: 'load' });
      await page.waitForFunction(() => document.getElementById('import-state')?.textContent !== '…', { timeout: 10_000 });
      await page.type('#import-page-size', '50');
      await Promise.all([page.waitForNavigation(), page.click('#import-start')]);
      // the bar moves while the import runs
      await page.waitForFunction(
        () => {
          const bar = document.getElementById('import-bar');
          return bar?.dataset['state'] === 'running' && parseFloat(bar.style.width) > 0 && parseFloat(bar.style.width) < 100;
        },
        { timeout: 60_000 },
      );
      const running = await page.$eval('#import-state', (e) => e.textContent ?? '');
      assert.match(running, /running/);
      await shot(page, 'import-running');
      assert.equal(await page.$eval('#import-cancel', (b) => (b as unknown as El).disabled), false);
      await page.waitForFunction(() => document.getElementById('import-id')?.value !== '', { timeout: 5000 });
      await Promise.all([page.waitForNavigation(), page.click('#import-cancel')]);
      await page.waitForFunction(() => document.getElementById('import-bar')?.dataset['state'] === 'canceled', { timeout: 60_000 });
      assert.match(await page.$eval('#import-state', (e) => e.textContent ?? ''), /canceled/);
      assert.equal(await page.$eval('#import-cancel', (b) => (b as unknown as El).disabled), true);
      await shot(page, 'import-canceled');
    } catch (error) {
      await shot(page, 'import-failed');
      console.log(await (await fetch(`${stack.url}/console/status.json`, { headers: { authorization: `Basic ${Buffer.from(`x:${ADMIN_TOKEN}`).toString('base64')}` } })).text());
      throw error;
    } finally {
      await context.close();
    }
  });

  test('a cross-site form post is refused even with Basic credentials', async () => {
    const response = await fetch(`${stack.url}/console/import`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`x:${ADMIN_TOKEN}`).toString('base64')}`, origin: 'https://evil.example' },
    });
    assert.equal(response.status, 403);
  });
});
