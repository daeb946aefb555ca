// Temporal itself restarts in the middle of a burst of follows: every event the webhook acknowledged
// is applied from the server's SQLite file, the others are refused (503) and LINE's redelivery brings
// them; in the end every friend has exactly one contact.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { asRedelivery, followEvent, newLineUserId, sendLineWebhook } from '../../src/sandbox/line-webhook.ts';
import type { FollowEvent } from '../../src/line/webhook-events.ts';
import { freePort, startDevServer, type DevServer } from '../../src/temporal/dev-server.ts';
import { eventually, startStack, temporalCliPath, type Stack } from '../support/stack.ts';
import { call, contactsWith } from '../support/sandbox-http.ts';

const dir = mkdtempSync(join(tmpdir(), 'lhs-road-restart-'));
let stack: Stack | undefined;
let restarted: DevServer | undefined;
after(async () => {
  await stack?.stop();
  await restarted?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('Temporal restarted mid-burst: every friend ends with exactly one contact, nothing acknowledged is lost', async () => {
  const port = await freePort();
  // The 503s of the outage are expected: their log lines stay out of the test output.
  stack = await startStack({ dbFile: join(dir, 'temporal.sqlite'), temporalPort: port, env: { LOG_LEVEL: 'fatal' } });
  const s = stack;
  const ids = Array.from({ length: 150 }, () => newLineUserId());
  await call('POST', `${s.line.url}/_sandbox/friends`, { friends: ids.map((userId, i) => ({ userId, displayName: `Restart ${i}` })) });
  const events = ids.map((userId) => followEvent(userId));
  const send = (event: FollowEvent) =>
    sendLineWebhook({ url: `${s.url}/webhooks/line`, channelSecret: s.config.lineChannelSecret!, events: [event] }).then(
      (r) => r.status,
      () => 0,
    );

  // 50 follows a second; Temporal goes down after a second and comes back a second later.
  const answers: Array<Promise<number>> = [];
  const outage = (async () => {
    await sleep(1000);
    await s.temporal.stop();
    await sleep(1000);
    restarted = await startDevServer({ cliPath: temporalCliPath(), port, dbFile: join(dir, 'temporal.sqlite') });
  })();
  for (const event of events) {
    answers.push(send(event));
    await sleep(20);
  }
  const statuses = await Promise.all(answers);
  await outage;
  const refused = events.filter((_, i) => statuses[i] !== 200);
  assert.ok(
    statuses.some((st) => st === 200),
    'some were acknowledged',
  );
  assert.ok(refused.length > 0, 'some were refused while Temporal was down');

  // LINE redelivers what was not acknowledged, until it is.
  for (const event of refused) {
    await eventually(async () => ((await send(asRedelivery(event))) === 200 ? true : undefined), { timeoutMs: 60_000, intervalMs: 500, what: 'a redelivery accepted' });
  }
  for (const userId of ids) {
    const found = await eventually(
      async () => {
        const c = await contactsWith(s.hubspot.url, 'line_user_id', userId);
        return c.length > 0 ? c : undefined;
      },
      { timeoutMs: 90_000, what: `the contact of ${userId}` },
    );
    assert.equal(found.length, 1, `exactly one contact for ${userId}`);
    assert.equal(found[0]!.properties.line_follow, 'YES');
  }
});
