// The vendor clients' sockets: keep-alive agents over node:http(s), with a timeout that ends a request
// the server never answers (a retryable network error), and the HubSpot client sending through them.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { hubspotFailure } from '../../activities/vendor-errors.ts';
import { createHubspotClient } from '../../src/hubspot/client.ts';
import { keepAliveAgent } from '../../src/http-agents.ts';

let server: http.Server;
let baseUrl: string;
const seen: http.IncomingHttpHeaders[] = [];

before(async () => {
  server = http.createServer((req, res) => {
    seen.push(req.headers);
    if (req.url?.startsWith('/hang')) return; // never answers
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ results: [] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => {
  server.closeAllConnections();
  return new Promise<void>((resolve) => server.close(() => resolve()));
});

const get = (agent: http.Agent, path: string) =>
  new Promise<number>((resolve, reject) => {
    http.get(`${baseUrl}${path}`, { agent }, (res) => res.resume().on('end', () => resolve(res.statusCode!))).on('error', reject);
  });

describe('keep-alive agents', () => {
  it('reuse one socket for requests in a row', async () => {
    const agent = keepAliveAgent('http:');
    const sockets = new Set<unknown>();
    const count = (socket: unknown) => sockets.add(socket);
    server.on('connection', count);
    try {
      for (let i = 0; i < 3; i++) assert.equal(await get(agent, '/ok'), 200);
      assert.equal(sockets.size, 1);
    } finally {
      server.off('connection', count);
      agent.destroy();
    }
  });

  it('end a request the server never answers with ETIMEDOUT', async () => {
    const agent = keepAliveAgent('http:', 200);
    const started = Date.now();
    const error = (await get(agent, '/hang').catch((e: unknown) => e)) as NodeJS.ErrnoException;
    assert.equal(error.code, 'ETIMEDOUT');
    assert.match(error.message, /no answer from 127\.0\.0\.1 in 200 ms/);
    assert.ok(Date.now() - started < 5000);
    agent.destroy();
  });

  it('refuse a URL that is not http(s)', () => {
    assert.throws(() => keepAliveAgent('ftp:'), /expected an http\(s\) URL, got ftp:/);
  });
});

describe('the HubSpot client', () => {
  it('sends over node:http through the agent, not through fetch', async () => {
    const client = createHubspotClient({ accessToken: 'pat-test', baseUrl });
    seen.length = 0;
    await client.crm.contacts.batchApi.read({ inputs: [{ id: 'U1' }], idProperty: 'line_user_id', properties: ['email'], propertiesWithHistory: [] });
    assert.equal(seen.length, 1);
    assert.equal(seen[0]!.authorization, 'Bearer pat-test');
    assert.equal(seen[0]!.connection, 'keep-alive');
    // undici's fetch always sends these; node:http never does
    assert.equal(seen[0]!['sec-fetch-mode'], undefined);
  });

  it('turns a hung request into a retryable failure', async () => {
    const agent = keepAliveAgent('http:', 200);
    const error = await new Promise((resolve) => http.get(`${baseUrl}/hang`, { agent }).on('error', resolve));
    const failure = hubspotFailure(error, { operation: 'batch read', timeZone: 'Asia/Tokyo' });
    assert.equal(failure.nonRetryable, false);
    agent.destroy();
  });
});
