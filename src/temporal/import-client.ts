// Typed client helpers for imports of existing friends: start (or join), progress, cancel.
// Shared by the HTTP routes, `npm run import` and TypeScript callers (exported from src/index.ts).
//
// An import's ID is the run ID of its first run (`firstExecutionRunId`): stable across
// continue-as-new, shown in the Temporal UI, and set on every run as the `LineImportId` search
// attribute, so an import can be found after it ended and newer imports ran under the same
// workflow ID.
import { randomUUID } from 'node:crypto';
import { WorkflowNotFoundError, type Client, type WorkflowExecutionDescription, type WorkflowExecutionStatusName } from '@temporalio/client';
import { importProgressQuery, importWorkflow, newImportProgress, type ImportOptions, type ImportProgress, type ImportState } from '../../workflows/import.ts';
import type { Config } from '../config.ts';
import { batchFriendsFor } from '../contracts.ts';
import { importWorkflowId } from './ids.ts';
import { LineChannelId, SyncKind } from './search-attributes.ts';

/** Which channel to import, and where the workers are. */
export interface ImportTarget {
  /** LINE_CHANNEL_ID */
  channelId: string;
  /** TEMPORAL_TASK_QUEUE of the workers */
  taskQueue: string;
  /** SYNC_DATE_TIME_ZONE: the calendar of `line_id_sync_date` */
  timeZone: string;
  /** LINE_INBOX_SHARDS: the channel's contact writers (default 1) */
  shards?: number;
  /** friends per batch the writers may list in LineUserId (TEMPORAL_SEARCH_ATTRIBUTE_VALUE_LIMIT) */
  maxBatchFriends?: number;
}

export type StartImportOptions = ImportTarget & ImportOptions;

export interface StartedImport {
  importId: string;
  workflowId: string;
  /** the run that is importing now */
  runId: string;
  /** true when an import of this channel was already running: this is that one */
  alreadyRunning: boolean;
}

export interface ImportStatus extends ImportProgress {
  workflowId: string;
  /** the run the figures come from (the chain's latest) */
  runId: string;
  /** true when no worker answered and the figures are those saved at the last page boundary */
  stale?: boolean;
}

export interface CancelledImport {
  importId: string;
  workflowId: string;
  /** false when the import had already ended */
  cancelRequested: boolean;
  state: ImportState;
}

export interface FindImportOptions {
  /** the channel the import probably belongs to: finds a running import without a visibility search */
  channelId?: string;
  /** how long to wait for a worker to answer the progress query (default 5 s) */
  queryTimeoutMs?: number;
}

/** The target of a configured service: its channel, task queue and sync-date time zone. */
export const importTargetOf = (config: Config): ImportTarget => ({
  channelId: config.lineChannelId,
  taskQueue: config.taskQueue,
  timeZone: config.syncDateTimeZone,
  shards: config.lineInboxShards,
  maxBatchFriends: batchFriendsFor(config.temporalSearchAttributeValueLimit ?? 2048),
});

/** Workflow run IDs are UUIDs; anything else is not an import ID (and never reaches a visibility query). */
const IMPORT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isImportId = (value: string): boolean => IMPORT_ID.test(value);

/**
 * Starts an import of the channel's existing friends, or joins the one already running
 * (workflow ID conflict policy USE_EXISTING: two concurrent starts make one import).
 */
export async function startImport(client: Client, options: StartImportOptions): Promise<StartedImport> {
  const { channelId, taskQueue, timeZone, shards, maxBatchFriends, ...tunables } = options;
  const workflowId = importWorkflowId(channelId);
  // Tells our start from an existing run USE_EXISTING handed back (the SDK does not expose `started`).
  const startRequest = randomUUID();
  const handle = await client.workflow.start(importWorkflow, {
    workflowId,
    taskQueue,
    args: [{ channelId, timeZone, taskQueue, ...(shards ? { shards } : {}), ...(maxBatchFriends ? { maxBatchFriends } : {}), ...tunables }],
    workflowIdConflictPolicy: 'USE_EXISTING',
    memo: { startRequest },
    typedSearchAttributes: [
      { key: LineChannelId, value: channelId },
      { key: SyncKind, value: 'import' },
    ],
    staticSummary: `Import of existing LINE friends (channel ${channelId})`,
    staticDetails:
      "Pages through the LINE follower IDs (1,000 a page) and hands each page to the channel's contact writers (line-inbox/…), which apply it on the same batched road as live events and report back. " +
      'Continues as new after every page; query `importProgress` or see the current details for the counters.',
  });
  const runId = handle.firstExecutionRunId;
  const description = await client.workflow.getHandle(workflowId, runId).describe();
  const alreadyRunning = description.memo?.startRequest !== startRequest;
  let importId = description.raw.workflowExecutionInfo?.firstRunId || (alreadyRunning ? '' : runId);
  if (!importId) importId = (await client.workflow.getHandle(workflowId, runId).query(importProgressQuery)).importId;
  return { importId, workflowId, runId, alreadyRunning };
}

