// Typed client helpers for friend workflows, shared by the webhook routes and tests.
import type { Client } from '@temporalio/client';
import { friendEventSignal, friendWorkflow, type FriendEvent } from '../../workflows/friend.ts';
import { friendWorkflowId } from './ids.ts';
import { LineChannelId, LineUserId, SyncKind } from './search-attributes.ts';

export interface FriendTarget {
  channelId: string;
  taskQueue: string;
  timeZone: string;
}

/** Durably hands one event to the friend's workflow, starting it if it is not running. */
export async function deliverFriendEvent(client: Client, target: FriendTarget, userId: string, event: FriendEvent): Promise<void> {
  await client.workflow.signalWithStart(friendWorkflow, {
    workflowId: friendWorkflowId(target.channelId, userId),
    taskQueue: target.taskQueue,
    args: [{ channelId: target.channelId, userId, timeZone: target.timeZone }],
    signal: friendEventSignal,
    signalArgs: [event],
    typedSearchAttributes: [
      { key: LineChannelId, value: target.channelId },
      { key: LineUserId, value: userId },
      { key: SyncKind, value: 'friend' },
    ],
    staticSummary: `LINE friend ${userId} (channel ${target.channelId})`,
    staticDetails: 'Applies this friend\'s LINE events (follow, block, unblock, messages) to their HubSpot contact, one at a time, each once.',
  });
}
