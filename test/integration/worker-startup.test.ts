// On start every worker makes sure the Temporal search attributes and the HubSpot properties exist:
// idempotent, and safe when many workers start at once.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Connection } from '@temporalio/client';
import { HubspotBudget } from '../../src/hubspot/budget.ts';
import { createHubspotClient } from '../../src/hubspot/client.ts';
import { ensureLineProperties } from '../../src/hubspot/ensure-properties.ts';
import { LINE_PROPERTIES } from '../../src/hubspot/properties.ts';
import { SANDBOX_HUBSPOT_ACCESS_TOKEN, startHubspotSandbox } from '../../src/sandbox/hubspot.ts';
import { startDevServer, type DevServer } from '../../src/temporal/dev-server.ts';
import { ensureSearchAttributes } from '../../src/temporal/ensure-search-attributes.ts';
import { SEARCH_ATTRIBUTES } from '../../src/temporal/search-attributes.ts';
import { temporalCliPath } from '../support/stack.ts';

let temporal: DevServer;
let hubspot: Awaited<ReturnType<typeof startHubspotSandbox>>;
before(async () => {
  temporal = await startDevServer({ cliPath: temporalCliPath(), registerSearchAttributes: false });
  hubspot = await startHubspotSandbox({ port: 0 });
});
after(async () => {
  await hubspot?.close();
  await temporal?.stop();
});

test('five workers starting at once create the LINE property group and properties once, as defined', async () => {
  const client = createHubspotClient({ accessToken: SANDBOX_HUBSPOT_ACCESS_TOKEN, baseUrl: hubspot.url });
  const reports = await Promise.all(Array.from({ length: 5 }, () => ensureLineProperties(client)));
  const created = reports.flatMap((r) => r.created);
  assert.equal(created.filter((c) => c === 'line_user_id').length, 1, 'created once');
  assert.deepEqual(
    reports.flatMap((r) => r.problems),
    [],
  );
  for (const definition of LINE_PROPERTIES) {
    const property = await client.crm.properties.coreApi.getByName('contacts', definition.name);
    assert.equal(property.type, definition.type, definition.name);
    assert.equal(property.fieldType, definition.fieldType, definition.name);
    assert.equal(property.groupName, 'line');
    assert.equal(Boolean(property.hasUniqueValue), Boolean(definition.hasUniqueValue), definition.name);
    if (definition.options) assert.deepEqual(property.options.map((o) => o.value).sort(), definition.options.map((o) => o.value).sort());
  }
  const again = await ensureLineProperties(client);
  assert.deepEqual(again, { created: [], updated: [], problems: [] }, 'a later start changes nothing');
});

test('a missing enumeration option is added; a non-unique line_user_id is reported', async () => {
  await fetch(`${hubspot.url}/_sandbox/reset`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ schema: true }) });
  const client = createHubspotClient({ accessToken: SANDBOX_HUBSPOT_ACCESS_TOKEN, baseUrl: hubspot.url });
  await client.crm.properties.groupsApi.create('contacts', { name: 'line', label: 'LINE' });
  await client.crm.properties.coreApi.create('contacts', {
    name: 'line_created_via',
    label: 'LINE Created Via',
    type: 'enumeration',
    fieldType: 'select',
    groupName: 'line',
    options: [{ label: 'FOLLOW', value: 'FOLLOW', displayOrder: 0, hidden: false }],
  } as never);
  await client.crm.properties.coreApi.create('contacts', { name: 'line_user_id', label: 'LINE User ID', type: 'string', fieldType: 'text', groupName: 'line' } as never);
  const report = await ensureLineProperties(client);
  assert.match(report.updated.join(), /line_created_via options UNBLOCK, REPLY, IMPORT, LOGIN, HUBSPOT/);
  assert.match(report.problems.join(), /line_user_id must have unique values/);
  const property = await client.crm.properties.coreApi.getByName('contacts', 'line_created_via');
  assert.equal(property.options.length, 6);
});

test("a worker starting while others have nearly spent HubSpot's window waits its turn (its start-up checks go through its budget)", async () => {
  // A 2 s window of 15 requests, 13 of them spent by "the other workers" just before this one starts.
  const limited = await startHubspotSandbox({ port: 0, requestsPer10s: 15, windowMs: 2000 });
  try {
    const others = createHubspotClient({ accessToken: SANDBOX_HUBSPOT_ACCESS_TOKEN, baseUrl: limited.url });
    const fill = () => Promise.all(Array.from({ length: 13 }, () => others.crm.properties.groupsApi.getAll('contacts')));
    const rateLimited = () => (limited.controls.stats() as { rateLimited: number }).rateLimited;

    await fill();
    const budget = new HubspotBudget({ max: 15, windowMs: 2000 });
    const client = createHubspotClient({ accessToken: SANDBOX_HUBSPOT_ACCESS_TOKEN, baseUrl: limited.url, budget });
    const report = await ensureLineProperties(client, { budget });
    assert.ok(report.created.includes('line_user_id'));
    assert.equal(rateLimited(), 0, 'no start-up check answered 429');

    // The same start without its budget goes over the limit (and only gets through by retrying its 429s).
    await fetch(`${limited.url}/_sandbox/reset`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ schema: true }) });
    await new Promise((resolve) => setTimeout(resolve, 2100));
    await fill();
    await ensureLineProperties(createHubspotClient({ accessToken: SANDBOX_HUBSPOT_ACCESS_TOKEN, baseUrl: limited.url }));
    assert.ok(rateLimited() > 0, 'unpaced, the checks were refused with 429');
  } finally {
    await limited.close();
  }
});

test('five workers starting at once add the Temporal search attributes; later starts add nothing', async () => {
  const connection = await Connection.connect({ address: temporal.address });
  try {
    const results = await Promise.allSettled(Array.from({ length: 5 }, () => ensureSearchAttributes(connection, 'default')));
    assert.deepEqual(
      results.filter((r) => r.status === 'rejected'),
      [],
    );
    const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace: 'default' });
    for (const key of SEARCH_ATTRIBUTES) assert.ok(customAttributes && key.name in customAttributes, `${key.name} exists`);
    assert.deepEqual(await ensureSearchAttributes(connection, 'default'), []);
  } finally {
    await connection.close();
  }
});
