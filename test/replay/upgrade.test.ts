// Upgrade safety, part 2: workflows started by the previous release finish correctly under this one.
// The workers run the release's workflow bundle (test/fixtures/release-bundle/, built from git by
// test/replay/build-release-bundle.ts) while friends follow and an import runs page by page; then
// the workers stop mid-way and restart on the current code, which must take over every open run
// (the writer and its carried state, the import between pages, batches in flight, retrying).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { followEvent, newLineUserId, sendLineWebhook } from '../../src/sandbox/line-webhook.ts';
import { PROJECT_ROOT } from '../../src/temporal/cli.ts';
import { getImportProgress, importTargetOf, startImport, type ImportStatus } from '../../src/temporal/import-client.ts';
import { cachedWorkflowBundle } from '../../src/temporal/workflow-bundle.ts';
import { eventually, startStack, type Stack } from '../support/stack.ts';
import { allContacts, call, injectFaults } from '../support/sandbox-http.ts';

const RELEASE = join(PROJECT_ROOT, 'test', 'fixtures', 'release-bundle');
const release = JSON.parse(readFileSync(join(RELEASE, 'release.json'), 'utf8')) as { commit: string };

let stack: Stack;
before(async () => {
  stack = await startStack({
    workflowBundle: { codePath: join(RELEASE, 'workflow-bundle.js') },
    // The writer continues as new every few batches, so the current code takes over a continued run.
    dynamicConfig: { 'limit.historyCount.suggestContinueAsNew': 40 },
  });
});
after(async () => {
  await stack?.stop();
});

test(`runs started on the release ${release.commit.slice(0, 7)} complete on the current workflow code`, async () => {
  const current = await cachedWorkflowBundle();

  const imported = Array.from({ length: 1200 }, (_, i) => ({ userId: newLineUserId(), displayName: `Imported ${i}` }));
  await call('POST', `${stack.line.url}/_sandbox/friends`, { friends: imported });
  const importing = await startImport(stack.client, { ...importTargetOf(stack.config), pageSize: 100 });

  const followers = Array.from({ length: 40 }, (_, i) => ({ userId: newLineUserId(), displayName: `Follower ${i}` }));
  await call('POST', `${stack.line.url}/_sandbox/friends`, { friends: followers });
  for (const [i, friend] of followers.entries()) {
    const response = await sendLineWebhook({ url: `${stack.url}/webhooks/line`, channelSecret: stack.config.lineChannelSecret!, events: [followEvent(friend.userId)] });
    assert.equal(response.status, 200);
    if (i === 19) await new Promise((resolve) => setTimeout(resolve, 300));
  }

  const progress = async () => (await getImportProgress(stack.client, importing.importId, { channelId: stack.config.lineChannelId })) as ImportStatus;
  await eventually(async () => ((await progress()).pages >= 2 ? true : undefined), { timeoutMs: 60_000, what: 'two import pages on the release' });
  // HubSpot's contact API fails for a moment: batches are retrying when the release's workers stop.
  // (Contacts only: a fault left for the new worker's start-up property check would stop it starting.)
  await injectFaults(stack.hubspot.url, { status: 503, count: 6, pathPrefix: '/crm/v3/objects/contacts' });
  await new Promise((resolve) => setTimeout(resolve, 300));
  const before = await progress();
  assert.equal(before.state, 'running', 'the import is still running at the upgrade');
  await stack.stopWorker();
  const upgradedAt = new Date();

  await stack.startWorker(current);
  const done = await eventually(
    async () => {
      const status = await progress();
      return status.state === 'running' ? undefined : status;
    },
    { timeoutMs: 120_000, intervalMs: 500, what: 'the import to end on the current code' },
  );
  assert.equal(done.state, 'completed', JSON.stringify(done));
  assert.equal(done.friendsSeen, imported.length + followers.length);
  assert.equal(done.failed, 0, JSON.stringify(done.failures));

  // Exactly one correct contact per friend.
  const everyone = [...imported, ...followers];
  const contacts = await eventually(
    async () => {
      const all = await allContacts(stack.hubspot.url);
      return all.length >= everyone.length ? all : undefined;
    },
    { timeoutMs: 60_000, what: `${everyone.length} contacts` },
  );
  const byUser = new Map<string, Array<Record<string, string | null | undefined>>>();
  for (const c of contacts) byUser.set(c.properties.line_user_id!, [...(byUser.get(c.properties.line_user_id!) ?? []), c.properties]);
  for (const friend of everyone) {
    const found = byUser.get(friend.userId) ?? [];
    assert.equal(found.length, 1, `${friend.userId}: ${found.length} contacts`);
    assert.equal(found[0]!.line_user_name, friend.displayName);
    assert.equal(found[0]!.line_follow, 'YES');
  }
  assert.equal(contacts.length, everyone.length);

  // The current code really took over runs the release had started (not only new ones).
  const takenOver: string[] = [];
  for await (const run of stack.client.workflow.list({ query: `StartTime < "${upgradedAt.toISOString()}" AND CloseTime > "${upgradedAt.toISOString()}"` })) takenOver.push(run.type);
  for (const type of ['importWorkflow']) assert.ok(takenOver.includes(type), `a ${type} run started on the release closed on the current code (${takenOver.join(', ')})`);
  assert.ok(takenOver.length >= 2, takenOver.join(', '));
});
