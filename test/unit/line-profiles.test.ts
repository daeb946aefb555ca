// readLineProfiles: a batch of profile reads that resumes from its heartbeats when retried.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { messagingApi } from '@line/bot-sdk';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment as BaseEnvironment } from '@temporalio/testing';
import { DefaultLogger, type LogLevel } from '@temporalio/worker';
import { createLineActivities, type LineProfileBatch } from '../../activities/line.ts';

/** The SDK logs every failed attempt as a warning; here failures are the point. */
class MockActivityEnvironment extends BaseEnvironment {
  constructor(info?: ConstructorParameters<typeof BaseEnvironment>[0]) {
    super(info, { logger: new DefaultLogger('ERROR' as LogLevel) });
  }
}

const id = (n: number) => `U${n.toString(16).padStart(32, '0')}`;
const ids = (count: number) => Array.from({ length: count }, (_, i) => id(i + 1));

/** What @line/bot-sdk throws (HTTPFetchError): status, headers, body. */
const lineError = (status: number, message: string) => Object.assign(new Error(`Request failed with status code ${status}`), { status, headers: new Headers(), body: JSON.stringify({ message }) });

function fakeLine(answer: (userId: string, call: number) => 'ok' | number) {
  const calls: string[] = [];
  const client = {
    async getProfile(userId: string) {
      const call = calls.push(userId);
      await new Promise((resolve) => setImmediate(resolve));
      const result = answer(userId, call);
      if (result === 'ok') return { userId, displayName: `name of ${userId.slice(-4)}`, pictureUrl: `https://profile.line-scdn.net/${userId.slice(-4)}` };
      throw lineError(result, result === 404 ? 'Not found' : 'The service is temporarily unavailable');
    },
  } as unknown as messagingApi.MessagingApiClient;
  return { client, calls };
}

describe('reading a batch of LINE profiles', () => {
  test('every friend is read once: a profile, null for LINE 404, and a refused one (400) without failing the others', async () => {
    const batch = ids(40);
    const { client, calls } = fakeLine((userId) => (userId === id(7) ? 404 : userId === id(9) ? 400 : 'ok'));
    const result = (await new MockActivityEnvironment().run(createLineActivities({ line: client }).readLineProfiles, batch, 8)) as LineProfileBatch;
    assert.equal(calls.length, 40);
    assert.equal(new Set(calls).size, 40);
    assert.equal(result.profiles[id(7)], null, 'not a friend');
    assert.equal(result.profiles[id(9)], undefined);
    assert.match(result.rejected[id(9)]!, /LINE rejected profile read/);
    assert.equal(result.profiles[id(1)]?.displayName, 'name of 0001');
    assert.deepEqual(
      Object.keys(result.profiles),
      batch.filter((u) => u !== id(9)),
      'in the batch order',
    );
  });

  test('a LINE outage mid-batch fails the attempt; the retry reads only the profiles not heartbeated yet', async () => {
    const batch = ids(60);
    // LINE answers 503 from the 25th call on, for this attempt.
    const first = fakeLine((_userId, call) => (call >= 25 ? 503 : 'ok'));
    const env = new MockActivityEnvironment();
    let lastHeartbeat: LineProfileBatch | undefined;
    env.on('heartbeat', (details: LineProfileBatch) => (lastHeartbeat = details));
    await assert.rejects(env.run(createLineActivities({ line: first.client }).readLineProfiles, batch, 4), (error: unknown) => {
      assert.ok(error instanceof ApplicationFailure);
      assert.equal(error.nonRetryable, false, 'Temporal retries it');
      assert.equal(error.type, 'LineUnavailable');
      return true;
    });
    assert.ok(lastHeartbeat);
    const readBefore = Object.keys(lastHeartbeat.profiles);
    assert.equal(readBefore.length, 24, 'the 24 answered reads were heartbeated');

    const second = fakeLine(() => 'ok');
    const retry = new MockActivityEnvironment({ heartbeatDetails: lastHeartbeat, attempt: 2 });
    const result = (await retry.run(createLineActivities({ line: second.client }).readLineProfiles, batch, 4)) as LineProfileBatch;
    assert.equal(second.calls.length, 60 - 24, 'only the rest is read again');
    assert.ok(second.calls.every((u) => !readBefore.includes(u)));
    assert.equal(Object.keys(result.profiles).length, 60);
  });

  test('a batch read within a second heartbeats once, not once per read (each heartbeat serialises the whole batch)', async () => {
    const { client } = fakeLine(() => 'ok');
    const env = new MockActivityEnvironment();
    const beats: number[] = [];
    env.on('heartbeat', (details: LineProfileBatch) => beats.push(Object.keys(details.profiles).length));
    const result = (await env.run(createLineActivities({ line: client }).readLineProfiles, ids(100), 10)) as LineProfileBatch;
    assert.equal(Object.keys(result.profiles).length, 100);
    assert.deepEqual(beats, [1], 'the first read heartbeats (the attempt is alive), the next ones within HEARTBEAT_EVERY_MS do not');
  });

  test('a slow batch heartbeats its progress about once a second', async (t) => {
    t.mock.timers.enable({ apis: ['Date'], now: 0 });
    // Each read moves the clock 300 ms on.
    const client = {
      async getProfile(userId: string) {
        await new Promise((resolve) => setImmediate(resolve));
        t.mock.timers.tick(300);
        return { userId, displayName: 'x' };
      },
    } as unknown as messagingApi.MessagingApiClient;
    const env = new MockActivityEnvironment();
    const beats: number[] = [];
    env.on('heartbeat', (details: LineProfileBatch) => beats.push(Object.keys(details.profiles).length));
    await env.run(createLineActivities({ line: client }).readLineProfiles, ids(10), 1);
    assert.deepEqual(beats, [1, 5, 9], 'at 300, 1500 and 2700 ms: the first read, then the first read at least 1000 ms after the previous heartbeat');
  });

  test('more than 100 friends in one batch is a programming error, not retried', async () => {
    const { client } = fakeLine(() => 'ok');
    await assert.rejects(new MockActivityEnvironment().run(createLineActivities({ line: client }).readLineProfiles, ids(101)), (error: unknown) => {
      assert.ok(error instanceof ApplicationFailure);
      assert.equal(error.nonRetryable, true);
      return true;
    });
  });
});
