// Import of existing friends, end to end: a real Temporal dev server, the workers, the HTTP server
// and the sandbox LINE and HubSpot APIs over HTTP.
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { syncDate } from '../../src/contact/values.ts';
import { buildApp } from '../../src/server/app.ts';
import { newLineUserId, sendLineWebhook, unfollowEvent } from '../../src/sandbox/line-webhook.ts';
import { cancelImport, getImportProgress, importTargetOf, startImport, type ImportStatus, type StartImportOptions } from '../../src/temporal/import-client.ts';
import { importWorkflowId, inboxWorkflowId } from '../../src/temporal/ids.ts';
import { importRowsSignal, inboxStateQuery, type ImportRows, type InboxState } from '../../src/contracts.ts';
import { eventually, startStack, type Stack } from '../support/stack.ts';
import { allContacts, blockFriend, call, clearFaults, contactsWith, injectFaults, lineContact, sandboxStats, type SandboxContact } from '../support/sandbox-http.ts';
import { appliedEvents, friendStatus } from '../support/writer.ts';

const ADMIN_TOKEN = 'import-test-admin-token-0123456789';
const TODAY = () => Number(syncDate(Date.now(), 'UTC'));
const OLD_SYNC_DATE = String(Date.UTC(2020, 0, 15));

let stack: Stack;

before(async () => {
  stack = await startStack({ env: { ADMIN_TOKEN } });
});
after(async () => {
  await stack?.stop();
});
beforeEach(async () => {
  await call('POST', `${stack.line.url}/_sandbox/reset`);
  await call('POST', `${stack.hubspot.url}/_sandbox/reset`, {});
});

interface HubspotStats {
  endpoints: Record<string, number>;
  statuses: Record<string, number>;
  rateLimited: number;
}
const requestsTo = (stats: HubspotStats, path: string) => stats.endpoints[`POST /crm/v3/objects/contacts/batch/${path}`] ?? 0;

/** Seeds friends (in follower order) with known names; every tenth has no picture. */
async function seedFriends(count: number): Promise<string[]> {
  const ids = Array.from({ length: count }, () => newLineUserId());
  const friends = ids.map((userId, i) => ({ userId, displayName: `Friend ${i}`, pictureUrl: i % 10 === 9 ? null : `https://profile.line-scdn.net/p${i}` }));
  await call('POST', `${stack.line.url}/_sandbox/friends`, { friends });
  return ids;
}
const nameOf = (i: number) => `Friend ${i}`;
const pictureOf = (i: number) => (i % 10 === 9 ? undefined : `https://profile.line-scdn.net/p${i}`);

const createContact = (properties: Record<string, string>) => call<SandboxContact>('POST', `${stack.hubspot.url}/_sandbox/contacts`, { properties });

const target = (options: Partial<StartImportOptions> = {}): StartImportOptions => ({ ...importTargetOf(stack.config), ...options });

async function progress(importId: string): Promise<ImportStatus> {
  const status = await getImportProgress(stack.client, importId, { channelId: stack.config.lineChannelId });
  assert.ok(status, `import ${importId} is known`);
  return status;
}

async function finished(importId: string, timeoutMs = 45_000): Promise<ImportStatus> {
  return eventually(
    async () => {
      const status = await progress(importId);
      return status.state === 'running' ? undefined : status;
    },
    { timeoutMs, intervalMs: 200, what: `import ${importId} to end` },
  );
}

