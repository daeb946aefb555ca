import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadConfig, requireFor, retiredVariables } from '../../src/config.ts';

test('defaults follow interfaces.md', () => {
  const c = loadConfig({});
  assert.equal(c.port, 3000);
  assert.equal(c.host, '127.0.0.1');
  assert.equal(c.temporalAddress, undefined);
  assert.equal(c.temporalNamespace, 'default');
  assert.equal(c.taskQueue, 'line-hubspot-sync');
  assert.equal(c.lineChannelId, 'default');
  assert.equal(c.lineApiBaseUrl, 'https://api.line.me');
  assert.equal(c.hubspotBaseUrl, 'https://api.hubapi.com');
  assert.equal(c.hubspotRequestsPer10s, 100);
  assert.equal(c.lineInboxShards, 1);
  assert.equal(c.lineInboxIdleSeconds, 900, 'an idle contact writer ends after 15 minutes');
  assert.equal(c.syncDateTimeZone, 'UTC');
  assert.equal(c.adminToken, undefined);
  assert.equal(c.publicUrl, undefined);
});

test('every variable of interfaces.md is read', () => {
  const c = loadConfig({
    PORT: '8080',
    HOST: '0.0.0.0',
    TEMPORAL_ADDRESS: 'temporal.example.com:7233',
    TEMPORAL_NAMESPACE: 'prod',
    TEMPORAL_TASK_QUEUE: 'lhs',
    LINE_CHANNEL_ID: '1650000000',
    LINE_CHANNEL_SECRET: 'line-secret-123',
    LINE_CHANNEL_ACCESS_TOKEN: 'line-token-123',
    LINE_LOGIN_CHANNEL_ID: '1650000001',
    LINE_API_BASE_URL: 'http://127.0.0.1:3101/',
    HUBSPOT_ACCESS_TOKEN: 'pat-na1-123456',
    HUBSPOT_BASE_URL: 'http://127.0.0.1:3102',
    HUBSPOT_CLIENT_SECRET: 'hs-secret-123',
    HUBSPOT_REQUESTS_PER_10S: '190',
    SYNC_DATE_TIME_ZONE: 'Asia/Tokyo',
    LINE_INBOX_SHARDS: '4',
    LINE_INBOX_IDLE_SECONDS: '120',
    ADMIN_TOKEN: 'admin-token-0123456789',
    PUBLIC_URL: 'https://sync.example.com',
  });
  assert.equal(c.port, 8080);
  assert.equal(c.host, '0.0.0.0');
  assert.equal(c.temporalAddress, 'temporal.example.com:7233');
  assert.equal(c.temporalNamespace, 'prod');
  assert.equal(c.taskQueue, 'lhs');
  assert.equal(c.lineChannelId, '1650000000');
  assert.equal(c.lineChannelSecret, 'line-secret-123');
  assert.equal(c.lineChannelAccessToken, 'line-token-123');
  assert.equal(c.lineLoginChannelId, '1650000001');
  assert.equal(c.lineApiBaseUrl, 'http://127.0.0.1:3101', 'a trailing slash is dropped: the SDK wants an origin');
  assert.equal(c.hubspotAccessToken, 'pat-na1-123456');
  assert.equal(c.hubspotBaseUrl, 'http://127.0.0.1:3102');
  assert.equal(c.hubspotClientSecret, 'hs-secret-123');
  assert.equal(c.hubspotRequestsPer10s, 190);
  assert.equal(c.syncDateTimeZone, 'Asia/Tokyo');
  assert.equal(c.lineInboxShards, 4);
  assert.equal(c.lineInboxIdleSeconds, 120);
  assert.equal(c.adminToken, 'admin-token-0123456789');
  assert.equal(c.publicUrl, 'https://sync.example.com');
});

test('a retired variable that is still set gets one clear line each; none when unset', () => {
  assert.deepEqual(retiredVariables({}), []);
  assert.deepEqual(retiredVariables({ LINE_HANDOVER_PER_SECOND: '', FRIEND_IDLE_SECONDS: '  ' }), [], 'set to nothing is unset');
  assert.deepEqual(retiredVariables({ LINE_INBOX_IDLE_SECONDS: '5', HUBSPOT_REQUESTS_PER_10S: '190' }), [], 'current variables are not retired');

  const [handOver, ...moreHandOver] = retiredVariables({ LINE_HANDOVER_PER_SECOND: '20' });
  assert.deepEqual(moreHandOver, []);
  assert.match(handOver!, /^LINE_HANDOVER_PER_SECOND is set but no longer used \(.*HUBSPOT_REQUESTS_PER_10S.*\); remove it$/);
  assert.ok(!handOver!.includes('\n'), 'one line');

  const [idle, ...moreIdle] = retiredVariables({ FRIEND_IDLE_SECONDS: '3' });
  assert.deepEqual(moreIdle, []);
  assert.match(idle!, /^FRIEND_IDLE_SECONDS is set but no longer used \(.*LINE_INBOX_IDLE_SECONDS.*\); remove it$/, 'it names the variable that took its place');
  assert.ok(!idle!.includes('\n'), 'one line');

  const both = retiredVariables({ FRIEND_IDLE_SECONDS: '3', LINE_HANDOVER_PER_SECOND: '20' });
  assert.equal(both.length, 2);
  assert.ok(both.some((l) => l.startsWith('FRIEND_IDLE_SECONDS ')) && both.some((l) => l.startsWith('LINE_HANDOVER_PER_SECOND ')));
});

