// Pooled keep-alive sockets for the vendor clients (LINE's Messaging API, HubSpot), over node:http(s)
// rather than the global fetch: fetch's Responses are FinalizationRegistry targets that V8's scavenger
// keeps alive, so each request's objects (~18 KB, measured) reach the old generation; src/line/http-transport.ts
// has the figures. A socket that goes this long without a byte, in a request or idle in the pool, is
// destroyed with ETIMEDOUT (a retryable network error to the activities).
import http from 'node:http';
import https from 'node:https';

export const SOCKET_TIMEOUT_MS = 30_000;

export function keepAliveAgent(protocol: string, timeoutMs = SOCKET_TIMEOUT_MS): http.Agent {
  if (protocol !== 'http:' && protocol !== 'https:') throw new TypeError(`expected an http(s) URL, got ${protocol}`);
  const agent = protocol === 'https:' ? new https.Agent({ keepAlive: true, timeout: timeoutMs }) : new http.Agent({ keepAlive: true, timeout: timeoutMs });
  const create = agent.createConnection.bind(agent);
  // Node's agent only destroys an idle pooled socket on timeout; one in a request would wait forever.
  // (After the request's own timeout handlers, which may destroy it with a more precise message.)
  agent.createConnection = (options, callback) => {
    const socket = create(options, callback) as import('node:net').Socket | null | undefined;
    socket?.on('timeout', () =>
      setImmediate(() => {
        if (!socket.destroyed)
          socket.destroy(Object.assign(new Error(`no answer from ${options.host ?? options.hostname} in ${socket.timeout ?? timeoutMs} ms`), { name: 'TimeoutError', code: 'ETIMEDOUT' }));
      }),
    );
    return socket;
  };
  return agent;
}
