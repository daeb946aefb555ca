// Several observations of one friend in one batch become one write, as if applied one by one.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { foldObservations } from '../../src/contact/fold.ts';
import { applyDecision, decideContact } from '../../src/contact/rules.ts';
import type { ExistingContact, LineProfile, Observation } from '../../src/contact/types.ts';

const userId = `U${'a'.repeat(32)}`;
const profile: LineProfile = { userId, displayName: 'Taro', pictureUrl: 'https://profile.line-scdn.net/x' };
const now = Date.UTC(2026, 11, 1, 12);
const base = { userId, profile, now, timeZone: 'UTC' };

/** What applying the observations one at a time, each a write of its own, would leave in HubSpot. */
function oneByOne(observations: Observation[], existing: ExistingContact | null, p: LineProfile | null = profile): ExistingContact | null {
  let contact = existing;
  for (const observation of observations)
    contact = applyDecision(contact, decideContact({ ...base, profile: observation.kind === 'unfollow' ? null : p, observation, existing: contact }), contact?.id ?? '1');
  return contact;
}

function folded(observations: Observation[], existing: ExistingContact | null, p: LineProfile | null = profile): ExistingContact | null {
  const { decision } = foldObservations({ ...base, profile: p, observations, existing });
  return applyDecision(existing, decision, existing?.id ?? '1');
}

const follow = (at: number, unblocked = false): Observation => ({ kind: 'follow', unblocked, observedAt: at });
const unfollow = (at: number): Observation => ({ kind: 'unfollow', observedAt: at });
const message = (at: number): Observation => ({ kind: 'message', observedAt: at });
const imported = (at: number): Observation => ({ kind: 'import', observedAt: at });
const hubspot = (at: number): Observation => ({ kind: 'hubspot', observedAt: at });

const existingContact: ExistingContact = {
  id: '42',
  properties: {
    email: 'taro@example.com',
    line_user_id: userId,
    line_follow: 'YES',
    line_follow_changed_at: '1000',
    line_created_via: 'FOLLOW',
    line_id_sync_date: '1764547200000',
    line_user_name: 'Old',
    line_user_picture: '',
  },
};
const orphan: ExistingContact = { id: '7', properties: { email: `${userId.toLowerCase()}@line.me`, firstname: 'x' } as ExistingContact['properties'] };

const cases: Array<[string, Observation[], ExistingContact | null, LineProfile | null]> = [
  ['follow then block, no contact', [follow(2000), unfollow(3000)], null, profile],
  ['block then unblock, no contact', [unfollow(2000), follow(3000, true)], null, profile],
  ['message then follow, no contact', [message(2000), follow(2500)], null, profile],
  ['import then a newer block', [imported(2000), unfollow(3000)], null, profile],
  ['an older follow after a newer block', [unfollow(3000), follow(2000)], existingContact, profile],
  ['block and unblock on an existing contact', [unfollow(2000), follow(3000, true)], existingContact, profile],
  ['messages only, existing contact', [message(2000), message(2100)], existingContact, profile],
  ['enrichment and follow', [hubspot(2000), follow(2100)], existingContact, profile],
  ['import of an existing contact', [imported(500)], existingContact, profile],
  ['an orphaned dummy e-mail adopted by a follow', [follow(2000)], orphan, profile],
  ['a follow of someone LINE cannot read', [follow(2000)], null, null],
  ['only a block of an unknown user', [unfollow(2000)], null, profile],
];

describe('folding a batch of observations', () => {
  for (const [name, observations, existing, p] of cases) {
    test(`${name}: the same contact as one write per observation`, () => {
      assert.deepEqual(folded(observations, existing, p), oneByOne(observations, existing, p));
    });
  }

  test('one step per observation, each saying what it decided', () => {
    const { steps, decision } = foldObservations({ ...base, observations: [follow(2000), message(2100), unfollow(3000)], existing: null });
    assert.deepEqual(
      steps.map((s) => s.action),
      ['create', 'none', 'update'],
    );
    assert.equal(decision.action, 'create');
    assert.equal(decision.action === 'create' && decision.properties.line_follow, 'NO', 'the block comes after the follow that created it');
    assert.equal(decision.action === 'create' && decision.properties.line_created_via, 'FOLLOW');
  });

  test('an update carries only what changes', () => {
    const { decision } = foldObservations({ ...base, observations: [message(2000)], existing: existingContact });
    assert.deepEqual(decision, { action: 'update', contactId: '42', properties: { line_user_name: 'Taro', line_user_picture: 'https://profile.line-scdn.net/x' } });
  });

  test('nothing to write says why, with the last reason', () => {
    assert.deepEqual(foldObservations({ ...base, observations: [unfollow(2000)], existing: null }).decision, { action: 'none', reason: 'no-contact-for-blocked-user' });
    assert.deepEqual(foldObservations({ ...base, observations: [], existing: existingContact }).decision, { action: 'none', reason: 'unchanged' });
  });

  test('an adopted orphan gets its LINE user ID and created-via, and keeps its e-mail', () => {
    const { decision } = foldObservations({ ...base, observations: [imported(2000)], existing: orphan });
    assert.equal(decision.action, 'update');
    assert.equal(decision.action === 'update' && decision.properties.line_user_id, userId);
    assert.equal(decision.action === 'update' && decision.properties.line_created_via, 'IMPORT');
    assert.equal(decision.action === 'update' && 'email' in decision.properties, false);
  });
});
