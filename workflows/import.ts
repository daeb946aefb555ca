// One import of a channel's existing friends: pages of follower IDs from LINE, each handed to the
// channel's contact writers (workflows/inbox.ts), which apply them on the same batched road as live
// events (after them, in HubSpot's budget) and report back per page. One page ahead is always with
// the writers, so they never wait for the next; the import continues as new after every page, so its
// history stays bounded however many friends there are.
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  condition,
  defineQuery,
  getExternalWorkflowHandle,
  isCancellation,
  log,
  makeContinueAsNewFunc,
  patched,
  setCurrentDetails,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { FollowerPage } from '../activities/index.ts';
import { FailureType, importCancelledSignal, importRowsAppliedSignal, type ImportRowsApplied } from '../src/contracts.ts';
import { inboxWorkflowId } from '../src/temporal/ids.ts';
import { LineImportId } from '../src/temporal/search-attributes.ts';
import { failureTypeOf, reasonOf } from './failures.ts';
import { followerPageActivities, inboxActivities } from './options.ts';
import { PATCH } from './patches.ts';

export type ImportState = 'running' | 'completed' | 'failed' | 'canceled';

/** Tunables of one import (all optional; the defaults are what LINE allows). Batching is the writers' (workflows/inbox.ts). */
export interface ImportOptions {
  /** follower IDs per LINE page, 1–1000 (default 1000, LINE's maximum) */
  pageSize?: number;
}

export interface ImportFailure {
  userId: string;
  reason: string;
}

export interface ImportCounts {
  /** follower pages finished */
  pages: number;
  /** friends listed by LINE so far */
  friendsSeen: number;
  /** new contacts */
  created: number;
  /** existing contacts changed */
  updated: number;
  /** existing contacts already right */
  unchanged: number;
  /** friends whose profile could no longer be read (blocked since the page was read) */
  skipped: number;
  /** friends whose contact could not be written */
  failed: number;
}

export interface ImportProgress extends ImportCounts {
  /** stable across continue-as-new: the first run's ID */
  importId: string;
  channelId: string;
  state: ImportState;
  /** ISO time the import started */
  startedAt: string;
  /** ISO time it ended (completed, failed or canceled) */
  finishedAt?: string;
  /** LINE's continuation token of the page being imported (`null`: the first page) */
  cursor: string | null;
  /** 1-based number of the page being imported */
  page: number;
  /** the first failures, with HubSpot's or LINE's reason (at most MAX_FAILURES_LISTED) */
  failures: ImportFailure[];
  /** why it failed (state `failed`) */
  message?: string;
}

export interface ImportWorkflowInput extends ImportOptions {
  channelId: string;
  timeZone: string;
  /** the workers' task queue (default: this workflow's) */
  taskQueue?: string;
  /** the channel's writer shards (LINE_INBOX_SHARDS; default 1) */
  shards?: number;
  /** friends per batch the writers may list in LineUserId (ContactTarget.maxBatchFriends) */
  maxBatchFriends?: number;
  /** the state a previous run handed over through continue-as-new */
  carried?: ImportCarry;
}

/** A page with the writers: which shards got rows, and which of them have reported. */
export interface PageInFlight {
  page: number;
  friends: number;
  shards: number[];
  reported: ImportRowsApplied[];
}

/** What one run hands the next: counters, the page the writers are on (submitted ahead), the next cursor. */
export interface ImportCarry {
  progress: ImportProgress;
  /** the page submitted ahead, being applied */
  inFlight?: PageInFlight;
  /** continuation token of the page after it */
  cursor?: string;
}

export const importProgressQuery = defineQuery<ImportProgress>('importProgress');

export const MAX_FAILURES_LISTED = 100;

const DEFAULT_PAGE_SIZE = 1000;

const clamp = (value: number | undefined, fallback: number, min: number, max: number) => (value === undefined || !Number.isFinite(value) ? fallback : Math.min(max, Math.max(min, Math.trunc(value))));

