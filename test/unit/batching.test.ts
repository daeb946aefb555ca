// The contact writer's batching rules: which friends go together, in what order, and when.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_BATCH_POLICY, nextDispatch, type WriterView } from '../../src/batching/policy.ts';
import { WriterQueue } from '../../src/batching/queue.ts';
import type { FriendEvent, ImportRows } from '../../src/contracts.ts';

const user = (n: number) => `U${n.toString(16).padStart(32, '0')}`;
let ids = 0;
const ev = (kind: FriendEvent['kind'], timestamp: number, extra: Partial<FriendEvent> = {}): FriendEvent => ({ eventId: `e${++ids}`, kind, timestamp, ...extra });
const rows = (userIds: string[], page = 1, importId = 'imp'): ImportRows => ({ importId, importWorkflowId: 'line-import/x', page, readAt: 5, userIds });
const none = new Set<string>();

describe('the writer queue', () => {
  test('a redelivered event is a duplicate while queued, while in a batch, and after it was applied', () => {
    const q = new WriterQueue();
    const e = ev('follow', 1);
    assert.equal(q.addEvent({ userId: user(1), event: e }, 0), true);
    assert.equal(q.addEvent({ userId: user(1), event: { ...e, redelivery: true } }, 0), false, 'queued');
    const batch = q.take(100, none);
    assert.equal(q.addEvent({ userId: user(1), event: e }, 0), false, 'in a batch');
    q.done(batch);
    assert.equal(q.addEvent({ userId: user(1), event: e }, 0), false, 'applied');
  });

  test('remembered event IDs survive a snapshot (continue-as-new) and are bounded', () => {
    const q = new WriterQueue(undefined, { seenLimit: 3 });
    const events = [1, 2, 3, 4].map((t) => ev('message', t));
    for (const e of events) q.addEvent({ userId: user(t(e)), event: e }, 0);
    q.done(q.take(100, none));
    const next = new WriterQueue(q.snapshot(), { seenLimit: 3 });
    assert.equal(next.addEvent({ userId: user(4), event: events[3]! }, 0), false, 'a recent one is still known');
    assert.equal(next.addEvent({ userId: user(1), event: events[0]! }, 0), true, 'the oldest is forgotten past the bound');
    function t(e: FriendEvent) {
      return e.timestamp;
    }
  });

  test("a friend's events go together, in timestamp order, whatever order they came in", () => {
    const q = new WriterQueue();
    q.addEvent({ userId: user(1), event: ev('unfollow', 30) }, 0);
    q.addEvent({ userId: user(1), event: ev('follow', 10) }, 0);
    q.addEvent({ userId: user(2), event: ev('follow', 20) }, 0);
    const batch = q.take(100, none);
    assert.deepEqual(
      batch.map((f) => f.userId),
      [user(1), user(2)],
    );
    assert.deepEqual(
      batch[0]!.events.map((e) => e.timestamp),
      [10, 30],
    );
  });

  test('a friend being written is not taken again: its new events wait for the next batch (one writer per friend)', () => {
    const q = new WriterQueue();
    q.addEvent({ userId: user(1), event: ev('follow', 1) }, 0);
    const first = q.take(100, none);
    q.addEvent({ userId: user(1), event: ev('message', 2) }, 0);
    q.addEvent({ userId: user(2), event: ev('follow', 3) }, 0);
    const busy = new Set(first.map((f) => f.userId));
    assert.deepEqual(q.readyLive(busy).friends, 1);
    const second = q.take(100, busy);
    assert.deepEqual(
      second.map((f) => f.userId),
      [user(2)],
    );
    q.done(first);
    assert.deepEqual(
      q.take(100, none).map((f) => f.userId),
      [user(1)],
    );
  });

  test('batches hold at most maxFriends friends; live friends go before import-only ones, oldest first', () => {
    const q = new WriterQueue();
    q.addImportRows(rows([user(10), user(11), user(12)]));
    q.addEvent({ userId: user(2), event: ev('follow', 1) }, 5);
    q.addEvent({ userId: user(1), event: ev('follow', 2) }, 6);
    assert.deepEqual(
      q.take(3, none).map((f) => f.userId),
      [user(2), user(1), user(10)],
    );
    assert.deepEqual(
      q.take(3, none).map((f) => f.userId),
      [user(11), user(12)],
    );
  });

  test("a live friend's import rows travel with its events", () => {
    const q = new WriterQueue();
    q.addImportRows(rows([user(1)]));
    q.addEvent({ userId: user(1), event: ev('unfollow', 99) }, 0);
    const [friend] = q.take(100, none);
    assert.equal(friend!.events.length, 1);
    assert.equal(friend!.imports.length, 1);
    assert.equal(q.importRows, 0);
  });

  test("a verified e-mail ends its friend's share of a batch; later events wait", () => {
    const q = new WriterQueue();
    q.addEvent({ userId: user(1), event: ev('follow', 1) }, 0);
    q.addEvent({ userId: user(1), event: ev('verified-email', 2, { email: 'a@example.com' }) }, 0);
    q.addEvent({ userId: user(1), event: ev('message', 3) }, 0);
    const [friend] = q.take(100, none);
    assert.deepEqual(
      friend!.events.map((e) => e.kind),
      ['follow', 'verified-email'],
    );
    assert.equal(q.liveEvents, 1);
  });

  test('a page re-sent by a retried hand-off adds no row twice; a cancelled import drops its waiting rows', () => {
    const q = new WriterQueue();
    assert.equal(q.addImportRows(rows([user(1), user(2)])), 2);
    assert.equal(q.addImportRows(rows([user(1), user(2)])), 0);
    assert.equal(q.addImportRows(rows([user(1)], 2)), 1, 'another page of the same friend is another row');
    q.addImportRows(rows([user(3)], 1, 'other'));
    assert.equal(q.dropImport('imp'), 3);
    assert.equal(q.importRows, 1);
    assert.deepEqual(
      q.take(100, none).map((f) => f.userId),
      [user(3)],
    );
  });

  test('a snapshot keeps every waiting event and row, in order', () => {
    const q = new WriterQueue();
    q.addEvent({ userId: user(1), event: ev('follow', 1) }, 7);
    q.addImportRows(rows([user(2)]));
    const copy = new WriterQueue(q.snapshot());
    assert.equal(copy.liveEvents, 1);
    assert.equal(copy.importRows, 1);
    assert.equal(copy.readyLive(none).oldestSince, 7);
    assert.deepEqual(
      copy.take(100, none).map((f) => f.userId),
      [user(1), user(2)],
    );
  });
});