interface FoundRun {
  workflowId: string;
  runId: string;
  description: WorkflowExecutionDescription;
}

async function describeLatest(client: Client, workflowId: string): Promise<WorkflowExecutionDescription | undefined> {
  try {
    return await client.workflow.getHandle(workflowId).describe();
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return undefined;
    throw error;
  }
}

/** The latest run of an import's chain: the running one, or the one it ended in. */
async function findImportRun(client: Client, importId: string, options: FindImportOptions): Promise<FoundRun | undefined> {
  if (!isImportId(importId)) return undefined;
  const ofChain = (d: WorkflowExecutionDescription | undefined) => d !== undefined && d.raw.workflowExecutionInfo?.firstRunId === importId;

  // The usual question (how is the import going?) needs no visibility search, which may lag.
  if (options.channelId) {
    const latest = await describeLatest(client, importWorkflowId(options.channelId));
    if (latest && ofChain(latest)) return { workflowId: latest.workflowId, runId: latest.runId, description: latest };
  }

  const runs = [];
  for await (const run of client.workflow.list({ query: `LineImportId = '${importId}' OR RunId = '${importId}'`, pageSize: 100 })) runs.push(run);
  if (runs.length === 0) return undefined;
  runs.sort((a, b) => b.startTime.getTime() - a.startTime.getTime());
  const final = runs.find((r) => r.status.name !== 'CONTINUED_AS_NEW');
  if (!final) {
    // Every visible run continued as new: the newest is not visible yet, but it is the workflow's latest.
    const latest = await describeLatest(client, runs[0]!.workflowId);
    if (latest && ofChain(latest)) return { workflowId: latest.workflowId, runId: latest.runId, description: latest };
  }
  const chosen = final ?? runs[0]!;
  const description = await client.workflow.getHandle(chosen.workflowId, chosen.runId).describe();
  return { workflowId: chosen.workflowId, runId: chosen.runId, description };
}

const STATE_OF: Record<WorkflowExecutionStatusName, ImportState> = {
  RUNNING: 'running',
  COMPLETED: 'completed',
  FAILED: 'failed',
  TERMINATED: 'failed',
  TIMED_OUT: 'failed',
  CANCELLED: 'canceled',
  // a run that continued as new is not the chain's end: the next run carries on
  CONTINUED_AS_NEW: 'running',
  PAUSED: 'running',
  UNKNOWN: 'running',
  UNSPECIFIED: 'running',
};

function emptyProgress(importId: string, description: WorkflowExecutionDescription): ImportProgress {
  return newImportProgress(importId, description.typedSearchAttributes.get(LineChannelId) ?? '', description.startTime.toISOString());
}

/**
 * An import's state and counters, or undefined when there is no such import. Live figures come
 * from the workflow (query); without a worker, those saved at the last page boundary (memo).
 */
export async function getImportProgress(client: Client, importId: string, options: FindImportOptions = {}): Promise<ImportStatus | undefined> {
  const found = await findImportRun(client, importId, options);
  if (!found) return undefined;
  const { workflowId, runId, description } = found;
  const handle = client.workflow.getHandle<typeof importWorkflow>(workflowId, runId);
  const status = description.status.name;
  let progress: ImportProgress | undefined;
  let stale = false;
  if (status === 'COMPLETED') {
    progress = await handle.result();
  } else {
    try {
      progress = await client.withDeadline(Date.now() + (options.queryTimeoutMs ?? 5000), () => handle.query(importProgressQuery));
    } catch {
      const saved = description.memo?.progress as ImportProgress | undefined;
      progress = saved ?? emptyProgress(importId, description);
      stale = status === 'RUNNING';
    }
  }
  const state = STATE_OF[status] ?? 'running';
  const message = progress.message ?? (state === 'failed' && progress.state !== 'failed' ? `the import ${status.toLowerCase().replace(/_/g, ' ')}` : undefined);
  return {
    ...progress,
    importId,
    state,
    ...(state !== 'running' && !progress.finishedAt && description.closeTime ? { finishedAt: description.closeTime.toISOString() } : {}),
    ...(message ? { message } : {}),
    workflowId,
    runId,
    ...(stale ? { stale } : {}),
  };
}

/** Asks a running import to stop: it ends `canceled` at once (a HubSpot request already sent may still land); undefined for an unknown import. */
export async function cancelImport(client: Client, importId: string, options: FindImportOptions = {}): Promise<CancelledImport | undefined> {
  const found = await findImportRun(client, importId, options);
  if (!found) return undefined;
  const state = STATE_OF[found.description.status.name] ?? 'running';
  if (state !== 'running') return { importId, workflowId: found.workflowId, cancelRequested: false, state };
  // firstExecutionRunId: the server cancels the chain's current run, and only if it is this import's chain.
  await client.workflow.getHandle(found.workflowId, undefined, { firstExecutionRunId: importId }).cancel();
  return { importId, workflowId: found.workflowId, cancelRequested: true, state };
}
