// A new sandbox friend who follows and then talks: each event its own signed webhook request, one
// after another (so each becomes its own signal and the histories grow). Continue-as-new tests use it.
import assert from 'node:assert/strict';
import type { WebhookEvent } from '../../src/line/webhook-events.ts';
import { followEvent, newLineUserId, textMessageEvent } from '../../src/sandbox/line-webhook.ts';
import { seedFriend } from './sandbox-http.ts';

export async function chattyFriend(
  lineUrl: string,
  send: (events: WebhookEvent[]) => Promise<{ status: number }>,
  { displayName, messages = 14 }: { displayName: string; messages?: number },
): Promise<{ userId: string; events: WebhookEvent[] }> {
  const userId = newLineUserId();
  await seedFriend(lineUrl, { userId, displayName });
  const t0 = Date.now() - 1000 * (messages + 60);
  const events = [followEvent(userId, { timestamp: t0 }), ...Array.from({ length: messages }, (_, i) => textMessageEvent(userId, `message ${i}`, { timestamp: t0 + 1000 * (i + 1) }))];
  for (const event of events) assert.equal((await send([event])).status, 200);
  return { userId, events };
}
