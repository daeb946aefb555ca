import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import {
  applyDecision,
  createdViaOf,
  decideContact,
  describeDecision,
  followValueOf,
  isFollowEvent,
  type ContactDecision,
  type ExistingContact,
  type LineProfile,
  type Observation,
} from '../../src/contact/index.ts';

// ---------------------------------------------------------------------------------------------
// Fixtures

const U = 'U4af49806292c3b7e7f1b2c3d4e5f6a7b';
const OTHER_U = 'U0123456789abcdef0123456789abcdef';
const DUMMY = `${U}@line.me`;
const PIC = 'https://profile.line-scdn.net/0hTaro';
const NEW_PIC = 'https://profile.line-scdn.net/0hTaroNew';

/** the contact's follow state was observed long before ... */
const T_OLD = Date.UTC(2024, 0, 1, 0, 0, 0);
/** ... the observation under test ... */
const T = Date.UTC(2024, 4, 1, 12, 0, 0);
/** ... or after it */
const T_NEW = Date.UTC(2024, 5, 1, 0, 0, 0);
/** when the decision is made: 2024-05-01 in UTC, 2024-05-02 in Tokyo */
const NOW = Date.UTC(2024, 4, 1, 16, 0, 0);
const SD = String(Date.UTC(2024, 4, 1)); // sync date of NOW in UTC
const SD_TOKYO = String(Date.UTC(2024, 4, 2));

const PROFILE: LineProfile = { userId: U, displayName: 'Taro', pictureUrl: PIC };
const PROFILE_NO_PIC: LineProfile = { userId: U, displayName: 'Taro' };
const PROFILE_RENAMED: LineProfile = { userId: U, displayName: 'Taro Yamada', pictureUrl: NEW_PIC };

const follow = (at = T): Observation => ({ kind: 'follow', unblocked: false, observedAt: at });
const unblock = (at = T): Observation => ({ kind: 'follow', unblocked: true, observedAt: at });
const unfollow = (at = T): Observation => ({ kind: 'unfollow', observedAt: at });
const message = (at = T): Observation => ({ kind: 'message', observedAt: at });
const importAt = (at = T): Observation => ({ kind: 'import', observedAt: at });
const hubspot = (at = T): Observation => ({ kind: 'hubspot', observedAt: at });
const verified = (email = 'Taro@Example.com', at = T): Observation => ({ kind: 'verified-email', email, observedAt: at });

type Props = ExistingContact['properties'];
const contact = (properties: Props): ExistingContact => ({ id: 'c1', properties });

/** A LINE contact made by this service: dummy e-mail, following, observed at T_OLD. */
const LINE_DUMMY = contact({
  email: DUMMY,
  line_user_id: U,
  line_user_name: 'Taro',
  line_user_picture: PIC,
  line_id_sync_date: '2024-01-01',
  line_follow: 'YES',
  line_follow_changed_at: '2024-01-01T00:00:00.000Z',
  line_created_via: 'FOLLOW',
});
/** The same with a real e-mail (verified earlier, or created by LOGIN). */
const LINE_REAL = contact({ ...LINE_DUMMY.properties, email: 'taro@example.com', line_created_via: 'LOGIN' });
/** Blocked (NO) at T_OLD; HubSpot returned the times as ms strings. */
const LINE_BLOCKED = contact({
  ...LINE_DUMMY.properties,
  line_id_sync_date: String(Date.UTC(2024, 0, 1)),
  line_follow: 'NO',
  line_follow_changed_at: String(T_OLD),
});
/** Blocked at T_NEW, after the observation under test. */
const LINE_BLOCKED_LATER = contact({ ...LINE_DUMMY.properties, line_follow: 'NO', line_follow_changed_at: String(T_NEW) });
/** Following, confirmed at T_NEW, after the observation under test. */
const LINE_FOLLOWING_LATER = contact({ ...LINE_DUMMY.properties, line_follow: 'YES', line_follow_changed_at: new Date(T_NEW).toISOString() });
/** Created in HubSpot with only a LINE user ID (no e-mail, nothing else). */
const HS_ONLY_ID = contact({ line_user_id: U });
/** Created in HubSpot with a LINE user ID and an e-mail; empty values as HubSpot returns them. */
const HS_WITH_EMAIL = contact({
  email: 'hanako@example.com',
  line_user_id: U,
  line_user_name: null,
  line_user_picture: '',
  line_id_sync_date: null,
  line_follow: '',
  line_follow_changed_at: null,
  line_created_via: null,
});

/** What a HubSpot-created contact gets from a readable profile besides its follow state. */
const FILL = { line_created_via: 'HUBSPOT', line_id_sync_date: SD, line_user_name: 'Taro', line_user_picture: PIC };

function decide(observation: Observation, profile: LineProfile | null, existing: ExistingContact | null, timeZone = 'UTC'): ContactDecision {
  return decideContact({ userId: U, observation, profile, existing, now: NOW, timeZone });
}

const update = (properties: Record<string, string>): ContactDecision => ({ action: 'update', contactId: 'c1', properties });
const create = (properties: Record<string, string>): ContactDecision => ({ action: 'create', properties });
const none = (reason: string): ContactDecision => ({ action: 'none', reason }) as ContactDecision;

interface Row {
  rule: string;
  observation: Observation;
  profile: LineProfile | null;
  existing: ExistingContact | null;
  expected: ContactDecision;
}

