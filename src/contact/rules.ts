// The product's contact rules (product.md sections 1–5) as one pure decision: given what was
// observed about a LINE user and the contact HubSpot has for them, which properties to write.
// Deterministic (imported by Temporal workflow code): no I/O, no clock, no randomness.

import type { ContactDecision, ContactProperties, CreatedVia, ExistingContact, LineFollow, LineProfile, NoChangeReason, Observation, RuleInput } from './types.ts';
import { dummyEmail, isDummyEmail, isEmailAddress, isLineUserId, isMissing, normalizeEmail, parseHubspotTime, syncDate } from './values.ts';

/** `line_created_via` of a contact created by this observation. */
export function createdViaOf(observation: Observation): CreatedVia {
  switch (observation.kind) {
    case 'follow':
      return observation.unblocked ? 'UNBLOCK' : 'FOLLOW';
    case 'message':
      return 'REPLY';
    case 'import':
      return 'IMPORT';
    case 'verified-email':
      return 'LOGIN';
    case 'hubspot':
    case 'unfollow':
      return 'HUBSPOT';
  }
}

/**
 * The follow state an observation tells of, for an existing contact: `follow` YES, `unfollow`
 * NO, `import` YES (the user is in the follower list), `hubspot` and `verified-email` YES when
 * the profile is readable, else NO. A `message` tells none (it leaves `line_follow` as it is).
 */
export function followValueOf(observation: Observation, profile: LineProfile | null): LineFollow | undefined {
  switch (observation.kind) {
    case 'follow':
    case 'import':
      return 'YES';
    case 'unfollow':
      return 'NO';
    case 'hubspot':
    case 'verified-email':
      return profile ? 'YES' : 'NO';
    case 'message':
      return undefined;
  }
}

/**
 * Webhook follow/unfollow events are events: when newer than the contact's follow state they
 * always write `line_follow_changed_at`, even if `line_follow` already has their value, so that
 * an older event arriving late cannot win. The other observations are confirmations: they write
 * only what is not right yet.
 */
export function isFollowEvent(observation: Observation): boolean {
  return observation.kind === 'follow' || observation.kind === 'unfollow';
}

const none = (reason: NoChangeReason): ContactDecision => ({ action: 'none', reason });

/** Which contact to write, and what, for one observation of one LINE user. */
export function decideContact(input: RuleInput): ContactDecision {
  const { userId, observation, profile, existing } = input;
  if (!isLineUserId(userId)) return none('invalid-line-user-id');
  if (observation.kind === 'verified-email' && !isEmailAddress(observation.email)) return none('invalid-email');
  if (existing === null) return decideCreation(input);

  const existingUserId = existing.properties.line_user_id;
  if (!isMissing(existingUserId) && existingUserId.trim() !== userId) return none('other-line-user');
  if (isMissing(existingUserId)) {
    // A contact without a LINE user ID (e.g. found by a verified e-mail) becomes a LINE
    // contact only through an observation that could have created one.
    if (observation.kind === 'unfollow') return none('no-contact-for-blocked-user');
    if (observation.kind === 'hubspot') return none('no-contact');
    if (!profile && observation.kind !== 'verified-email') return none('not-a-friend');
  }
  // An import whose friend's profile can no longer be read skips the friend: the profile was
  // read after the follower page, so "in the follower list" is no longer the latest news.
  if (observation.kind === 'import' && !profile) return none('not-a-friend');
  return decideUpdate(input, existing);
}

function decideCreation({ userId, observation, profile, now, timeZone }: RuleInput): ContactDecision {
  switch (observation.kind) {
    case 'unfollow':
      return none('no-contact-for-blocked-user');
    case 'hubspot':
      return none('no-contact');
    case 'follow':
    case 'message':
    case 'import':
    case 'verified-email': {
      const login = observation.kind === 'verified-email';
      if (!profile && !login) return none('not-a-friend');
      const properties: ContactProperties = {
        email: login ? normalizeEmail(observation.email) : dummyEmail(userId),
        line_user_id: userId,
        line_id_sync_date: syncDate(now, timeZone),
        line_follow: profile ? 'YES' : 'NO',
        line_follow_changed_at: String(observation.observedAt),
        line_created_via: createdViaOf(observation),
      };
      if (profile) {
        if (profile.displayName) properties.line_user_name = profile.displayName;
        if (profile.pictureUrl) properties.line_user_picture = profile.pictureUrl;
        if (profile.language) properties.line_language = profile.language;
      }
      if (observation.kind === 'message' && observation.message !== undefined) {
        properties.line_last_message = observation.message;
        properties.line_last_message_at = String(observation.observedAt);
      }
      return { action: 'create', properties };
    }
  }
}

