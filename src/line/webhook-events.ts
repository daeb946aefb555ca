// The LINE webhook body and the events this service acts on, as LINE sends them
// (../shared/vendor-specs/line/webhook.yml, `CallbackRequest` / `Event`).
//
// `WebhookEvent` is a union of the known events and `OtherEvent` (every other type, present or
// future, kept as received). TypeScript cannot narrow `event.type === 'follow'` while one member has
// `type: string`, so narrow in two steps:
//
//   if (isKnownEvent(event)) switch (event.type) { case 'follow': event.follow.isUnblocked ... }
//   else /* event: OtherEvent */ acknowledge and ignore
//
// or with the single-type guards (`isFollowEvent`, ...). Unknown fields are allowed everywhere:
// LINE adds fields without notice, and the service must not fail on them.

export type EventMode = 'active' | 'standby';

export interface DeliveryContext {
  /** true when LINE redelivers an event it could not deliver before (same `webhookEventId`) */
  isRedelivery: boolean;
}

export interface UserSource {
  type: 'user';
  /** `U` + 32 lowercase hex */
  userId: string;
}

export interface GroupSource {
  type: 'group';
  /** `C` + 32 lowercase hex */
  groupId: string;
  /** the member who caused the event; only in some events (e.g. messages) */
  userId?: string;
}

export interface RoomSource {
  type: 'room';
  /** `R` + 32 lowercase hex */
  roomId: string;
  userId?: string;
}

export type EventSource = UserSource | GroupSource | RoomSource;

/** Properties every webhook event has. */
export interface EventBase {
  type: string;
  /** ms since the epoch when the event happened (also for redeliveries) */
  timestamp: number;
  /** `standby`: another module handles the chat; the event carries no `replyToken` */
  mode: EventMode;
  /** ULID, unique per event; the same on redelivery */
  webhookEventId: string;
  deliveryContext: DeliveryContext;
  /** absent in a few event types (e.g. a failed account link) */
  source?: EventSource;
}

export interface FollowEvent extends EventBase {
  type: 'follow';
  /** absent when `mode` is `standby` */
  replyToken?: string;
  follow: {
    /** true when a friend who had blocked the account unblocked it; false for a new friend */
    isUnblocked: boolean;
  };
}

/** The account was blocked. Never has a `replyToken`. */
export interface UnfollowEvent extends EventBase {
  type: 'unfollow';
}

export interface TextMessageContent {
  type: 'text';
  id: string;
  text: string;
  quoteToken: string;
  markAsReadToken?: string;
  quotedMessageId?: string;
  emojis?: Array<{ index: number; length: number; productId: string; emojiId: string }>;
  mention?: { mentionees: Array<{ type: string; index: number; length: number; userId?: string; isSelf?: boolean }> };
}

/** Image, sticker, location, ... : handled alike (the service reads only who sent it). */
export interface OtherMessageContent {
  type: string;
  id: string;
  [key: string]: unknown;
}

export type MessageContent = TextMessageContent | OtherMessageContent;

export interface MessageEvent extends EventBase {
  type: 'message';
  /** absent when `mode` is `standby` */
  replyToken?: string;
  message: MessageContent;
}

/** Any other event type (postback, join, beacon, ... or one LINE adds later), as received. */
export interface OtherEvent extends EventBase {
  [key: string]: unknown;
}

export type KnownWebhookEvent = FollowEvent | UnfollowEvent | MessageEvent;
export type WebhookEvent = KnownWebhookEvent | OtherEvent;

export interface WebhookBody {
  /** the bot's user ID: `U` + 32 lowercase hex */
  destination: string;
  /** may be empty: LINE checks the webhook URL that way (answer 200) */
  events: WebhookEvent[];
}

export const KNOWN_EVENT_TYPES: ReadonlySet<string> = new Set<KnownWebhookEvent['type']>(['follow', 'unfollow', 'message']);

export function isKnownEvent(event: WebhookEvent): event is KnownWebhookEvent {
  return KNOWN_EVENT_TYPES.has(event.type);
}

export function isFollowEvent(event: WebhookEvent): event is FollowEvent {
  return event.type === 'follow';
}

export function isUnfollowEvent(event: WebhookEvent): event is UnfollowEvent {
  return event.type === 'unfollow';
}

export function isMessageEvent(event: WebhookEvent): event is MessageEvent {
  return event.type === 'message';
}

export function isTextMessage(message: MessageContent): message is TextMessageContent {
  return message.type === 'text';
}

/** The LINE user behind an event, whatever the source type (undefined when LINE sent none). */
export function sourceUserId(event: WebhookEvent): string | undefined {
  return event.source?.userId;
}

export { isLineUserId, LINE_GROUP_ID_PATTERN, LINE_ROOM_ID_PATTERN, LINE_USER_ID_PATTERN } from './ids.ts';
