// Readable, stable workflow IDs (pure: shared by clients and workflows).

export const friendWorkflowId = (channelId: string, userId: string) => `line-friend/${channelId}/${userId}`;
export const importWorkflowId = (channelId: string) => `line-import/${channelId}`;
/** The HubSpot task queue: its server-side rate limit paces HubSpot requests across all workers. */
export const hubspotTaskQueue = (taskQueue: string) => `${taskQueue}-hubspot`;
