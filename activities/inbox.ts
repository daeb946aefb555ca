// The inbox's one activity: hands a batch of webhook events to their friends' workflows.
import { activityInfo, cancellationSignal, heartbeat, log } from '@temporalio/activity';
import { setTimeout as sleep } from 'node:timers/promises';
import { isGrpcServiceError, type Client } from '@temporalio/client';
import { deliverFriendEvent, type FriendTarget } from '../src/temporal/friend-client.ts';
import type { FriendEvent } from '../workflows/friend.ts';

export interface InboxActivityDeps {
  /** the worker's own Temporal client */
  temporal: Client;
  /**
   * Hand-overs per second of one inbox shard, at most (undefined or 0: no limit): LINE_HANDOVER_PER_SECOND
   * ÷ LINE_INBOX_SHARDS. Bursts wait in the inbox, so that the webhook's signals never queue behind them.
   */
  perSecond?: number;
}

export interface InboxItem {
  userId: string;
  event: FriendEvent;
}

export interface HandOverResult {
  /** events now in their friend's workflow */
  delivered: number;
  /** events Temporal refused for good (invalid request): logged, with why */
  refused: Array<{ eventId: string; userId: string; reason: string }>;
}

/** Friends' workflows signalled at once by one hand-over: enough to keep the server busy, not flooded. */
export const HAND_OVER_CONCURRENCY = 8;

/** gRPC INVALID_ARGUMENT: the request itself is wrong, and no retry changes that (e.g. a payload over the server's limit). */
const INVALID_ARGUMENT = 3;

/** Why Temporal refused for good, or undefined when a retry may succeed (unreachable, overloaded, shutting down). */
function permanentRefusal(error: unknown): string | undefined {
  for (let e: unknown = error; e instanceof Error; e = e.cause) {
    if (isGrpcServiceError(e)) return e.code === INVALID_ARGUMENT ? e.details || e.message : undefined;
  }
  return undefined;
}

interface Progress {
  done: number[];
  refused: HandOverResult['refused'];
}

/** Spaces calls `1 / perSecond` apart (shared by the concurrent senders of one hand-over). */
function pacer(perSecond: number | undefined, signal: AbortSignal): () => Promise<void> {
  if (!perSecond || perSecond <= 0) return async () => {};
  const gapMs = 1000 / perSecond;
  let next = Date.now();
  return async () => {
    const at = Math.max(next, Date.now());
    next = at + gapMs;
    const waitMs = at - Date.now();
    if (waitMs > 0) await sleep(waitMs, undefined, { signal }).catch(() => {});
  };
}

export function createInboxActivities({ temporal, perSecond }: InboxActivityDeps) {
  return {
    /**
     * Signal-with-start of each event's friend workflow: one friend's events in their order, different
     * friends at once. Progress is heartbeated, so a retry (Temporal unreachable, worker gone) resumes
     * with the events not yet handed over; an event handed over twice is harmless, because the friend's
     * workflow applies each event ID once.
     */
    async handOverFriendEvents(target: FriendTarget, items: InboxItem[], options: { paced?: boolean } = {}): Promise<HandOverResult> {
      const resumed = activityInfo().heartbeatDetails as Progress | undefined;
      const done = new Set<number>(resumed?.done ?? []);
      const refused: HandOverResult['refused'] = [...(resumed?.refused ?? [])];
      const progress = (): Progress => ({ done: [...done], refused });
      const byFriend = new Map<string, number[]>();
      items.forEach((item, index) => {
        if (done.has(index)) return;
        const list = byFriend.get(item.userId) ?? [];
        list.push(index);
        byFriend.set(item.userId, list);
      });
      const queue = [...byFriend.values()];
      const signal = cancellationSignal();
      const paced = pacer(options.paced === false ? 0 : perSecond, signal);
      let failure: unknown;
      const run = async () => {
        for (let indexes = queue.shift(); indexes && failure === undefined && !signal.aborted; indexes = queue.shift()) {
          for (const index of indexes) {
            const { userId, event } = items[index]!;
            await paced();
            if (signal.aborted) return;
            try {
              await deliverFriendEvent(temporal, target, userId, event);
            } catch (error) {
              const reason = permanentRefusal(error);
              if (reason === undefined) {
                failure ??= error;
                return;
              }
              refused.push({ eventId: event.eventId, userId, reason });
              log.error('Temporal refused a LINE event for good', { eventId: event.eventId, userId: userId.slice(0, 80), reason });
            }
            done.add(index);
          }
          heartbeat(progress());
        }
      };
      await Promise.all(Array.from({ length: Math.min(HAND_OVER_CONCURRENCY, queue.length) }, run));
      heartbeat(progress());
      if (failure !== undefined) throw failure;
      if (signal.aborted) throw signal.reason;
      return { delivered: items.length - refused.length, refused };
    },
  };
}

export type InboxActivities = ReturnType<typeof createInboxActivities>;
