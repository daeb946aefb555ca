// Webhook events exactly as the LINE Platform sends them (../shared/vendor-specs/line/webhook.yml and
// LINE's Messaging API reference), and a sender that signs them like LINE does.
//
// Realism rules kept here:
// - `follow` and `unfollow` come only from a user (1:1) source; messages from user, group or room.
// - `replyToken` on `follow` and `message`, never on `unfollow`, and never in `standby` mode.
// - `webhookEventId` is a ULID; a redelivery repeats the event's `webhookEventId` and `timestamp`
//   with `deliveryContext.isRedelivery: true`.
// - `destination` is the bot's user ID (`U` + 32 lowercase hex).
import { randomBytes } from 'node:crypto';
import { signLineBody } from '../line/signature.ts';
import type {
  EventMode,
  EventSource,
  FollowEvent,
  GroupSource,
  MessageEvent,
  OtherEvent,
  RoomSource,
  TextMessageContent,
  UnfollowEvent,
  UserSource,
  WebhookBody,
  WebhookEvent,
} from '../line/webhook-events.ts';

// The sandbox LINE account's constants live here, in a module without Fastify, so that the
// `npm run line` command starts fast; src/sandbox/line.ts re-exports them.

/** The sandbox LINE Official Account's bot user ID: the `destination` of its webhooks. */
export const SANDBOX_LINE_BOT_USER_ID = 'U5a4d0b0c0e0f4a6b8c9d0e1f2a3b4c5d';
/** Channel secret of the sandbox Messaging API channel (signs the sandbox webhooks). Not a secret. */
export const SANDBOX_LINE_CHANNEL_SECRET = 'sandbox-line-channel-secret';
/** Channel access token the sandbox accepts by default. Not a secret. */
export const SANDBOX_LINE_CHANNEL_ACCESS_TOKEN = 'sandbox-line-channel-access-token';
/** LINE Login channel ID (`client_id`, the ID tokens' `aud`) of the sandbox. */
export const SANDBOX_LINE_LOGIN_CHANNEL_ID = '2000000000';

// ---------------------------------------------------------------------------------------------
// IDs

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const ULID_TIME_MAX = 2 ** 48 - 1;
const RANDOM_MASK = (1n << 80n) - 1n;

let lastUlidTime = -1;
let lastUlidRandom = 0n;

function encodeCrockford(value: bigint, length: number): string {
  let out = '';
  let rest = value;
  for (let i = 0; i < length; i++) {
    out = CROCKFORD[Number(rest & 31n)]! + out;
    rest >>= 5n;
  }
  return out;
}

/**
 * A ULID (26 characters, Crockford base32: 48-bit ms timestamp `now` + 80 random bits). IDs sort by
 * their time; within one millisecond a later call sorts after an earlier one (monotonic random part).
 */
export function ulid(now: number = Date.now()): string {
  if (!Number.isInteger(now) || now < 0 || now > ULID_TIME_MAX) throw new RangeError(`ULID time out of range: ${now}`);
  let random: bigint;
  if (now === lastUlidTime) {
    // same millisecond: increment the random part so that the later ID sorts after the earlier one
    random = (lastUlidRandom + 1n) & RANDOM_MASK;
    if (random === 0n) throw new RangeError('ULID random part overflowed within one millisecond');
  } else {
    random = BigInt(`0x${randomBytes(10).toString('hex')}`);
  }
  if (now >= lastUlidTime) {
    lastUlidTime = now;
    lastUlidRandom = random;
  }
  return encodeCrockford(BigInt(now), 10) + encodeCrockford(random, 16);
}

export const ULID_PATTERN = /^[0-7][0-9A-HJKMNP-TV-Z]{25}$/;

/** The millisecond timestamp encoded in a ULID. */
export function ulidTime(id: string): number {
  let value = 0;
  for (const char of id.slice(0, 10)) value = value * 32 + CROCKFORD.indexOf(char);
  return value;
}

const hex = (bytes: number): string => randomBytes(bytes).toString('hex');

/** A fresh LINE user ID: `U` + 32 lowercase hex. */
export function newLineUserId(): string {
  return `U${hex(16)}`;
}

/** A fresh group ID: `C` + 32 lowercase hex. */
export function newLineGroupId(): string {
  return `C${hex(16)}`;
}

/** A fresh multi-person chat (room) ID: `R` + 32 lowercase hex. */
export function newLineRoomId(): string {
  return `R${hex(16)}`;
}

/** A reply token (opaque to the service; 32 hex like LINE's). */
export function newReplyToken(): string {
  return hex(16);
}

/** A message ID: a decimal string of 18 digits, as LINE's. */
export function newMessageId(): string {
  const n = BigInt(`0x${hex(8)}`) % 900_000_000_000_000_000n;
  return (n + 100_000_000_000_000_000n).toString();
}

function newQuoteToken(): string {
  return randomBytes(48).toString('base64url');
}

// ---------------------------------------------------------------------------------------------
// Sources

export function userSource(userId: string): UserSource {
  return { type: 'user', userId };
}

export function groupSource(groupId: string, userId?: string): GroupSource {
  return userId === undefined ? { type: 'group', groupId } : { type: 'group', groupId, userId };
}

export function roomSource(roomId: string, userId?: string): RoomSource {
  return userId === undefined ? { type: 'room', roomId } : { type: 'room', roomId, userId };
}

// ---------------------------------------------------------------------------------------------
// Events

export interface EventOptions {
  /** ms; default now */
  timestamp?: number;
  /** default `active` */
  mode?: EventMode;
  /** default a fresh ULID (for a redelivery pass the original's) */
  webhookEventId?: string;
  /** default false */
  isRedelivery?: boolean;
}

