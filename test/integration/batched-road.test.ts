// The guarantees of the batched road (one writer per friend, each event once, HubSpot as it is),
// on a real Temporal dev server with the sandbox APIs over HTTP and correctly signed webhooks.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ContactBatchResult } from '../../workflows/contact-batch.ts';
import { asRedelivery, followEvent, newLineUserId, sendLineWebhook, textMessageEvent } from '../../src/sandbox/line-webhook.ts';
import type { WebhookEvent } from '../../src/line/webhook-events.ts';
import { propertyChangeEvent, sendHubspotWebhook, SANDBOX_HUBSPOT_CLIENT_SECRET } from '../../src/sandbox/hubspot-webhooks.ts';
import { startImport } from '../../src/temporal/import-client.ts';
import { eventually, startStack, type Stack } from '../support/stack.ts';
import { call, clearFaults, contactsWith, injectFaults, lineContact, sandboxStats, seedFriend, type SandboxContact } from '../support/sandbox-http.ts';
import { appliedEvents, batchesOf } from '../support/writer.ts';

let stack: Stack;
before(async () => {
  stack = await startStack({ env: { ADMIN_TOKEN: 'a-long-enough-admin-token' } });
});
after(async () => {
  await stack?.stop();
});

const send = (events: WebhookEvent[]) => sendLineWebhook({ url: `${stack.url}/webhooks/line`, channelSecret: stack.config.lineChannelSecret!, events });
const writer = () => ({ client: stack.client, channelId: stack.config.lineChannelId });

async function newFriend(name = 'バッチ 太郎'): Promise<string> {
  const userId = newLineUserId();
  await seedFriend(stack.line.url, { userId, displayName: name });
  return userId;
}

/** Every event ID each batch that held `userIds` applied, with how often (from the batches' results, as an operator sees them). */
async function appliedIds(userIds: string[]): Promise<Map<string, number>> {
  const wanted = new Set(userIds);
  const seenBatches = new Set<string>();
  const counts = new Map<string, number>();
  for (const userId of userIds) {
    for (const batch of await batchesOf(stack.client, userId)) {
      if (seenBatches.has(batch.runId)) continue;
      seenBatches.add(batch.runId);
      const result = (await stack.client.workflow.getHandle(batch.workflowId, batch.runId).result()) as ContactBatchResult;
      for (const friend of result.friends) {
        if (!wanted.has(friend.userId)) continue;
        for (const e of friend.events) counts.set(e.eventId, (counts.get(e.eventId) ?? 0) + 1);
      }
    }
  }
  return counts;
}

describe('a burst', () => {
  test('follows and messages with redeliveries interleaved: one contact per friend, each event applied once, in batches', async () => {
    const friends = await Promise.all(Array.from({ length: 120 }, (_, i) => newFriend(`Burst ${i}`)));
    const t0 = Date.now() - 10_000;
    const originals = friends.flatMap((userId, i) => [followEvent(userId, { timestamp: t0 + i }), textMessageEvent(userId, `hi ${i}`, { timestamp: t0 + 1000 + i })]);
    const all = [...originals, ...originals.map(asRedelivery)];
    // Shuffled, deterministic: redeliveries may come before the original.
    for (let i = all.length - 1; i > 0; i--) {
      const j = (i * 7919) % (i + 1);
      [all[i], all[j]] = [all[j]!, all[i]!];
    }
    const requests: WebhookEvent[][] = [];
    for (let i = 0; i < all.length; i += 1 + (i % 3)) requests.push(all.slice(i, i + 1 + (i % 3)));
    const answers = await Promise.all(requests.map((events) => send(events)));
    assert.deepEqual([...new Set(answers.map((a) => a.status))], [200]);

    for (const userId of friends) await appliedEvents(writer(), userId, 2, 60_000);
    const contacts = await Promise.all(friends.map((userId) => contactsWith(stack.hubspot.url, 'line_user_id', userId)));
    assert.deepEqual(
      contacts.map((c) => c.length),
      friends.map(() => 1),
      'exactly one contact per friend',
    );
    // Shuffled, a friend's message may arrive (and create the contact) before its follow: REPLY then.
    assert.ok(contacts.every((c) => ['FOLLOW', 'REPLY'].includes(c[0]!.properties.line_created_via ?? '') && c[0]!.properties.line_follow === 'YES'));

    const counts = await eventually(
      async () => {
        const c = await appliedIds(friends);
        return c.size === originals.length ? c : undefined;
      },
      { what: 'every batch visible by LineUserId' },
    );
    assert.deepEqual([...new Set(counts.values())], [1], 'each event ID applied exactly once');
    const batches = new Set((await Promise.all(friends.map((u) => batchesOf(stack.client, u)))).flat().map((b) => b.runId));
    assert.ok(batches.size < originals.length / 4, `events were batched across friends (${batches.size} batches for ${originals.length} events)`);
  });
});

