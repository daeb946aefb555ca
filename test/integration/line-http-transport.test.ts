// The Messaging API client's node:http transport against a real HTTP server: the SDK's contract
// (Response back, HTTPFetchError with status/headers/body), headers and bodies as the SDK sends them,
// timeouts, and a pooled socket the server closed.
import { HTTPFetchError, messagingApi } from '@line/bot-sdk';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import { httpStatusOf, lineFailure } from '../../activities/vendor-errors.ts';
import { createLineClient } from '../../src/line/client.ts';
import { LineHttpTransport, useLineHttpTransport } from '../../src/line/http-transport.ts';

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

const USER = `U${'a'.repeat(32)}`;
let server: http.Server;
let baseUrl: string;
let seen: Seen[] = [];
let answer: (req: Seen, res: http.ServerResponse) => void;

before(async () => {
  server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      const request = { method: req.method!, url: req.url!, headers: req.headers, body };
      seen.push(request);
      answer(request, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => new Promise<void>((resolve) => server.close(() => resolve())));
beforeEach(() => {
  seen = [];
  answer = (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ userId: USER, displayName: 'Taro' }));
});

describe('LINE HTTP transport', () => {
  it('is what the client sends through, with the SDK’s headers, and returns what LINE answered', async () => {
    const client = createLineClient({ channelAccessToken: 'secret-token', baseUrl });
    assert.ok((client as unknown as { httpClient: unknown }).httpClient instanceof LineHttpTransport);
    const profile = await client.getProfile(USER);
    assert.deepEqual(profile, { userId: USER, displayName: 'Taro' });
    assert.equal(seen.length, 1);
    assert.equal(seen[0]!.method, 'GET');
    assert.equal(seen[0]!.url, `/v2/bot/profile/${USER}`);
    assert.equal(seen[0]!.headers.authorization, 'Bearer secret-token');
    assert.match(String(seen[0]!.headers['user-agent']), /^@line\/bot-sdk\//);
    const info = await client.getProfileWithHttpInfo(USER);
    assert.equal(info.httpResponse.status, 200);
    assert.equal(info.httpResponse.headers.get('content-type'), 'application/json');
  });

  it('sends query parameters the SDK’s way (none when absent) and JSON bodies with one content-type', async () => {
    answer = (req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(req.method === 'GET' ? JSON.stringify({ userIds: [USER] }) : '{}');
    const client = createLineClient({ channelAccessToken: 't', baseUrl });
    await client.getFollowers(undefined, 300);
    await client.getFollowers('next-token', undefined);
    assert.deepEqual(
      seen.map((s) => s.url),
      ['/v2/bot/followers/ids?limit=300', '/v2/bot/followers/ids?start=next-token'],
    );
    await client.pushMessage({ to: USER, messages: [{ type: 'text', text: 'こんにちは' }] }, 'retry-key-1');
    const push = seen.at(-1)!;
    assert.equal(push.method, 'POST');
    assert.equal(push.headers['content-type'], 'application/json');
    assert.equal(push.headers['x-line-retry-key'], 'retry-key-1');
    assert.equal(Number(push.headers['content-length']), Buffer.byteLength(push.body));
    assert.deepEqual(JSON.parse(push.body), { to: USER, messages: [{ type: 'text', text: 'こんにちは' }] });
  });

  it('turns a non-2xx answer into the SDK’s HTTPFetchError, which the activities map as before', async () => {
    answer = (_req, res) => res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '7' }).end(JSON.stringify({ message: 'Too many requests' }));
    const client = createLineClient({ channelAccessToken: 't', baseUrl });
    const error = await client.getProfile(USER).catch((e: unknown) => e);
    assert.ok(error instanceof HTTPFetchError);
    assert.equal(error.status, 429);
    assert.equal(error.headers.get('retry-after'), '7');
    assert.equal(error.body, JSON.stringify({ message: 'Too many requests' }));
    assert.equal(httpStatusOf(error), 429);
    const failure = lineFailure(error, 'profile read');
    assert.equal(failure.nonRetryable, false);
    assert.match(failure.message, /Too many requests/);

    answer = (_req, res) => res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ message: 'Not found' }));
    const missing = await client.getProfile(USER).catch((e: unknown) => e);
    assert.equal(httpStatusOf(missing), 404);
  });

  it('gives up on a request LINE does not answer, as a retryable network error', async () => {
    answer = () => undefined; // never answers
    const client = useLineHttpTransport(new messagingApi.MessagingApiClient({ channelAccessToken: 't', baseURL: baseUrl }), 200);
    const started = Date.now();
    const error = (await client.getProfile(USER).catch((e: unknown) => e)) as NodeJS.ErrnoException;
    assert.ok(Date.now() - started < 5000);
    assert.equal(error.code, 'ETIMEDOUT');
    assert.match(error.message, /did not answer GET \/v2\/bot\/profile\/.* in 200 ms/);
    assert.equal(lineFailure(error, 'profile read').nonRetryable, false);
  });

  it('keeps sockets alive between requests, and reads again once when the server had closed an idle one', async () => {
    const sockets = new Set<unknown>();
    server.on('connection', (socket) => sockets.add(socket));
    try {
      const client = createLineClient({ channelAccessToken: 't', baseUrl });
      await client.getProfile(USER);
      await client.getProfile(USER);
      assert.equal(sockets.size, 1, 'the second request reused the first one’s socket');
      // The server drops the pooled socket instead of answering: the read meets a reset on a reused
      // socket, which never reached LINE's handler as far as the client can tell, and is sent once more.
      const before = seen.length;
      answer = (_req, res) => {
        answer = (_r, res2) => res2.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ userId: USER, displayName: 'Again' }));
        res.socket?.destroy();
      };
      assert.equal((await client.getProfile(USER)).displayName, 'Again');
      assert.equal(seen.length - before, 2);
      // Once, not in a loop: a server that resets every time fails the read after the second try.
      const again = seen.length;
      answer = (_req, res) => res.socket?.destroy();
      const error = (await client.getProfile(USER).catch((e: unknown) => e)) as NodeJS.ErrnoException;
      assert.equal(error.code, 'ECONNRESET');
      assert.equal(seen.length - again, 2);
      assert.equal(lineFailure(error, 'profile read').nonRetryable, false);
    } finally {
      server.removeAllListeners('connection');
    }
  });

  it('refuses an SDK client without the shape it replaces, naming the file to look at', () => {
    assert.throws(() => useLineHttpTransport({ httpClient: {} }), /src\/line\/http-transport\.ts/);
  });
});
