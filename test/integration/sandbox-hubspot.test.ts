// The sandbox HubSpot behaves like HubSpot's CRM v3 API in everything the service relies on,
// checked through the real @hubspot/api-client (and raw HTTP where the SDK cannot say it).
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Client } from '@hubspot/api-client';
import { createHubspotClient } from '../../src/hubspot/client.ts';
import { LINE_PROPERTIES, LINE_PROPERTY_GROUP } from '../../src/hubspot/properties.ts';
import { steppedClock } from '../support/clock.ts';
import { SANDBOX_HUBSPOT_ACCESS_TOKEN, startHubspotSandbox, type HubspotSandboxControls, type StartedHubspotSandbox } from '../../src/sandbox/hubspot.ts';

const UNLIMITED = { requestsPer10s: 0, dailyLimit: 0, searchRequestsPerSecond: 0, windowMs: 10_000, searchLagMs: 0 };
const DAY = 86_400_000;

let sandbox: StartedHubspotSandbox;
let controls: HubspotSandboxControls;
let client: Client;
const clock = steppedClock();

before(async () => {
  sandbox = await startHubspotSandbox({ port: 0, ...UNLIMITED, now: clock.now });
  controls = sandbox.controls;
  client = createHubspotClient({ accessToken: SANDBOX_HUBSPOT_ACCESS_TOKEN, baseUrl: sandbox.url });
});

after(async () => {
  await sandbox.close();
});

beforeEach(() => {
  controls.setLimits(UNLIMITED);
  controls.reset({ schema: true });
});

// ---- helpers ----

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies are inspected field by field
type Json = any;

interface RawAnswer {
  status: number;
  headers: Headers;
  body: Json;
}

/** Raw call through the SDK's own transport (`client.apiRequest`), for what the generated APIs hide. */
async function raw(method: string, path: string, body?: unknown, target: Client = client): Promise<RawAnswer> {
  const response = await target.apiRequest({ method, path, ...(body === undefined ? {} : { body }) });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
}

