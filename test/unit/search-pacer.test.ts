// SearchPacer: HubSpot search's own per-second limit, as HubSpot counts it (when a request arrives).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SearchPacer } from '../../src/hubspot/friends.ts';
import { busiestWindow } from '../support/windows.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test('a search that reaches HubSpot late still counts in the second HubSpot sees it: the next ones wait for a second after its answer', async () => {
  const pacer = new SearchPacer(2);
  const arrivals: number[] = [];
  // The first two reach HubSpot 400 ms after they start (a busy machine), the rest at once.
  const search = (delayMs: number) =>
    pacer.run(async () => {
      await sleep(delayMs);
      arrivals.push(Date.now());
    });
  await Promise.all([search(400), search(400), search(0), search(0)]);
  assert.ok(busiestWindow(arrivals, 1000) <= 2, `at most 2 arrivals in any second: ${arrivals.map((t) => t - arrivals[0]!).join(', ')} ms`);
});

test('searches go in the order they asked, at most perSecond at once', async () => {
  const pacer = new SearchPacer(3);
  const order: number[] = [];
  let running = 0;
  let most = 0;
  await Promise.all(
    [0, 1, 2, 3, 4].map((i) =>
      pacer.run(async () => {
        most = Math.max(most, ++running);
        order.push(i);
        await sleep(5);
        running--;
      }),
    ),
  );
  assert.deepEqual(order, [0, 1, 2, 3, 4]);
  assert.ok(most <= 3);
});
