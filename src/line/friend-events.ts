// Which webhook events concern a friend's contact, and the FriendEvent the contact writer applies for each.
import type { FriendEvent } from '../contracts.ts';
import { lastMessageValue } from '../contact/values.ts';
import { isLineUserId } from './ids.ts';

const FRIEND_EVENT_TYPES = new Set(['follow', 'unfollow', 'message']);

/** A follow, unfollow or message from a user source; anything else (groups, rooms, other types) → undefined. */
export function friendEventOf(candidate: unknown): { userId: string; event: FriendEvent } | undefined {
  if (!candidate || typeof candidate !== 'object') return undefined;
  const e = candidate as {
    type?: unknown;
    timestamp?: unknown;
    webhookEventId?: unknown;
    source?: { type?: unknown; userId?: unknown };
    follow?: { isUnblocked?: unknown };
    deliveryContext?: { isRedelivery?: unknown };
    message?: unknown;
  };
  if (typeof e.type !== 'string' || !FRIEND_EVENT_TYPES.has(e.type)) return undefined;
  if (e.source?.type !== 'user' || typeof e.source.userId !== 'string' || !isLineUserId(e.source.userId)) return undefined;
  if (typeof e.timestamp !== 'number' || !Number.isFinite(e.timestamp)) return undefined;
  if (typeof e.webhookEventId !== 'string' || e.webhookEventId.length === 0 || e.webhookEventId.length > 64) return undefined;
  const message = e.type === 'message' ? lastMessageValue(e.message) : undefined;
  const event: FriendEvent = {
    eventId: e.webhookEventId,
    kind: e.type as FriendEvent['kind'],
    timestamp: e.timestamp,
    ...(e.type === 'follow' ? { unblocked: e.follow?.isUnblocked === true } : {}),
    ...(message !== undefined ? { message } : {}),
    ...(e.deliveryContext?.isRedelivery === true ? { redelivery: true } : {}),
  };
  return { userId: e.source.userId, event };
}