function table(title: string, rows: Row[]) {
  describe(title, () => {
    for (const row of rows) {
      test(row.rule, () => {
        assert.deepStrictEqual(decide(row.observation, row.profile, row.existing), row.expected);
      });
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Each trigger × each existing state

table('friend added (webhook follow)', [
  {
    rule: 'a friend added creates a FOLLOW contact with a dummy e-mail, LINE Follow YES and the sync date',
    observation: follow(),
    profile: PROFILE,
    existing: null,
    expected: create({
      email: DUMMY,
      line_user_id: U,
      line_user_name: 'Taro',
      line_user_picture: PIC,
      line_id_sync_date: SD,
      line_follow: 'YES',
      line_follow_changed_at: String(T),
      line_created_via: 'FOLLOW',
    }),
  },
  {
    rule: 'a friend added whose profile cannot be read creates nothing',
    observation: follow(),
    profile: null,
    existing: null,
    expected: none('not-a-friend'),
  },
  {
    rule: 'a newer follow on a following contact only moves LINE Follow Changed At',
    observation: follow(),
    profile: PROFILE,
    existing: LINE_DUMMY,
    expected: update({ line_follow_changed_at: String(T) }),
  },
  {
    rule: 'a follow on a contact with a real e-mail keeps the e-mail',
    observation: follow(),
    profile: PROFILE,
    existing: LINE_REAL,
    expected: update({ line_follow_changed_at: String(T) }),
  },
  {
    rule: 'a follow on a blocked contact sets LINE Follow to YES',
    observation: follow(),
    profile: PROFILE,
    existing: LINE_BLOCKED,
    expected: update({ line_follow: 'YES', line_follow_changed_at: String(T) }),
  },
  {
    rule: 'a follow whose profile cannot be read still records the follow, but leaves name and picture',
    observation: follow(),
    profile: null,
    existing: LINE_BLOCKED,
    expected: update({ line_follow: 'YES', line_follow_changed_at: String(T) }),
  },
  {
    rule: 'a follow on a HubSpot-created contact fills it in as HUBSPOT, without a dummy e-mail',
    observation: follow(),
    profile: PROFILE,
    existing: HS_ONLY_ID,
    expected: update({ ...FILL, line_follow: 'YES', line_follow_changed_at: String(T) }),
  },
  {
    rule: 'a follow on a HubSpot-created contact with an e-mail keeps that e-mail',
    observation: follow(),
    profile: PROFILE,
    existing: HS_WITH_EMAIL,
    expected: update({ ...FILL, line_follow: 'YES', line_follow_changed_at: String(T) }),
  },
  {
    rule: 'a follow without a readable profile on a HubSpot-created contact fills only created-via, sync date and follow state',
    observation: follow(),
    profile: null,
    existing: HS_ONLY_ID,
    expected: update({ line_created_via: 'HUBSPOT', line_id_sync_date: SD, line_follow: 'YES', line_follow_changed_at: String(T) }),
  },
  {
    rule: 'a follow observed before a later block does not undo the block',
    observation: follow(),
    profile: PROFILE,
    existing: LINE_BLOCKED_LATER,
    expected: none('older-observation'),
  },
  {
    rule: 'a follow observed before a later follow changes nothing and says it was older',
    observation: follow(),
    profile: PROFILE,
    existing: LINE_FOLLOWING_LATER,
    expected: none('older-observation'),
  },
  {
    rule: 'a follow observed earlier still updates a changed name and picture',
    observation: follow(),
    profile: PROFILE_RENAMED,
    existing: LINE_BLOCKED_LATER,
    expected: update({ line_user_name: 'Taro Yamada', line_user_picture: NEW_PIC }),
  },
  {
    rule: 'a redelivered follow (same time as the contact’s) changes nothing',
    observation: follow(T),
    profile: PROFILE,
    existing: contact({ ...LINE_DUMMY.properties, line_follow_changed_at: String(T) }),
    expected: none('unchanged'),
  },
  {
    rule: 'a follow at the same time as a recorded block does not overwrite it',
    observation: follow(T),
    profile: PROFILE,
    existing: contact({ ...LINE_DUMMY.properties, line_follow: 'NO', line_follow_changed_at: String(T) }),
    expected: none('older-observation'),
  },
]);

table('unblocked (webhook follow, isUnblocked)', [
  {
    rule: 'an unblock creates an UNBLOCK contact with a dummy e-mail and LINE Follow YES',
    observation: unblock(),
    profile: PROFILE,
    existing: null,
    expected: create({
      email: DUMMY,
      line_user_id: U,
      line_user_name: 'Taro',
      line_user_picture: PIC,
      line_id_sync_date: SD,
      line_follow: 'YES',
      line_follow_changed_at: String(T),
      line_created_via: 'UNBLOCK',
    }),
  },
  { rule: 'an unblock whose profile cannot be read creates nothing', observation: unblock(), profile: null, existing: null, expected: none('not-a-friend') },
  {
    rule: 'an unblock restores LINE Follow to YES',
    observation: unblock(),
    profile: PROFILE,
    existing: LINE_BLOCKED,
    expected: update({ line_follow: 'YES', line_follow_changed_at: String(T) }),
  },
  {
    rule: 'an unblock keeps the contact’s original created-via and sync date',
    observation: unblock(),
    profile: PROFILE_RENAMED,
    existing: LINE_BLOCKED,
    expected: update({ line_user_name: 'Taro Yamada', line_user_picture: NEW_PIC, line_follow: 'YES', line_follow_changed_at: String(T) }),
  },
  {
    rule: 'an unblock on a following contact only moves LINE Follow Changed At',
    observation: unblock(),
    profile: PROFILE,
    existing: LINE_DUMMY,
    expected: update({ line_follow_changed_at: String(T) }),
  },
  {
    rule: 'an unblock on a contact with a real e-mail keeps the e-mail',
    observation: unblock(),
    profile: PROFILE,
    existing: contact({ ...LINE_REAL.properties, line_follow: 'NO' }),
    expected: update({ line_follow: 'YES', line_follow_changed_at: String(T) }),
  },
  {
    rule: 'an unblock on a HubSpot-created contact fills it in as HUBSPOT, without a dummy e-mail',
    observation: unblock(),
    profile: PROFILE,
    existing: HS_WITH_EMAIL,
    expected: update({ ...FILL, line_follow: 'YES', line_follow_changed_at: String(T) }),
  },
  {
    rule: 'an unblock observed before a later block does not undo the block',
    observation: unblock(),
    profile: PROFILE,
    existing: LINE_BLOCKED_LATER,
    expected: none('older-observation'),
  },
]);

table('message sent to the account (webhook message)', [
  {
    rule: 'a message from a friend without a contact creates a REPLY contact with a dummy e-mail',
    observation: message(),
    profile: PROFILE,
    existing: null,
    expected: create({
      email: DUMMY,
      line_user_id: U,
      line_user_name: 'Taro',
      line_user_picture: PIC,
      line_id_sync_date: SD,
      line_follow: 'YES',
      line_follow_changed_at: String(T),
      line_created_via: 'REPLY',
    }),
  },
  {
    rule: 'a message from a user whose profile cannot be read creates nothing',
    observation: message(),
    profile: null,
    existing: null,
    expected: none('not-a-friend'),
  },
  { rule: 'a message on an up-to-date contact changes nothing', observation: message(), profile: PROFILE, existing: LINE_DUMMY, expected: none('unchanged') },
  { rule: 'a message keeps a real e-mail', observation: message(), profile: PROFILE, existing: LINE_REAL, expected: none('unchanged') },
  {
    rule: 'a message does not change LINE Follow of an existing contact',
    observation: message(),
    profile: PROFILE,
    existing: LINE_BLOCKED,
    expected: none('unchanged'),
  },
  {
    rule: 'a message updates a changed name and picture',
    observation: message(),
    profile: PROFILE_RENAMED,
    existing: LINE_DUMMY,
    expected: update({ line_user_name: 'Taro Yamada', line_user_picture: NEW_PIC }),
  },
  {
    rule: 'a message updates name and picture even when the follow state was observed later',
    observation: message(),
    profile: PROFILE_RENAMED,
    existing: LINE_BLOCKED_LATER,
    expected: update({ line_user_name: 'Taro Yamada', line_user_picture: NEW_PIC }),
  },
  {
    rule: 'a message from a readable profile fills a HubSpot-created contact, including a missing LINE Follow (YES)',
    observation: message(),
    profile: PROFILE,
    existing: HS_ONLY_ID,
    expected: update({ ...FILL, line_follow: 'YES', line_follow_changed_at: String(T) }),
  },
  {
    rule: 'a message without a readable profile fills only created-via and sync date of a HubSpot-created contact',
    observation: message(),
    profile: null,
    existing: HS_WITH_EMAIL,
    expected: update({ line_created_via: 'HUBSPOT', line_id_sync_date: SD }),
  },
  {
    rule: 'a message without a readable profile leaves a LINE contact as it is',
    observation: message(),
    profile: null,
    existing: LINE_DUMMY,
    expected: none('unchanged'),
  },
]);

table('blocked (webhook unfollow)', [
  {
    rule: 'a block never creates a contact',
    observation: unfollow(),
    profile: null,
    existing: null,
    expected: none('no-contact-for-blocked-user'),
  },
  {
    rule: 'a block sets LINE Follow to NO',
    observation: unfollow(),
    profile: null,
    existing: LINE_DUMMY,
    expected: update({ line_follow: 'NO', line_follow_changed_at: String(T) }),
  },
  {
    rule: 'a block keeps a real e-mail',
    observation: unfollow(),
    profile: null,
    existing: LINE_REAL,
    expected: update({ line_follow: 'NO', line_follow_changed_at: String(T) }),
  },
  {
    rule: 'a newer block on a blocked contact only moves LINE Follow Changed At',
    observation: unfollow(),
    profile: null,
    existing: LINE_BLOCKED,
    expected: update({ line_follow_changed_at: String(T) }),
  },
  {
    rule: 'a block on a HubSpot-created contact sets created-via HUBSPOT and LINE Follow NO, but no sync date, name or e-mail',
    observation: unfollow(),
    profile: null,
    existing: HS_ONLY_ID,
    expected: update({ line_created_via: 'HUBSPOT', line_follow: 'NO', line_follow_changed_at: String(T) }),
  },
  {
    rule: 'a block on a HubSpot-created contact with an e-mail keeps the e-mail',
    observation: unfollow(),
    profile: null,
    existing: HS_WITH_EMAIL,
    expected: update({ line_created_via: 'HUBSPOT', line_follow: 'NO', line_follow_changed_at: String(T) }),
  },
  {
    rule: 'a block observed before a later follow does not overwrite it',
    observation: unfollow(),
    profile: null,
    existing: LINE_FOLLOWING_LATER,
    expected: none('older-observation'),
  },
  {
    rule: 'a block observed before a later block says it was older',
    observation: unfollow(),
    profile: null,
    existing: LINE_BLOCKED_LATER,
    expected: none('older-observation'),
  },
  {
    rule: 'a block never touches name or picture, even if a profile is passed',
    observation: unfollow(),
    profile: PROFILE_RENAMED,
    existing: LINE_DUMMY,
    expected: update({ line_follow: 'NO', line_follow_changed_at: String(T) }),
  },
  {
    rule: 'a redelivered block changes nothing',
    observation: unfollow(T),
    profile: null,
    existing: contact({ ...LINE_DUMMY.properties, line_follow: 'NO', line_follow_changed_at: String(T) }),
    expected: none('unchanged'),
  },
]);

table('import of existing friends', [
  {
    rule: 'an imported friend without a contact becomes an IMPORT contact with a dummy e-mail',
    observation: importAt(),
    profile: PROFILE,
    existing: null,
    expected: create({
      email: DUMMY,
      line_user_id: U,
      line_user_name: 'Taro',
      line_user_picture: PIC,
      line_id_sync_date: SD,
      line_follow: 'YES',
      line_follow_changed_at: String(T),
      line_created_via: 'IMPORT',
    }),
  },
  {
    rule: 'an imported friend whose profile can no longer be read is skipped',
    observation: importAt(),
    profile: null,
    existing: null,
    expected: none('not-a-friend'),
  },
  {
    rule: 'an imported friend whose profile can no longer be read leaves its contact as it is',
    observation: importAt(),
    profile: null,
    existing: LINE_DUMMY,
    expected: none('not-a-friend'),
  },
  { rule: 'an import changes nothing on a contact that is already right', observation: importAt(), profile: PROFILE, existing: LINE_DUMMY, expected: none('unchanged') },
  { rule: 'an import keeps a real e-mail', observation: importAt(), profile: PROFILE, existing: LINE_REAL, expected: none('unchanged') },
  {
    rule: 'an import sets LINE Follow YES on a contact blocked before the page was read',
    observation: importAt(),
    profile: PROFILE,
    existing: LINE_BLOCKED,
    expected: update({ line_follow: 'YES', line_follow_changed_at: String(T) }),
  },
  {
    rule: 'a block after the follower page was read wins over the import',
    observation: importAt(),
    profile: PROFILE,
    existing: LINE_BLOCKED_LATER,
    expected: none('older-observation'),
  },
  {
    rule: 'an import before a later follow changes nothing',
    observation: importAt(),
    profile: PROFILE,
    existing: LINE_FOLLOWING_LATER,
    expected: none('unchanged'),
  },
  {
    rule: 'an import fills in a HubSpot-created contact as HUBSPOT, without a dummy e-mail',
    observation: importAt(),
    profile: PROFILE,
    existing: HS_ONLY_ID,
    expected: update({ ...FILL, line_follow: 'YES', line_follow_changed_at: String(T) }),
  },
  {
    rule: 'an import fills in a HubSpot-created contact with an e-mail and keeps the e-mail',
    observation: importAt(),
    profile: PROFILE,
    existing: HS_WITH_EMAIL,
    expected: update({ ...FILL, line_follow: 'YES', line_follow_changed_at: String(T) }),
  },
  {
    rule: 'an import records the time of a LINE Follow YES that had none',
    observation: importAt(),
    profile: PROFILE,
    existing: contact({ ...LINE_DUMMY.properties, line_follow_changed_at: '' }),
    expected: update({ line_follow_changed_at: String(T) }),
  },
  {
    rule: 'an import updates a changed name and picture',
    observation: importAt(),
    profile: PROFILE_RENAMED,
    existing: LINE_DUMMY,
    expected: update({ line_user_name: 'Taro Yamada', line_user_picture: NEW_PIC }),
  },
]);

table('a contact gets a LINE User ID in HubSpot (HubSpot-side enrichment)', [
  { rule: 'a HubSpot enrichment without a contact does nothing', observation: hubspot(), profile: PROFILE, existing: null, expected: none('no-contact') },
  {
    rule: 'a HubSpot-created contact is filled in from a readable profile: HUBSPOT, LINE Follow YES, no dummy e-mail',
    observation: hubspot(),
    profile: PROFILE,
    existing: HS_ONLY_ID,
    expected: update({ ...FILL, line_follow: 'YES', line_follow_changed_at: String(T) }),
  },
  {
    rule: 'a HubSpot-created contact whose profile cannot be read gets LINE Follow NO',
    observation: hubspot(),
    profile: null,
    existing: HS_ONLY_ID,
    expected: update({ line_created_via: 'HUBSPOT', line_id_sync_date: SD, line_follow: 'NO', line_follow_changed_at: String(T) }),
  },
  {
    rule: 'a HubSpot-created contact with an e-mail keeps it',
    observation: hubspot(),
    profile: PROFILE_NO_PIC,
    existing: HS_WITH_EMAIL,
    expected: update({
      line_created_via: 'HUBSPOT',
      line_id_sync_date: SD,
      line_user_name: 'Taro',
      line_follow: 'YES',
      line_follow_changed_at: String(T),
    }),
  },
  { rule: 'a HubSpot enrichment of a LINE contact that is right changes nothing', observation: hubspot(), profile: PROFILE, existing: LINE_DUMMY, expected: none('unchanged') },
  { rule: 'a HubSpot enrichment keeps a real e-mail', observation: hubspot(), profile: PROFILE, existing: LINE_REAL, expected: none('unchanged') },
  {
    rule: 'a HubSpot enrichment that cannot read the profile sets LINE Follow NO',
    observation: hubspot(),
    profile: null,
    existing: LINE_DUMMY,
    expected: update({ line_follow: 'NO', line_follow_changed_at: String(T) }),
  },
  {
    rule: 'a HubSpot enrichment that reads the profile of a blocked contact sets LINE Follow YES',
    observation: hubspot(),
    profile: PROFILE,
    existing: LINE_BLOCKED,
    expected: update({ line_follow: 'YES', line_follow_changed_at: String(T) }),
  },
  {
    rule: 'a HubSpot enrichment read before a later block does not undo it',
    observation: hubspot(),
    profile: PROFILE,
    existing: LINE_BLOCKED_LATER,
    expected: none('older-observation'),
  },
  {
    rule: 'a HubSpot enrichment read before a later follow changes nothing',
    observation: hubspot(),
    profile: PROFILE,
    existing: LINE_FOLLOWING_LATER,
    expected: none('unchanged'),
  },
  {
    rule: 'a HubSpot enrichment of a contact whose LINE User ID was removed again does nothing',
    observation: hubspot(),
    profile: PROFILE,
    existing: contact({ email: 'hanako@example.com', line_user_id: '' }),
    expected: none('no-contact'),
  },
]);

table('verified e-mail (LINE Login)', [
  {
    rule: 'a verified friend without a contact gets a LOGIN contact with the real e-mail, lower-cased',
    observation: verified(),
    profile: PROFILE,
    existing: null,
    expected: create({
      email: 'taro@example.com',
      line_user_id: U,
      line_user_name: 'Taro',
      line_user_picture: PIC,
      line_id_sync_date: SD,
      line_follow: 'YES',
      line_follow_changed_at: String(T),
      line_created_via: 'LOGIN',
    }),
  },
  {
    rule: 'a verified LINE Login user who is not a friend gets a LOGIN contact with LINE Follow NO',
    observation: verified(),
    profile: null,
    existing: null,
    expected: create({
      email: 'taro@example.com',
      line_user_id: U,
      line_id_sync_date: SD,
      line_follow: 'NO',
      line_follow_changed_at: String(T),
      line_created_via: 'LOGIN',
    }),
  },
  {
    rule: 'a verified e-mail replaces the dummy e-mail',
    observation: verified(),
    profile: PROFILE,
    existing: LINE_DUMMY,
    expected: update({ email: 'taro@example.com' }),
  },
  {
    rule: 'a verified e-mail replaces a dummy e-mail written in another case',
    observation: verified(),
    profile: PROFILE,
    existing: contact({ ...LINE_DUMMY.properties, email: DUMMY.toUpperCase() }),
    expected: update({ email: 'taro@example.com' }),
  },
  { rule: 'a verified e-mail equal to the contact’s changes nothing', observation: verified('TARO@example.com'), profile: PROFILE, existing: LINE_REAL, expected: none('unchanged') },
  {
    rule: 'a verified e-mail never overwrites a different real e-mail',
    observation: verified('taro.private@example.org'),
    profile: PROFILE,
    existing: LINE_REAL,
    expected: none('unchanged'),
  },
  {
    rule: 'a verified e-mail fills a HubSpot-created contact without e-mail',
    observation: verified(),
    profile: PROFILE,
    existing: HS_ONLY_ID,
    expected: update({ ...FILL, email: 'taro@example.com', line_follow: 'YES', line_follow_changed_at: String(T) }),
  },
  {
    rule: 'a verified e-mail keeps the e-mail of a HubSpot-created contact',
    observation: verified(),
    profile: PROFILE,
    existing: HS_WITH_EMAIL,
    expected: update({ ...FILL, line_follow: 'YES', line_follow_changed_at: String(T) }),
  },
  {
    rule: 'a verified e-mail of a blocked contact that reads the profile sets LINE Follow YES',
    observation: verified(),
    profile: PROFILE,
    existing: LINE_BLOCKED,
    expected: update({ email: 'taro@example.com', line_follow: 'YES', line_follow_changed_at: String(T) }),
  },
  {
    rule: 'a verified e-mail whose profile cannot be read sets LINE Follow NO',
    observation: verified(),
    profile: null,
    existing: LINE_DUMMY,
    expected: update({ email: 'taro@example.com', line_follow: 'NO', line_follow_changed_at: String(T) }),
  },
  {
    rule: 'a verified e-mail read before a later block still replaces the dummy e-mail, but not the block',
    observation: verified(),
    profile: PROFILE,
    existing: LINE_BLOCKED_LATER,
    expected: update({ email: 'taro@example.com' }),
  },
  {
    rule: 'a verified e-mail read before a later block changes nothing else',
    observation: verified(),
    profile: PROFILE,
    existing: contact({ ...LINE_BLOCKED_LATER.properties, email: 'taro@example.com' }),
    expected: none('older-observation'),
  },
  {
    rule: 'a verified e-mail read before a later follow changes nothing else',
    observation: verified(),
    profile: PROFILE,
    existing: contact({ ...LINE_FOLLOWING_LATER.properties, email: 'taro@example.com' }),
    expected: none('unchanged'),
  },
  {
    rule: 'a CRM contact found by the verified e-mail becomes a LOGIN LINE contact (no dummy e-mail)',
    observation: verified(),
    profile: PROFILE,
    existing: contact({ email: 'taro@example.com', firstname: 'Taro' } as Props),
    expected: update({
      line_user_id: U,
      line_created_via: 'LOGIN',
      line_id_sync_date: SD,
      line_user_name: 'Taro',
      line_user_picture: PIC,
      line_follow: 'YES',
      line_follow_changed_at: String(T),
    }),
  },
  {
    rule: 'a verified e-mail that is not an e-mail address changes nothing',
    observation: verified('not an address'),
    profile: PROFILE,
    existing: null,
    expected: none('invalid-email'),
  },
]);

// ---------------------------------------------------------------------------------------------
// Cross-cutting rules

describe('identity', () => {
  test('a user ID that is not a LINE user ID changes nothing', () => {
    for (const userId of ['', 'U123', U.toUpperCase(), 'C4af49806292c3b7e7f1b2c3d4e5f6a7b']) {
      assert.deepStrictEqual(decideContact({ userId, observation: follow(), profile: PROFILE, existing: null, now: NOW, timeZone: 'UTC' }), none('invalid-line-user-id'));
    }
  });

  test('LINE User ID is never changed: a contact of another LINE user is left alone', () => {
    for (const observation of [follow(), unblock(), unfollow(), message(), importAt(), hubspot(), verified()]) {
      assert.deepStrictEqual(decide(observation, PROFILE, contact({ ...LINE_DUMMY.properties, line_user_id: OTHER_U })), none('other-line-user'));
    }
  });

  test('a contact without LINE User ID does not become a LINE contact through a block or unreadable profile', () => {
    const crm = contact({ email: 'taro@example.com' });
    assert.deepStrictEqual(decide(unfollow(), null, crm), none('no-contact-for-blocked-user'));
    assert.deepStrictEqual(decide(follow(), null, crm), none('not-a-friend'));
    assert.deepStrictEqual(decide(message(), null, crm), none('not-a-friend'));
    assert.deepStrictEqual(decide(importAt(), null, crm), none('not-a-friend'));
    assert.deepStrictEqual(decide(hubspot(), PROFILE, crm), none('no-contact'));
  });

  test('a verified LINE Login non-friend found by e-mail becomes a LOGIN contact with LINE Follow NO', () => {
    assert.deepStrictEqual(
      decide(verified(), null, contact({ email: 'taro@example.com' })),
      update({ line_user_id: U, line_created_via: 'LOGIN', line_id_sync_date: SD, line_follow: 'NO', line_follow_changed_at: String(T) }),
    );
  });
});

describe('LINE Created Via is set once', () => {
  const cases: Array<[string, Observation, string]> = [
    ['follow', follow(), 'FOLLOW'],
    ['unblock', unblock(), 'UNBLOCK'],
    ['message', message(), 'REPLY'],
    ['import', importAt(), 'IMPORT'],
    ['verified e-mail', verified(), 'LOGIN'],
  ];
  for (const [name, observation, via] of cases) {
    test(`a contact created by ${name} is ${via}`, () => {
      const decision = decide(observation, PROFILE, null);
      assert.equal(decision.action, 'create');
      assert.equal(decision.action === 'create' && decision.properties.line_created_via, via);
      assert.equal(createdViaOf(observation), via);
    });
  }

  test('an existing created-via is never overwritten, whatever the observation', () => {
    for (const observation of [follow(), unblock(), unfollow(), message(), importAt(), hubspot(), verified()]) {
      const decision = decide(observation, PROFILE_RENAMED, contact({ ...LINE_BLOCKED.properties, line_created_via: 'IMPORT' }));
      assert.equal(decision.action, 'update', observation.kind);
      assert.equal(decision.action === 'update' && 'line_created_via' in decision.properties, false, observation.kind);
    }
  });

  test('a contact that had a LINE User ID before the service wrote to it is HUBSPOT, whatever the observation', () => {
    for (const observation of [follow(), unblock(), unfollow(), message(), importAt(), hubspot(), verified()]) {
      const decision = decide(observation, PROFILE, HS_WITH_EMAIL);
      assert.equal(decision.action === 'update' && decision.properties.line_created_via, 'HUBSPOT', observation.kind);
    }
  });
});

describe('LINE ID Sync Date', () => {
  test('the sync date of a new contact is its calendar date in the configured time zone (Tokyo: the next day)', () => {
    const decision = decide(follow(), PROFILE, null, 'Asia/Tokyo');
    assert.equal(decision.action === 'create' && decision.properties.line_id_sync_date, SD_TOKYO);
  });

  test('the sync date of a new contact is its calendar date in the configured time zone (Los Angeles: the same day)', () => {
    const decision = decide(importAt(), PROFILE, null, 'America/Los_Angeles');
    assert.equal(decision.action === 'create' && decision.properties.line_id_sync_date, SD);
  });

  test('the sync date comes from the decision time, not from the observation time', () => {
    const decision = decide(importAt(T_OLD), PROFILE, null);
    assert.equal(decision.action === 'create' && decision.properties.line_id_sync_date, SD);
  });

  test('a missing sync date is filled in the configured time zone', () => {
    assert.deepStrictEqual(decide(importAt(), PROFILE, contact({ ...LINE_DUMMY.properties, line_id_sync_date: '' }), 'Asia/Tokyo'), update({ line_id_sync_date: SD_TOKYO }));
  });

  test('the sync date is never overwritten, not by re-imports, not by later events', () => {
    for (const existing of [LINE_DUMMY, LINE_BLOCKED]) {
      for (const observation of [follow(), unblock(), unfollow(), message(), importAt(), hubspot(), verified()]) {
        for (const timeZone of ['UTC', 'Asia/Tokyo']) {
          const decision = decide(observation, PROFILE_RENAMED, existing, timeZone);
          assert.equal(decision.action === 'update' && 'line_id_sync_date' in decision.properties, false, `${observation.kind} ${timeZone}`);
        }
      }
    }
  });

  test('a block does not fill a missing sync date', () => {
    assert.deepStrictEqual(decide(unfollow(), null, contact({ ...LINE_DUMMY.properties, line_id_sync_date: null })), update({ line_follow: 'NO', line_follow_changed_at: String(T) }));
  });
});

describe('LINE User Name and LINE User Picture', () => {
  test('a new contact of a user without a picture has no picture property', () => {
    assert.deepStrictEqual(
      decide(follow(), PROFILE_NO_PIC, null),
      create({
        email: DUMMY,
        line_user_id: U,
        line_user_name: 'Taro',
        line_id_sync_date: SD,
        line_follow: 'YES',
        line_follow_changed_at: String(T),
        line_created_via: 'FOLLOW',
      }),
    );
  });

  test('a removed picture clears LINE User Picture', () => {
    assert.deepStrictEqual(decide(message(), PROFILE_NO_PIC, LINE_DUMMY), update({ line_user_picture: '' }));
  });

  test('an empty picture URL counts as no picture', () => {
    assert.deepStrictEqual(decide(message(), { ...PROFILE, pictureUrl: '' }, LINE_DUMMY), update({ line_user_picture: '' }));
  });

  test('a user without a picture on a contact without a picture changes nothing', () => {
    assert.deepStrictEqual(decide(importAt(), PROFILE_NO_PIC, contact({ ...LINE_DUMMY.properties, line_user_picture: null })), none('unchanged'));
    assert.deepStrictEqual(decide(importAt(), PROFILE_NO_PIC, contact({ ...LINE_DUMMY.properties, line_user_picture: '' })), none('unchanged'));
  });

  test('a changed picture replaces the old one', () => {
    assert.deepStrictEqual(decide(hubspot(), { ...PROFILE, pictureUrl: NEW_PIC }, LINE_DUMMY), update({ line_user_picture: NEW_PIC }));
  });

  test('a changed name replaces the old one on every observation that reads the profile', () => {
    for (const observation of [follow(), unblock(), message(), importAt(), hubspot(), verified()]) {
      const decision = decide(observation, { ...PROFILE, displayName: 'たろう' }, contact({ ...LINE_REAL.properties, line_follow_changed_at: String(T_NEW) }));
      assert.deepStrictEqual(decision, update({ line_user_name: 'たろう' }), observation.kind);
    }
  });

  test('an unreadable profile never clears name or picture', () => {
    for (const observation of [follow(), unblock(), unfollow(), message(), hubspot(), verified()]) {
      const decision = decide(observation, null, LINE_REAL);
      const properties = decision.action === 'update' ? decision.properties : {};
      assert.equal('line_user_name' in properties || 'line_user_picture' in properties, false, observation.kind);
    }
  });
});

describe('e-mail', () => {
  test('contacts created from LINE events and imports get the dummy e-mail [LINE User ID]@line.me', () => {
    for (const observation of [follow(), unblock(), message(), importAt()]) {
      const decision = decide(observation, PROFILE, null);
      assert.equal(decision.action === 'create' && decision.properties.email, `${U}@line.me`, observation.kind);
    }
  });

  test('a dummy e-mail is never set on an existing contact, with or without an e-mail', () => {
    for (const existing of [HS_ONLY_ID, HS_WITH_EMAIL, contact({ ...LINE_DUMMY.properties, email: null }), contact({ ...LINE_DUMMY.properties, email: '' })]) {
      for (const observation of [follow(), unblock(), unfollow(), message(), importAt(), hubspot()]) {
        for (const profile of [PROFILE, null]) {
          const decision = decide(observation, profile, existing);
          assert.equal(decision.action === 'update' && 'email' in decision.properties, false, `${observation.kind} ${JSON.stringify(existing.properties.email)}`);
          assert.notEqual(decision.action, 'create');
        }
      }
    }
  });

  test('a verified e-mail fills a LINE contact that has no e-mail', () => {
    assert.deepStrictEqual(decide(verified(), PROFILE, contact({ ...LINE_DUMMY.properties, email: null })), update({ email: 'taro@example.com' }));
  });

  test('a verified e-mail replaces another user’s dummy e-mail too', () => {
    assert.deepStrictEqual(decide(verified(), PROFILE, contact({ ...LINE_DUMMY.properties, email: `${OTHER_U}@line.me` })), update({ email: 'taro@example.com' }));
  });

  test('a real address at line.me is not a dummy and is kept', () => {
    assert.deepStrictEqual(decide(verified(), PROFILE, contact({ ...LINE_DUMMY.properties, email: 'taro@line.me' })), none('unchanged'));
  });
});

describe('follow state: changed-at as HubSpot returns it', () => {
  const cases: Array<[string, string | null, Observation, ContactDecision]> = [
    ['an ISO time after the observation', new Date(T + 1).toISOString(), unfollow(), none('older-observation')],
    ['an ISO time before the observation', new Date(T - 1).toISOString(), unfollow(), update({ line_follow: 'NO', line_follow_changed_at: String(T) })],
    ['an ms string after the observation', String(T + 1), unfollow(), none('older-observation')],
    ['an ms string before the observation', String(T - 1), unfollow(), update({ line_follow: 'NO', line_follow_changed_at: String(T) })],
    ['a date (midnight UTC) after the observation', '2024-05-02', unfollow(), none('older-observation')],
    ['a date (midnight UTC) before the observation', '2024-05-01', unfollow(), update({ line_follow: 'NO', line_follow_changed_at: String(T) })],
    ['missing', null, unfollow(), update({ line_follow: 'NO', line_follow_changed_at: String(T) })],
    ['unreadable', 'yesterday', unfollow(), update({ line_follow: 'NO', line_follow_changed_at: String(T) })],
  ];
  for (const [name, changedAt, observation, expected] of cases) {
    test(`LINE Follow Changed At ${name}`, () => {
      assert.deepStrictEqual(decide(observation, null, contact({ ...LINE_DUMMY.properties, line_follow_changed_at: changedAt })), expected);
    });
  }

  test('a follow state without changed-at is confirmed with the observation time', () => {
    assert.deepStrictEqual(decide(hubspot(), PROFILE, contact({ ...LINE_DUMMY.properties, line_follow_changed_at: null })), update({ line_follow_changed_at: String(T) }));
  });
});

describe('follow values and events', () => {
  const cases: Array<[Observation, LineProfile | null, string | undefined, boolean]> = [
    [follow(), PROFILE, 'YES', true],
    [follow(), null, 'YES', true],
    [unblock(), PROFILE, 'YES', true],
    [unfollow(), null, 'NO', true],
    [import_(), PROFILE, 'YES', false],
    [hubspot(), PROFILE, 'YES', false],
    [hubspot(), null, 'NO', false],
    [verified(), PROFILE, 'YES', false],
    [verified(), null, 'NO', false],
    [message(), PROFILE, undefined, false],
    [message(), null, undefined, false],
  ];
  function import_() {
    return importAt();
  }
  for (const [observation, profile, value, event] of cases) {
    test(`${observation.kind}${observation.kind === 'follow' && observation.unblocked ? ' (unblock)' : ''} with ${profile ? 'a' : 'no'} profile tells LINE Follow ${value ?? 'nothing'}${event ? ' as an event' : ''}`, () => {
      assert.equal(followValueOf(observation, profile), value);
      assert.equal(isFollowEvent(observation), event);
    });
  }
});

// ---------------------------------------------------------------------------------------------
// Sequences: decisions applied one after another to an in-memory contact

function run(steps: Array<[Observation, LineProfile | null]>, start: ExistingContact | null = null, timeZone = 'UTC') {
  let current = start;
  const decisions: ContactDecision[] = [];
  for (const [observation, profile] of steps) {
    const decision = decideContact({ userId: U, observation, profile, existing: current, now: NOW, timeZone });
    decisions.push(decision);
    current = applyDecision(current, decision, 'c1');
  }
  return { contact: current, decisions };
}

describe('order, duplicates and races', () => {
  const t1 = Date.UTC(2024, 4, 1, 10, 0, 0);
  const t2 = t1 + 60_000;
  const t3 = t2 + 60_000;

  test('follow t1, follow t3, then a late unfollow t2 ends YES', () => {
    const { contact: end, decisions } = run([
      [follow(t1), PROFILE],
      [follow(t3), PROFILE],
      [unfollow(t2), null],
    ]);
    assert.equal(end?.properties.line_follow, 'YES');
    assert.equal(end?.properties.line_follow_changed_at, String(t3));
    assert.deepStrictEqual(decisions.map(describeDecision), ['create FOLLOW contact', 'update line_follow_changed_at', 'none: older-observation']);
  });

  test('unfollow t2 before a late follow t1 of an existing contact stays NO', () => {
    const { contact: end, decisions } = run(
      [
        [unfollow(t2), null],
        [follow(t1), null],
      ],
      LINE_DUMMY,
    );
    assert.equal(end?.properties.line_follow, 'NO');
    assert.equal(end?.properties.line_follow_changed_at, String(t2));
    assert.deepStrictEqual(decisions, [update({ line_follow: 'NO', line_follow_changed_at: String(t2) }), none('older-observation')]);
  });

  test('a block and then a late unblock observed before it stays NO', () => {
    const { contact: end } = run(
      [
        [unfollow(t2), null],
        [unblock(t1), PROFILE],
      ],
      LINE_DUMMY,
    );
    assert.equal(end?.properties.line_follow, 'NO');
  });

  test('a block during an import ends NO, whichever is applied first', () => {
    const page = t1;
    const block = t2;
    const importFirst = run(
      [
        [importAt(page), PROFILE],
        [unfollow(block), null],
      ],
      LINE_BLOCKED,
    );
    const blockFirst = run(
      [
        [unfollow(block), null],
        [importAt(page), PROFILE],
      ],
      LINE_BLOCKED,
    );
    assert.equal(importFirst.contact?.properties.line_follow, 'NO');
    assert.equal(blockFirst.contact?.properties.line_follow, 'NO');
    assert.deepStrictEqual(blockFirst.decisions[1], none('older-observation'));
  });

  test('a block of a friend not yet imported creates nothing, and the import skips the blocked friend', () => {
    const { contact: end, decisions } = run([
      [unfollow(t2), null],
      [importAt(t1), null],
    ]);
    assert.equal(end, null);
    assert.deepStrictEqual(decisions, [none('no-contact-for-blocked-user'), none('not-a-friend')]);
  });

  test('a redelivered event is applied once: the second time it changes nothing', () => {
    const { decisions } = run([
      [follow(t1), PROFILE],
      [follow(t1), PROFILE],
      [unfollow(t2), null],
      [unfollow(t2), null],
    ]);
    assert.deepStrictEqual(decisions.slice(1).map(describeDecision), ['none: unchanged', 'update line_follow NO, line_follow_changed_at', 'none: unchanged']);
  });

  test('a re-run of an import changes nothing that is already right', () => {
    const first = run([[importAt(t1), PROFILE]]);
    assert.equal(first.decisions[0]?.action, 'create');
    const rerun = run([[importAt(t3), PROFILE]], first.contact);
    assert.deepStrictEqual(rerun.decisions, [none('unchanged')]);
    assert.deepStrictEqual(rerun.contact, first.contact);
  });

  test('a re-run of an import over contacts changed by events changes nothing that is already right', () => {
    const { decisions } = run([
      [follow(t1), PROFILE],
      [message(t2), PROFILE],
      [importAt(t3), PROFILE],
      [importAt(t3 + 1000), PROFILE],
    ]);
    assert.deepStrictEqual(decisions.slice(1), [none('unchanged'), none('unchanged'), none('unchanged')]);
  });

  test('a HubSpot-created contact never gets a dummy e-mail, whatever follows', () => {
    const { contact: end } = run(
      [
        [hubspot(t1), PROFILE],
        [follow(t2), PROFILE],
        [message(t2 + 1), PROFILE],
        [unfollow(t3), null],
        [unblock(t3 + 1), PROFILE],
        [importAt(t3 + 2), PROFILE],
      ],
      HS_ONLY_ID,
    );
    assert.deepStrictEqual(end, {
      id: 'c1',
      properties: {
        line_user_id: U,
        line_created_via: 'HUBSPOT',
        line_id_sync_date: SD,
        line_user_name: 'Taro',
        line_user_picture: PIC,
        line_follow: 'YES',
        line_follow_changed_at: String(t3 + 1),
      },
    });
  });

  test('the dummy e-mail is replaced by the verified one and never comes back', () => {
    const { contact: end } = run([
      [follow(t1), PROFILE],
      [verified('Taro@Example.com', t2), PROFILE],
      [unfollow(t3), null],
      [unblock(t3 + 1), PROFILE],
    ]);
    assert.deepStrictEqual(end, {
      id: 'c1',
      properties: {
        email: 'taro@example.com',
        line_user_id: U,
        line_user_name: 'Taro',
        line_user_picture: PIC,
        line_id_sync_date: SD,
        line_follow: 'YES',
        line_follow_changed_at: String(t3 + 1),
        line_created_via: 'FOLLOW',
      },
    });
  });

  test('the sync date of the first sync survives every later event, in any time zone', () => {
    const first = run([[message(t1), PROFILE]], null, 'Asia/Tokyo');
    const later = run(
      [
        [importAt(t3), PROFILE_RENAMED],
        [unfollow(t3 + 1), null],
        [follow(t3 + 2), PROFILE],
      ],
      first.contact,
      'UTC',
    );
    assert.equal(later.contact?.properties.line_id_sync_date, SD_TOKYO);
    assert.equal(later.contact?.properties.line_created_via, 'REPLY');
  });
});

// ---------------------------------------------------------------------------------------------
// Rendering and applying decisions

describe('describeDecision', () => {
  const cases: Array<[ContactDecision, string]> = [
    [create({ line_created_via: 'FOLLOW', line_follow: 'YES', email: DUMMY }), 'create FOLLOW contact'],
    [create({ line_created_via: 'LOGIN', line_follow: 'NO', email: 'taro@example.com' }), 'create LOGIN contact, line_follow NO'],
    [update({ line_follow: 'NO', line_follow_changed_at: String(T) }), 'update line_follow NO, line_follow_changed_at'],
    [update({ line_created_via: 'HUBSPOT', line_id_sync_date: SD, line_user_name: 'Taro' }), 'update line_created_via HUBSPOT, line_id_sync_date, line_user_name'],
    [update({ email: 'taro@example.com' }), 'update email'],
    [none('unchanged'), 'none: unchanged'],
    [none('older-observation'), 'none: older-observation'],
    [none('no-contact-for-blocked-user'), 'none: no-contact-for-blocked-user'],
  ];
  for (const [decision, line] of cases) {
    test(`renders "${line}"`, () => {
      assert.equal(describeDecision(decision), line);
    });
  }

  test('never shows names, e-mails or URLs', () => {
    const line = describeDecision(decide(verified(), PROFILE_RENAMED, HS_ONLY_ID));
    assert.equal(line, 'update line_created_via HUBSPOT, line_id_sync_date, line_user_name, line_user_picture, email, line_follow YES, line_follow_changed_at');
  });
});

describe('applyDecision', () => {
  test('none leaves the contact as it is', () => {
    assert.equal(applyDecision(LINE_DUMMY, none('unchanged')), LINE_DUMMY);
    assert.equal(applyDecision(null, none('not-a-friend')), null);
  });

  test('create makes a contact with exactly the decided properties', () => {
    assert.deepStrictEqual(applyDecision(null, create({ line_user_id: U }), 'c9'), { id: 'c9', properties: { line_user_id: U } });
  });

  test('update overwrites only the decided properties and does not mutate the input', () => {
    const before = structuredClone(LINE_DUMMY);
    const after = applyDecision(LINE_DUMMY, update({ line_follow: 'NO', line_user_picture: '' }));
    assert.deepStrictEqual(after, { id: 'c1', properties: { ...LINE_DUMMY.properties, line_follow: 'NO', line_user_picture: '' } });
    assert.deepStrictEqual(LINE_DUMMY, before);
  });
});
