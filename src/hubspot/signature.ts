// HubSpot webhook signatures, v3: `X-HubSpot-Signature-v3` =
// base64(HMAC-SHA256(app client secret, method + full URI + raw body + timestamp)), where the
// timestamp is `X-HubSpot-Request-Timestamp` (epoch ms) and requests older than 5 minutes are refused.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const HUBSPOT_SIGNATURE_HEADER = 'x-hubspot-signature-v3';
export const HUBSPOT_TIMESTAMP_HEADER = 'x-hubspot-request-timestamp';
/** HubSpot's replay window: a signed request older than this is refused. */
export const HUBSPOT_SIGNATURE_MAX_AGE_MS = 5 * 60 * 1000;

// HubSpot signs the URI with these percent-escapes decoded (its v3 validation guide lists them).
const DECODED_IN_SIGNED_URI: Record<string, string> = {
  '%3A': ':',
  '%2F': '/',
  '%3F': '?',
  '%40': '@',
  '%21': '!',
  '%24': '$',
  '%27': "'",
  '%28': '(',
  '%29': ')',
  '%2A': '*',
  '%2C': ',',
  '%3B': ';',
};

/** The URI as HubSpot signs it: the listed percent-escapes decoded, everything else as sent. */
export function signedUri(uri: string): string {
  return uri.replace(/%(3A|2F|3F|40|21|24|27|28|29|2A|2C|3B)/gi, (escape) => DECODED_IN_SIGNED_URI[escape.toUpperCase()] ?? escape);
}

/**
 * The full URI HubSpot called: `PUBLIC_URL` (the service's external origin, which may carry a
 * path prefix) + the request's path and query when configured; otherwise rebuilt from the
 * request's protocol (X-Forwarded-Proto behind a proxy) and Host header.
 */
export function requestUri(request: { protocol: string; host: string; url: string }, publicUrl: string | undefined): string {
  if (publicUrl) return `${publicUrl.replace(/\/+$/, '')}${request.url}`;
  return `${request.protocol}://${request.host}${request.url}`;
}

export interface SignatureInput {
  clientSecret: string;
  method: string;
  /** the full URI HubSpot called, e.g. https://sync.example.com/webhooks/hubspot */
  uri: string;
  /** the raw body bytes as received */
  body: Buffer | string;
  /** `X-HubSpot-Request-Timestamp`, exactly as sent */
  timestamp: string;
}

/** The `X-HubSpot-Signature-v3` value HubSpot would send for this request. */
export function signHubspotRequest({ clientSecret, method, uri, body, timestamp }: SignatureInput): string {
  return createHmac('sha256', clientSecret)
    .update(method.toUpperCase(), 'utf8')
    .update(signedUri(uri), 'utf8')
    .update(typeof body === 'string' ? Buffer.from(body, 'utf8') : body)
    .update(timestamp, 'utf8')
    .digest('base64');
}

export type SignatureVerdict = { ok: true } | { ok: false; reason: 'missing signature' | 'missing or malformed timestamp' | 'stale timestamp' | 'bad signature' };

/**
 * Whether a request carries HubSpot's v3 signature, signed within the last 5 minutes (and not
 * from more than 5 minutes in the future: clocks drift, replays do not). Constant time in the
 * signature's content.
 */
export function verifyHubspotRequest(input: Omit<SignatureInput, 'timestamp'> & { timestamp: string | undefined; signature: string | undefined; now?: number }): SignatureVerdict {
  const { signature, timestamp } = input;
  if (typeof signature !== 'string' || signature === '') return { ok: false, reason: 'missing signature' };
  if (typeof timestamp !== 'string' || !/^\d{1,16}$/.test(timestamp)) return { ok: false, reason: 'missing or malformed timestamp' };
  const age = (input.now ?? Date.now()) - Number(timestamp);
  if (Math.abs(age) > HUBSPOT_SIGNATURE_MAX_AGE_MS) return { ok: false, reason: 'stale timestamp' };
  const expected = Buffer.from(signHubspotRequest({ ...input, timestamp }), 'utf8');
  const given = Buffer.from(signature, 'utf8');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'bad signature' };
  return { ok: true };
}
