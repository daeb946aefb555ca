// Table tests of the LINE properties a friend's own events and profile give: line_last_message,
// line_last_message_at, line_language (issue 11).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import {
  decideContact,
  foldObservations,
  lastMessageValue,
  truncateText,
  HUBSPOT_TEXT_LIMIT,
  type ContactDecision,
  type ExistingContact,
  type LineProfile,
  type Observation,
} from '../../src/contact/index.ts';
import { friendEventOf } from '../../src/line/friend-events.ts';
import { LINE_PROPERTIES } from '../../src/hubspot/properties.ts';

const U = 'U4af49806292c3b7e7f1b2c3d4e5f6a7b';
const T_OLD = Date.UTC(2024, 0, 1);
const T = Date.UTC(2024, 4, 1, 12);
const T_NEW = Date.UTC(2024, 5, 1);
const NOW = Date.UTC(2024, 4, 1, 16);
const PROFILE: LineProfile = { userId: U, displayName: 'Taro', pictureUrl: 'https://profile.line-scdn.net/0hTaro', language: 'ja' };
const PROFILE_NO_LANGUAGE: LineProfile = { userId: U, displayName: 'Taro', pictureUrl: 'https://profile.line-scdn.net/0hTaro' };

const message = (text: string | undefined, at = T): Observation => ({ kind: 'message', ...(text !== undefined ? { message: text } : {}), observedAt: at });
const follow = (at = T): Observation => ({ kind: 'follow', unblocked: false, observedAt: at });
const importAt = (at = T): Observation => ({ kind: 'import', observedAt: at });
const unfollow = (at = T): Observation => ({ kind: 'unfollow', observedAt: at });

const existing = (properties: ExistingContact['properties'] = {}): ExistingContact => ({
  id: 'c1',
  properties: {
    email: `${U}@line.me`,
    line_user_id: U,
    line_user_name: 'Taro',
    line_user_picture: 'https://profile.line-scdn.net/0hTaro',
    line_id_sync_date: '2024-01-01',
    line_follow: 'YES',
    line_follow_changed_at: '2024-01-01T00:00:00.000Z',
    line_created_via: 'FOLLOW',
    ...properties,
  },
});

const pick = (decision: ContactDecision, names: string[]) => {
  if (decision.action === 'none') return decision.reason;
  return Object.fromEntries(names.filter((n) => n in decision.properties).map((n) => [n, decision.properties[n]]));
};
const MESSAGE_PROPS = ['line_last_message', 'line_last_message_at'];

describe('lastMessageValue: what line_last_message shows for each LINE message type', () => {
  const cases: Array<[string, unknown, string | undefined]> = [
    ['text', { id: '1', type: 'text', text: 'こんにちは' }, 'こんにちは'],
    ['empty text', { id: '1', type: 'text', text: '' }, ''],
    ['text without text field', { id: '1', type: 'text' }, ''],
    ['sticker', { id: '1', type: 'sticker', packageId: '1', stickerId: '1' }, '[sticker]'],
    ['image', { id: '1', type: 'image' }, '[image]'],
    ['video', { id: '1', type: 'video', duration: 1000 }, '[video]'],
    ['audio', { id: '1', type: 'audio', duration: 1000 }, '[audio]'],
    ['file', { id: '1', type: 'file', fileName: 'a.pdf', fileSize: 10 }, '[file]'],
    ['location', { id: '1', type: 'location', latitude: 35, longitude: 139 }, '[location]'],
    ['a type LINE adds later', { id: '1', type: 'poll' }, '[poll]'],
    ['no type', { id: '1' }, undefined],
    ['not an object', 'hello', undefined],
    ['a type that is not a word', { type: '<script>' }, undefined],
  ];
  for (const [name, input, expected] of cases) {
    test(name, () => assert.equal(lastMessageValue(input), expected));
  }

  test('a text longer than HubSpot allows is cut to 65,536 characters', () => {
    const long = 'あ'.repeat(HUBSPOT_TEXT_LIMIT + 10);
    assert.equal(lastMessageValue({ type: 'text', text: long })!.length, HUBSPOT_TEXT_LIMIT);
  });

  test('the cut never splits a surrogate pair (emoji)', () => {
    const text = 'a'.repeat(HUBSPOT_TEXT_LIMIT - 1) + '😀' + 'b';
    const cut = truncateText(text);
    assert.equal(cut.length, HUBSPOT_TEXT_LIMIT - 1);
    assert.equal(cut, 'a'.repeat(HUBSPOT_TEXT_LIMIT - 1));
    assert.equal(truncateText('short'), 'short');
  });
});

describe('friendEventOf carries the message (and only for message events)', () => {
  const base = { timestamp: T, webhookEventId: '01H0000000000000000000000A', mode: 'active', source: { type: 'user', userId: U }, deliveryContext: { isRedelivery: false } };
  const cases: Array<[string, Record<string, unknown>, string | undefined]> = [
    ['text message', { type: 'message', replyToken: 'r', message: { id: '1', type: 'text', text: 'hi' } }, 'hi'],
    ['sticker message', { type: 'message', replyToken: 'r', message: { id: '1', type: 'sticker' } }, '[sticker]'],
    ['message without message object', { type: 'message', replyToken: 'r' }, undefined],
    ['follow', { type: 'follow', replyToken: 'r', follow: { isUnblocked: false }, message: { type: 'text', text: 'x' } }, undefined],
  ];
  for (const [name, event, expected] of cases) {
    test(name, () => assert.equal(friendEventOf({ ...base, ...event })?.event.message, expected));
  }
});

