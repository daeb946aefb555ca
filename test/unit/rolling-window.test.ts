// The sandboxes' rolling windows on a virtual clock: HubSpot's burst window counts every request,
// LINE's per-endpoint limit counts admitted calls only; an event exactly a window old is out of it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RollingWindow, RollingWindowLimiter } from '../../src/sandbox/rolling-window.ts';

function virtualClock(start = 1_700_000_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => void (now += ms) };
}

test('a rolling window counts the events of the last windowMs, an event exactly windowMs old no longer', () => {
  const clock = virtualClock();
  const window = new RollingWindow(10_000, clock.now);
  assert.equal(window.add(), 1);
  clock.advance(4_000);
  assert.equal(window.add(), 2);
  clock.advance(5_999);
  assert.equal(window.count(), 2, '9,999 ms after the first: still in');
  clock.advance(1);
  assert.equal(window.count(), 1, '10,000 ms after the first: out');
  clock.advance(4_000);
  assert.equal(window.count(), 0);
  window.windowMs = 1_000;
  assert.equal(window.add(), 1, 'a changed window applies at once');
});

test('a long run of events keeps the count right after the window compacts', () => {
  const clock = virtualClock();
  const window = new RollingWindow(1_000, clock.now);
  for (let i = 0; i < 20_000; i++) {
    const count = window.add();
    assert.equal(count, Math.min(i + 1, 100));
    clock.advance(10);
  }
});

test('the limiter admits `limit` calls per key per window; refused calls do not count', () => {
  const clock = virtualClock();
  const limiter = new RollingWindowLimiter(3, 1_000, clock.now);
  assert.deepEqual([limiter.tryAcquire('GET /a'), limiter.tryAcquire('GET /a'), limiter.tryAcquire('GET /a')], [true, true, true]);
  assert.equal(limiter.tryAcquire('GET /a'), false);
  assert.equal(limiter.tryAcquire('GET /b'), true, 'another key has its own window');
  clock.advance(999);
  for (let i = 0; i < 5; i++) assert.equal(limiter.tryAcquire('GET /a'), false, 'still within the second');
  clock.advance(1);
  assert.equal(limiter.tryAcquire('GET /a'), true, 'the refused calls did not keep the window full');
  assert.equal(limiter.tryAcquire('GET /a'), true);
  assert.equal(limiter.tryAcquire('GET /a'), true);
  assert.equal(limiter.tryAcquire('GET /a'), false);
});

test('a new limit starts afresh; 0 means unlimited', () => {
  const clock = virtualClock();
  const limiter = new RollingWindowLimiter(1, 1_000, clock.now);
  assert.equal(limiter.tryAcquire('k'), true);
  assert.equal(limiter.tryAcquire('k'), false);
  limiter.setLimit(2);
  assert.equal(limiter.tryAcquire('k'), true);
  assert.equal(limiter.tryAcquire('k'), true);
  assert.equal(limiter.tryAcquire('k'), false);
  limiter.setLimit(0);
  for (let i = 0; i < 10_000; i++) assert.equal(limiter.tryAcquire('k'), true);
});
