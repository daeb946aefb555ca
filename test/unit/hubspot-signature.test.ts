import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Signature } from '@hubspot/api-client';
import { HUBSPOT_SIGNATURE_MAX_AGE_MS, requestUri, signedUri, signHubspotRequest, verifyHubspotRequest } from '../../src/hubspot/signature.ts';

// HubSpot's own example secret and body (its validation guide and SDK tests).
const EXAMPLE_SECRET = 'yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy';
const EXAMPLE_BODY = '{"example_field":"example_value"}';
// printf '%s' 'POSThttps://www.example.com/webhook_uri{"example_field":"example_value"}1700000000000' \
//   | openssl dgst -sha256 -hmac "$EXAMPLE_SECRET" -binary | base64
const EXAMPLE_SIGNATURE = 'rQEKkaNUiu+1qGF//O/pw4BCzstSqO1PyUnGICmf+7o=';

const SECRET = 'hubspot-client-secret-0123';
const T = 1714532645678;
const EVENTS = '[{"eventId":1,"subscriptionType":"contact.propertyChange","propertyName":"line_user_id","propertyValue":"U4af4980629f1a2b3c4d5e6f708192a3b"}]';
// printf '%s' "POSThttps://sync.example.com/webhooks/hubspot?a=b:c${EVENTS}1714532645678" | openssl dgst -sha256 -hmac "$SECRET" -binary | base64
const EVENTS_SIGNATURE = '5EG42M9UJXLvw/qAFiRvnTzIqk93HrbPHq7uSa3Rdns=';
// the URI below with %3A and %2F decoded, over the UTF-8 bytes of the body
const ENCODED_URI = 'https://sync.example.com/webhooks/hubspot?from=https%3A%2F%2Fapp.hubspot.com/x';
const JAPANESE_BODY = '[{"propertyValue":"山田"}]';
const ENCODED_URI_SIGNATURE = 'J6sXdMxuWwOV7mcCNjSILKiWek4o1WUVQEIuJJxsleo=';

