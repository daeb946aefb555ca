// The HubSpot client with a budget, through the real @hubspot/api-client against the sandbox at a
// small rolling window: a backlog goes at the limit with no 429, and HubSpot's Remaining header
// (another client spending the same app's window) holds the budgeted client back.
import { after, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { HubspotBudget } from '../../src/hubspot/budget.ts';
import { createHubspotClient } from '../../src/hubspot/client.ts';
import { SANDBOX_HUBSPOT_ACCESS_TOKEN, startHubspotSandbox, type StartedHubspotSandbox } from '../../src/sandbox/hubspot.ts';

const WINDOW_MS = 1_000;
const MAX = 5;
let sandbox: StartedHubspotSandbox;

before(async () => {
  sandbox = await startHubspotSandbox({ port: 0, requestsPer10s: MAX, windowMs: WINDOW_MS, dailyLimit: 0, searchRequestsPerSecond: 0 });
});
after(async () => {
  await sandbox.close();
});
beforeEach(() => {
  sandbox.controls.reset({ schema: true });
  sandbox.controls.resetStats();
});

const read = (client: ReturnType<typeof createHubspotClient>, n: number, budget?: HubspotBudget) => {
  const request = () => client.crm.contacts.batchApi.read({ inputs: [{ id: `U${String(n).padStart(32, '0')}` }], idProperty: 'email', properties: ['email'], propertiesWithHistory: [] });
  return budget ? budget.run(request) : request();
};

test(`a backlog of ${MAX * 4} requests at ${MAX} per ${WINDOW_MS} ms: all answered, none 429, never over the window`, async () => {
  const budget = new HubspotBudget({ max: MAX, windowMs: WINDOW_MS, slackMs: 50 });
  const client = createHubspotClient({ accessToken: SANDBOX_HUBSPOT_ACCESS_TOKEN, baseUrl: sandbox.url, budget });
  const started = Date.now();
  await Promise.all(Array.from({ length: MAX * 4 }, (_, i) => read(client, i, budget)));
  const took = Date.now() - started;
  const stats = sandbox.controls.stats();
  assert.equal(stats.rateLimited, 0);
  assert.ok(stats.maxRequestsInWindow <= MAX, `most in a window: ${stats.maxRequestsInWindow}`);
  assert.ok(took >= 3 * WINDOW_MS, `4 windows' worth takes at least 3 windows (${took} ms)`);
});

test('the same backlog without a budget meets 429s (the test can fail)', async () => {
  const client = createHubspotClient({ accessToken: SANDBOX_HUBSPOT_ACCESS_TOKEN, baseUrl: sandbox.url });
  const answers = await Promise.allSettled(Array.from({ length: MAX * 2 }, (_, i) => read(client, i)));
  assert.ok(answers.some((a) => a.status === 'rejected'));
  assert.ok(sandbox.controls.stats().rateLimited > 0);
});

test("another client fills the window: HubSpot's Remaining holds the budgeted client back, no 429", async () => {
  const other = createHubspotClient({ accessToken: SANDBOX_HUBSPOT_ACCESS_TOKEN, baseUrl: sandbox.url });
  const budget = new HubspotBudget({ max: MAX, windowMs: WINDOW_MS, slackMs: 50 });
  const client = createHubspotClient({ accessToken: SANDBOX_HUBSPOT_ACCESS_TOKEN, baseUrl: sandbox.url, budget });
  await read(client, 0, budget);
  assert.equal(budget.reportedRemaining(), MAX - 1, 'the answer told the window');
  await new Promise((r) => setTimeout(r, WINDOW_MS / 4));
  for (let i = 1; i < MAX - 1; i++) await read(other, i); // the other client takes all but one slot
  await read(client, 98, budget); // the last slot: its answer says 0 remain
  assert.equal(budget.reportedRemaining(), 0);
  const started = Date.now();
  await read(client, 99, budget);
  assert.equal(sandbox.controls.stats().rateLimited, 0, 'it waited for its own first request to leave the window');
  assert.ok(Date.now() - started >= WINDOW_MS / 2, `waited ${Date.now() - started} ms`);
});

test('after a 429 the budgeted client waits a whole window before its next request', async () => {
  const other = createHubspotClient({ accessToken: SANDBOX_HUBSPOT_ACCESS_TOKEN, baseUrl: sandbox.url });
  const budget = new HubspotBudget({ max: MAX, windowMs: WINDOW_MS, slackMs: 50 });
  const client = createHubspotClient({ accessToken: SANDBOX_HUBSPOT_ACCESS_TOKEN, baseUrl: sandbox.url, budget });
  for (let i = 0; i < MAX + 2; i++) await read(other, i).catch(() => {}); // over the window: 2 × 429
  await assert.rejects(read(client, 50, budget), /429/);
  const limited = sandbox.controls.stats().rateLimited;
  const started = Date.now();
  await read(client, 51, budget);
  assert.equal(sandbox.controls.stats().rateLimited, limited, 'no further 429');
  assert.ok(Date.now() - started >= WINDOW_MS, `waited ${Date.now() - started} ms`);
});