/** Plain fetch, for the `/_sandbox/` controls and requests the SDK would not send. */
async function http(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<RawAnswer> {
  const response = await fetch(`${sandbox.url}${path}`, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
}

interface ApiError {
  code: number;
  body: Json;
  headers: Record<string, string>;
}

/** Awaits an SDK call that must fail and returns its ApiException. */
async function failure(call: Promise<unknown>): Promise<ApiError> {
  try {
    await call;
  } catch (error) {
    const e = error as ApiError;
    assert.equal(typeof e.code, 'number', `expected an ApiException, got ${String(error)}`);
    return e;
  }
  assert.fail('expected the call to fail');
}

function assertHubspotError(body: Json, category: string, message?: RegExp) {
  assert.equal(body.status, 'error');
  assert.equal(body.category, category);
  assert.equal(typeof body.correlationId, 'string');
  if (message) assert.match(body.message, message);
}

async function createLineSchema() {
  await client.crm.properties.groupsApi.create('contacts', { ...LINE_PROPERTY_GROUP });
  for (const definition of LINE_PROPERTIES) await client.crm.properties.coreApi.create('contacts', { ...definition } as never);
}

const userId = (n: number) => `U${n.toString(16).padStart(32, '0')}`;

const upsert = (inputs: Array<{ id: string; idProperty: string; properties: Record<string, string> }>) => client.crm.contacts.batchApi.upsert({ inputs });

// ---- auth ----

describe('authentication', () => {
  test('a missing or wrong bearer token gets 401 INVALID_AUTHENTICATION', async () => {
    const stranger = createHubspotClient({ accessToken: 'pat-na1-wrong', baseUrl: sandbox.url });
    const error = await failure(stranger.crm.contacts.basicApi.getPage(10));
    assert.equal(error.code, 401);
    assertHubspotError(error.body, 'INVALID_AUTHENTICATION', /^Authentication credentials not found/);

    const none = await http('GET', '/crm/v3/objects/contacts');
    assert.equal(none.status, 401);
    assertHubspotError(none.body, 'INVALID_AUTHENTICATION');
  });

  test('the /_sandbox/ controls need no token', async () => {
    const answer = await http('GET', '/_sandbox/contacts');
    assert.equal(answer.status, 200);
    assert.deepEqual(answer.body, { total: 0, contacts: [] });
  });
});

// ---- properties and groups ----

describe('properties', () => {
  test("the portal starts with HubSpot's default contact properties in group contactinformation", async () => {
    const { results } = await client.crm.properties.coreApi.getAll('contacts');
    const names = new Set(results.map((p) => p.name));
    for (const name of ['email', 'firstname', 'lastname', 'phone', 'company', 'hs_object_id', 'createdate', 'lastmodifieddate', 'hs_additional_emails']) {
      assert.ok(names.has(name), `${name} exists`);
    }
    const email = await client.crm.properties.coreApi.getByName('contacts', 'email');
    assert.equal(email.groupName, 'contactinformation');
    assert.equal(email.type, 'string');
    const groups = await client.crm.properties.groupsApi.getAll('contacts');
    assert.ok(groups.results.some((g) => g.name === 'contactinformation'));
  });

  test('reading a property that does not exist is 404', async () => {
    const error = await failure(client.crm.properties.coreApi.getByName('contacts', 'no_such_property'));
    assert.equal(error.code, 404);
    assertHubspotError(error.body, 'OBJECT_NOT_FOUND');
  });

  test('the product property definitions are accepted and read back as created', async () => {
    await createLineSchema();
    const id = await client.crm.properties.coreApi.getByName('contacts', 'line_user_id');
    assert.equal(id.hasUniqueValue, true);
    assert.equal(id.groupName, 'line');
    const follow = await client.crm.properties.coreApi.getByName('contacts', 'line_follow');
    assert.deepEqual(
      follow.options.map((o) => o.value),
      ['YES', 'NO'],
    );
    assert.ok(follow.createdAt instanceof Date);
  });

  test('creating a property that exists is 409', async () => {
    await createLineSchema();
    const error = await failure(client.crm.properties.coreApi.create('contacts', { ...LINE_PROPERTIES[0] } as never));
    assert.equal(error.code, 409);
    assert.equal(error.body.status, 'error');
    assert.match(error.body.message, /line_user_id/);
    const group = await failure(client.crm.properties.groupsApi.create('contacts', { ...LINE_PROPERTY_GROUP }));
    assert.equal(group.code, 409);
  });

  test('a property in an unknown group, with a wrong fieldType, or an enumeration without options is 400', async () => {
    const base = { name: 'favourite', label: 'Favourite', type: 'string', fieldType: 'text', groupName: 'contactinformation' };
    const unknownGroup = await failure(client.crm.properties.coreApi.create('contacts', { ...base, groupName: 'nope' } as never));
    assert.equal(unknownGroup.code, 400);
    assertHubspotError(unknownGroup.body, 'VALIDATION_ERROR', /nope/);
    const badCombo = await failure(client.crm.properties.coreApi.create('contacts', { ...base, type: 'date', fieldType: 'select' } as never));
    assert.equal(badCombo.code, 400);
    const noOptions = await failure(client.crm.properties.coreApi.create('contacts', { ...base, type: 'enumeration', fieldType: 'select' } as never));
    assert.equal(noOptions.code, 400);
    assertHubspotError(noOptions.body, 'VALIDATION_ERROR', /option/);
  });

  test('at most 10 unique-value properties per object', async () => {
    for (let i = 1; i <= 10; i++) {
      await client.crm.properties.coreApi.create('contacts', {
        name: `key_${i}`,
        label: `Key ${i}`,
        type: 'string',
        fieldType: 'text',
        groupName: 'contactinformation',
        hasUniqueValue: true,
      } as never);
    }
    const error = await failure(
      client.crm.properties.coreApi.create('contacts', { name: 'key_11', label: 'Key 11', type: 'string', fieldType: 'text', groupName: 'contactinformation', hasUniqueValue: true } as never),
    );
    assert.equal(error.code, 400);
    assertHubspotError(error.body, 'VALIDATION_ERROR', /unique/);
  });

  test('hasUniqueValue cannot be changed later; other fields can', async () => {
    await createLineSchema();
    const changeUnique = await raw('PATCH', '/crm/v3/properties/contacts/line_user_id', { hasUniqueValue: false });
    assert.equal(changeUnique.status, 400);
    assertHubspotError(changeUnique.body, 'VALIDATION_ERROR', /hasUniqueValue/);
    const updated = await client.crm.properties.coreApi.update('contacts', 'line_user_name', { label: 'LINE name' });
    assert.equal(updated.label, 'LINE name');
  });

  test('groups are created (201), read by name, and 404 when unknown', async () => {
    const created = await raw('POST', '/crm/v3/properties/contacts/groups', { name: 'loyalty', label: 'Loyalty' });
    assert.equal(created.status, 201);
    const group = await client.crm.properties.groupsApi.getByName('contacts', 'loyalty');
    assert.equal(group.label, 'Loyalty');
    const missing = await failure(client.crm.properties.groupsApi.getByName('contacts', 'none'));
    assert.equal(missing.code, 404);
  });
});

// ---- contacts ----

describe('contacts', () => {
  beforeEach(createLineSchema);

  test('create answers 201 with the written properties; ids are increasing numeric strings', async () => {
    const created = await raw('POST', '/crm/v3/objects/contacts', { properties: { email: 'Taro@Example.COM', firstname: 'Taro' } });
    assert.equal(created.status, 201);
    assert.match(created.body.id, /^\d+$/);
    assert.equal(created.body.properties.email, 'taro@example.com', 'e-mails are lower-cased');
    assert.equal(created.body.properties.hs_object_id, created.body.id);
    assert.match(created.body.createdAt, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    const second = await client.crm.contacts.basicApi.create({ properties: { firstname: 'Jiro' }, associations: [] });
    assert.ok(Number(second.id) > Number(created.body.id));
  });

  test('creating a contact with an existing e-mail is 409 CONFLICT "Contact already exists. Existing ID: N"', async () => {
    const first = await client.crm.contacts.basicApi.create({ properties: { email: 'hanako@example.jp' }, associations: [] });
    const error = await failure(client.crm.contacts.basicApi.create({ properties: { email: 'HANAKO@example.jp' }, associations: [] }));
    assert.equal(error.code, 409);
    assertHubspotError(error.body, 'CONFLICT');
    assert.equal(error.body.message, `Contact already exists. Existing ID: ${first.id}`);
  });

  test('creating a contact with a value another contact holds in a unique property is 409', async () => {
    const first = await client.crm.contacts.basicApi.create({ properties: { line_user_id: userId(1) }, associations: [] });
    const error = await failure(client.crm.contacts.basicApi.create({ properties: { line_user_id: userId(1) }, associations: [] }));
    assert.equal(error.code, 409);
    assertHubspotError(error.body, 'CONFLICT', new RegExp(`Existing ID: ${first.id}$`));
  });

  test('read by id returns the asked properties (null when unset) plus hs_object_id, createdate, lastmodifieddate', async () => {
    const created = await client.crm.contacts.basicApi.create({ properties: { email: 'a@example.com', line_user_id: userId(2) }, associations: [] });
    const read = await client.crm.contacts.basicApi.getById(created.id, ['line_user_id', 'line_user_name']);
    assert.deepEqual(Object.keys(read.properties).sort(), ['createdate', 'hs_object_id', 'lastmodifieddate', 'line_user_id', 'line_user_name']);
    assert.equal(read.properties.line_user_id, userId(2));
    assert.equal(read.properties.line_user_name, null);
    const defaults = await client.crm.contacts.basicApi.getById(created.id);
    assert.deepEqual(Object.keys(defaults.properties).sort(), ['createdate', 'email', 'firstname', 'hs_object_id', 'lastmodifieddate', 'lastname']);
    const commaList = await raw('GET', `/crm/v3/objects/contacts/${created.id}?properties=email,line_user_id`);
    assert.equal(commaList.body.properties.email, 'a@example.com');
    assert.equal(commaList.body.properties.line_user_id, userId(2));
  });

  test('read by idProperty finds a contact by e-mail or by a unique property; a non-unique idProperty is 400', async () => {
    const created = await client.crm.contacts.basicApi.create({ properties: { email: 'b@example.com', line_user_id: userId(3), firstname: 'B' }, associations: [] });
    const byEmail = await client.crm.contacts.basicApi.getById('B@example.com', undefined, undefined, undefined, false, 'email');
    assert.equal(byEmail.id, created.id);
    const byLine = await client.crm.contacts.basicApi.getById(userId(3), ['firstname'], undefined, undefined, false, 'line_user_id');
    assert.equal(byLine.id, created.id);
    const nonUnique = await failure(client.crm.contacts.basicApi.getById('B', undefined, undefined, undefined, false, 'firstname'));
    assert.equal(nonUnique.code, 400);
  });

  test('a contact that does not exist is 404 OBJECT_NOT_FOUND', async () => {
    const error = await failure(client.crm.contacts.basicApi.getById('999999'));
    assert.equal(error.code, 404);
    assertHubspotError(error.body, 'OBJECT_NOT_FOUND');
    const patch = await failure(client.crm.contacts.basicApi.update('999999', { properties: { firstname: 'X' } }));
    assert.equal(patch.code, 404);
    const byUnique = await failure(client.crm.contacts.basicApi.getById(userId(99), undefined, undefined, undefined, false, 'line_user_id'));
    assert.equal(byUnique.code, 404);
  });

  test('update by id or by idProperty changes only the given properties', async () => {
    const created = await client.crm.contacts.basicApi.create({ properties: { email: 'c@example.com', firstname: 'C', line_user_id: userId(4) }, associations: [] });
    await client.crm.contacts.basicApi.update(created.id, { properties: { lastname: 'Sato' } });
    const updated = await client.crm.contacts.basicApi.update(userId(4), { properties: { firstname: 'Chika' } }, 'line_user_id');
    assert.equal(updated.id, created.id);
    assert.equal(updated.properties.firstname, 'Chika');
    const read = await client.crm.contacts.basicApi.getById(created.id, ['firstname', 'lastname', 'email']);
    assert.deepEqual([read.properties.firstname, read.properties.lastname, read.properties.email], ['Chika', 'Sato', 'c@example.com']);
  });

  test("changing a contact's e-mail to another contact's is 409", async () => {
    const first = await client.crm.contacts.basicApi.create({ properties: { email: 'd1@example.com' }, associations: [] });
    const second = await client.crm.contacts.basicApi.create({ properties: { email: 'd2@example.com' }, associations: [] });
    const error = await failure(client.crm.contacts.basicApi.update(second.id, { properties: { email: 'd1@example.com' } }));
    assert.equal(error.code, 409);
    assert.equal(error.body.message, `Contact already exists. Existing ID: ${first.id}`);
  });

  test('an empty string clears a property', async () => {
    const created = await client.crm.contacts.basicApi.create({ properties: { firstname: 'E', lastname: 'Ito' }, associations: [] });
    await client.crm.contacts.basicApi.update(created.id, { properties: { lastname: '' } });
    const read = await client.crm.contacts.basicApi.getById(created.id, ['firstname', 'lastname']);
    assert.equal(read.properties.lastname, null);
    assert.equal(read.properties.firstname, 'E');
  });

  test('archive (DELETE) answers 204; the contact is gone and its e-mail is free again', async () => {
    const created = await client.crm.contacts.basicApi.create({ properties: { email: 'f@example.com' }, associations: [] });
    await client.crm.contacts.basicApi.archive(created.id);
    assert.equal((await failure(client.crm.contacts.basicApi.getById(created.id))).code, 404);
    const again = await client.crm.contacts.basicApi.create({ properties: { email: 'f@example.com' }, associations: [] });
    assert.notEqual(again.id, created.id);
  });

  test('the contact list pages by `after`', async () => {
    for (let i = 0; i < 5; i++) await client.crm.contacts.basicApi.create({ properties: { firstname: `P${i}` }, associations: [] });
    const first = await client.crm.contacts.basicApi.getPage(2, undefined, ['firstname']);
    assert.deepEqual(
      first.results.map((c) => c.properties.firstname),
      ['P0', 'P1'],
    );
    const second = await client.crm.contacts.basicApi.getPage(2, first.paging?.next?.after, ['firstname']);
    assert.deepEqual(
      second.results.map((c) => c.properties.firstname),
      ['P2', 'P3'],
    );
  });
});

// ---- values ----

describe('property values', () => {
  beforeEach(createLineSchema);

  test('a property that does not exist is 400 VALIDATION_ERROR "Property \\"x\\" does not exist"', async () => {
    const error = await failure(client.crm.contacts.basicApi.create({ properties: { favourite_colour: 'blue' }, associations: [] }));
    assert.equal(error.code, 400);
    assertHubspotError(error.body, 'VALIDATION_ERROR', /Property \\?"favourite_colour\\?" does not exist/);
    assert.match(error.body.message, /PROPERTY_DOESNT_EXIST/);
    assert.equal(controls.listContacts().total, 0);
  });

  test('a date must be midnight UTC (epoch ms or YYYY-MM-DD) and reads back as YYYY-MM-DD', async () => {
    const midnight = Date.UTC(2024, 4, 1);
    const created = await client.crm.contacts.basicApi.create({ properties: { line_id_sync_date: String(midnight) }, associations: [] });
    const read = await client.crm.contacts.basicApi.getById(created.id, ['line_id_sync_date']);
    assert.equal(read.properties.line_id_sync_date, '2024-05-01');
    await client.crm.contacts.basicApi.update(created.id, { properties: { line_id_sync_date: '2024-06-02' } });
    assert.equal((await client.crm.contacts.basicApi.getById(created.id, ['line_id_sync_date'])).properties.line_id_sync_date, '2024-06-02');

    const error = await failure(client.crm.contacts.basicApi.create({ properties: { line_id_sync_date: String(midnight + 9 * 3_600_000) }, associations: [] }));
    assert.equal(error.code, 400);
    assertHubspotError(error.body, 'VALIDATION_ERROR', /INVALID_DATE/);
    assert.match(error.body.message, /not midnight/);
  });

  test('a datetime takes epoch ms or ISO 8601 and reads back as ISO 8601 with milliseconds', async () => {
    const at = Date.UTC(2024, 4, 1, 3, 4, 5, 678);
    const created = await client.crm.contacts.basicApi.create({ properties: { line_follow_changed_at: String(at) }, associations: [] });
    const read = await client.crm.contacts.basicApi.getById(created.id, ['line_follow_changed_at']);
    assert.equal(read.properties.line_follow_changed_at, '2024-05-01T03:04:05.678Z');
    await client.crm.contacts.basicApi.update(created.id, { properties: { line_follow_changed_at: '2024-05-02T12:00:00+09:00' } });
    assert.equal((await client.crm.contacts.basicApi.getById(created.id, ['line_follow_changed_at'])).properties.line_follow_changed_at, '2024-05-02T03:00:00.000Z');
    const error = await failure(client.crm.contacts.basicApi.update(created.id, { properties: { line_follow_changed_at: 'yesterday' } }));
    assert.equal(error.code, 400);
  });

  test('an enumeration takes only its option values (400 INVALID_OPTION otherwise)', async () => {
    const ok = await client.crm.contacts.basicApi.create({ properties: { line_follow: 'YES' }, associations: [] });
    assert.equal(ok.properties.line_follow, 'YES');
    const error = await failure(client.crm.contacts.basicApi.create({ properties: { line_follow: 'MAYBE' }, associations: [] }));
    assert.equal(error.code, 400);
    assertHubspotError(error.body, 'VALIDATION_ERROR', /INVALID_OPTION/);
    assert.match(error.body.message, /MAYBE was not one of the allowed options/);
  });

  test('a number must be numeric and an e-mail must look like one', async () => {
    await client.crm.properties.coreApi.create('contacts', { name: 'points', label: 'Points', type: 'number', fieldType: 'number', groupName: 'contactinformation' } as never);
    const created = await client.crm.contacts.basicApi.create({ properties: { points: '42' }, associations: [] });
    assert.equal(created.properties.points, '42');
    assert.equal((await failure(client.crm.contacts.basicApi.create({ properties: { points: 'many' }, associations: [] }))).code, 400);
    const email = await failure(client.crm.contacts.basicApi.create({ properties: { email: 'not-an-email' }, associations: [] }));
    assert.equal(email.code, 400);
    assertHubspotError(email.body, 'VALIDATION_ERROR', /INVALID_EMAIL/);
  });

  test('read-only properties cannot be written', async () => {
    const error = await failure(client.crm.contacts.basicApi.create({ properties: { hs_object_id: '5' }, associations: [] }));
    assert.equal(error.code, 400);
    assert.match(error.body.message, /READ_ONLY_VALUE/);
  });
});

// ---- batch ----

describe('batch', () => {
  beforeEach(createLineSchema);

  test('upsert by a unique property creates (new: true) then updates the same contact (new: false)', async () => {
    const first = await upsert([{ id: userId(10), idProperty: 'line_user_id', properties: { line_user_name: 'Taro', line_follow: 'YES' } }]);
    assert.equal(first.status, 'COMPLETE');
    assert.equal(first.results.length, 1);
    const created = first.results[0]!;
    assert.equal(created._new, true);
    assert.equal(created.properties.line_user_id, userId(10));
    const second = await upsert([{ id: userId(10), idProperty: 'line_user_id', properties: { line_user_name: 'Taro Y.' } }]);
    assert.equal(second.results[0]!._new, false);
    assert.equal(second.results[0]!.id, created.id);
    assert.equal(second.results[0]!.properties.line_user_name, 'Taro Y.');
    assert.equal(controls.listContacts().total, 1);
    const answer = await raw('POST', '/crm/v3/objects/contacts/batch/upsert', { inputs: [{ id: userId(10), idProperty: 'line_user_id', properties: {} }] });
    assert.equal(answer.status, 200);
    assert.equal(answer.body.results[0].new, false, 'the wire field is `new`');
  });

  test('upsert by email creates the contact with that e-mail', async () => {
    const result = await upsert([{ id: 'Mixed@Example.com', idProperty: 'email', properties: { firstname: 'M' } }]);
    assert.equal(result.results[0]!._new, true);
    assert.equal(result.results[0]!.properties.email, 'mixed@example.com');
    const again = await upsert([{ id: 'mixed@example.com', idProperty: 'email', properties: { firstname: 'N' } }]);
    assert.equal(again.results[0]!._new, false);
  });

  test('upsert or update by a non-unique property is 400 "Unable to perform update/upsert by non-unique … property"', async () => {
    const error = await failure(upsert([{ id: 'Taro', idProperty: 'firstname', properties: {} }]));
    assert.equal(error.code, 400);
    assertHubspotError(error.body, 'VALIDATION_ERROR', /^Unable to perform update\/upsert by non-unique .*property firstname/);
    const update = await failure(client.crm.contacts.batchApi.update({ inputs: [{ id: 'Taro', idProperty: 'firstname', properties: { lastname: 'X' } }] }));
    assert.equal(update.code, 400);
  });

  test('more than 100 inputs is 400 on every batch endpoint', async () => {
    const ids = Array.from({ length: 101 }, (_, i) => userId(1000 + i));
    const cases: Array<[string, Promise<unknown>]> = [
      ['read', client.crm.contacts.batchApi.read({ inputs: ids.map((id) => ({ id })), properties: [], propertiesWithHistory: [] })],
      ['create', client.crm.contacts.batchApi.create({ inputs: ids.map((id) => ({ properties: { line_user_id: id }, associations: [] })) })],
      ['update', client.crm.contacts.batchApi.update({ inputs: ids.map((_, i) => ({ id: String(i + 1), properties: {} })) })],
      ['upsert', upsert(ids.map((id) => ({ id, idProperty: 'line_user_id', properties: {} })))],
      ['archive', client.crm.contacts.batchApi.archive({ inputs: ids.map((_, i) => ({ id: String(i + 1) })) })],
    ];
    for (const [name, call] of cases) {
      const error = await failure(call);
      assert.equal(error.code, 400, name);
      assertHubspotError(error.body, 'VALIDATION_ERROR');
    }
    assert.equal(controls.listContacts().total, 0, 'nothing was written');
    const hundred = await upsert(ids.slice(0, 100).map((id) => ({ id, idProperty: 'line_user_id', properties: {} })));
    assert.equal(hundred.results.length, 100, '100 inputs are fine');
  });

  test('the same id twice in one batch is 400', async () => {
    const error = await failure(
      upsert([
        { id: userId(20), idProperty: 'line_user_id', properties: {} },
        { id: userId(20), idProperty: 'line_user_id', properties: { line_follow: 'NO' } },
      ]),
    );
    assert.equal(error.code, 400);
    assertHubspotError(error.body, 'VALIDATION_ERROR', /Duplicate IDs found in batch input/);
    const byEmail = await failure(
      upsert([
        { id: 'dup@example.com', idProperty: 'email', properties: {} },
        { id: 'DUP@example.com', idProperty: 'email', properties: {} },
      ]),
    );
    assert.equal(byEmail.code, 400);
    assert.equal(controls.listContacts().total, 0);
  });

  test('an input that would take a unique value from another contact fails alone: 207 with errors[], the others are written', async () => {
    const owner = await client.crm.contacts.basicApi.create({ properties: { email: 'owner@example.com' }, associations: [] });
    const answer = await raw('POST', '/crm/v3/objects/contacts/batch/upsert', {
      inputs: [
        { id: userId(30), idProperty: 'line_user_id', properties: { email: 'owner@example.com' } },
        { id: userId(31), idProperty: 'line_user_id', properties: { line_user_name: 'Fine' } },
      ],
    });
    assert.equal(answer.status, 207);
    assert.equal(answer.body.status, 'COMPLETE');
    assert.equal(answer.body.numErrors, 1);
    assert.equal(answer.body.results.length, 1);
    assert.equal(answer.body.results[0].properties.line_user_id, userId(31));
    const [error] = answer.body.errors;
    assert.equal(error.status, 'error');
    assert.equal(error.category, 'CONFLICT');
    assert.equal(error.message, `Contact already exists. Existing ID: ${owner.id}`);
    assert.equal(controls.listContacts({ property: 'line_user_id', value: userId(30) }).total, 0);

    // The SDK hands a 207 back as a result with errors, not as an exception.
    const viaSdk = await upsert([
      { id: userId(32), idProperty: 'line_user_id', properties: { email: 'owner@example.com' } },
      { id: userId(33), idProperty: 'line_user_id', properties: {} },
    ]);
    assert.equal((viaSdk as { numErrors?: number }).numErrors, 1);
    assert.equal(viaSdk.results.length, 1);
  });

  test('an unknown property anywhere in a batch rejects the whole batch with 400', async () => {
    const error = await failure(
      upsert([
        { id: userId(40), idProperty: 'line_user_id', properties: { line_user_name: 'ok' } },
        { id: userId(41), idProperty: 'line_user_id', properties: { no_such: 'x' } },
      ]),
    );
    assert.equal(error.code, 400);
    assertHubspotError(error.body, 'VALIDATION_ERROR', /Property \\?"no_such\\?" does not exist/);
    assert.equal(controls.listContacts().total, 0, 'no input was written');
    const create = await failure(client.crm.contacts.batchApi.create({ inputs: [{ properties: { no_such: 'x' }, associations: [] }] }));
    assert.equal(create.code, 400);
  });

  test('batch read: found contacts 200; ids not found 207 with OBJECT_NOT_FOUND and their ids', async () => {
    await upsert([0, 1].map((i) => ({ id: userId(50 + i), idProperty: 'line_user_id', properties: { line_follow: 'YES' } })));
    const found = await client.crm.contacts.batchApi.read({
      inputs: [{ id: userId(50) }, { id: userId(51) }],
      idProperty: 'line_user_id',
      properties: ['line_user_id', 'line_follow'],
      propertiesWithHistory: [],
    });
    assert.equal(found.results.length, 2);
    assert.deepEqual(found.results.map((c) => c.properties.line_user_id).sort(), [userId(50), userId(51)]);

    const partial = await raw('POST', '/crm/v3/objects/contacts/batch/read', { inputs: [{ id: userId(50) }, { id: userId(59) }], idProperty: 'line_user_id', properties: ['line_user_id'] });
    assert.equal(partial.status, 207);
    assert.equal(partial.body.results.length, 1);
    assert.equal(partial.body.numErrors, 1);
    assert.equal(partial.body.errors[0].category, 'OBJECT_NOT_FOUND');
    assert.deepEqual(partial.body.errors[0].context.ids, [userId(59)]);

    const nonUnique = await raw('POST', '/crm/v3/objects/contacts/batch/read', { inputs: [{ id: 'x' }], idProperty: 'firstname', properties: [] });
    assert.equal(nonUnique.status, 400);
  });

  test('batch create answers 201; batch update by id answers 200 and 207 for unknown ids', async () => {
    const created = await raw('POST', '/crm/v3/objects/contacts/batch/create', { inputs: [{ properties: { firstname: 'A' } }, { properties: { firstname: 'B' } }] });
    assert.equal(created.status, 201);
    const [a, b] = created.body.results;
    const updated = await client.crm.contacts.batchApi.update({
      inputs: [
        { id: a.id, properties: { lastname: 'One' } },
        { id: b.id, properties: { lastname: 'Two' } },
      ],
    });
    assert.deepEqual(updated.results.map((c) => c.properties.lastname).sort(), ['One', 'Two']);
    const partial = await raw('POST', '/crm/v3/objects/contacts/batch/update', {
      inputs: [
        { id: a.id, properties: { lastname: 'Uno' } },
        { id: '999999', properties: { lastname: 'X' } },
      ],
    });
    assert.equal(partial.status, 207);
    assert.equal(partial.body.errors[0].category, 'OBJECT_NOT_FOUND');
  });

  const batchCreate = (inputs: Array<{ properties: Record<string, string>; objectWriteTraceId?: string }>) => raw('POST', '/crm/v3/objects/contacts/batch/create', { inputs });

  test('batch create without trace IDs: one input conflicting on e-mail fails the whole batch with one 409, nothing is created', async () => {
    const owner = await client.crm.contacts.basicApi.create({ properties: { email: 'taken@example.com' }, associations: [] });
    const answer = await batchCreate([
      { properties: { firstname: 'A', line_user_id: userId(60) } },
      { properties: { email: 'TAKEN@example.com', line_user_id: userId(61) } },
      { properties: { firstname: 'C', line_user_id: userId(62) } },
    ]);
    assert.equal(answer.status, 409);
    assertHubspotError(answer.body, 'CONFLICT');
    assert.equal(answer.body.message, `Contact already exists. Existing ID: ${owner.id}`);
    assert.equal(answer.body.results, undefined, 'one error, not a batch answer');
    assert.equal(controls.listContacts().total, 1, 'no input of the batch was created');

    // Only the first conflict is named; the SDK throws it.
    const lineOwner = await client.crm.contacts.basicApi.create({ properties: { line_user_id: userId(63) }, associations: [] });
    const error = await failure(
      client.crm.contacts.batchApi.create({
        inputs: [
          { properties: { line_user_id: userId(63) }, associations: [] },
          { properties: { email: 'taken@example.com' }, associations: [] },
        ],
      }),
    );
    assert.equal(error.code, 409);
    assertHubspotError(error.body, 'CONFLICT', new RegExp(`line_user_id .*Existing ID: ${lineOwner.id}$`));
    assert.equal(controls.listContacts().total, 2);
  });

  test('batch create with unique trace IDs (multi-status): 207, the conflicting input fails alone, naming its trace ID; the others are created', async () => {
    const owner = await client.crm.contacts.basicApi.create({ properties: { email: 'taken@example.com' }, associations: [] });
    const answer = await batchCreate([
      { properties: { firstname: 'A', line_user_id: userId(70) }, objectWriteTraceId: 'trace-a' },
      { properties: { email: 'taken@example.com', line_user_id: userId(71) }, objectWriteTraceId: 'trace-b' },
      { properties: { firstname: 'C', line_user_id: userId(72) }, objectWriteTraceId: 'trace-c' },
    ]);
    assert.equal(answer.status, 207);
    assert.equal(answer.body.status, 'COMPLETE');
    assert.equal(answer.body.numErrors, 1);
    assert.deepEqual(answer.body.results.map((c: Json) => c.properties.line_user_id).sort(), [userId(70), userId(72)]);
    const [error] = answer.body.errors;
    assert.equal(error.status, 'error');
    assert.equal(error.category, 'CONFLICT');
    assert.equal(error.message, `Contact already exists. Existing ID: ${owner.id}`);
    assert.deepEqual(error.context.objectWriteTraceId, ['trace-b']);
    assert.equal(controls.listContacts().total, 3);
    assert.equal(controls.listContacts({ property: 'line_user_id', value: userId(71) }).total, 0);

    // The SDK hands the 207 back as a result with errors.
    const viaSdk = await client.crm.contacts.batchApi.create({
      inputs: [
        { properties: { email: 'taken@example.com' }, associations: [], objectWriteTraceId: 'sdk-1' },
        { properties: { line_user_id: userId(73) }, associations: [], objectWriteTraceId: 'sdk-2' },
      ],
    });
    assert.equal(viaSdk.results.length, 1);
    assert.equal((viaSdk as { numErrors?: number }).numErrors, 1);
  });

  test('batch create: two inputs with the same line_user_id — with trace IDs the first is created and the second fails; without, nothing is created', async () => {
    const answer = await batchCreate([
      { properties: { line_user_id: userId(80), firstname: 'First' }, objectWriteTraceId: 'first' },
      { properties: { line_user_id: userId(80), firstname: 'Second' }, objectWriteTraceId: 'second' },
    ]);
    assert.equal(answer.status, 207);
    assert.equal(answer.body.results.length, 1);
    const [created] = answer.body.results;
    assert.equal(created.properties.firstname, 'First');
    assert.equal(answer.body.numErrors, 1);
    const [error] = answer.body.errors;
    assert.equal(error.category, 'CONFLICT');
    assert.deepEqual(error.context.objectWriteTraceId, ['second']);
    assert.match(error.message, new RegExp(`line_user_id .*Existing ID: ${created.id}$`));
    assert.equal(controls.listContacts({ property: 'line_user_id', value: userId(80) }).total, 1);

    const atomic = await batchCreate([
      { properties: { line_user_id: userId(81), firstname: 'First' } },
      { properties: { email: 'fine@example.com' } },
      { properties: { line_user_id: userId(81), firstname: 'Second' } },
    ]);
    assert.equal(atomic.status, 409);
    assertHubspotError(atomic.body, 'CONFLICT', /line_user_id/);
    assert.equal(controls.listContacts().total, 1, 'nothing more was created');

    const sameEmail = await batchCreate([{ properties: { email: 'same@example.com' } }, { properties: { email: 'SAME@example.com' } }]);
    assert.equal(sameEmail.status, 409);
    assertHubspotError(sameEmail.body, 'CONFLICT');
    assert.equal(controls.listContacts().total, 1);
  });

  test('batch create with a duplicate or a missing trace ID is not multi-status: a conflict fails the whole batch with 409', async () => {
    const owner = await client.crm.contacts.basicApi.create({ properties: { email: 'taken@example.com' }, associations: [] });
    const duplicate = await batchCreate([
      { properties: { line_user_id: userId(90) }, objectWriteTraceId: 'same' },
      { properties: { email: 'taken@example.com' }, objectWriteTraceId: 'same' },
      { properties: { line_user_id: userId(91) }, objectWriteTraceId: 'other' },
    ]);
    assert.equal(duplicate.status, 409);
    assertHubspotError(duplicate.body, 'CONFLICT');
    assert.equal(duplicate.body.message, `Contact already exists. Existing ID: ${owner.id}`);
    assert.equal(controls.listContacts().total, 1);

    const missing = await batchCreate([{ properties: { line_user_id: userId(92) }, objectWriteTraceId: 'one' }, { properties: { email: 'taken@example.com' } }]);
    assert.equal(missing.status, 409);
    assertHubspotError(missing.body, 'CONFLICT');
    assert.equal(controls.listContacts().total, 1);

    // Without any conflict such a batch is simply created.
    const fine = await batchCreate([
      { properties: { line_user_id: userId(93) }, objectWriteTraceId: 'same' },
      { properties: { line_user_id: userId(94) }, objectWriteTraceId: 'same' },
    ]);
    assert.equal(fine.status, 201);
    assert.equal(fine.body.results.length, 2);
  });
});

// ---- search ----

describe('search', () => {
  beforeEach(createLineSchema);

  const search = (body: Record<string, unknown>) => client.crm.contacts.searchApi.doSearch({ filterGroups: [], properties: ['line_user_id'], limit: 100, after: '0', sorts: [], ...body } as never);
  const idsOf = (result: { results: Array<{ properties: Record<string, string | null> }> }) => result.results.map((c) => c.properties.line_user_id).sort();

  test('filters EQ, NEQ, HAS_PROPERTY, NOT_HAS_PROPERTY, IN, GT/GTE/LT/LTE; groups are ORed, filters ANDed', async () => {
    const day = Date.UTC(2024, 0, 1);
    await upsert([
      { id: userId(1), idProperty: 'line_user_id', properties: { line_follow: 'YES', line_id_sync_date: String(day), email: 'one@example.com' } },
      { id: userId(2), idProperty: 'line_user_id', properties: { line_follow: 'NO', line_id_sync_date: String(day + DAY) } },
      { id: userId(3), idProperty: 'line_user_id', properties: { line_follow: 'YES', line_id_sync_date: String(day + 2 * DAY) } },
    ]);
    await client.crm.contacts.basicApi.create({ properties: { firstname: 'Not LINE' }, associations: [] });
    const f = (propertyName: string, operator: string, value?: string, values?: string[]) => ({ propertyName, operator, ...(value !== undefined ? { value } : {}), ...(values ? { values } : {}) });
    const where = (...filters: object[]) => search({ filterGroups: [{ filters }] });

    assert.deepEqual(idsOf(await where(f('line_follow', 'EQ', 'YES'))), [userId(1), userId(3)]);
    assert.deepEqual(idsOf(await where(f('line_follow', 'NEQ', 'YES'), f('line_user_id', 'HAS_PROPERTY'))), [userId(2)]);
    assert.equal((await where(f('line_user_id', 'HAS_PROPERTY'))).total, 3);
    assert.equal((await where(f('line_user_id', 'NOT_HAS_PROPERTY'))).total, 1);
    assert.deepEqual(idsOf(await where(f('line_user_id', 'IN', undefined, [userId(1), userId(2)]))), [userId(1), userId(2)]);
    assert.deepEqual(idsOf(await where(f('line_id_sync_date', 'GT', String(day)))), [userId(2), userId(3)]);
    assert.deepEqual(idsOf(await where(f('line_id_sync_date', 'GTE', '2024-01-02'), f('line_id_sync_date', 'LTE', String(day + DAY)))), [userId(2)]);
    assert.deepEqual(idsOf(await where(f('line_id_sync_date', 'LT', String(day + DAY)))), [userId(1)]);
    assert.deepEqual(idsOf(await where(f('email', 'EQ', 'ONE@example.com'))), [userId(1)]);
    const ored = await search({ filterGroups: [{ filters: [f('line_follow', 'EQ', 'NO')] }, { filters: [f('email', 'EQ', 'one@example.com')] }] });
    assert.deepEqual(idsOf(ored), [userId(1), userId(2)]);
  });

  test('search pages with paging.next.after; limit above 200 or paging past 10,000 results is 400', async () => {
    await upsert(Array.from({ length: 5 }, (_, i) => ({ id: userId(100 + i), idProperty: 'line_user_id', properties: {} })));
    const first = await search({ limit: 2, sorts: ['hs_object_id'] });
    assert.equal(first.total, 5);
    assert.equal(first.results.length, 2);
    const next = first.paging?.next?.after;
    assert.equal(next, '2');
    const second = await search({ limit: 2, after: next, sorts: ['hs_object_id'] });
    assert.deepEqual(
      second.results.map((c) => c.properties.line_user_id),
      [userId(102), userId(103)],
    );
    const last = await search({ limit: 2, after: '4', sorts: ['hs_object_id'] });
    assert.equal(last.paging, undefined);

    const tooMany = await failure(search({ limit: 201 }));
    assert.equal(tooMany.code, 400);
    assertHubspotError(tooMany.body, 'VALIDATION_ERROR');
    const tooFar = await failure(search({ limit: 100, after: '9950' }));
    assert.equal(tooFar.code, 400);
  });

  test('search lags behind writes by searchLagMs; reads by id do not', async () => {
    controls.setLimits({ searchLagMs: 600 });
    const created = await upsert([{ id: userId(200), idProperty: 'line_user_id', properties: { line_follow: 'YES' } }]);
    const where = { filterGroups: [{ filters: [{ propertyName: 'line_user_id', operator: 'EQ', value: userId(200) }] }] };
    assert.equal((await search(where)).total, 0, 'not yet indexed');
    const read = await client.crm.contacts.basicApi.getById(created.results[0]!.id, ['line_follow']);
    assert.equal(read.properties.line_follow, 'YES');
    clock.advance(700);
    assert.equal((await search(where)).total, 1, 'indexed after the lag');

    await client.crm.contacts.basicApi.update(read.id, { properties: { line_follow: 'NO' } });
    const follow = (value: string) => ({ filterGroups: [{ filters: [{ propertyName: 'line_follow', operator: 'EQ', value }] }] });
    assert.equal((await search(follow('YES'))).total, 1, 'search still sees the old value');
    clock.advance(700);
    assert.equal((await search(follow('YES'))).total, 0);
    assert.equal((await search(follow('NO'))).total, 1);
  });

  test('search has its own per-second limit: 429 with policyName SECONDLY', async () => {
    controls.setLimits({ searchRequestsPerSecond: 2 });
    await search({});
    await search({});
    const error = await failure(search({}));
    assert.equal(error.code, 429);
    assert.equal(error.body.errorType, 'RATE_LIMIT');
    assert.equal(error.body.policyName, 'SECONDLY');
  });
});

// ---- merge ----

describe('merge', () => {
  beforeEach(createLineSchema);

  test('the primary keeps its id and e-mail; the merged e-mail becomes an additional e-mail; gaps are filled; the merged id is gone', async () => {
    const existing = await client.crm.contacts.basicApi.create({ properties: { email: 'real@example.com', firstname: 'Hanako' }, associations: [] });
    const line = await upsert([{ id: userId(300), idProperty: 'line_user_id', properties: { email: `${userId(300)}@line.me`, line_user_name: 'hanako', line_follow: 'YES' } }]);
    const lineId = line.results[0]!.id;

    const merged = await client.crm.contacts.basicApi.merge({ primaryObjectId: existing.id, objectIdToMerge: lineId });
    assert.equal(merged.id, existing.id);

    const read = await client.crm.contacts.basicApi.getById(existing.id, ['email', 'firstname', 'line_user_id', 'line_user_name', 'line_follow', 'hs_additional_emails']);
    assert.equal(read.properties.email, 'real@example.com');
    assert.equal(read.properties.hs_additional_emails, `${userId(300)}@line.me`.toLowerCase());
    assert.equal(read.properties.firstname, 'Hanako');
    assert.equal(read.properties.line_user_id, userId(300));
    assert.equal(read.properties.line_follow, 'YES');

    assert.equal((await failure(client.crm.contacts.basicApi.getById(lineId))).code, 404);
    const byLineId = await client.crm.contacts.basicApi.getById(userId(300), undefined, undefined, undefined, false, 'line_user_id');
    assert.equal(byLineId.id, existing.id, 'unique values moved to the primary');
    const byOldEmail = await client.crm.contacts.basicApi.getById(`${userId(300)}@line.me`, undefined, undefined, undefined, false, 'email');
    assert.equal(byOldEmail.id, existing.id);
    const again = await upsert([{ id: userId(300), idProperty: 'line_user_id', properties: { line_follow: 'NO' } }]);
    assert.equal(again.results[0]!._new, false);
    assert.equal(again.results[0]!.id, existing.id);
    assert.equal(controls.listContacts().total, 1);
  });

  test('for a property both have, the most recently set value wins', async () => {
    const a = await client.crm.contacts.basicApi.create({ properties: { firstname: 'Old', lastname: 'Kept' }, associations: [] });
    clock.advance(5);
    const b = await client.crm.contacts.basicApi.create({ properties: { firstname: 'New' }, associations: [] });
    await client.crm.contacts.basicApi.merge({ primaryObjectId: a.id, objectIdToMerge: b.id });
    const read = await client.crm.contacts.basicApi.getById(a.id, ['firstname', 'lastname']);
    assert.equal(read.properties.firstname, 'New');
    assert.equal(read.properties.lastname, 'Kept');
  });

  test('merging a contact into itself is 400; merging an unknown contact is 404', async () => {
    const a = await client.crm.contacts.basicApi.create({ properties: { firstname: 'A' }, associations: [] });
    const self = await failure(client.crm.contacts.basicApi.merge({ primaryObjectId: a.id, objectIdToMerge: a.id }));
    assert.equal(self.code, 400);
    assertHubspotError(self.body, 'VALIDATION_ERROR');
    const unknown = await raw('POST', '/crm/v3/objects/contacts/merge', { primaryObjectId: a.id, objectIdToMerge: '999999' });
    assert.equal(unknown.status, 404);
  });
});

// ---- rate limits ----

describe('rate limits', () => {
  test('every answer carries the rate-limit headers; over the burst limit comes 429 TEN_SECONDLY_ROLLING, and the window recovers', async () => {
    controls.setLimits({ requestsPer10s: 5, windowMs: 1500 });
    const ok = await raw('GET', '/crm/v3/objects/contacts');
    assert.equal(ok.status, 200);
    assert.equal(ok.headers.get('x-hubspot-ratelimit-max'), '5');
    assert.equal(ok.headers.get('x-hubspot-ratelimit-remaining'), '4');
    assert.equal(ok.headers.get('x-hubspot-ratelimit-interval-milliseconds'), '1500');
    for (let i = 0; i < 4; i++) assert.equal((await raw('GET', '/crm/v3/objects/contacts')).status, 200);

    const error = await failure(client.crm.contacts.basicApi.getPage(10));
    assert.equal(error.code, 429);
    assert.equal(error.body.status, 'error');
    assert.equal(error.body.errorType, 'RATE_LIMIT');
    assert.equal(error.body.policyName, 'TEN_SECONDLY_ROLLING');
    assert.equal(error.body.message, 'You have reached your ten_secondly_rolling limit.');
    assert.equal(typeof error.body.correlationId, 'string');
    assert.equal(typeof error.body.groupName, 'string');
    assert.equal(error.headers['x-hubspot-ratelimit-remaining'], '0');
    assert.equal(error.headers['x-hubspot-ratelimit-max'], '5');
    assert.equal(error.headers['x-hubspot-ratelimit-interval-milliseconds'], '1500');

    clock.advance(1600);
    assert.equal((await raw('GET', '/crm/v3/objects/contacts')).status, 200, 'a new window admits requests again');
    const stats = controls.stats();
    assert.equal(stats.rateLimited, 1);
    assert.equal(stats.rateLimitedByPolicy.TEN_SECONDLY_ROLLING, 1);
    assert.equal(stats.maxRequestsInWindow, 6, 'the rejected request counted too');
  });

  test('over the daily limit comes 429 DAILY with the daily headers', async () => {
    controls.setLimits({ dailyLimit: 3 });
    for (let i = 0; i < 3; i++) {
      const answer = await raw('GET', '/crm/v3/objects/contacts');
      assert.equal(answer.status, 200);
      assert.equal(answer.headers.get('x-hubspot-ratelimit-daily'), '3');
      assert.equal(answer.headers.get('x-hubspot-ratelimit-daily-remaining'), String(2 - i));
    }
    const error = await failure(client.crm.contacts.basicApi.getPage(10));
    assert.equal(error.code, 429);
    assert.equal(error.body.policyName, 'DAILY');
    assert.equal(error.body.errorType, 'RATE_LIMIT');
    assert.equal(error.headers['x-hubspot-ratelimit-daily-remaining'], '0');
  });

  test('limits can be set over HTTP and /_sandbox/ calls never count', async () => {
    const set = await http('POST', '/_sandbox/limits', { requestsPer10s: 2, windowMs: 5000 });
    assert.equal(set.status, 200);
    assert.equal(set.body.requestsPer10s, 2);
    for (let i = 0; i < 5; i++) await http('GET', '/_sandbox/stats');
    assert.equal((await raw('GET', '/crm/v3/objects/contacts')).status, 200);
    assert.equal((await raw('GET', '/crm/v3/objects/contacts')).status, 200);
    assert.equal((await raw('GET', '/crm/v3/objects/contacts')).status, 429);
  });
});

// ---- faults and controls ----

describe('fault injection and controls', () => {
  beforeEach(createLineSchema);

  test('the next N matching calls get the injected status with a HubSpot error body, then calls succeed again', async () => {
    const injected = await http('POST', '/_sandbox/faults', { status: 503, count: 2, pathPrefix: '/crm/v3/objects/contacts/batch/upsert' });
    assert.equal(injected.status, 201);
    const other = await client.crm.contacts.basicApi.getPage(10);
    assert.ok(Array.isArray(other.results), 'other paths are not affected');
    for (let i = 0; i < 2; i++) {
      const error = await failure(upsert([{ id: userId(400), idProperty: 'line_user_id', properties: {} }]));
      assert.equal(error.code, 503);
      assert.equal(error.body.status, 'error');
    }
    const ok = await upsert([{ id: userId(400), idProperty: 'line_user_id', properties: {} }]);
    assert.equal(ok.results.length, 1);
    assert.equal(controls.stats().faultsInjected, 2);
  });

  test('an injected 429 carries the real RATE_LIMIT body and headers', async () => {
    await http('POST', '/_sandbox/faults', { status: 429, count: 1 });
    const error = await failure(client.crm.contacts.basicApi.getPage(10));
    assert.equal(error.code, 429);
    assert.equal(error.body.errorType, 'RATE_LIMIT');
    assert.equal(error.body.policyName, 'TEN_SECONDLY_ROLLING');
    assert.ok(error.headers['x-hubspot-ratelimit-interval-milliseconds']);
    assert.equal((await http('DELETE', '/_sandbox/faults')).status, 204);
  });

  test('a contact can be created as if by a user in HubSpot, and listed by property value', async () => {
    const created = await http('POST', '/_sandbox/contacts', { properties: { email: 'ui@example.com', line_user_id: userId(500), line_id_sync_date: '2024-05-01' } });
    assert.equal(created.status, 201);
    assert.equal(created.body.properties.line_id_sync_date, '2024-05-01');
    const listed = await http('GET', `/_sandbox/contacts?property=line_user_id&value=${userId(500)}`);
    assert.equal(listed.body.total, 1);
    const [contact] = listed.body.contacts;
    assert.equal(contact.id, created.body.id);
    assert.equal(contact.properties.email, 'ui@example.com');
    assert.equal(contact.archived, false);
    assert.equal(typeof contact.createdAt, 'string');
    const none = await http('GET', `/_sandbox/contacts?property=line_user_id&value=${userId(501)}`);
    assert.deepEqual(none.body, { total: 0, contacts: [] });
    const bad = await http('POST', '/_sandbox/contacts', { properties: { nope: 'x' } });
    assert.equal(bad.status, 400);
    assertHubspotError(bad.body, 'VALIDATION_ERROR');
  });

  test('stats count requests per endpoint and reset clears contacts, faults and stats', async () => {
    controls.resetStats();
    await upsert([{ id: userId(600), idProperty: 'line_user_id', properties: {} }]);
    await client.crm.contacts.batchApi.read({ inputs: [{ id: userId(600) }], idProperty: 'line_user_id', properties: [], propertiesWithHistory: [] });
    await http('GET', '/_sandbox/contacts');
    const stats = await http('GET', '/_sandbox/stats');
    assert.equal(stats.body.total, 2);
    assert.equal(stats.body.endpoints['POST /crm/v3/objects/contacts/batch/upsert'], 1);
    assert.equal(stats.body.endpoints['POST /crm/v3/objects/contacts/batch/read'], 1);
    assert.equal(stats.body.statuses['200'], 2);
    assert.equal(stats.body.maxRequestsIn10s, 2);

    await http('POST', '/_sandbox/faults', { status: 500, count: 5 });
    assert.equal((await http('POST', '/_sandbox/reset')).status, 204);
    assert.equal((await http('GET', '/_sandbox/contacts')).body.total, 0);
    assert.deepEqual((await http('GET', '/_sandbox/faults')).body.pending, []);
    assert.equal((await http('GET', '/_sandbox/stats')).body.total, 0);
    const property = await client.crm.properties.coreApi.getByName('contacts', 'line_user_id');
    assert.equal(property.name, 'line_user_id', 'a plain reset keeps the property schema');
  });
});