describe('HubSpot as it really is', () => {
  test('a batch create with one conflicting input: the others are created, the conflicting friend ends right in its one contact', async () => {
    const friends = await Promise.all(Array.from({ length: 5 }, (_, i) => newFriend(`Conflict ${i}`)));
    const contender = friends[2]!;
    // The create fails once (503): before its retry, someone else gives a contact the contender's LINE user ID.
    await injectFaults(stack.hubspot.url, { status: 503, count: 1, pathPrefix: '/crm/v3/objects/contacts/batch/create' });
    const before = await sandboxStats<{ endpoints?: Record<string, number> }>(stack.hubspot.url);
    const creates = (s: { endpoints?: Record<string, number> }) =>
      Object.entries(s.endpoints ?? {})
        .filter(([k]) => k.includes('batch/create'))
        .reduce((n, [, v]) => n + v, 0);
    assert.equal((await send(friends.map((u) => followEvent(u)))).status, 200);
    await eventually(async () => (creates(await sandboxStats(stack.hubspot.url)) > creates(before) ? true : undefined), { what: 'the first batch create' });
    const other = await call<SandboxContact>('POST', `${stack.hubspot.url}/_sandbox/contacts`, { properties: { email: 'contender@example.com', line_user_id: contender } });

    for (const userId of friends) await appliedEvents(writer(), userId, 1, 30_000);
    for (const userId of friends) {
      const found = await contactsWith(stack.hubspot.url, 'line_user_id', userId);
      assert.equal(found.length, 1, `one contact for ${userId}`);
      assert.equal(found[0]!.properties.line_follow, 'YES');
    }
    const mine = (await lineContact(stack.hubspot.url, contender))!;
    assert.equal(mine.id, other.id, "the contender's contact is the one created meanwhile");
    assert.equal(mine.properties.email, 'contender@example.com', 'its real e-mail kept');
    assert.equal(mine.properties.line_user_name, 'Conflict 2');
    await clearFaults(stack.hubspot.url);
  });

  test("an orphaned dummy e-mail (the contact lost its line_user_id) is adopted by the friend's follow", async () => {
    const userId = await newFriend('Orphan');
    const orphan = await call<SandboxContact>('POST', `${stack.hubspot.url}/_sandbox/contacts`, { properties: { email: `${userId}@line.me`, firstname: 'Kept' } });
    assert.equal((await send([followEvent(userId)])).status, 200);
    const status = await appliedEvents(writer(), userId, 1, 30_000);
    assert.doesNotMatch(status.recent.at(-1)!.outcome, /failed/);
    const found = await contactsWith(stack.hubspot.url, 'line_user_id', userId);
    assert.equal(found.length, 1);
    assert.equal(found[0]!.id, orphan.id, 'the orphan is the friend’s contact');
    assert.equal(found[0]!.properties.firstname, 'Kept');
    assert.equal(found[0]!.properties.line_follow, 'YES');
    assert.equal(found[0]!.properties.line_created_via, 'FOLLOW');
  });
});

describe('one writer per friend across every producer', () => {
  test('a webhook follow, an import, a verified e-mail and a HubSpot enrichment of the same friend at once: one contact, every value right', async () => {
    const userId = await newFriend('四方 八方');
    const handMade = await call<SandboxContact>('POST', `${stack.hubspot.url}/_sandbox/contacts`, { properties: { firstname: 'Hand made', line_user_id: userId } });
    const { idToken } = await call<{ idToken: string }>('POST', `${stack.line.url}/_sandbox/id-tokens`, { userId, email: 'shiho@example.com' });
    const [follow, imported, email, enrich] = await Promise.all([
      send([followEvent(userId)]),
      startImport(stack.client, { channelId: stack.config.lineChannelId, taskQueue: stack.config.taskQueue, timeZone: 'UTC' }),
      fetch(`${stack.url}/line/id-token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ idToken }) }),
      sendHubspotWebhook({ url: `${stack.url}/webhooks/hubspot`, clientSecret: SANDBOX_HUBSPOT_CLIENT_SECRET, events: [propertyChangeEvent(handMade.id, userId)] }),
    ]);
    assert.equal(follow.status, 200);
    assert.equal(email.status, 202);
    assert.equal(enrich.status, 200);
    await stack.client.workflow
      .getHandle(imported.workflowId)
      .result()
      .catch(() => undefined);
    await appliedEvents(writer(), userId, 3, 60_000);
    const found = await contactsWith(stack.hubspot.url, 'line_user_id', userId);
    assert.equal(found.length, 1, 'one contact');
    const p = found[0]!.properties;
    assert.equal(found[0]!.id, handMade.id);
    assert.equal(p.email, 'shiho@example.com', 'the verified e-mail, never a dummy one');
    assert.equal(p.line_created_via, 'HUBSPOT', 'it had a LINE user ID before the service wrote to it');
    assert.equal(p.line_follow, 'YES');
    assert.equal(p.line_user_name, '四方 八方');
  });
});
