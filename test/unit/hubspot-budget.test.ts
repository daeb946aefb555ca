import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HubspotBudget, OTHERS_REMEMBERED_MS, SHARED_WINDOW_RESERVE } from '../../src/hubspot/budget.ts';
import { busiestWindow } from '../support/windows.ts';

/** A budget on a virtual clock: sleeping moves the clock, so a test of minutes runs at once. */
function virtual(max: number, options: { windowMs?: number; slackMs?: number } = {}) {
  const clock = { t: 1_000_000 };
  const sleeps: number[] = [];
  const budget = new HubspotBudget({
    max,
    ...options,
    now: () => clock.t,
    sleep: async (ms) => {
      sleeps.push(ms);
      clock.t += ms;
    },
  });
  /** one request through the budget; it reaches HubSpot when it goes and is answered `latencyMs` later */
  const send = (arrivals: number[] = [], latencyMs = 0) =>
    budget.run(async () => {
      arrivals.push(clock.t);
      clock.t += latencyMs;
    });
  return { budget, clock, sleeps, send };
}

describe('HubspotBudget: one process never sends more than the limit in any rolling window', () => {
  for (const max of [1, 10, 100, 190]) {
    it(`max ${max}: a backlog of ${max * 5} requests goes at the limit, never over it`, async () => {
      const { send } = virtual(max, { slackMs: 100 });
      const times: number[] = [];
      for (let i = 0; i < max * 5; i++) await send(times);
      assert.ok(busiestWindow(times, 10_000) <= max, `at most ${max} in a window`);
      // the first `max` at once, then one window (plus slack) per `max`
      assert.equal(times.filter((t) => t === times[0]).length, max);
      const span = times.at(-1)! - times[0]!;
      assert.ok(span <= 4 * (10_000 + 100 + 1), `5 windows' worth took ${span} ms`);
      assert.ok(span >= 4 * 10_000, `and no less than 4 windows: ${span} ms`);
    });
  }

  it('waiting callers are served in the order they asked', async () => {
    const { budget } = virtual(2);
    const order: number[] = [];
    await Promise.all([0, 1, 2, 3, 4].map((i) => budget.run(async () => order.push(i))));
    assert.deepEqual(order, [0, 1, 2, 3, 4]);
  });

  it('a request holds its slot from when it may go until a window after its answer, however slow', async () => {
    const { budget, clock, send } = virtual(2, { slackMs: 100 });
    const arrivals: number[] = [];
    const slow = send(arrivals, 30_000); // answered 30 s later
    await send(arrivals);
    assert.equal(budget.ownRemaining(), 0, 'one in flight, one answered');
    const third = send(arrivals);
    await slow;
    await third;
    // the third waited for the fast one's answer + window + slack, not for the slow one
    assert.equal(arrivals[2]! - arrivals[1]!, 10_100);
    assert.ok(clock.t >= 30_000);
  });

  it('a request that fails still releases its slot after a window', async () => {
    const { budget, clock } = virtual(1, { slackMs: 0 });
    await assert.rejects(budget.run(async () => Promise.reject(new Error('network down'))));
    const start = clock.t;
    await budget.run(async () => {});
    assert.equal(clock.t - start, 10_000);
  });

  it('an answer older than the window plus slack frees its slot', async () => {
    const { budget, clock, send } = virtual(3, { slackMs: 100 });
    for (let i = 0; i < 3; i++) await send();
    assert.equal(budget.ownRemaining(), 0);
    clock.t += 10_099;
    assert.equal(budget.ownRemaining(), 0, 'within window + slack the sends still count');
    clock.t += 1;
    assert.equal(budget.ownRemaining(), 3);
  });
});