describe('line_last_message / line_last_message_at: an older message never overwrites a newer one', () => {
  const cases: Array<[string, ExistingContact | null, Observation, LineProfile | null, ReturnType<typeof pick>]> = [
    ['a message creates the contact with it', null, message('hello'), PROFILE, { line_last_message: 'hello', line_last_message_at: String(T) }],
    ['a message without known content creates the contact without it', null, message(undefined), PROFILE, {}],
    ['a follow creates the contact without a message', null, follow(), PROFILE, {}],
    ['first message of an existing contact', existing(), message('[sticker]'), PROFILE, { line_last_message: '[sticker]', line_last_message_at: String(T) }],
    [
      'a newer message replaces the shown one',
      existing({ line_last_message: 'old', line_last_message_at: new Date(T_OLD).toISOString() }),
      message('new'),
      PROFILE,
      { line_last_message: 'new', line_last_message_at: String(T) },
    ],
    [
      'a newer message with the same text moves only the time',
      existing({ line_last_message: 'same', line_last_message_at: String(T_OLD) }),
      message('same'),
      PROFILE,
      { line_last_message_at: String(T) },
    ],
    ['an older message changes nothing', existing({ line_last_message: 'newer', line_last_message_at: new Date(T_NEW).toISOString() }), message('older'), PROFILE_NO_LANGUAGE, 'unchanged'],
    ['a message at the same time changes nothing', existing({ line_last_message: 'first', line_last_message_at: String(T) }), message('second'), PROFILE_NO_LANGUAGE, 'unchanged'],
    ['a message whose sender is no longer a friend still updates an existing contact', existing(), message('bye'), null, { line_last_message: 'bye', line_last_message_at: String(T) }],
    ['a message from a stranger without profile writes nothing', null, message('hi'), null, 'not-a-friend'],
    ['a follow leaves the last message alone', existing({ line_last_message: 'x', line_last_message_at: String(T_OLD) }), follow(T_NEW), PROFILE, {}],
  ];
  for (const [name, contact, observation, profile, expected] of cases) {
    test(name, () => {
      const decision = decideContact({ userId: U, observation, profile, existing: contact, now: NOW, timeZone: 'UTC' });
      assert.deepEqual(pick(decision, MESSAGE_PROPS), expected);
    });
  }

  test('in one batch, messages folded in timestamp order leave the newest', () => {
    const { decision } = foldObservations({ userId: U, observations: [message('first', T), message('second', T_NEW)], profile: PROFILE, existing: existing(), now: NOW, timeZone: 'UTC' });
    assert.deepEqual(pick(decision, MESSAGE_PROPS), { line_last_message: 'second', line_last_message_at: String(T_NEW) });
  });

  test('in one batch, an unfollow after a message keeps the message and sets NO', () => {
    const { decision } = foldObservations({ userId: U, observations: [message('hi', T), unfollow(T_NEW)], profile: PROFILE, existing: existing(), now: NOW, timeZone: 'UTC' });
    assert.deepEqual(pick(decision, [...MESSAGE_PROPS, 'line_follow']), { line_last_message: 'hi', line_last_message_at: String(T), line_follow: 'NO' });
  });
});

describe('line_language: the profile language, when LINE gives one', () => {
  const cases: Array<[string, ExistingContact | null, Observation, LineProfile | null, ReturnType<typeof pick>]> = [
    ['a follow creates the contact with the language', null, follow(), PROFILE, { line_language: 'ja' }],
    ['an import creates the contact with the language', null, importAt(), PROFILE, { line_language: 'ja' }],
    ['a profile without language creates none', null, follow(), PROFILE_NO_LANGUAGE, {}],
    ['an import fills the language of an existing contact', existing(), importAt(T_NEW), PROFILE, { line_language: 'ja' }],
    ['a changed language is updated', existing({ line_language: 'en' }), importAt(T_NEW), PROFILE, { line_language: 'ja' }],
    ['the same language is not written again', existing({ line_language: 'ja' }), importAt(T_NEW), PROFILE, 'unchanged'],
    ['a profile without language keeps the known one', existing({ line_language: 'en' }), importAt(T_NEW), PROFILE_NO_LANGUAGE, 'unchanged'],
    ['an unfollow (no profile) keeps it', existing({ line_language: 'en' }), unfollow(T_NEW), null, {}],
  ];
  for (const [name, contact, observation, profile, expected] of cases) {
    test(name, () => {
      const decision = decideContact({ userId: U, observation, profile, existing: contact, now: NOW, timeZone: 'UTC' });
      assert.deepEqual(pick(decision, ['line_language']), expected);
    });
  }
});

describe('property definitions', () => {
  const cases: Array<[string, string, string]> = [
    ['line_last_message', 'string', 'textarea'],
    ['line_last_message_at', 'datetime', 'date'],
    ['line_language', 'string', 'text'],
  ];
  for (const [name, type, fieldType] of cases) {
    test(`${name} is ${type} / ${fieldType} in group line`, () => {
      const p = LINE_PROPERTIES.find((d) => d.name === name);
      assert.ok(p, name);
      assert.equal(p.type, type);
      assert.equal(p.fieldType, fieldType);
      assert.equal(p.groupName, 'line');
    });
  }
});
