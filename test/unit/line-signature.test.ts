import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { validateSignature } from '@line/bot-sdk';
import { signLineBody, verifyLineSignature } from '../../src/line/signature.ts';

const SECRET = 'sandbox-line-channel-secret';
const EMPTY_BODY = '{"destination":"U5a4d0b0c0e0f4a6b8c9d0e1f2a3b4c5d","events":[]}';
// printf '%s' "$EMPTY_BODY" | openssl dgst -sha256 -hmac "$SECRET" -binary | base64
const EMPTY_BODY_SIGNATURE = 'DVKUeS6Kcr9JWh1QlJx977UF8LKY7Wt39cPLqTj2Pi8=';
const JAPANESE_BODY = '{"events":[{"type":"message","message":{"type":"text","text":"こんにちは"}}]}';
// the same over the UTF-8 bytes
const JAPANESE_BODY_SIGNATURE = '/YAE6ysbyBM4tGVOnEnS60zCKBxdZre3Rt89B3HEzXs=';

describe('LINE webhook signatures', () => {
  test('the signature is base64(HMAC-SHA256(channel secret, raw body)) — known vectors computed with openssl', () => {
    assert.equal(signLineBody(EMPTY_BODY, SECRET), EMPTY_BODY_SIGNATURE);
    assert.equal(signLineBody(JAPANESE_BODY, SECRET), JAPANESE_BODY_SIGNATURE);
    assert.equal(signLineBody(Buffer.from(JAPANESE_BODY, 'utf8'), SECRET), JAPANESE_BODY_SIGNATURE);
  });

  test('signing agrees with an independent HMAC and with @line/bot-sdk validateSignature', () => {
    const body = JSON.stringify({ destination: 'U' + 'a'.repeat(32), events: [{ type: 'follow', text: '絵文字🍣' }] });
    const independent = createHmac('sha256', Buffer.from(SECRET, 'utf8')).update(Buffer.from(body, 'utf8')).digest('base64');
    assert.equal(signLineBody(body, SECRET), independent);
    assert.equal(validateSignature(body, SECRET, signLineBody(body, SECRET)), true);
  });

  test('a correct signature over the raw bytes verifies', () => {
    assert.equal(verifyLineSignature(Buffer.from(EMPTY_BODY), EMPTY_BODY_SIGNATURE, SECRET), true);
    assert.equal(verifyLineSignature(Buffer.from(JAPANESE_BODY, 'utf8'), JAPANESE_BODY_SIGNATURE, SECRET), true);
  });

  test('a tampered body fails, even by one byte or only in white space', () => {
    assert.equal(verifyLineSignature(Buffer.from(EMPTY_BODY.replace('[]', '[ ]')), EMPTY_BODY_SIGNATURE, SECRET), false);
    assert.equal(verifyLineSignature(Buffer.from(EMPTY_BODY.replace('U5a', 'U5b')), EMPTY_BODY_SIGNATURE, SECRET), false);
    // re-serialized JSON is not the raw body
    assert.equal(verifyLineSignature(Buffer.from(JSON.stringify(JSON.parse(EMPTY_BODY), null, 1)), EMPTY_BODY_SIGNATURE, SECRET), false);
  });

  test('a signature made with another secret fails', () => {
    assert.equal(verifyLineSignature(Buffer.from(EMPTY_BODY), signLineBody(EMPTY_BODY, 'another-channel-secret'), SECRET), false);
    assert.equal(verifyLineSignature(Buffer.from(EMPTY_BODY), EMPTY_BODY_SIGNATURE, 'another-channel-secret'), false);
  });

  test('a missing or empty signature fails', () => {
    assert.equal(verifyLineSignature(Buffer.from(EMPTY_BODY), undefined, SECRET), false);
    assert.equal(verifyLineSignature(Buffer.from(EMPTY_BODY), '', SECRET), false);
  });

  test('a signature of a different length fails without throwing', () => {
    assert.equal(verifyLineSignature(Buffer.from(EMPTY_BODY), EMPTY_BODY_SIGNATURE.slice(0, -1), SECRET), false);
    assert.equal(verifyLineSignature(Buffer.from(EMPTY_BODY), `${EMPTY_BODY_SIGNATURE}=`, SECRET), false);
    assert.equal(verifyLineSignature(Buffer.from(EMPTY_BODY), EMPTY_BODY_SIGNATURE.replace(/=$/, ''), SECRET), false);
    assert.equal(verifyLineSignature(Buffer.from(EMPTY_BODY), 'x'.repeat(1000), SECRET), false);
  });

  test('a value that is not base64 fails without throwing, also at the right length', () => {
    const garbage = '!'.repeat(EMPTY_BODY_SIGNATURE.length);
    assert.equal(verifyLineSignature(Buffer.from(EMPTY_BODY), garbage, SECRET), false);
    assert.equal(verifyLineSignature(Buffer.from(EMPTY_BODY), 'é'.repeat(EMPTY_BODY_SIGNATURE.length / 2), SECRET), false);
    assert.equal(verifyLineSignature(Buffer.from(EMPTY_BODY), 'not a signature', SECRET), false);
  });

  test('the hex digest or a URL-safe base64 variant is not accepted: LINE sends standard base64', () => {
    const digest = createHmac('sha256', SECRET).update(EMPTY_BODY).digest();
    assert.equal(verifyLineSignature(Buffer.from(EMPTY_BODY), digest.toString('hex'), SECRET), false);
    const urlSafe = digest.toString('base64url');
    if (urlSafe !== EMPTY_BODY_SIGNATURE) assert.equal(verifyLineSignature(Buffer.from(EMPTY_BODY), urlSafe, SECRET), false);
  });

  test('an empty body has a signature too (LINE signs whatever it sends)', () => {
    const signature = signLineBody('', SECRET);
    assert.equal(verifyLineSignature(Buffer.alloc(0), signature, SECRET), true);
    assert.equal(verifyLineSignature(Buffer.from(' '), signature, SECRET), false);
  });
});
