// Hand-offs between workflows that a workflow cannot make itself: an import's rows to the channel's
// contact writers (a signal-with-start: a writer may not be running).
import type { Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { isWorkflowClosing } from '../src/temporal/connection.ts';
import { FailureType, importRowsSignal, inboxEventsSignal, type ContactTarget, type ImportRows, type InboxItem } from '../src/contracts.ts';
import { signalInbox } from '../src/temporal/inbox-client.ts';
import { inboxShardOf } from '../src/temporal/ids.ts';

export interface InboxActivityDeps {
  /** the worker's own Temporal client */
  temporal: Client;
}

/** A writer between two runs takes signals again within a second or two: try again soon, not after the policy's backoff. */
async function toWriter(send: () => Promise<unknown>): Promise<void> {
  try {
    await send();
  } catch (error) {
    if (!isWorkflowClosing(error)) throw error;
    throw ApplicationFailure.create({ message: 'the contact writer is between two runs (continue-as-new); trying again', type: FailureType.WriterClosing, nextRetryDelay: '100 milliseconds' });
  }
}

export function createInboxActivities({ temporal }: InboxActivityDeps) {
  return {
    /**
     * A page's friends to the writer shards they belong to (shard = a stable hash of the user ID, as
     * for webhook events: one writer per friend). Returns the shards that got rows. A retry after a
     * partial success sends some rows twice: a writer keeps one row per friend, import and page.
     */
    async submitImportRows(target: ContactTarget, shards: number, rows: ImportRows): Promise<number[]> {
      const byShard = new Map<number, string[]>();
      for (const userId of rows.userIds) {
        const shard = inboxShardOf(userId, shards);
        const ids = byShard.get(shard);
        if (ids) ids.push(userId);
        else byShard.set(shard, [userId]);
      }
      await Promise.all([...byShard].map(([shard, userIds]) => toWriter(() => signalInbox(temporal, target, shard, importRowsSignal, [{ ...rows, userIds }]))));
      return [...byShard.keys()].sort((a, b) => a - b);
    },

    /** Events a detour (workflows/inbox-detour.ts) held while the writer was between runs, to the writer. */
    async forwardToInbox(target: ContactTarget, shard: number, items: InboxItem[]): Promise<void> {
      await toWriter(() => signalInbox(temporal, target, shard, inboxEventsSignal, [{ target, items }]));
    },
  };
}

export type InboxActivities = ReturnType<typeof createInboxActivities>;