describe("HubspotBudget: HubSpot's Remaining header (every client of the app counts)", () => {
  it('no header: only the own window decides', async () => {
    const { budget } = virtual(5);
    assert.equal(budget.reportedRemaining(), Infinity);
    budget.observe({ remaining: null });
    budget.observe({ remaining: 'abc' });
    assert.equal(budget.reportedRemaining(), Infinity);
  });

  it('Remaining 0 on an answer (others filled the window): its own freed slot is left to them; it waits until that word is a window old', async () => {
    const { budget, clock, send } = virtual(100, { slackMs: 100 });
    await send(); // answered at once
    clock.t += 4_000;
    budget.observe({ remaining: '0', max: '100', intervalMs: '10000' }, 200);
    const start = clock.t;
    await send();
    assert.equal(clock.t - start, 10_000, 'one own slot (freed at 6.1 s) is within the reserve others may be spending');
  });

  it('Remaining 0 and no own request in the window: waits until the answer is a window old', async () => {
    const { budget, clock, send } = virtual(100);
    budget.observe({ remaining: '0', max: '100', intervalMs: '10000' }, 200);
    const start = clock.t;
    await send();
    assert.equal(clock.t - start, 10_000);
  });

  it('Remaining counts down with this process’s sends (alone on the window: no reserve)', async () => {
    const { budget, clock, send } = virtual(100, { slackMs: 0 });
    for (let i = 0; i < 97; i++) await send();
    budget.observe({ remaining: '3', max: '100', intervalMs: '10000' }, 200);
    const start = clock.t;
    for (let i = 0; i < 3; i++) await send();
    assert.equal(clock.t, start, 'three go at once');
    assert.equal(budget.reportedRemaining(), 0);
    await send();
    assert.equal(clock.t - start, 10_000);
  });

  it('others spending the window (HubSpot counted more than this process sent): a reserve of it is left to them', async () => {
    const { budget, clock, send } = virtual(100, { slackMs: 0 });
    budget.observe({ remaining: '20', max: '100', intervalMs: '10000' }, 200);
    const start = clock.t;
    const arrivals: number[] = [];
    for (let i = 0; i < 16; i++) await send(arrivals);
    assert.equal(arrivals.filter((t) => t === start).length, 20 - Math.ceil(100 * SHARED_WINDOW_RESERVE), 'all but the reserve at once');
    assert.equal(arrivals.at(-1)! - start, 10_000, 'the next one when that word of HubSpot is a window old');
  });

  it('after others were last seen: the reserve for a window, then one slot (a worker starting again sends its first request blind), none after OTHERS_REMEMBERED_MS', async () => {
    const { budget, clock, send } = virtual(100, { slackMs: 0 });
    const reserve = Math.ceil(100 * SHARED_WINDOW_RESERVE);
    budget.observe({ remaining: '60', max: '100', intervalMs: '10000' }, 200); // 40 of others
    // Half a window later HubSpot's count is this process's own (its share comes and goes): the reserve stays.
    clock.t += 5_000;
    budget.observe({ remaining: '100', max: '100', intervalMs: '10000' }, 200);
    const first = clock.t;
    const early: number[] = [];
    await Promise.all(Array.from({ length: 100 - reserve }, () => send(early)));
    assert.equal(early.filter((t) => t === first).length, 100 - reserve, 'all but the reserve at once');
    // A window after the others were last seen (one of them killed): one slot is left, for its first request when it starts again.
    clock.t += 10_000;
    budget.observe({ remaining: '100', max: '100', intervalMs: '10000' }, 200);
    const start = clock.t;
    const arrivals: number[] = [];
    await Promise.all(Array.from({ length: 100 }, () => send(arrivals)));
    assert.equal(arrivals.filter((t) => t === start).length, 99, 'one slot left to a restarted worker');
    // Long after the others were last seen, a process alone spends the whole window again.
    clock.t += OTHERS_REMEMBERED_MS;
    budget.observe({ remaining: '100', max: '100', intervalMs: '10000' }, 200);
    const later = clock.t;
    const again: number[] = [];
    await Promise.all(Array.from({ length: 100 }, () => send(again)));
    assert.equal(again.filter((t) => t === later).length, 100, 'the whole window');
  });

  it('never seen others: a process alone spends the whole window, whatever HubSpot says of its own requests', async () => {
    const { budget, clock, send } = virtual(100, { slackMs: 0 });
    const arrivals: number[] = [];
    const start = clock.t;
    await send(arrivals); // the probe
    budget.observe({ remaining: '99', max: '100', intervalMs: '10000' }, 200); // 1 used: its own
    await Promise.all(Array.from({ length: 99 }, () => send(arrivals)));
    assert.equal(arrivals.filter((t) => t === start).length, 100);
  });

  it('a process without a fresh word from HubSpot (just started) sends one request first, the rest once its answer says what is left', async () => {
    const { budget, clock } = virtual(100, { slackMs: 0 });
    const arrivals: number[] = [];
    // Each answer says the window holds 90 requests of others, less what this process has sent.
    let sent = 0;
    const request = () =>
      budget.run(async () => {
        arrivals.push(clock.t);
        sent++;
        clock.t += 50;
        budget.observe({ remaining: String(10 - sent), max: '100', intervalMs: '10000' }, 200);
      });
    const start = clock.t;
    await Promise.all(Array.from({ length: 8 }, request));
    assert.equal(arrivals[0], start, 'the first at once');
    assert.ok(arrivals[1]! >= start + 50, 'the second only after the first answer');
    assert.equal(arrivals.filter((t) => t < start + 10_000).length, 10 - Math.ceil(100 * SHARED_WINDOW_RESERVE), 'then up to the reserve left to the others');
  });

  it('a 429 (over by an unknown number): nothing goes for a whole interval plus slack', async () => {
    const { budget, clock, send } = virtual(100, { slackMs: 100 });
    budget.observe({ remaining: '0', max: '100', intervalMs: '2000' }, 429);
    const start = clock.t;
    await send();
    assert.equal(clock.t - start, 2_100);
    assert.equal(budget.ownRemaining(), 99);
  });

  it('an observation older than its interval is forgotten', async () => {
    const { budget, clock } = virtual(100);
    budget.observe({ remaining: '0', max: '100', intervalMs: '10000' });
    clock.t += 10_000;
    assert.equal(budget.reportedRemaining(), Infinity);
  });

  it('the reported window and the own window both hold: the stricter waits', async () => {
    const { budget, clock, send } = virtual(2, { slackMs: 0 });
    budget.observe({ remaining: '50', max: '100', intervalMs: '10000' });
    await send();
    await send();
    const start = clock.t;
    await send();
    assert.equal(clock.t - start, 10_000, 'the own window of 2 is the stricter one');
  });
});