function admin(method: string, path: string, body?: unknown, token: string | null = ADMIN_TOKEN) {
  return fetch(`${stack.url}${path}`, {
    method,
    headers: { ...(token === null ? {} : { authorization: `Bearer ${token}` }), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

/** The channel's contact writers (one per shard), as the inboxState query shows them; a writer not running counts as idle. */
async function writerStates(): Promise<InboxState[]> {
  const states: InboxState[] = [];
  for (let shard = 0; shard < stack.config.lineInboxShards; shard++) {
    try {
      states.push(await stack.client.workflow.getHandle(inboxWorkflowId(stack.config.lineChannelId, shard)).query(inboxStateQuery));
    } catch (error) {
      if ((error as Error).name !== 'WorkflowNotFoundError') throw error;
    }
  }
  return states;
}
const writer = () => ({ client: stack.client, channelId: stack.config.lineChannelId, shards: stack.config.lineInboxShards });
const dummyEmailOf = (userId: string) => `${userId.toLowerCase()}@line.me`;
/** Waits until HubSpot has answered at least one batch create with the status (an injected fault: the batch has read and decided). */
const createAnswered = (status: number) =>
  eventually(async () => (((await sandboxStats<HubspotStats>(stack.hubspot.url)).statuses[String(status)] ?? 0) >= 1 ? true : undefined), { what: `a batch create answered ${status}` });

const byUserId = (contacts: SandboxContact[]) => new Map(contacts.filter((c) => c.properties.line_user_id).map((c) => [c.properties.line_user_id!, c]));

describe('importing existing friends', () => {
  test('2,500 friends over 3 pages: contacts created, existing ones completed, blocked ones skipped; a re-run changes nothing', async () => {
    const ids = await seedFriends(2500);
    // Existing contacts with real e-mails: made by hand in HubSpot (only a LINE user ID) …
    const handMade = ids.slice(100, 110);
    for (const [n, userId] of handMade.entries()) await createContact({ email: `hand${n}@example.com`, line_user_id: userId });
    // … LINE contacts that are already right (sync date from 2020 must stay) …
    const right = ids.slice(1200, 1210);
    for (const [n, userId] of right.entries()) {
      const i = 1200 + n;
      // (right down to line_language: the profile's, when LINE gives one)
      const { language } = await call<{ language?: string }>('GET', `${stack.line.url}/_sandbox/friends/${userId}`);
      await createContact({
        ...(language ? { line_language: language } : {}),
        email: `right${n}@example.com`,
        line_user_id: userId,
        line_user_name: nameOf(i),
        ...(pictureOf(i) ? { line_user_picture: pictureOf(i)! } : {}),
        line_id_sync_date: OLD_SYNC_DATE,
        line_follow: 'YES',
        line_follow_changed_at: String(Date.now() - 86_400_000),
        line_created_via: 'LOGIN',
      });
    }
    // … LINE contacts that blocked long ago (the import's newer observation sets YES) …
    const blockedLongAgo = ids.slice(2100, 2110);
    for (const [n, userId] of blockedLongAgo.entries()) {
      await createContact({
        email: `old${n}@example.com`,
        line_user_id: userId,
        line_follow: 'NO',
        line_follow_changed_at: String(Date.now() - 86_400_000),
        line_id_sync_date: OLD_SYNC_DATE,
        line_created_via: 'FOLLOW',
      });
    }
    // … and one whose NO was observed after this import will read its page (an observation from the future).
    const newerNo = ids[2200]!;
    const { language: newerNoLanguage } = await call<{ language?: string }>('GET', `${stack.line.url}/_sandbox/friends/${newerNo}`);
    await createContact({
      ...(newerNoLanguage ? { line_language: newerNoLanguage } : {}),
      email: 'newer@example.com',
      line_user_id: newerNo,
      line_user_name: nameOf(2200),
      line_user_picture: pictureOf(2200)!,
      line_follow: 'NO',
      line_follow_changed_at: String(Date.now() + 3_600_000),
      line_created_via: 'FOLLOW',
      line_id_sync_date: OLD_SYNC_DATE,
    });

    // Five friends of page 1 block between the page read and their profile read: LINE's profile
    // endpoint fails until the test has seen the page answered and blocked them.
    const blockers = ids.slice(10, 15);
    await injectFaults(stack.line.url, { status: 503, count: 1_000_000, pathPrefix: '/v2/bot/profile/' });
    const started = await startImport(stack.client, target());
    assert.equal(started.alreadyRunning, false);
    assert.equal(started.workflowId, importWorkflowId(stack.config.lineChannelId));
    await eventually(
      async () => {
        const stats = await call<Record<string, { requests: number }>>('GET', `${stack.line.url}/_sandbox/stats`);
        return (stats['GET /v2/bot/followers/ids']?.requests ?? 0) >= 1 ? true : undefined;
      },
      { what: 'the first follower page read' },
    );
    for (const userId of blockers) await blockFriend(stack.line.url, userId);
    await clearFaults(stack.line.url);

    const first = await finished(started.importId);
    assert.equal(first.state, 'completed', first.message);
    assert.equal(first.importId, started.importId);
    assert.equal(first.pages, 3);
    assert.equal(first.friendsSeen, 2500);
    assert.equal(first.skipped, 5);
    assert.equal(first.failed, 0);
    assert.equal(first.updated, 10 + 10 + 0, 'hand-made contacts completed, long-ago blocks set to YES');
    assert.equal(first.unchanged, 10 + 1, 'already right, and the newer NO');
    assert.equal(first.created, 2500 - 5 - 31);

    const contacts = await allContacts(stack.hubspot.url);
    const lineContacts = byUserId(contacts);
    assert.equal(contacts.length, 2500 - 5, 'one contact per friend, none for those who blocked');
    assert.equal(lineContacts.size, contacts.length);
    const today = TODAY();
    for (const [i, userId] of ids.entries()) {
      const contact = lineContacts.get(userId);
      if (blockers.includes(userId)) {
        assert.equal(contact, undefined, `no contact for ${userId}, who blocked before the profile read`);
        continue;
      }
      assert.ok(contact, `contact of friend ${i}`);
      const p = contact.properties;
      assert.equal(p.line_user_name, nameOf(i));
      assert.equal(p.line_user_picture || undefined, pictureOf(i));
      if (userId === newerNo) {
        assert.equal(p.line_follow, 'NO', 'a follow state observed later is not overwritten');
        continue;
      }
      assert.equal(p.line_follow, 'YES');
      const changedAt = Date.parse(p.line_follow_changed_at!);
      if (right.includes(userId)) {
        assert.equal(p.email, `right${right.indexOf(userId)}@example.com`);
        assert.equal(p.line_created_via, 'LOGIN');
        assert.equal(Date.parse(`${p.line_id_sync_date}T00:00:00Z`), Number(OLD_SYNC_DATE), 'the first sync date stays');
      } else if (handMade.includes(userId)) {
        assert.equal(p.email, `hand${handMade.indexOf(userId)}@example.com`, 'a real e-mail is never replaced');
        assert.equal(p.line_created_via, 'HUBSPOT', 'a contact with a LINE user ID before the service wrote to it');
        assert.equal(Date.parse(`${p.line_id_sync_date}T00:00:00Z`), today);
        assert.ok(changedAt >= Date.parse(first.startedAt), 'follow state stamped with the page read');
      } else if (blockedLongAgo.includes(userId)) {
        assert.equal(p.email, `old${blockedLongAgo.indexOf(userId)}@example.com`);
        assert.equal(p.line_created_via, 'FOLLOW');
        assert.equal(Date.parse(`${p.line_id_sync_date}T00:00:00Z`), Number(OLD_SYNC_DATE));
        assert.ok(changedAt >= Date.parse(first.startedAt), 'the newer observation (the page read) wins');
      } else {
        assert.equal(p.email, `${userId.toLowerCase()}@line.me`, 'dummy e-mail for a new contact');
        assert.equal(p.line_created_via, 'IMPORT');
        assert.equal(Date.parse(`${p.line_id_sync_date}T00:00:00Z`), today);
        assert.ok(changedAt >= Date.parse(first.startedAt) && changedAt <= Date.parse(first.finishedAt!));
      }
    }
    assert.equal(contacts.filter((c) => c.properties.email?.endsWith('@line.me')).length, first.created, 'dummy e-mails only on created contacts');

    const stats = await sandboxStats<HubspotStats>(stack.hubspot.url);
    assert.equal(requestsTo(stats, 'read'), 25, 'one batch read per 100 friends');
    assert.equal(requestsTo(stats, 'create'), 25, 'one batch create per 100 friends (every batch has new friends)');
    assert.ok(requestsTo(stats, 'create') + requestsTo(stats, 'update') <= 27, 'creates and updates of a batch: at most one request each');
    assert.equal(stats.rateLimited, 0);

    // The Temporal UI finds it by channel and kind.
    const listed = [];
    for await (const run of stack.client.workflow.list({ query: `LineChannelId = '${stack.config.lineChannelId}' AND LineSyncKind = 'import' AND LineImportId = '${started.importId}'` }))
      listed.push(run);
    assert.equal(listed.length, 3, 'one run per page (continue-as-new), all findable by import ID');
    assert.ok(
      listed.every((run) => run.historyLength < 400),
      `bounded history per run: ${listed.map((r) => r.historyLength).join(', ')}`,
    );

    // A re-run: nothing to change, nothing written.
    await call('DELETE', `${stack.hubspot.url}/_sandbox/stats`);
    const snapshot = new Map(contacts.map((c) => [c.id, JSON.stringify([c.properties, c.updatedAt])]));
    const rerun = await startImport(stack.client, target());
    assert.notEqual(rerun.importId, started.importId);
    const second = await finished(rerun.importId);
    assert.equal(second.state, 'completed', second.message);
    assert.deepEqual(
      { friendsSeen: second.friendsSeen, created: second.created, updated: second.updated, unchanged: second.unchanged, skipped: second.skipped, failed: second.failed },
      { friendsSeen: 2495, created: 0, updated: 0, unchanged: 2495, skipped: 0, failed: 0 },
    );
    const afterRerun = await allContacts(stack.hubspot.url);
    assert.equal(afterRerun.length, contacts.length);
    for (const c of afterRerun) assert.equal(JSON.stringify([c.properties, c.updatedAt]), snapshot.get(c.id), `contact ${c.id} untouched`);
    const rerunStats = await sandboxStats<HubspotStats>(stack.hubspot.url);
    assert.equal(requestsTo(rerunStats, 'create') + requestsTo(rerunStats, 'update'), 0, 'a re-run writes nothing');

    // The first import is still found, with its own figures, after the newer one ran.
    const old = await getImportProgress(stack.client, started.importId);
    assert.equal(old?.state, 'completed');
    assert.equal(old?.created, first.created);
  });

  test('HubSpot refusing some contacts of a batch (207): retried, then counted as failed with the reason; the rest is imported', async () => {
    const ids = await seedFriends(30);
    // Another LINE user's contact holds friend 7's dummy e-mail: HubSpot refuses to create a second contact
    // with it, and that contact is not friend 7's to adopt (its line_user_id is someone else's).
    const someoneElse = newLineUserId();
    const other = await createContact({ email: dummyEmailOf(ids[7]!), firstname: 'Not this friend', line_user_id: someoneElse });
    const started = await startImport(stack.client, target());
    const done = await finished(started.importId);
    assert.equal(done.state, 'completed');
    assert.equal(done.created, 29);
    assert.equal(done.failed, 1);
    assert.equal(done.updated + done.unchanged + done.skipped, 0);
    assert.equal(done.failures[0]?.userId, ids[7]);
    assert.match(done.failures[0]!.reason, /already exists/i);
    const stats = await sandboxStats<HubspotStats>(stack.hubspot.url);
    assert.equal(requestsTo(stats, 'create'), 3, 'the batch, then only the refused input, twice more');
    assert.equal(stats.statuses['409'], undefined, 'never a whole batch refused (409): HubSpot answered per input');
    assert.equal(requestsTo(stats, 'update'), 0, 'nothing written to the other contact');
    assert.equal(await lineContact(stack.hubspot.url, ids[7]!), undefined);
    const untouched = await lineContact(stack.hubspot.url, someoneElse);
    assert.equal(untouched?.id, other.id);
    assert.equal(untouched?.updatedAt, other.updatedAt, "the other user's contact is untouched");
    assert.equal((await allContacts(stack.hubspot.url)).length, 30);
  });

  test("an orphaned dummy e-mail (a contact holding the friend's <U…>@line.me without line_user_id) is adopted: the import completes, one contact", async () => {
    const ids = await seedFriends(30);
    const orphan = ids[7]!;
    const seeded = await createContact({ email: dummyEmailOf(orphan), firstname: 'Lost its LINE user ID' });
    const started = await startImport(stack.client, target());
    const done = await finished(started.importId);
    assert.equal(done.state, 'completed', done.message);
    assert.deepEqual(
      { friendsSeen: done.friendsSeen, created: done.created, updated: done.updated, unchanged: done.unchanged, skipped: done.skipped, failed: done.failed, failures: done.failures },
      { friendsSeen: 30, created: 29, updated: 1, unchanged: 0, skipped: 0, failed: 0, failures: [] },
    );
    const contact = await lineContact(stack.hubspot.url, orphan);
    assert.ok(contact, 'the orphaned contact got the LINE user ID');
    assert.equal(contact.id, seeded.id, 'the existing contact was adopted, not a new one made');
    const p = contact.properties;
    assert.equal(p.email, dummyEmailOf(orphan));
    assert.equal(p.firstname, 'Lost its LINE user ID', 'its other values stay');
    assert.equal(p.line_user_name, nameOf(7));
    assert.equal(p.line_user_picture, pictureOf(7));
    assert.equal(p.line_follow, 'YES');
    assert.ok(Date.parse(p.line_follow_changed_at!) >= Date.parse(done.startedAt));
    assert.equal(p.line_created_via, 'IMPORT');
    assert.equal(Date.parse(`${p.line_id_sync_date}T00:00:00Z`), TODAY());
    assert.equal((await contactsWith(stack.hubspot.url, 'email', dummyEmailOf(orphan))).length, 1, 'no second contact for that friend');
    const contacts = await allContacts(stack.hubspot.url);
    assert.equal(contacts.length, 30);
    assert.equal(byUserId(contacts).size, 30);
    const stats = await sandboxStats<HubspotStats>(stack.hubspot.url);
    assert.equal(stats.statuses['409'], undefined, 'never a whole batch refused (409)');
    assert.equal(requestsTo(stats, 'create'), 1, 'one batch create (207 for the orphan), no retry of it');
    assert.equal(requestsTo(stats, 'update'), 1, 'the adoption: one update');
  });

  test("a contact created with a friend's line_user_id between the batch read and the batch create: the others are created, that one is updated, counts add up", async () => {
    const ids = await seedFriends(30);
    const raced = ids[4]!;
    // HubSpot fails the batch create until the test has made the racing contact: the batch has read the
    // contacts (none of the 30 exists) and decided to create every one of them.
    await injectFaults(stack.hubspot.url, { status: 503, count: 1_000_000, pathPrefix: '/crm/v3/objects/contacts/batch/create' });
    const started = await startImport(stack.client, target());
    await createAnswered(503);
    const racing = await createContact({ email: 'raced@example.com', firstname: 'Made meanwhile', line_user_id: raced });
    await clearFaults(stack.hubspot.url);

    const done = await finished(started.importId);
    assert.equal(done.state, 'completed', done.message);
    assert.deepEqual(
      { friendsSeen: done.friendsSeen, created: done.created, updated: done.updated, unchanged: done.unchanged, skipped: done.skipped, failed: done.failed },
      { friendsSeen: 30, created: 29, updated: 1, unchanged: 0, skipped: 0, failed: 0 },
    );
    assert.equal(done.created + done.updated + done.unchanged + done.skipped + done.failed, done.friendsSeen, 'counts add up');
    const stats = await sandboxStats<HubspotStats>(stack.hubspot.url);
    assert.equal(stats.statuses['409'], undefined, 'never a whole batch refused (409): only the racing input was');
    assert.equal(requestsTo(stats, 'create'), (stats.statuses['503'] ?? 0) + 1, 'after the outage one batch create, answered per input; the refused input is not created again');
    assert.equal(requestsTo(stats, 'update'), 1, 'the racing contact: one update');

    const contact = await lineContact(stack.hubspot.url, raced);
    assert.ok(contact);
    assert.equal(contact.id, racing.id, 'the contact made meanwhile is the one, updated');
    assert.equal(contact.properties.email, 'raced@example.com', 'its real e-mail stays');
    assert.equal(contact.properties.firstname, 'Made meanwhile');
    assert.equal(contact.properties.line_user_name, nameOf(4));
    assert.equal(contact.properties.line_follow, 'YES');
    assert.equal(contact.properties.line_created_via, 'HUBSPOT', 'it had a LINE user ID before the service wrote to it');
    const status = await appliedEvents(writer(), raced, 1);
    assert.match(status.recent.at(-1)!.outcome, /^update /, 'decided again against the contact read after the refusal');
    const contacts = await allContacts(stack.hubspot.url);
    assert.equal(contacts.length, 30, 'one contact per friend');
    const lineContacts = byUserId(contacts);
    for (const [i, userId] of ids.entries()) {
      if (userId === raced) continue;
      const p = lineContacts.get(userId)?.properties;
      assert.equal(p?.email, dummyEmailOf(userId), `friend ${i} created`);
      assert.equal(p?.line_created_via, 'IMPORT');
      assert.equal(p?.line_follow, 'YES');
    }
  });

  test('LINE rate-limiting profile reads (429): the retried batch resumes from its heartbeats, reading no profile twice', async () => {
    await seedFriends(45);
    await call('POST', `${stack.line.url}/_sandbox/settings`, { rateLimitPerSecond: 20 });
    const started = await startImport(stack.client, target());
    const done = await finished(started.importId);
    assert.equal(done.state, 'completed');
    assert.equal(done.created, 45);
    const stats = await call<Record<string, { requests: number; statuses: Record<string, number> }>>('GET', `${stack.line.url}/_sandbox/stats`);
    const profiles = stats['GET /v2/bot/profile/:userId'];
    assert.ok((profiles?.statuses['429'] ?? 0) > 0, 'LINE did rate-limit the batch');
    assert.equal(profiles?.statuses['200'], 45, 'each profile read successfully exactly once');
  });

  test('a LINE account that may not list followers (403): the import fails at once, saying why', async () => {
    await seedFriends(5);
    await call('POST', `${stack.line.url}/_sandbox/settings`, { followersIdsAllowed: false });
    const started = await startImport(stack.client, target());
    const done = await finished(started.importId, 15_000);
    assert.equal(done.state, 'failed');
    assert.match(done.message ?? '', /not verified or premium/);
    const stats = await call<Record<string, { requests: number }>>('GET', `${stack.line.url}/_sandbox/stats`);
    assert.equal(stats['GET /v2/bot/followers/ids']?.requests, 1, 'not retried');
  });

  test('two concurrent starts make one import', async () => {
    const ids = await seedFriends(300);
    const [a, b] = await Promise.all([startImport(stack.client, target()), startImport(stack.client, target())]);
    const overHttp = await admin('POST', '/imports', {});
    assert.equal(overHttp.status, 202);
    const c = (await overHttp.json()) as { importId: string; alreadyRunning: boolean };
    assert.equal(a.importId, b.importId);
    assert.equal([a, b].filter((s) => !s.alreadyRunning).length, 1, 'exactly one of them started it');
    const done = await finished(a.importId);
    if (c.importId === a.importId) assert.equal(c.alreadyRunning, true);
    else assert.equal((await progress(c.importId)).created, 0, 'a later import found nothing left to create');
    assert.equal(done.created, 300);
    assert.equal((await allContacts(stack.hubspot.url)).length, ids.length);
  });

  test('cancelled mid-way over HTTP it ends canceled; a re-run completes the rest', async () => {
    const ids = await seedFriends(500);
    const response = await admin('POST', '/imports', { pageSize: 100 });
    assert.equal(response.status, 202);
    const { importId, workflowId } = (await response.json()) as { importId: string; workflowId: string };
    assert.equal(workflowId, importWorkflowId(stack.config.lineChannelId));
    await eventually(async () => ((await progress(importId)).pages >= 1 ? true : undefined), { what: 'the first page imported' });
    // LINE stops answering profile reads: the import is stuck mid-way, retrying.
    await injectFaults(stack.line.url, { status: 503, count: 1_000_000, pathPrefix: '/v2/bot/profile/' });
    const running = (await (await admin('GET', `/imports/${importId}`)).json()) as ImportStatus;
    assert.equal(running.state, 'running');

    const cancel = await admin('DELETE', `/imports/${importId}`);
    assert.equal(cancel.status, 202);
    const done = await finished(importId);
    assert.equal(done.state, 'canceled');
    assert.ok(done.pages >= 1 && done.pages < 5, `stopped mid-way (${done.pages} of 5 pages)`);
    const overHttp = (await (await admin('GET', `/imports/${importId}`)).json()) as ImportStatus;
    assert.equal(overHttp.state, 'canceled');
    assert.equal((await admin('DELETE', `/imports/${importId}`)).status, 200, 'nothing left to cancel');
    assert.equal((await cancelImport(stack.client, importId))?.cancelRequested, false);

    // The writers drop the canceled import's rows that still wait; only batches already being written go on.
    await eventually(async () => ((await writerStates()).every((s) => s.importBacklog === 0) ? true : undefined), { what: "the canceled import's waiting rows dropped" });
    await clearFaults(stack.line.url);
    await eventually(async () => ((await writerStates()).every((s) => s.batchesInFlight === 0 && s.importBacklog === 0) ? true : undefined), { what: 'the writers idle' });
    const before = (await allContacts(stack.hubspot.url)).length;
    assert.ok(before >= done.created && before < ids.length, `${before} contacts: the batches under way finished, the rest was dropped`);
    const rerun = await startImport(stack.client, target({ pageSize: 100 }));
    const second = await finished(rerun.importId);
    assert.equal(second.state, 'completed');
    assert.equal(second.created + second.unchanged, 500);
    assert.equal(second.unchanged, before);
    assert.equal((await allContacts(stack.hubspot.url)).length, 500);
  });

  test('a worker stopped mid-way: the import resumes where it was, with exact counts and no duplicates', async () => {
    const ids = await seedFriends(1000);
    const started = await startImport(stack.client, target({ pageSize: 100 }));
    await eventually(async () => ((await progress(started.importId)).pages >= 2 ? true : undefined), { what: 'two pages imported' });
    // LINE stalls the import (it keeps retrying), so the worker surely stops mid-way.
    await injectFaults(stack.line.url, { status: 503, count: 1_000_000, pathPrefix: '/v2/bot/profile/' });
    await stack.stopWorker();
    const saved = await getImportProgress(stack.client, started.importId, { channelId: stack.config.lineChannelId, queryTimeoutMs: 1000 });
    assert.equal(saved?.state, 'running');
    assert.equal(saved?.stale, true, 'no worker: the figures saved at the last page boundary');
    assert.ok(saved!.pages >= 2 && saved!.pages < 10, `stopped mid-way after page ${saved!.pages}`);
    await clearFaults(stack.line.url);
    await stack.startWorker();
    const done = await finished(started.importId);
    assert.equal(done.state, 'completed');
    assert.deepEqual(
      { pages: done.pages, friendsSeen: done.friendsSeen, created: done.created, updated: done.updated, unchanged: done.unchanged, skipped: done.skipped, failed: done.failed },
      { pages: 10, friendsSeen: 1000, created: 1000, updated: 0, unchanged: 0, skipped: 0, failed: 0 },
    );
    const contacts = await allContacts(stack.hubspot.url);
    assert.equal(contacts.length, ids.length);
    assert.equal(byUserId(contacts).size, ids.length, 'no duplicates');
  });

  test('a page handed to the writer again (a retried hand-off): its rows are applied once and counted once, before and after its report', async () => {
    const ids = await seedFriends(300);
    // LINE stalls profile reads, so the first pages are still with the writer when they come again.
    await injectFaults(stack.line.url, { status: 503, count: 1_000_000, pathPrefix: '/v2/bot/profile/' });
    const started = await startImport(stack.client, target({ pageSize: 100 }));
    const writer = stack.client.workflow.getHandle(inboxWorkflowId(stack.config.lineChannelId, 0));
    const page = (n: number): ImportRows => ({ importId: started.importId, importWorkflowId: started.workflowId, page: n, readAt: Date.now(), userIds: ids.slice((n - 1) * 100, n * 100) });
    await eventually(async () => (((await writer.query(inboxStateQuery)) as InboxState).importBacklog + ((await writer.query(inboxStateQuery)) as InboxState).batchesInFlight > 0 ? true : undefined), {
      what: 'page 1 with the writer',
    });
    await new Promise((r) => setTimeout(r, 1500)); // some of its rows in a batch, the rest waiting
    await writer.signal(importRowsSignal, page(1));
    await writer.signal(importRowsSignal, page(2));
    await clearFaults(stack.line.url);
    const done = await finished(started.importId);
    assert.deepEqual(
      { state: done.state, friendsSeen: done.friendsSeen, created: done.created, updated: done.updated, unchanged: done.unchanged, skipped: done.skipped, failed: done.failed },
      { state: 'completed', friendsSeen: 300, created: 300, updated: 0, unchanged: 0, skipped: 0, failed: 0 },
    );
    // Once reported, a page handed over again is answered with its report: nothing is read or written.
    const before = (await sandboxStats(stack.hubspot.url)) as HubspotStats;
    await writer.signal(importRowsSignal, page(3));
    await new Promise((r) => setTimeout(r, 2000));
    const after = (await sandboxStats(stack.hubspot.url)) as HubspotStats;
    assert.equal(requestsTo(after, 'read') + requestsTo(after, 'create') + requestsTo(after, 'update'), requestsTo(before, 'read') + requestsTo(before, 'create') + requestsTo(before, 'update'));
    const state = (await writer.query(inboxStateQuery)) as InboxState;
    assert.equal(state.importBacklog + state.batchesInFlight, 0, 'the page was not queued again');
    assert.equal(byUserId(await allContacts(stack.hubspot.url)).size, 300, 'one contact per friend');
  });

  test('a block webhook while the import writes that friend ends as NO', async () => {
    const ids = await seedFriends(5);
    const friend = ids[2]!;
    // HubSpot fails the import's batch create until the block is with the writer: the batch has read the
    // contacts (none) and decided to create the friend with YES; its write lands after the block arrived.
    await injectFaults(stack.hubspot.url, { status: 503, count: 1_000_000, pathPrefix: '/crm/v3/objects/contacts/batch/create' });
    const started = await startImport(stack.client, target());
    await createAnswered(503);

    await blockFriend(stack.line.url, friend);
    const block = unfollowEvent(friend);
    const answer = await sendLineWebhook({ url: `${stack.url}/webhooks/line`, channelSecret: stack.config.lineChannelSecret!, events: [block] });
    assert.equal(answer.status, 200);
    // The writer holds the block behind the import's batch: one batch per friend at a time.
    const waiting = await eventually(
      async () => {
        const s = await friendStatus(writer(), friend);
        return s && s.pending >= 2 ? s : undefined;
      },
      { what: "the block queued behind the import's batch" },
    );
    assert.equal(waiting.applied, 0, "nothing applied yet: the import's batch is still writing");
    assert.equal((await progress(started.importId)).state, 'running', 'the import had not written yet');
    assert.equal(await lineContact(stack.hubspot.url, friend), undefined);
    await clearFaults(stack.hubspot.url);

    const done = await finished(started.importId);
    assert.equal(done.state, 'completed');
    assert.equal(done.created, 5);
    const status = await appliedEvents(writer(), friend, 2);
    assert.equal(status.failed, 0);
    assert.deepEqual(
      status.recent.map((e) => e.kind),
      ['import', 'unfollow'],
      'the import row, then the block',
    );
    assert.match(status.recent[0]!.outcome, /^create IMPORT contact$/);
    assert.match(status.recent[1]!.outcome, /line_follow NO/, 'the block applied to the contact the import wrote');
    assert.notEqual(status.recent[0]!.batchWorkflowId, status.recent[1]!.batchWorkflowId);
    const contact = await lineContact(stack.hubspot.url, friend);
    assert.equal(contact?.properties.line_follow, 'NO');
    assert.equal(Date.parse(contact!.properties.line_follow_changed_at!), block.timestamp);
    for (const other of ids.filter((id) => id !== friend)) assert.equal((await lineContact(stack.hubspot.url, other))?.properties.line_follow, 'YES');
  });
});

describe('operator endpoints for imports', () => {
  test('without the admin bearer token: 401, and nothing starts', async () => {
    await seedFriends(3);
    for (const token of [null, 'wrong-token-wrong-token-wrong', `${ADMIN_TOKEN}x`]) {
      const post = await admin('POST', '/imports', {}, token);
      assert.equal(post.status, 401);
      assert.match(post.headers.get('www-authenticate') ?? '', /^Bearer/);
      assert.equal((await admin('GET', '/imports/00000000-0000-4000-8000-000000000000', undefined, token)).status, 401);
      assert.equal((await admin('DELETE', '/imports/00000000-0000-4000-8000-000000000000', undefined, token)).status, 401);
    }
    const stats = await call<Record<string, { requests: number }>>('GET', `${stack.line.url}/_sandbox/stats`);
    assert.equal(stats['GET /v2/bot/followers/ids'], undefined, 'no import ran');
  });

  test('with the token: bad options are 400, unknown imports 404, an empty POST starts one', async () => {
    await seedFriends(3);
    assert.equal((await admin('POST', '/imports', { pageSize: 5000 })).status, 400);
    assert.equal((await admin('POST', '/imports', { colour: 'red' })).status, 400);
    // The batching options went to the writers: naming one is a mistake the operator hears of.
    for (const retired of [{ batchSize: 50 }, { batchConcurrency: 2 }, { profileConcurrency: 8 }, { pageSize: 100, batchSize: 50 }]) {
      const refused = await admin('POST', '/imports', retired);
      assert.equal(refused.status, 400, JSON.stringify(retired));
      assert.match(((await refused.json()) as { error: string }).error, /unknown import option\(s\)/);
    }
    assert.equal((await admin('GET', '/imports/00000000-0000-4000-8000-000000000000')).status, 404);
    assert.equal((await admin('GET', '/imports/not-an-id')).status, 404);
    assert.equal((await admin('DELETE', '/imports/00000000-0000-4000-8000-000000000000')).status, 404);
    const empty = await fetch(`${stack.url}/imports`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    assert.equal(empty.status, 202);
    const { importId, runId } = (await empty.json()) as { importId: string; runId: string };
    assert.ok(runId);
    const done = await finished(importId);
    const overHttp = (await (await admin('GET', `/imports/${importId}`)).json()) as ImportStatus;
    assert.deepEqual(
      {
        state: overHttp.state,
        pages: overHttp.pages,
        friendsSeen: overHttp.friendsSeen,
        created: overHttp.created,
        updated: overHttp.updated,
        unchanged: overHttp.unchanged,
        skipped: overHttp.skipped,
        failed: overHttp.failed,
      },
      { state: 'completed', pages: 1, friendsSeen: 3, created: 3, updated: 0, unchanged: 0, skipped: 0, failed: 0 },
    );
    assert.equal(done.created, 3);
  });

  test('without ADMIN_TOKEN the import routes do not exist (404)', async () => {
    const app = await buildApp({ config: { ...stack.config, adminToken: undefined }, temporal: stack.client, logger: false });
    try {
      const response = await app.inject({ method: 'POST', url: '/imports', headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, payload: {} });
      assert.equal(response.statusCode, 404);
      assert.equal((await app.inject({ method: 'GET', url: '/imports/00000000-0000-4000-8000-000000000000' })).statusCode, 404);
    } finally {
      await app.close();
    }
  });
});
