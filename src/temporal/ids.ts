// Readable, stable workflow IDs (pure: shared by clients and workflows).

export const importWorkflowId = (channelId: string) => `line-import/${channelId}`;
/** The HubSpot task queue: its server-side rate limit paces HubSpot requests across all workers (each process also keeps HubSpot's window, src/hubspot/budget.ts). */
export const hubspotTaskQueue = (taskQueue: string) => `${taskQueue}-hubspot`;
/** A channel's contact writer (inbox shard): every producer's events for its friends are applied here, in batches. */
export const inboxWorkflowId = (channelId: string, shard: number) => `line-inbox/${channelId}/${shard}`;

/** The inbox shard of a LINE user: a stable hash (FNV-1a), so one friend's events always queue in one shard, in order. */
export function inboxShardOf(userId: string, shards: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < userId.length; i++) {
    hash ^= userId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % Math.max(1, shards);
}
