// What a channel's contact writer knows of a friend (query friendStatus), and the batches that
// wrote the friend's contact (found as an operator finds them: LineUserId = "U…").
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { friendStatusQuery, type FriendStatus } from '../../src/contracts.ts';
import { inboxShardOf, inboxWorkflowId } from '../../src/temporal/ids.ts';
import { eventually } from './stack.ts';

export interface WriterRef {
  client: Client;
  channelId: string;
  shards?: number;
}

export async function friendStatus({ client, channelId, shards = 1 }: WriterRef, userId: string): Promise<FriendStatus | null> {
  try {
    return await client.workflow.getHandle(inboxWorkflowId(channelId, inboxShardOf(userId, shards))).query(friendStatusQuery, userId);
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return null;
    throw error;
  }
}

/** Waits until the writer has applied (or failed) `count` events of the friend and holds none, and returns its status. */
export async function appliedEvents(ref: WriterRef, userId: string, count: number, timeoutMs = 20_000): Promise<FriendStatus> {
  return eventually(
    async () => {
      const status = await friendStatus(ref, userId);
      return status && status.applied + status.failed >= count && status.pending === 0 ? status : undefined;
    },
    { what: `${count} applied events of ${userId}`, timeoutMs },
  );
}

/** The batch workflows that held the friend, as the Temporal UI's search `LineUserId = "U…"` lists them. */
export async function batchesOf(client: Client, userId: string): Promise<Array<{ workflowId: string; runId: string }>> {
  const found: Array<{ workflowId: string; runId: string }> = [];
  for await (const execution of client.workflow.list({ query: `LineUserId = "${userId}"` })) found.push({ workflowId: execution.workflowId, runId: execution.runId });
  return found;
}
