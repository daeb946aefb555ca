// The Temporal server itself restarts in the middle of an import: the import resumes at the page
// where it was, from the server's SQLite file, with exact counts and no duplicates.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { newLineUserId } from '../../src/sandbox/line-webhook.ts';
import { freePort, startDevServer, type DevServer } from '../../src/temporal/dev-server.ts';
import { getImportProgress, importTargetOf, startImport } from '../../src/temporal/import-client.ts';
import { eventually, startStack, temporalCliPath, type Stack } from '../support/stack.ts';
import { allContacts, call, clearFaults, injectFaults } from '../support/sandbox-http.ts';

const dir = mkdtempSync(join(tmpdir(), 'lhs-restart-'));
let stack: Stack | undefined;
let restarted: DevServer | undefined;
after(async () => {
  await stack?.stop();
  await restarted?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('a Temporal restart mid-import: it resumes where it was, exact counts, no duplicates', async () => {
  const port = await freePort();
  const dbFile = join(dir, 'temporal.sqlite');
  stack = await startStack({ dbFile, temporalPort: port });
  const ids = Array.from({ length: 800 }, () => newLineUserId());
  await call('POST', `${stack.line.url}/_sandbox/friends`, { friends: ids.map((userId, i) => ({ userId, displayName: `Friend ${i}` })) });
  const channelId = stack.config.lineChannelId;
  const started = await startImport(stack.client, { ...importTargetOf(stack.config), pageSize: 100 });
  await eventually(async () => ((await getImportProgress(stack!.client, started.importId, { channelId }))!.pages >= 2 ? true : undefined), { what: 'two pages imported' });

  // LINE stalls the import so it is surely mid-way; then the worker and the Temporal server go down.
  await injectFaults(stack.line.url, { status: 503, count: 1_000_000, pathPrefix: '/v2/bot/profile/' });
  await stack.stopWorker();
  await stack.temporal.stop();
  const before = (await allContacts(stack.hubspot.url)).length;
  assert.ok(before >= 200 && before < ids.length, `stopped mid-way with ${before} contacts`);

  restarted = await startDevServer({ cliPath: temporalCliPath(), port, dbFile });
  await clearFaults(stack.line.url);
  await stack.startWorker();
  const done = await eventually(
    async () => {
      const status = await getImportProgress(stack!.client, started.importId, { channelId });
      return status?.state === 'completed' ? status : undefined;
    },
    { timeoutMs: 90_000, what: 'the import to complete after the restart' },
  );
  assert.deepEqual(
    { pages: done.pages, friendsSeen: done.friendsSeen, created: done.created, updated: done.updated, unchanged: done.unchanged, skipped: done.skipped, failed: done.failed },
    { pages: 8, friendsSeen: 800, created: 800, updated: 0, unchanged: 0, skipped: 0, failed: 0 },
  );
  const contacts = await allContacts(stack.hubspot.url);
  assert.equal(contacts.length, ids.length);
  assert.equal(new Set(contacts.map((c) => c.properties.line_user_id)).size, ids.length, 'no duplicates');
});
