// The pacing probe's workflow: `n` activities at once on `taskQueue`, whose workers set
// maxTaskQueueActivitiesPerSecond as the HubSpot workers do (test/cluster/run.cluster.ts).
import { proxyActivities } from '@temporalio/workflow';

export interface PacingProbeActivities {
  probe(i: number): Promise<void>;
}

export async function pacingProbeWorkflow(taskQueue: string, n: number): Promise<void> {
  const { probe } = proxyActivities<PacingProbeActivities>({ taskQueue, startToCloseTimeout: '1 minute' });
  await Promise.all(Array.from({ length: n }, (_, i) => probe(i)));
}
