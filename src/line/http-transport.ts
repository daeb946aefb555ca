// The Messaging API client's HTTP transport: node:http(s) with keep-alive instead of the global fetch.
//
// @line/bot-sdk sends every request through Node's fetch (undici). Each fetch's Response is registered
// with a FinalizationRegistry and its body stream held by a WeakRef, and V8's scavenger keeps such
// targets alive, so the request's objects (~18 KB each, measured) reach the old generation instead of
// dying young. At an import's one profile read per friend that was most of what the worker's main
// thread promoted (~9 MB/s at 450 friends/s), and the old generation's promotion rate is what makes
// V8 let the heap grow to four times its live size before a full GC. This transport speaks the same
// contract as the SDK's own client (a `Response` back, `HTTPFetchError` for a non-2xx status) for the
// four methods the Messaging API client uses, over pooled sockets; anything else (multipart and
// binary uploads) still goes through the SDK's client.
import { HTTPFetchError } from '@line/bot-sdk';
import http from 'node:http';
import https from 'node:https';
import { keepAliveAgent } from '../http-agents.ts';

/** What the SDK's client offers: the Messaging API client calls only `get`, `post`, `put` and `delete`. */
interface SdkHttpClient {
  baseURL: string;
  defaultHeaders: Record<string, string>;
  get(url: string, params?: Record<string, unknown>): Promise<Response>;
  post(url: string, body?: unknown, config?: { headers?: Record<string, string> }): Promise<Response>;
  put(url: string, body?: unknown, config?: { headers?: Record<string, string> }): Promise<Response>;
  delete(url: string, params?: Record<string, unknown>): Promise<Response>;
  [other: string]: unknown;
}

/** A request with no answer in this long fails (the activity's retry takes over); LINE answers in well under a second. */
export const LINE_REQUEST_TIMEOUT_MS = 30_000;

const agents = { 'http:': keepAliveAgent('http:'), 'https:': keepAliveAgent('https:') };

function searchParams(params: Record<string, unknown> | undefined): string {
  if (!params) return '';
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value !== undefined && value !== null) search.append(key, String(value));
  const text = search.toString();
  return text ? `?${text}` : '';
}

/** The HTTP/1.1 exchange: the whole answer as a `Response` (any status), or a network error with its `code`. */
function exchange(method: string, url: URL, headers: Record<string, string>, body: string | undefined, timeoutMs: number, retried = false): Promise<Response> {
  const transport = url.protocol === 'https:' ? https : url.protocol === 'http:' ? http : undefined;
  if (!transport) return Promise.reject(new TypeError(`LINE API base URL must be http(s), got ${url.protocol}`));
  return new Promise<Response>((resolve, reject) => {
    const request = transport.request(
      url,
      { method, headers: body === undefined ? headers : { ...headers, 'content-length': String(Buffer.byteLength(body)) }, agent: agents[url.protocol as 'http:' | 'https:'] },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          const responseHeaders = new Headers();
          for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) responseHeaders.append(res.rawHeaders[i]!, res.rawHeaders[i + 1]!);
          const noBody = status === 204 || status === 205 || status === 304 || method === 'HEAD';
          try {
            resolve(new Response(noBody ? null : Buffer.concat(chunks), { status, statusText: res.statusMessage ?? '', headers: responseHeaders }));
          } catch (error) {
            reject(error);
          }
        });
      },
    );
    request.setTimeout(timeoutMs, () => request.destroy(Object.assign(new Error(`LINE API did not answer ${method} ${url.pathname} in ${timeoutMs} ms`), { name: 'TimeoutError', code: 'ETIMEDOUT' })));
    request.on('error', (error: NodeJS.ErrnoException) => {
      // A pooled socket the server closed while idle: a read that never reached LINE is sent once more.
      if (!retried && request.reusedSocket && error.code === 'ECONNRESET' && (method === 'GET' || method === 'DELETE')) {
        exchange(method, url, headers, body, timeoutMs, true).then(resolve, reject);
      } else reject(error);
    });
    request.end(body);
  });
}

/** Same contract as the SDK's own client: a 2xx `Response`, or `HTTPFetchError` with status, headers and body. */
async function checked(response: Response): Promise<Response> {
  if (response.ok) return response;
  const { status, statusText, headers } = response;
  throw new HTTPFetchError(`${status} - ${statusText}`, { status, statusText, headers, body: await response.text() });
}

export class LineHttpTransport {
  readonly baseURL: string;
  readonly defaultHeaders: Record<string, string>;
  readonly #sdk: SdkHttpClient;
  readonly #timeoutMs: number;

  constructor(sdk: SdkHttpClient, timeoutMs = LINE_REQUEST_TIMEOUT_MS) {
    this.baseURL = sdk.baseURL;
    this.defaultHeaders = sdk.defaultHeaders;
    this.#sdk = sdk;
    this.#timeoutMs = timeoutMs;
    // Uploads (multipart forms, binary content) keep the SDK's own client.
    for (const name of ['postForm', 'postFormMultipart', 'putFormMultipart', 'postBinaryContent']) {
      const method = sdk[name];
      if (typeof method === 'function') Object.defineProperty(this, name, { value: method.bind(sdk) });
    }
  }

  /** Headers as the SDK merges them (its defaults are lower-cased), so no name goes twice in two casings. */
  #send(method: string, path: string, json: boolean, body?: unknown, headers?: Record<string, string>): Promise<Response> {
    const all: Record<string, string> = json ? { 'content-type': 'application/json' } : {};
    for (const [name, value] of Object.entries({ ...this.defaultHeaders, ...headers })) all[name.toLowerCase()] = value;
    // Like the SDK's client: JSON.stringify(undefined) is no body at all.
    const text = json ? (JSON.stringify(body) as string | undefined) : undefined;
    return exchange(method, new URL(path, this.baseURL), all, text, this.#timeoutMs).then(checked);
  }

  get(url: string, params?: Record<string, unknown>): Promise<Response> {
    return this.#send('GET', url + searchParams(params), false);
  }

  post(url: string, body?: unknown, config?: { headers?: Record<string, string> }): Promise<Response> {
    return this.#send('POST', url, true, body, config?.headers);
  }

  put(url: string, body?: unknown, config?: { headers?: Record<string, string> }): Promise<Response> {
    return this.#send('PUT', url, true, body, config?.headers);
  }

  delete(url: string, params?: Record<string, unknown>): Promise<Response> {
    return this.#send('DELETE', url + searchParams(params), false);
  }
}

function isSdkHttpClient(value: unknown): value is SdkHttpClient {
  const v = value as Partial<SdkHttpClient> | undefined;
  return !!v && typeof v.baseURL === 'string' && typeof v.defaultHeaders === 'object' && ['get', 'post', 'put', 'delete'].every((m) => typeof (v as Record<string, unknown>)[m] === 'function');
}

/** Puts the transport under an SDK client (its `httpClient`); fails loudly if an SDK release reshaped that. */
export function useLineHttpTransport<T extends object>(client: T, timeoutMs?: number): T {
  const holder = client as { httpClient?: unknown };
  if (!isSdkHttpClient(holder.httpClient)) {
    throw new Error('@line/bot-sdk changed: its API client has no httpClient with get/post/put/delete; src/line/http-transport.ts needs a look');
  }
  holder.httpClient = new LineHttpTransport(holder.httpClient, timeoutMs);
  return client;
}
