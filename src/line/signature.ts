// LINE webhook signatures: `x-line-signature` = base64(HMAC-SHA256(channel secret, raw body bytes)).
import { createHmac, timingSafeEqual } from 'node:crypto';

/** The `x-line-signature` value LINE would send for these exact body bytes. */
export function signLineBody(body: string | Buffer, channelSecret: string): string {
  return createHmac('sha256', channelSecret).update(body).digest('base64');
}

/**
 * Whether `signature` is LINE's signature of `rawBody` (the bytes as received, before any parsing).
 * Constant time in the signature's content; false for a missing, empty, wrong-length or garbage value.
 */
export function verifyLineSignature(rawBody: Buffer, signature: string | undefined, channelSecret: string): boolean {
  if (typeof signature !== 'string' || signature.length === 0) return false;
  const expected = Buffer.from(signLineBody(rawBody, channelSecret), 'utf8');
  const given = Buffer.from(signature, 'utf8');
  if (given.length !== expected.length) return false;
  return timingSafeEqual(given, expected);
}