export function describeProgress(p: ImportProgress): string {
  const counts = `${p.friendsSeen} friends seen: ${p.created} created, ${p.updated} updated, ${p.unchanged} unchanged, ${p.skipped} skipped, ${p.failed} failed`;
  switch (p.state) {
    case 'running':
      return `importing page ${p.page} (${p.pages} done) · ${counts}`;
    case 'completed':
      return `completed: ${p.pages} pages · ${counts}`;
    case 'canceled':
      return `canceled at page ${p.page} · ${counts}`;
    case 'failed':
      return `failed at page ${p.page}: ${p.message ?? 'unknown error'} · ${counts}`;
  }
}

/** What the memo keeps (Temporal caps memo size): counters and a few failures, readable without a worker. */
function memoOf(p: ImportProgress): Record<string, unknown> {
  return { progress: { ...p, failures: p.failures.slice(0, 10).map((f) => ({ userId: f.userId, reason: f.reason.slice(0, 200) })) } };
}

/** The figures of an import that has not finished a page yet. */
export function newImportProgress(importId: string, channelId: string, startedAt: string): ImportProgress {
  return {
    importId,
    channelId,
    state: 'running',
    startedAt,
    cursor: null,
    page: 1,
    failures: [],
    pages: 0,
    friendsSeen: 0,
    created: 0,
    updated: 0,
    unchanged: 0,
    skipped: 0,
    failed: 0,
  };
}

