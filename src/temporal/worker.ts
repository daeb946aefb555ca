// Builds the workers: workflows + LINE activities on the main queue; HubSpot activities on their
// own queue, whose server-side rate limit paces HubSpot requests across every worker at once.
import { Worker, type NativeConnection, type WorkflowBundleOption } from '@temporalio/worker';
import type { Client as HubspotClient } from '@hubspot/api-client';
import type { Client as TemporalClient } from '@temporalio/client';
import type { messagingApi } from '@line/bot-sdk';
import { createHubspotActivities, createInboxActivities, createLineActivities } from '../../activities/index.ts';
import { HubspotBudget } from '../hubspot/budget.ts';
import { hubspotTaskQueue } from './ids.ts';

/** Workflow runs kept in the worker's cache (sticky execution); see createSyncWorkers. */
export const WORKFLOW_CACHE_SIZE = 200;

/**
 * HubSpot's limit as a task-queue rate: the pace of every worker together. Temporal's limiter lets a
 * second's worth through at once after a pause; each process's HubspotBudget (src/hubspot/budget.ts)
 * keeps its own rolling window exact and backs off when HubSpot's headers say the window is spent.
 */
export function hubspotActivitiesPerSecond(requestsPer10s: number): number {
  return Math.max(0.1, requestsPer10s / 10);
}

export interface SyncWorkerOptions {
  connection: NativeConnection;
  /** a client of the same namespace: an import hands its rows to the contact writers with it */
  temporal: TemporalClient;
  namespace: string;
  taskQueue: string;
  line: messagingApi.MessagingApiClient;
  hubspot: HubspotClient;
  timeZone: string;
  hubspotRequestsPer10s: number;
  /** the process's share of HubSpot's window; default a new one at `hubspotRequestsPer10s` */
  hubspotBudget?: HubspotBudget;
  /** the prebuilt workflow bundle: dist/workflow-bundle.js in the build, a cached bundle in tests */
  workflowBundle: WorkflowBundleOption;
}

export async function createSyncWorkers(options: SyncWorkerOptions): Promise<Worker[]> {
  const { connection, namespace, taskQueue } = options;
  const lineActivities = createLineActivities({ line: options.line });
  const main = await Worker.create({
    connection,
    namespace,
    taskQueue,
    workflowBundle: options.workflowBundle,
    activities: {
      ...lineActivities,
      ...createInboxActivities({ temporal: options.temporal }),
    },
    maxConcurrentActivityTaskExecutions: 100,
    // The SDK sizes its cache from the heap limit (~2,300 runs with a 4 GB heap), and each cached run
    // holds its state in the workflow thread and Temporal's core. What runs at once here is small: the
    // writers (LINE_INBOX_SHARDS per channel), their batches (8 in flight each) and an import; an evicted
    // run only replays its short history (≤ 1,500 events) on its next task.
    maxCachedWorkflows: WORKFLOW_CACHE_SIZE,
  });
  const hubspot = await Worker.create({
    connection,
    namespace,
    taskQueue: hubspotTaskQueue(taskQueue),
    activities: createHubspotActivities({ hubspot: options.hubspot, timeZone: options.timeZone, budget: options.hubspotBudget ?? new HubspotBudget({ max: options.hubspotRequestsPer10s }) }),
    maxTaskQueueActivitiesPerSecond: hubspotActivitiesPerSecond(options.hubspotRequestsPer10s),
    maxConcurrentActivityTaskExecutions: 20,
  });
  return [main, hubspot];
}

/** Runs workers until `signal` aborts (or one of them fails), then shuts all of them down. */
export async function runWorkers(workers: Worker[], signal?: AbortSignal): Promise<void> {
  const onAbort = () => workers.forEach((w) => w.getState() === 'RUNNING' && w.shutdown());
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    await Promise.all(
      workers.map((w) =>
        w.run().catch((error: unknown) => {
          onAbort();
          throw error;
        }),
      ),
    );
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}
