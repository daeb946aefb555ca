// The sandbox HubSpot's limits on a virtual clock: the rolling burst window counts rejected requests
// too, search has its own second, the daily quota starts again at midnight UTC.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RateLimiter, Stats } from '../../src/sandbox/hubspot/limits.ts';

function virtualClock(start: number) {
  let now = start;
  return { now: () => now, advance: (ms: number) => void (now += ms) };
}

const settings = (changes: Partial<ConstructorParameters<typeof RateLimiter>[0]> = {}) => ({ requestsPer10s: 3, dailyLimit: 0, windowMs: 10_000, searchRequestsPerSecond: 2, ...changes });

test('over the burst limit: 429 TEN_SECONDLY_ROLLING, and rejected requests keep the window full', () => {
  const clock = virtualClock(Date.UTC(2024, 0, 1, 12));
  const limiter = new RateLimiter(settings(), clock.now);
  for (let i = 0; i < 3; i++) assert.equal(limiter.admit().ok, true);
  const refused = limiter.admit();
  assert.equal(refused.ok, false);
  assert.equal(!refused.ok && refused.policy, 'TEN_SECONDLY_ROLLING');
  assert.equal(refused.headers['X-HubSpot-RateLimit-Remaining'], '0');
  clock.advance(9_999);
  assert.equal(limiter.admit().ok, false);
  clock.advance(1);
  const next = limiter.admit();
  assert.equal(next.ok, true, 'the requests of 10 s ago (refused one too) left the window');
  assert.equal(next.headers['X-HubSpot-RateLimit-Remaining'], '1', 'the one refused at 9,999 ms still counts');
  clock.advance(10_000);
  const ok = limiter.admit();
  assert.equal(ok.ok, true);
  assert.equal(ok.headers['X-HubSpot-RateLimit-Remaining'], '2');
});

test('search has its own per-second limit and does not spend the burst window', () => {
  const clock = virtualClock(Date.UTC(2024, 0, 1, 12));
  const limiter = new RateLimiter(settings(), clock.now);
  for (let i = 0; i < 2; i++) assert.equal(limiter.admit({ burst: false }).ok && limiter.admitSearch().ok, true);
  const third = limiter.admitSearch();
  assert.equal(!third.ok && third.policy, 'SECONDLY');
  clock.advance(1_000);
  assert.equal(limiter.admitSearch().ok, true);
  for (let i = 0; i < 3; i++) assert.equal(limiter.admit().ok, true, 'the burst window is untouched by searches');
});

test('the daily quota counts every request and starts again at midnight UTC', () => {
  const clock = virtualClock(Date.UTC(2024, 0, 1, 23, 59, 59));
  const limiter = new RateLimiter(settings({ requestsPer10s: 0, dailyLimit: 2 }), clock.now);
  assert.equal(limiter.admit().ok, true);
  assert.equal(limiter.admit().headers['X-HubSpot-RateLimit-Daily-Remaining'], '0');
  const over = limiter.admit();
  assert.equal(!over.ok && over.policy, 'DAILY');
  clock.advance(1_000);
  const tomorrow = limiter.admit();
  assert.equal(tomorrow.ok, true);
  assert.equal(tomorrow.headers['X-HubSpot-RateLimit-Daily-Remaining'], '1');
});

test('the stats keep the busiest windows on the same clock', () => {
  const clock = virtualClock(Date.UTC(2024, 0, 1, 12));
  const stats = new Stats(1_000, clock.now);
  assert.equal(stats.snapshot().since, '2024-01-01T12:00:00.000Z');
  for (let i = 0; i < 5; i++) {
    stats.arrived();
    clock.advance(400);
  }
  const snapshot = stats.snapshot();
  assert.equal(snapshot.maxRequestsInWindow, 3, 'at most 3 of requests 400 ms apart in a second');
  assert.equal(snapshot.maxRequestsIn10s, 5);
});