test('a retired variable no longer changes or stops anything, whatever its value', () => {
  const plain = loadConfig({});
  for (const env of [{ LINE_HANDOVER_PER_SECOND: 'fast' }, { LINE_HANDOVER_PER_SECOND: '-1' }, { FRIEND_IDLE_SECONDS: '0' }, { FRIEND_IDLE_SECONDS: '3' }]) {
    assert.deepEqual(loadConfig(env), plain, JSON.stringify(env));
  }
  assert.equal(loadConfig({ FRIEND_IDLE_SECONDS: '3' }).lineInboxIdleSeconds, 900, 'FRIEND_IDLE_SECONDS is not read as LINE_INBOX_IDLE_SECONDS');
});

test('a process started with retired variables says so once each on stderr and goes on', () => {
  const result = spawnSync(
    process.execPath,
    ['--import', 'tsx', '--input-type=module', '-e', "const { configOrExit, loadConfig } = await import('./src/config.ts'); configOrExit(() => loadConfig()); process.stdout.write('started');"],
    { env: { PATH: process.env.PATH, FRIEND_IDLE_SECONDS: '3', LINE_HANDOVER_PER_SECOND: '20' }, encoding: 'utf8', timeout: 30_000 },
  );
  assert.equal(result.status, 0, result.stderr);
  assert.equal(result.stdout, 'started');
  const lines = result.stderr.trim().split('\n').sort();
  assert.equal(lines.length, 2, result.stderr);
  assert.match(lines[0]!, /^configuration warning: FRIEND_IDLE_SECONDS is set but no longer used/);
  assert.match(lines[1]!, /^configuration warning: LINE_HANDOVER_PER_SECOND is set but no longer used/);
});

test('LINE_INBOX_IDLE_SECONDS: an idle contact writer ends after 15 minutes unless set', () => {
  assert.equal(loadConfig({}).lineInboxIdleSeconds, 900);
  assert.equal(loadConfig({ LINE_INBOX_IDLE_SECONDS: '1' }).lineInboxIdleSeconds, 1);
  assert.equal(loadConfig({ LINE_INBOX_IDLE_SECONDS: ' 5 ' }).lineInboxIdleSeconds, 5);
  assert.equal(loadConfig({ LINE_INBOX_IDLE_SECONDS: '604800' }).lineInboxIdleSeconds, 604800, 'up to a week');
  assert.equal(loadConfig({ LINE_INBOX_IDLE_SECONDS: '' }).lineInboxIdleSeconds, 900, 'empty is unset');
  assert.equal(loadConfig({ LINE_INBOX_SHARDS: '4' }).lineInboxShards, 4);
});

