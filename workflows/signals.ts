// Signals between friend workflows and the import workflow (shared definitions, no workflow code).
import { defineSignal } from '@temporalio/workflow';

/**
 * A friend workflow tells the channel's running import, BEFORE it reads and writes the contact,
 * that it is applying a follow state observed at `observedAt`. The import, after writing a batch
 * that holds this friend, asks the friend to re-apply its latest follow state, so a newer webhook
 * always wins over an import that read the contact before and wrote it after.
 */
export interface FriendObserved {
  userId: string;
  observedAt: number;
}
export const friendObservedSignal = defineSignal<[FriendObserved]>('friendObserved');

/** The import asks a friend workflow to re-apply its latest follow-state event. */
export const reapplyFollowStateSignal = defineSignal<[{ reason: string }]>('reapplyFollowState');
