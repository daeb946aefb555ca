// Typed client helpers for friend workflows, shared by the webhook routes and tests.
import type { Client } from '@temporalio/client';
import type { Config } from '../config.ts';
import { friendEventSignal, friendWorkflow, type FriendEvent } from '../../workflows/friend.ts';
import { friendWorkflowId } from './ids.ts';
import { LineChannelId, LineUserId, SyncKind } from './search-attributes.ts';

export interface FriendTarget {
  channelId: string;
  taskQueue: string;
  timeZone: string;
  /** how long a friend's workflow waits for more events before it ends */
  idleMs?: number;
}

export const friendTargetOf = (config: Config): FriendTarget => ({
  channelId: config.lineChannelId,
  taskQueue: config.taskQueue,
  timeZone: config.syncDateTimeZone,
  idleMs: config.friendIdleSeconds * 1000,
});

/** Durably hands one event to the friend's workflow, starting it if it is not running. */
export async function deliverFriendEvent(client: Client, target: FriendTarget, userId: string, event: FriendEvent): Promise<void> {
  await client.workflow.signalWithStart(friendWorkflow, {
    workflowId: friendWorkflowId(target.channelId, userId),
    taskQueue: target.taskQueue,
    args: [{ channelId: target.channelId, userId, timeZone: target.timeZone, ...(target.idleMs ? { idleMs: target.idleMs } : {}) }],
    signal: friendEventSignal,
    signalArgs: [event],
    typedSearchAttributes: [
      { key: LineChannelId, value: target.channelId },
      { key: LineUserId, value: userId },
      { key: SyncKind, value: 'friend' },
    ],
    staticSummary: `LINE friend ${userId} (channel ${target.channelId})`,
    staticDetails:
      'Applies this friend\'s events (LINE follow, block, unblock, messages; verified e-mails from LINE Login; a LINE user ID given in HubSpot) to their HubSpot contact, one at a time, each once.',
  });
}

/**
 * Hands a request's friend events to Temporal, all within one deadline. Resolves with the
 * events Temporal did not take (empty: every event is durably in its friend's workflow).
 */
export async function deliverFriendEvents(
  client: Client,
  target: FriendTarget,
  events: Array<{ userId: string; event: FriendEvent }>,
  deadlineMs: number,
): Promise<Array<{ userId: string; reason: string }>> {
  const deadline = Date.now() + deadlineMs;
  const results = await Promise.allSettled(events.map(({ userId, event }) => client.withDeadline(deadline, () => deliverFriendEvent(client, target, userId, event))));
  return results.flatMap((result, i) => (result.status === 'rejected' ? [{ userId: events[i]!.userId, reason: (result.reason as Error)?.message ?? String(result.reason) }] : []));
}