function decideUpdate({ userId, observation, profile, now, timeZone }: RuleInput, existing: ExistingContact): ContactDecision {
  const current = existing.properties;
  const changes: ContactProperties = {};
  const set = (name: keyof typeof current, value: string) => {
    if ((current[name] ?? '') !== value) changes[name] = value;
  };

  // Identity and first-sync facts: filled when missing, never changed.
  const hadUserId = !isMissing(current.line_user_id);
  if (!hadUserId) changes.line_user_id = userId;
  if (isMissing(current.line_created_via)) {
    changes.line_created_via = hadUserId ? 'HUBSPOT' : createdViaOf(observation);
  }
  if (observation.kind !== 'unfollow' && isMissing(current.line_id_sync_date)) {
    changes.line_id_sync_date = syncDate(now, timeZone);
  }

  // Name and picture: from every readable profile (never from an unfollow, which has none).
  // Language: when LINE gives one (a profile without it leaves the last known one).
  if (profile && observation.kind !== 'unfollow') {
    if (profile.displayName) set('line_user_name', profile.displayName);
    set('line_user_picture', profile.pictureUrl ?? '');
    if (profile.language) set('line_language', profile.language);
  }

  // Last message: only from a message newer than the one the contact shows (like the follow state).
  if (observation.kind === 'message' && observation.message !== undefined) {
    const shownAt = parseHubspotTime(current.line_last_message_at);
    if (shownAt === undefined || observation.observedAt > shownAt) {
      set('line_last_message', observation.message);
      changes.line_last_message_at = String(observation.observedAt);
    }
  }

  // E-mail: only a verified e-mail, and only over a missing or dummy one.
  if (observation.kind === 'verified-email') {
    const verified = normalizeEmail(observation.email);
    const email = current.email;
    if (isMissing(email) || isDummyEmail(email)) set('email', verified);
  }

  // Follow state: an observation never overwrites one observed later.
  let older = false;
  const value = followValueFor(observation, profile, current.line_follow);
  if (value !== undefined) {
    const changedAt = parseHubspotTime(current.line_follow_changed_at);
    const observedAt = observation.observedAt;
    const differs = current.line_follow !== value;
    if (changedAt !== undefined && observedAt <= changedAt) {
      older = differs || (isFollowEvent(observation) && observedAt < changedAt);
    } else if (isFollowEvent(observation) || differs || changedAt === undefined) {
      set('line_follow', value);
      changes.line_follow_changed_at = String(observedAt);
    }
  }

  if (Object.keys(changes).length === 0) return none(older ? 'older-observation' : 'unchanged');
  return { action: 'update', contactId: existing.id, properties: changes };
}

/** `followValueOf`, plus: a message from a readable profile fills a missing `line_follow` with YES. */
function followValueFor(observation: Observation, profile: LineProfile | null, currentFollow: string | null | undefined): LineFollow | undefined {
  if (observation.kind === 'message') return profile && isMissing(currentFollow) ? 'YES' : undefined;
  return followValueOf(observation, profile);
}

const SHOWN_VALUES = new Set(['line_follow', 'line_created_via']);

/**
 * One short line for the Temporal UI and logs, e.g. `create FOLLOW contact`,
 * `update line_follow NO, line_follow_changed_at`, `none: unchanged`. Shows property names
 * and enumeration values only (no names, e-mails or URLs).
 */
export function describeDecision(decision: ContactDecision): string {
  switch (decision.action) {
    case 'create': {
      const via = decision.properties.line_created_via ?? 'LINE';
      return decision.properties.line_follow === 'NO' ? `create ${via} contact, line_follow NO` : `create ${via} contact`;
    }
    case 'update': {
      const names = Object.keys(decision.properties);
      const parts = names.map((name) => (SHOWN_VALUES.has(name) ? `${name} ${decision.properties[name]}` : name));
      return `update ${parts.join(', ')}`;
    }
    case 'none':
      return `none: ${decision.reason}`;
  }
}

/**
 * The contact after a decision is written (what HubSpot would hold): for tests, the sandbox
 * HubSpot and simulations. `newId` names a created contact. An empty string clears a value.
 */
export function applyDecision(contact: ExistingContact | null, decision: ContactDecision, newId = 'new'): ExistingContact | null {
  switch (decision.action) {
    case 'none':
      return contact;
    case 'create':
      return { id: newId, properties: { ...decision.properties } };
    case 'update': {
      const base = contact ?? { id: decision.contactId, properties: {} };
      return { id: base.id, properties: { ...base.properties, ...decision.properties } };
    }
  }
}