export async function importWorkflow(input: ImportWorkflowInput): Promise<ImportProgress> {
  const info = workflowInfo();
  const { channelId, timeZone } = input;
  const pageSize = clamp(input.pageSize, DEFAULT_PAGE_SIZE, 1, 1000);
  const shards = clamp(input.shards, 1, 1, 64);
  const target = { channelId, taskQueue: input.taskQueue ?? info.taskQueue, timeZone, ...(input.maxBatchFriends ? { maxBatchFriends: input.maxBatchFriends } : {}) };
  const pagesApi = followerPageActivities();
  const { submitImportRows } = inboxActivities();

  const progress: ImportProgress = input.carried
    ? { ...input.carried.progress, failures: [...input.carried.progress.failures] }
    : newImportProgress(info.firstExecutionRunId, channelId, new Date().toISOString());
  if (!input.carried) upsertSearchAttributes([{ key: LineImportId, value: progress.importId }]);

  const inFlight: PageInFlight[] = input.carried?.inFlight ? [{ ...input.carried.inFlight, reported: [...input.carried.inFlight.reported] }] : [];
  // Decided at the run's first task, so a run started by the previous release replays as it ran.
  const keepEarlyReports = patched(PATCH.importEarlyReports);
  /** Reports of a page whose hand-off has not completed yet (PATCH.importEarlyReports). */
  let early: ImportRowsApplied[] = [];
  setHandler(importRowsAppliedSignal, (applied) => {
    if (applied.importId !== progress.importId) return;
    const page = inFlight.find((p) => p.page === applied.page);
    // The writers got the rows and applied them before the hand-off's completion reached this run (a
    // worker killed after sending them, its activity retried later): the report waits for its page.
    if (!page && keepEarlyReports) {
      if (applied.page > progress.pages && !early.some((r) => r.page === applied.page && r.shard === applied.shard)) early.push(applied);
      return;
    }
    // A report sent twice (a writer's hand-off retried) counts once.
    if (!page || page.reported.some((r) => r.shard === applied.shard)) return;
    page.reported.push(applied);
  });
  setHandler(importProgressQuery, () => ({ ...progress, failures: [...progress.failures] }));

  const show = () => setCurrentDetails(describeProgress(progress));

  /** Reads a page and hands its friends to the writers. */
  const submit = async (cursor: string | undefined, pageNumber: number): Promise<{ page: FollowerPage; inFlight: PageInFlight }> => {
    const page = await pagesApi.readFollowerPage.executeWithOptions({ summary: `read follower page ${pageNumber}` }, [cursor, pageSize]);
    progress.friendsSeen += page.userIds.length;
    const sent = page.userIds.length
      ? await submitImportRows.executeWithOptions({ summary: `hand ${page.userIds.length} friends of page ${pageNumber} to the contact writers` }, [
          target,
          shards,
          { importId: progress.importId, importWorkflowId: info.workflowId, page: pageNumber, readAt: page.readAt, userIds: page.userIds },
        ])
      : [];
    const pending: PageInFlight = { page: pageNumber, friends: page.userIds.length, shards: sent, reported: [] };
    // Its reports that came before this completion (one per shard: the handler keeps no duplicates).
    pending.reported.push(...early.filter((r) => r.page === pageNumber && sent.includes(r.shard)));
    early = early.filter((r) => r.page !== pageNumber);
    inFlight.push(pending);
    show();
    return { page, inFlight: pending };
  };

  try {
    show();
    // This run's page: already with the writers (submitted by the previous run), or read now (the first run).
    let current = inFlight[0];
    let nextCursor = input.carried?.cursor;
    if (!current) {
      const first = await submit(undefined, progress.page);
      current = first.inFlight;
      nextCursor = first.page.next;
    }
    // The page after this one goes to the writers now, so they never run dry between pages.
    const ahead = nextCursor !== undefined ? await submit(nextCursor, progress.page + 1) : undefined;

    const page = current;
    await condition(() => page.shards.every((shard) => page.reported.some((r) => r.shard === shard)));
    for (const report of page.reported) {
      progress.created += report.counts.created;
      progress.updated += report.counts.updated;
      progress.unchanged += report.counts.unchanged;
      progress.skipped += report.counts.skipped;
      progress.failed += report.counts.failed;
      for (const f of report.failures) if (progress.failures.length < MAX_FAILURES_LISTED) progress.failures.push(f);
    }
    progress.pages++;
    show();

    if (ahead) {
      const carried: ImportCarry = {
        progress: { ...progress, cursor: nextCursor ?? null, page: progress.page + 1 },
        inFlight: ahead.inFlight,
        ...(ahead.page.next ? { cursor: ahead.page.next } : {}),
      };
      // The next run keeps the import's search attributes (LineImportId, …) and saved progress explicitly.
      const next = makeContinueAsNewFunc<typeof importWorkflow>({
        memo: { ...workflowInfo().memo, ...memoOf(carried.progress) },
        typedSearchAttributes: workflowInfo().typedSearchAttributes,
      });
      return await next({ ...input, carried });
    }
    progress.state = 'completed';
    progress.finishedAt = new Date().toISOString();
    upsertMemo(memoOf(progress));
    show();
    log.info('import completed', { ...progress, failures: progress.failures.length });
    return progress;
  } catch (error) {
    if (isCancellation(error)) {
      progress.state = 'canceled';
      progress.finishedAt = new Date().toISOString();
      upsertMemo(memoOf(progress));
      show();
      // The writers drop this import's rows that still wait.
      await CancellationScope.nonCancellable(() =>
        Promise.all(
          Array.from({ length: shards }, (_, shard) =>
            getExternalWorkflowHandle(inboxWorkflowId(channelId, shard))
              .signal(importCancelledSignal, { importId: progress.importId })
              .catch(() => {}),
          ),
        ),
      );
      throw error;
    }
    if (!(error instanceof ActivityFailure || error instanceof ApplicationFailure)) throw error;
    progress.state = 'failed';
    progress.message = reasonOf(error);
    progress.finishedAt = new Date().toISOString();
    upsertMemo(memoOf(progress));
    show();
    throw ApplicationFailure.create({ message: progress.message, type: failureTypeOf(error) ?? FailureType.ImportFailed, nonRetryable: true, details: [memoOf(progress).progress] });
  }
}