describe('HubSpot v3 webhook signatures', () => {
  test('the signature is base64(HMAC-SHA256(client secret, method + URI + body + timestamp)) — vectors computed with openssl', () => {
    assert.equal(signHubspotRequest({ clientSecret: EXAMPLE_SECRET, method: 'POST', uri: 'https://www.example.com/webhook_uri', body: EXAMPLE_BODY, timestamp: '1700000000000' }), EXAMPLE_SIGNATURE);
    assert.equal(
      signHubspotRequest({ clientSecret: SECRET, method: 'POST', uri: 'https://sync.example.com/webhooks/hubspot?a=b:c', body: Buffer.from(EVENTS), timestamp: String(T) }),
      EVENTS_SIGNATURE,
    );
  });

  test('signing agrees with @hubspot/api-client (an independent implementation)', () => {
    const uri = 'https://sync.example.com/webhooks/hubspot';
    const theirs = Signature.getSignature('POST', 'v3', { clientSecret: SECRET, url: uri, requestBody: JAPANESE_BODY, timestamp: T } as never);
    assert.equal(signHubspotRequest({ clientSecret: SECRET, method: 'POST', uri, body: JAPANESE_BODY, timestamp: String(T) }), theirs);
  });

  test('the URI is signed with the percent-escapes HubSpot decodes decoded, and no others', () => {
    assert.equal(signedUri(ENCODED_URI), 'https://sync.example.com/webhooks/hubspot?from=https://app.hubspot.com/x');
    assert.equal(signedUri('https://x.example/a%3a%2f%3F%40%21%24%27%28%29%2A%2C%3B'), "https://x.example/a:/?@!$'()*,;");
    assert.equal(signedUri('https://x.example/a%20b%25c'), 'https://x.example/a%20b%25c');
    assert.equal(signHubspotRequest({ clientSecret: SECRET, method: 'POST', uri: ENCODED_URI, body: Buffer.from(JAPANESE_BODY, 'utf8'), timestamp: String(T) }), ENCODED_URI_SIGNATURE);
  });

  test('a correctly signed, fresh request verifies', () => {
    const uri = 'https://sync.example.com/webhooks/hubspot?a=b:c';
    assert.deepEqual(verifyHubspotRequest({ clientSecret: SECRET, method: 'POST', uri, body: Buffer.from(EVENTS), timestamp: String(T), signature: EVENTS_SIGNATURE, now: T + 1000 }), { ok: true });
  });

  test('a timestamp older than 5 minutes is refused even with a correct signature (a replay)', () => {
    const uri = 'https://sync.example.com/webhooks/hubspot?a=b:c';
    const verdict = (now: number) => verifyHubspotRequest({ clientSecret: SECRET, method: 'POST', uri, body: EVENTS, timestamp: String(T), signature: EVENTS_SIGNATURE, now });
    assert.deepEqual(verdict(T + HUBSPOT_SIGNATURE_MAX_AGE_MS), { ok: true });
    assert.deepEqual(verdict(T + HUBSPOT_SIGNATURE_MAX_AGE_MS + 1), { ok: false, reason: 'stale timestamp' });
    assert.deepEqual(verdict(T - HUBSPOT_SIGNATURE_MAX_AGE_MS - 1), { ok: false, reason: 'stale timestamp' });
  });

  test('any change to method, URI, body, timestamp or secret breaks the signature', () => {
    const base = { clientSecret: SECRET, method: 'POST', uri: 'https://sync.example.com/webhooks/hubspot?a=b:c', body: EVENTS, timestamp: String(T), signature: EVENTS_SIGNATURE, now: T };
    const bad = { ok: false, reason: 'bad signature' };
    assert.deepEqual(verifyHubspotRequest({ ...base, method: 'PUT' }), bad);
    assert.deepEqual(verifyHubspotRequest({ ...base, uri: 'http://sync.example.com/webhooks/hubspot?a=b:c' }), bad);
    assert.deepEqual(verifyHubspotRequest({ ...base, body: EVENTS.replace('"eventId":1', '"eventId":2') }), bad);
    assert.deepEqual(verifyHubspotRequest({ ...base, body: EVENTS.replace('[{', '[ {') }), bad);
    assert.deepEqual(verifyHubspotRequest({ ...base, timestamp: String(T + 1) }), bad);
    assert.deepEqual(verifyHubspotRequest({ ...base, clientSecret: 'another-client-secret' }), bad);
  });

  test('missing, empty, garbage or wrong-length signatures and timestamps are refused without throwing', () => {
    const base = { clientSecret: SECRET, method: 'POST', uri: 'https://sync.example.com/webhooks/hubspot?a=b:c', body: EVENTS, timestamp: String(T), signature: EVENTS_SIGNATURE, now: T };
    assert.deepEqual(verifyHubspotRequest({ ...base, signature: undefined }), { ok: false, reason: 'missing signature' });
    assert.deepEqual(verifyHubspotRequest({ ...base, signature: '' }), { ok: false, reason: 'missing signature' });
    assert.deepEqual(verifyHubspotRequest({ ...base, signature: 'x' }), { ok: false, reason: 'bad signature' });
    assert.deepEqual(verifyHubspotRequest({ ...base, signature: `${EVENTS_SIGNATURE}=` }), { ok: false, reason: 'bad signature' });
    assert.deepEqual(verifyHubspotRequest({ ...base, signature: '日本語'.repeat(15) }), { ok: false, reason: 'bad signature' });
    assert.deepEqual(verifyHubspotRequest({ ...base, timestamp: undefined }), { ok: false, reason: 'missing or malformed timestamp' });
    assert.deepEqual(verifyHubspotRequest({ ...base, timestamp: '1.7e12' }), { ok: false, reason: 'missing or malformed timestamp' });
    assert.deepEqual(verifyHubspotRequest({ ...base, timestamp: '-5' }), { ok: false, reason: 'missing or malformed timestamp' });
  });

  test('the full URI comes from PUBLIC_URL when set, else from the protocol and Host of the request', () => {
    const request = { protocol: 'https', host: 'internal:3000', url: '/webhooks/hubspot?x=1' };
    assert.equal(requestUri(request, 'https://sync.example.com'), 'https://sync.example.com/webhooks/hubspot?x=1');
    assert.equal(requestUri(request, 'https://example.com/sync/'), 'https://example.com/sync/webhooks/hubspot?x=1');
    assert.equal(requestUri(request, undefined), 'https://internal:3000/webhooks/hubspot?x=1');
  });
});
