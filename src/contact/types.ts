// Types of the contact rules (product.md sections 1–5). Pure data; imported by workflow code.

/** `line_created_via`: how the contact first became a LINE contact. */
export const CREATED_VIA = ['FOLLOW', 'UNBLOCK', 'REPLY', 'IMPORT', 'LOGIN', 'HUBSPOT'] as const;
export type CreatedVia = (typeof CREATED_VIA)[number];
/** `line_follow`: following (YES) or blocked (NO). */
export const FOLLOW_STATES = ['YES', 'NO'] as const;
export type LineFollow = (typeof FOLLOW_STATES)[number];

/** A LINE profile as the Messaging API returns it (GET /v2/bot/profile/{userId}). */
export interface LineProfile {
  userId: string;
  displayName: string;
  /** absent when the user has no profile picture */
  pictureUrl?: string;
  /** the user's language (e.g. `ja`, `en`), when LINE gives one */
  language?: string;
}

/**
 * What the service learnt about a LINE user, and when (epoch ms). The time orders follow
 * states (product.md section 4): a webhook event's `timestamp`; for an import, the moment the
 * follower page was read; for a HubSpot-side enrichment or a verified e-mail, the moment the
 * profile was read.
 */
export type Observation =
  /** webhook `follow`; `unblocked` = `follow.isUnblocked` */
  | { kind: 'follow'; unblocked: boolean; observedAt: number }
  /** webhook `unfollow` (the user blocked the account) */
  | { kind: 'unfollow'; observedAt: number }
  /**
   * webhook `message` from `source.type = user`; `message`: what `line_last_message` shows (the text,
   * or `[sticker]`, `[image]` … — see `lastMessageValue`); absent: not known (nothing written)
   */
  | { kind: 'message'; message?: string; observedAt: number }
  /** the user is in the follower-ID list read by an import */
  | { kind: 'import'; observedAt: number }
  /** HubSpot-side enrichment: a contact got a `line_user_id` in HubSpot */
  | { kind: 'hubspot'; observedAt: number }
  /** LINE Login verified e-mail (ID token verified with LINE) */
  | { kind: 'verified-email'; email: string; observedAt: number };

export type ObservationKind = Observation['kind'];

/** Contact properties the rules read (CONTACT_READ_PROPERTIES). */
export type ContactPropertyName =
  | 'email'
  | 'line_user_id'
  | 'line_user_name'
  | 'line_user_picture'
  | 'line_id_sync_date'
  | 'line_follow'
  | 'line_follow_changed_at'
  | 'line_created_via'
  | 'line_last_message'
  | 'line_last_message_at'
  | 'line_language';

/** A HubSpot contact as read: values as HubSpot returns them; `null` or `''` = missing. */
export interface ExistingContact {
  id: string;
  properties: Partial<Record<ContactPropertyName, string | null>>;
}

export interface RuleInput {
  /** the LINE user ID the observation is about */
  userId: string;
  observation: Observation;
  /** the profile read from LINE for this observation; `null`: not a friend (LINE 404) */
  profile: LineProfile | null;
  /** the contact with this `line_user_id`, or `null` when there is none */
  existing: ExistingContact | null;
  /** epoch ms, for `line_id_sync_date` */
  now: number;
  /** IANA time zone of the `line_id_sync_date` calendar (SYNC_DATE_TIME_ZONE) */
  timeZone: string;
}

/** Properties to write, as HubSpot strings. */
export type ContactProperties = Record<string, string>;

export type NoChangeReason =
  /** the contact is already right */
  | 'unchanged'
  /** the only change would have come from a follow state observed before the contact's */
  | 'older-observation'
  /** an `unfollow` for a user without a contact: a blocked user's profile cannot be read */
  | 'no-contact-for-blocked-user'
  /** the profile could not be read (LINE 404), so nothing is created (or, for an import, touched) */
  | 'not-a-friend'
  /** a HubSpot-side enrichment found no contact with this LINE user ID */
  | 'no-contact'
  /** the contact passed in already has a different `line_user_id` */
  | 'other-line-user'
  /** the user ID is not `U` + 32 lowercase hex */
  | 'invalid-line-user-id'
  /** the verified e-mail is not an e-mail address */
  | 'invalid-email';

export type ContactDecision =
  | { action: 'create'; properties: ContactProperties }
  /** `properties` holds only the properties whose value changes (never empty) */
  | { action: 'update'; contactId: string; properties: ContactProperties }
  | { action: 'none'; reason: NoChangeReason };