export interface ReplyableEventOptions extends EventOptions {
  /** default a fresh token in `active` mode; LINE sends none in `standby` mode */
  replyToken?: string;
}

function common(type: string, source: EventSource | undefined, options: EventOptions) {
  const timestamp = options.timestamp ?? Date.now();
  return {
    type,
    ...(source ? { source } : {}),
    timestamp,
    mode: options.mode ?? 'active',
    webhookEventId: options.webhookEventId ?? ulid(Math.max(0, Math.min(ULID_TIME_MAX, Math.trunc(timestamp)))),
    deliveryContext: { isRedelivery: options.isRedelivery ?? false },
  } as const;
}

function replyToken(options: ReplyableEventOptions): { replyToken?: string } {
  if ((options.mode ?? 'active') === 'standby') {
    if (options.replyToken !== undefined) throw new TypeError('LINE sends no replyToken in standby mode');
    return {};
  }
  return { replyToken: options.replyToken ?? newReplyToken() };
}

export interface FollowEventOptions extends ReplyableEventOptions {
  /** true when a friend who had blocked the account unblocked it (default false: a new friend) */
  isUnblocked?: boolean;
}

/** `follow`: the user added the account as a friend (`isUnblocked: false`) or unblocked it (`true`). */
export function followEvent(userId: string, options: FollowEventOptions = {}): FollowEvent {
  const base = common('follow', userSource(userId), options);
  return {
    ...base,
    type: 'follow',
    ...replyToken(options),
    follow: { isUnblocked: options.isUnblocked ?? false },
  };
}

/** `unfollow`: the user blocked the account. No reply token. */
export function unfollowEvent(userId: string, options: EventOptions = {}): UnfollowEvent {
  return { ...common('unfollow', userSource(userId), options), type: 'unfollow' };
}

export interface TextMessageEventOptions extends ReplyableEventOptions {
  messageId?: string;
  quoteToken?: string;
}

/**
 * A text `message` event. `source`: a user ID (1:1 chat) or a group/room source from
 * `groupSource(groupId, userId)` / `roomSource(roomId, userId)`.
 */
export function textMessageEvent(source: string | EventSource, text: string, options: TextMessageEventOptions = {}): MessageEvent {
  const resolved = typeof source === 'string' ? userSource(source) : source;
  const message: TextMessageContent = {
    type: 'text',
    id: options.messageId ?? newMessageId(),
    quoteToken: options.quoteToken ?? newQuoteToken(),
    text,
  };
  return { ...common('message', resolved, options), type: 'message', ...replyToken(options), message };
}

/** Any other event type (postback, join, ...), with the common properties filled in. */
export function otherEvent(type: string, source: EventSource | undefined, fields: Record<string, unknown> = {}, options: EventOptions = {}): OtherEvent {
  return { ...common(type, source, options), ...fields };
}

/** The same event as LINE redelivers it: same `webhookEventId`, `timestamp` and content, `isRedelivery: true`. */
export function asRedelivery<E extends WebhookEvent>(event: E): E {
  return { ...event, deliveryContext: { isRedelivery: true } };
}

/** The webhook request body. `events` may be empty (LINE's URL check). */
export function webhookBody(events: WebhookEvent[], destination: string = SANDBOX_LINE_BOT_USER_ID): WebhookBody {
  return { destination, events };
}

// ---------------------------------------------------------------------------------------------
// Sending

export interface SendLineWebhookOptions {
  /** the service's webhook URL, e.g. http://127.0.0.1:3000/webhooks/line */
  url: string;
  channelSecret: string;
  /** the whole body: an object (serialized with JSON.stringify) or a string sent byte for byte */
  body?: WebhookBody | string | Buffer;
  /** or just the events (wrapped with `destination`) */
  events?: WebhookEvent[];
  destination?: string;
  /** override the `x-line-signature` header; `null` sends none */
  signature?: string | null;
  /** extra request headers */
  headers?: Record<string, string>;
  /** default 10 s */
  timeoutMs?: number;
}

export interface SendLineWebhookResult {
  status: number;
  /** parsed JSON when the answer is JSON, else the text */
  body: unknown;
  text: string;
  headers: Headers;
  /** the exact bytes sent */
  rawBody: string;
}

/** Serializes, signs (`x-line-signature`) and POSTs a webhook like the LINE Platform does. */
export async function sendLineWebhook(options: SendLineWebhookOptions): Promise<SendLineWebhookResult> {
  let raw: string | Buffer;
  if (options.body !== undefined) {
    raw = typeof options.body === 'string' || Buffer.isBuffer(options.body) ? options.body : JSON.stringify(options.body);
  } else if (options.events !== undefined) {
    raw = JSON.stringify(webhookBody(options.events, options.destination));
  } else {
    throw new TypeError('sendLineWebhook needs body or events');
  }
  const signature = options.signature === undefined ? signLineBody(raw, options.channelSecret) : options.signature;
  const headers: Record<string, string> = {
    'content-type': 'application/json; charset=utf-8',
    'user-agent': 'LineBotWebhook/2.0',
    ...(signature === null ? {} : { 'x-line-signature': signature }),
    ...options.headers,
  };
  const response = await fetch(options.url, {
    method: 'POST',
    headers,
    body: raw,
    signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
  });
  const text = await response.text();
  let body: unknown = text;
  if ((response.headers.get('content-type') ?? '').includes('json') && text !== '') {
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
  }
  return { status: response.status, body, text, headers: response.headers, rawBody: Buffer.isBuffer(raw) ? raw.toString('utf8') : raw };
}
