// Hand-offs between workflows that a workflow cannot make itself: an import's rows to the channel's
// contact writers (a signal-with-start: a writer may not be running).
import type { Client } from '@temporalio/client';
import { importRowsSignal, type ContactTarget, type ImportRows } from '../src/contracts.ts';
import { signalInbox } from '../src/temporal/inbox-client.ts';
import { inboxShardOf } from '../src/temporal/ids.ts';

export interface InboxActivityDeps {
  /** the worker's own Temporal client */
  temporal: Client;
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
        byShard.set(shard, [...(byShard.get(shard) ?? []), userId]);
      }
      await Promise.all([...byShard].map(([shard, userIds]) => signalInbox(temporal, target, shard, importRowsSignal, [{ ...rows, userIds }])));
      return [...byShard.keys()].sort((a, b) => a - b);
    },
  };
}

export type InboxActivities = ReturnType<typeof createInboxActivities>;