const bad: Array<[string, Record<string, string>, RegExp]> = [
  ['PORT', { PORT: 'eighty' }, /PORT must be a whole number/],
  ['PORT', { PORT: '70000' }, /PORT must be from 0 to 65535/],
  ['TEMPORAL_ADDRESS', { TEMPORAL_ADDRESS: 'http://x' }, /TEMPORAL_ADDRESS must be host:port/],
  ['LINE_API_BASE_URL', { LINE_API_BASE_URL: 'not a url' }, /LINE_API_BASE_URL must be an http\(s\) URL/],
  ['HUBSPOT_BASE_URL', { HUBSPOT_BASE_URL: 'ftp://x' }, /HUBSPOT_BASE_URL must use http or https/],
  ['HUBSPOT_REQUESTS_PER_10S', { HUBSPOT_REQUESTS_PER_10S: '0' }, /HUBSPOT_REQUESTS_PER_10S must be from 1/],
  ['SYNC_DATE_TIME_ZONE', { SYNC_DATE_TIME_ZONE: 'Mars/Olympus' }, /SYNC_DATE_TIME_ZONE is not an IANA time zone/],
  ['TEMPORAL_TASK_QUEUE', { TEMPORAL_TASK_QUEUE: 'a b' }, /TEMPORAL_TASK_QUEUE may hold only/],
  ['PUBLIC_URL', { PUBLIC_URL: 'nope' }, /PUBLIC_URL must be an http\(s\) URL/],
  ['LINE_INBOX_SHARDS', { LINE_INBOX_SHARDS: '0' }, /LINE_INBOX_SHARDS must be from 1 to 64/],
  ['LINE_INBOX_SHARDS', { LINE_INBOX_SHARDS: '65' }, /LINE_INBOX_SHARDS must be from 1 to 64/],
  ['LINE_INBOX_IDLE_SECONDS', { LINE_INBOX_IDLE_SECONDS: '0' }, /LINE_INBOX_IDLE_SECONDS must be from 1 to 604800, got 0/],
  ['LINE_INBOX_IDLE_SECONDS', { LINE_INBOX_IDLE_SECONDS: '604801' }, /LINE_INBOX_IDLE_SECONDS must be from 1 to 604800/],
  ['LINE_INBOX_IDLE_SECONDS', { LINE_INBOX_IDLE_SECONDS: 'soon' }, /LINE_INBOX_IDLE_SECONDS must be a whole number from 1 to 604800, got "soon"/],
  ['LINE_INBOX_IDLE_SECONDS', { LINE_INBOX_IDLE_SECONDS: '1.5' }, /LINE_INBOX_IDLE_SECONDS must be a whole number/],
  ['LINE_INBOX_IDLE_SECONDS', { LINE_INBOX_IDLE_SECONDS: '-1' }, /LINE_INBOX_IDLE_SECONDS must be a whole number/],
  ['LINE_INBOX_IDLE_SECONDS', { LINE_INBOX_IDLE_SECONDS: '15m' }, /LINE_INBOX_IDLE_SECONDS must be a whole number/],
];
for (const [variable, env, message] of bad) {
  test(`a malformed ${variable} (${JSON.stringify(env[variable])}) is rejected with its name`, () => {
    assert.throws(
      () => loadConfig(env),
      (error: unknown) => error instanceof ConfigError && error.variable === variable && message.test(error.message),
    );
  });
}

test('a malformed secret is named but its value never shown', () => {
  const secret = 'x9q7z';
  assert.throws(
    () => loadConfig({ ADMIN_TOKEN: secret }),
    (error: unknown) => error instanceof ConfigError && error.variable === 'ADMIN_TOKEN' && !error.message.includes(secret),
  );
  const spaced = 'has a space in it';
  assert.throws(
    () => loadConfig({ LINE_CHANNEL_SECRET: spaced }),
    (error: unknown) => error instanceof ConfigError && !error.message.includes(spaced),
  );
});

test('the server needs TEMPORAL_ADDRESS and LINE_CHANNEL_SECRET; the worker needs both access tokens', () => {
  assert.throws(() => requireFor(loadConfig({}), 'server'), /TEMPORAL_ADDRESS is required/);
  assert.throws(() => requireFor(loadConfig({ TEMPORAL_ADDRESS: 'a:1' }), 'server'), /LINE_CHANNEL_SECRET is required/);
  assert.throws(() => requireFor(loadConfig({ TEMPORAL_ADDRESS: 'a:1', LINE_CHANNEL_ACCESS_TOKEN: 'token-123456' }), 'worker'), /HUBSPOT_ACCESS_TOKEN is required/);
  requireFor(loadConfig({ TEMPORAL_ADDRESS: 'a:1', LINE_CHANNEL_SECRET: 'secret-123' }), 'server');
});

test('a process started with a bad variable stops with one line naming it, no stack trace, no secret', () => {
  const secret = 'sekret with spaces';
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'src/main/server.ts'], {
    env: { PATH: process.env.PATH, LINE_CHANNEL_SECRET: secret, TEMPORAL_ADDRESS: '127.0.0.1:1' },
    encoding: 'utf8',
    timeout: 30_000,
  });
  assert.equal(result.status, 2);
  const lines = result.stderr.trim().split('\n');
  assert.equal(lines.length, 1, result.stderr);
  assert.match(lines[0]!, /^configuration error: LINE_CHANNEL_SECRET contains white space/);
  assert.ok(!result.stderr.includes(secret) && !result.stdout.includes(secret));
});

test('TRUST_PROXY takes true, false, a hop count or addresses', () => {
  assert.equal(loadConfig({}).trustProxy, true);
  assert.equal(loadConfig({ TRUST_PROXY: 'false' }).trustProxy, false);
  assert.equal(loadConfig({ TRUST_PROXY: '2' }).trustProxy, 2);
  assert.equal(loadConfig({ TRUST_PROXY: '10.0.0.0/8,127.0.0.1' }).trustProxy, '10.0.0.0/8,127.0.0.1');
  assert.throws(() => loadConfig({ TRUST_PROXY: 'everyone' }), /TRUST_PROXY must be/);
});