describe('when the writer starts a batch', () => {
  const view = (v: Partial<WriterView>): WriterView => ({ now: 10_000, inFlight: 0, readyLive: 0, oldestLiveSince: undefined, readyImport: 0, lastDispatchAt: 0, ...v });
  const { lingerMs, maxFriends, maxInFlight } = DEFAULT_BATCH_POLICY;

  test('one event alone goes at once when nothing is being written', () => {
    assert.deepEqual(nextDispatch(view({ readyLive: 1, oldestLiveSince: 10_000 })), { dispatch: 'live' });
  });

  test('under load, a partial batch waits for more until it is full or its oldest event waited the linger time', () => {
    const busy = view({ inFlight: 1, readyLive: 10, oldestLiveSince: 9_900, lastDispatchAt: 9_900 });
    assert.deepEqual(nextDispatch(busy), { dispatch: null, wakeAt: 9_900 + lingerMs });
    assert.deepEqual(nextDispatch({ ...busy, readyLive: maxFriends }), { dispatch: 'live' });
    assert.deepEqual(nextDispatch({ ...busy, now: 9_900 + lingerMs }), { dispatch: 'live' });
  });

  test('right after a batch went, even an idle writer waits the linger time for company', () => {
    assert.deepEqual(nextDispatch(view({ readyLive: 3, oldestLiveSince: 9_990, lastDispatchAt: 9_980 })), { dispatch: null, wakeAt: 9_980 + lingerMs });
  });

  test('never more than maxInFlight batches at once', () => {
    assert.deepEqual(nextDispatch(view({ inFlight: maxInFlight, readyLive: maxFriends, oldestLiveSince: 0 })), { dispatch: null });
  });

  test('import rows go whenever a slot is free, but the last slot is kept for live events', () => {
    assert.deepEqual(nextDispatch(view({ readyImport: 100 })), { dispatch: 'import' });
    assert.deepEqual(nextDispatch(view({ readyImport: 100, inFlight: maxInFlight - 1 })), { dispatch: null });
    assert.deepEqual(nextDispatch(view({ readyImport: 100, inFlight: maxInFlight - 1, readyLive: 1, oldestLiveSince: 0 })), { dispatch: 'live' });
  });

  test('with nothing to do there is nothing to wake for', () => {
    assert.deepEqual(nextDispatch(view({})), { dispatch: null });
  });
});
