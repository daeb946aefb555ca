// One import of a channel's existing friends: pages of follower IDs from LINE, batches of 100
// through the contact rules into HubSpot, continue-as-new after every page so history stays
// bounded however many friends there are. HubSpot requests are the bottleneck (rate-limited on
// their own task queue), so several batches of a page run at once to keep that queue full.
import {
  ActivityFailure,
  allHandlersFinished,
  ApplicationFailure,
  condition,
  defineQuery,
  getExternalWorkflowHandle,
  isCancellation,
  log,
  makeContinueAsNewFunc,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  sleep,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { ContactWrite, FollowerPage, HubspotActivities, LineActivities } from '../activities/index.ts';
import { decideContact } from '../src/contact/index.ts';
import type { ContactDecision, ExistingContact } from '../src/contact/types.ts';
import { friendWorkflowId, hubspotTaskQueue } from '../src/temporal/ids.ts';
import { LineImportId } from '../src/temporal/search-attributes.ts';
import { friendObservedSignal, reapplyFollowStateSignal } from './signals.ts';

export type ImportState = 'running' | 'completed' | 'failed' | 'canceled';

/** Tunables of one import (all optional; the defaults are what LINE and HubSpot allow). */
export interface ImportOptions {
  /** follower IDs per LINE page, 1–1000 (default 1000, LINE's maximum) */
  pageSize?: number;
  /** friends per HubSpot batch read and upsert, 1–100 (default 100, HubSpot's maximum) */
  batchSize?: number;
  /** batches of a page in flight at once (default 10: a whole page) */
  batchConcurrency?: number;
  /** LINE profile reads at once within one batch (default 16) */
  profileConcurrency?: number;
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
  /** default: `<this workflow's task queue>-hubspot` */
  hubspotTaskQueue?: string;
  /** the state a previous run handed over through continue-as-new */
  carried?: ImportCarry;
}

/** What one run hands the next: counters, the next page's cursor and the page read ahead. */
export interface ImportCarry {
  progress: ImportProgress;
  /** continuation token of the next page */
  cursor: string;
  /** the next page, already read while the previous one was written */
  prefetched?: FollowerPage;
}

export const importProgressQuery = defineQuery<ImportProgress>('importProgress');

export const MAX_FAILURES_LISTED = 100;
/** Upsert attempts for inputs HubSpot rejected in a 207 answer before they count as failed. */
export const WRITE_ATTEMPTS = 3;
const WRITE_RETRY_DELAY_MS = 1000;

const DEFAULTS = { pageSize: 1000, batchSize: 100, batchConcurrency: 10, profileConcurrency: 16 } as const;

const LINE_RETRY = { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' } as const;
const followerPages = proxyActivities<LineActivities>({ startToCloseTimeout: '1 minute', retry: LINE_RETRY });
const profileReads = proxyActivities<LineActivities>({
  startToCloseTimeout: '2 minutes',
  // A profile batch heartbeats every read: a dead worker is noticed in seconds, and the retry resumes.
  heartbeatTimeout: '15 seconds',
  retry: LINE_RETRY,
});

function hubspotActivities(taskQueue: string) {
  return proxyActivities<HubspotActivities>({
    taskQueue,
    startToCloseTimeout: '30 seconds',
    // Rate limits and outages can last long: keep trying, with waits HubSpot dictates (nextRetryDelay).
    retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '5 minutes' },
  });
}

const chunk = <T>(items: T[], size: number): T[][] => Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size));

/** Runs `work` over `items`, at most `limit` at a time (deterministic: workflow promises only). */
async function inPool<T>(items: T[], limit: number, work: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const index = next++;
      await work(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane));
}

const clamp = (value: number | undefined, fallback: number, min: number, max: number) =>
  value === undefined || !Number.isFinite(value) ? fallback : Math.min(max, Math.max(min, Math.trunc(value)));

/** The root cause's message: the vendor's words rather than "Activity task failed". */
function reasonOf(error: unknown): string {
  let current = error as Error | undefined;
  while (current instanceof ActivityFailure && current.cause) current = current.cause;
  return current?.message ?? String(error);
}

/** A non-retryable HubSpot rejection of one whole batch (400): its inputs fail, the import goes on. */
function isBatchRejection(error: unknown): boolean {
  const cause = (error as ActivityFailure)?.cause;
  if (!(error instanceof ActivityFailure) || !(cause instanceof ApplicationFailure) || cause.type !== 'HubspotRejected') return false;
  const status = (cause.details?.[0] as { status?: number } | undefined)?.status;
  return status === 400;
}

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
  const pageSize = clamp(input.pageSize, DEFAULTS.pageSize, 1, 1000);
  const batchSize = clamp(input.batchSize, DEFAULTS.batchSize, 1, 100);
  const batchConcurrency = clamp(input.batchConcurrency, DEFAULTS.batchConcurrency, 1, 50);
  const profileConcurrency = clamp(input.profileConcurrency, DEFAULTS.profileConcurrency, 1, 100);
  const hubspot = hubspotActivities(input.hubspotTaskQueue ?? hubspotTaskQueue(info.taskQueue));

  const progress: ImportProgress = input.carried
    ? { ...input.carried.progress, failures: [...input.carried.progress.failures] }
    : newImportProgress(info.firstExecutionRunId, channelId, new Date().toISOString());
  if (!input.carried) upsertSearchAttributes([{ key: LineImportId, value: progress.importId }]);

  // Friends whose workflows are applying a follow state while this run (one page) imports.
  const observed = new Set<string>();
  setHandler(friendObservedSignal, ({ userId }) => {
    observed.add(userId);
  });
  setHandler(importProgressQuery, () => ({ ...progress, failures: [...progress.failures] }));

  const fail = (userId: string, reason: string) => {
    progress.failed++;
    if (progress.failures.length < MAX_FAILURES_LISTED) progress.failures.push({ userId, reason });
  };
  const show = () => setCurrentDetails(describeProgress(progress));

  /**
   * After a write that held an observed friend, that friend re-applies its latest follow state:
   * the friend may have read the contact before this write and written before it landed.
   */
  const askToReapply = async (userIds: string[]) => {
    const targets = userIds.filter((id) => observed.has(id));
    await Promise.all(
      targets.map((userId) =>
        getExternalWorkflowHandle(friendWorkflowId(channelId, userId))
          .signal(reapplyFollowStateSignal, { reason: `import ${progress.importId} wrote the contact` })
          .catch(() => {
            // The friend's workflow has ended: its last state was written before this import read the contact.
          }),
      ),
    );
  };

  /** Counts a decision that writes nothing. */
  const countUnwritten = (userId: string, decision: Extract<ContactDecision, { action: 'none' }>) => {
    if (decision.reason === 'not-a-friend') progress.skipped++;
    else if (decision.reason === 'invalid-line-user-id') fail(userId, `LINE listed an invalid user ID: ${userId}`);
    else progress.unchanged++;
  };

  /**
   * Writes a batch's decisions: new contacts by batch create, changes by batch update (by record ID), so a
   * contact someone else created meanwhile (a webhook, a LINE Login) is never overwritten with import values.
   * Inputs HubSpot refuses (207: e.g. 409 on line_user_id, a contact deleted meanwhile) are read again and
   * decided again, a few times, then counted as failed with HubSpot's reason.
   */
  const write = async (decisions: Map<string, ContactDecision>, decideAgain: (userIds: string[]) => Promise<Map<string, ContactDecision>>, label: string) => {
    let pending = decisions;
    for (let attempt = 1; pending.size > 0; attempt++) {
      const creates: ContactWrite[] = [];
      const updates: ContactWrite[] = [];
      for (const [userId, decision] of pending) {
        if (decision.action === 'create') creates.push({ userId, properties: decision.properties });
        else if (decision.action === 'update') updates.push({ userId, contactId: decision.contactId, properties: decision.properties });
        else countUnwritten(userId, decision);
      }
      const again = attempt > 1 ? ` (attempt ${attempt})` : '';
      let results;
      try {
        results = await Promise.all([
          creates.length ? hubspot.createContacts.executeWithOptions({ summary: `${label}: create ${creates.length} contacts${again}` }, [creates]) : { written: [], failed: [] },
          updates.length ? hubspot.updateContacts.executeWithOptions({ summary: `${label}: update ${updates.length} contacts${again}` }, [updates]) : { written: [], failed: [] },
        ]);
      } catch (error) {
        if (!isBatchRejection(error)) throw error;
        for (const w of [...creates, ...updates]) fail(w.userId, reasonOf(error));
        return;
      }
      const failed = results.flatMap((r) => r.failed);
      for (const written of results.flatMap((r) => r.written)) {
        // Counted from the rules' decision: HubSpot's `new` flag lies when a retried request already created it.
        if (pending.get(written.userId)?.action === 'create') progress.created++;
        else progress.updated++;
      }
      await askToReapply([...creates, ...updates].map((w) => w.userId));
      if (failed.length === 0) return;
      if (attempt >= WRITE_ATTEMPTS) {
        for (const f of failed) fail(f.userId, f.reason);
        return;
      }
      log.warn('HubSpot refused some contacts of a batch; reading and deciding them again', { label, failed: failed.length, attempt, reason: failed[0]?.reason });
      await sleep(WRITE_RETRY_DELAY_MS * 2 ** (attempt - 1));
      pending = await decideAgain(failed.map((f) => f.userId));
    }
  };

  const importBatch = async (userIds: string[], page: FollowerPage, label: string) => {
    // Profiles (LINE) and contacts (HubSpot) do not depend on each other: read them at the same time.
    const [{ profiles, rejected }, contacts] = await Promise.all([
      profileReads.readLineProfiles.executeWithOptions({ summary: `${label}: read ${userIds.length} LINE profiles` }, [userIds, profileConcurrency]),
      hubspot.readContactsByLineUserId.executeWithOptions({ summary: `${label}: read contacts by line_user_id` }, [userIds]),
    ]);
    const decide = (userId: string, known: Record<string, ExistingContact>): ContactDecision =>
      decideContact({
        userId,
        observation: { kind: 'import', observedAt: page.readAt },
        profile: profiles[userId] ?? null,
        existing: known[userId] ?? null,
        now: Date.now(),
        timeZone,
      });
    const decisions = new Map<string, ContactDecision>();
    for (const userId of userIds) {
      const refusal = rejected[userId];
      if (refusal !== undefined) {
        fail(userId, refusal);
        continue;
      }
      decisions.set(userId, decide(userId, contacts));
    }
    const decideAgain = async (again: string[]) => {
      const fresh = await hubspot.readContactsByLineUserId.executeWithOptions({ summary: `${label}: read ${again.length} refused contacts again` }, [again]);
      return new Map(again.map((userId) => [userId, decide(userId, fresh)]));
    };
    await write(decisions, decideAgain, label);
    show();
  };

  try {
    show();
    const cursor = input.carried?.cursor;
    const page =
      input.carried?.prefetched ??
      (await followerPages.readFollowerPage.executeWithOptions({ summary: `read follower page ${progress.page}` }, [cursor, pageSize]));
    progress.friendsSeen += page.userIds.length;
    show();

    // Read the next page while this one is written: the next run starts writing at once.
    const nextPage = page.next
      ? followerPages.readFollowerPage
          .executeWithOptions({ summary: `read follower page ${progress.page + 1} (ahead)` }, [page.next, pageSize])
          .then((value) => ({ value }), (error: unknown) => ({ error }))
      : undefined;

    const batches = chunk(page.userIds, batchSize);
    await inPool(batches, batchConcurrency, (batch, i) => importBatch(batch, page, `page ${progress.page} batch ${i + 1}/${batches.length}`));

    progress.pages++;
    const ahead = nextPage ? await nextPage : undefined;
    if (ahead && 'error' in ahead) throw ahead.error;
    if (page.next) {
      const carried: ImportCarry = {
        progress: { ...progress, cursor: page.next, page: progress.page + 1 },
        cursor: page.next,
        ...(ahead ? { prefetched: ahead.value } : {}),
      };
      // Signals of friends still being handled belong to this run's page; none may be dropped.
      await condition(allHandlersFinished);
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
      throw error;
    }
    if (error instanceof ActivityFailure || error instanceof ApplicationFailure) {
      progress.state = 'failed';
      progress.message = reasonOf(error);
      progress.finishedAt = new Date().toISOString();
      upsertMemo(memoOf(progress));
      show();
      const type = error instanceof ActivityFailure && error.cause instanceof ApplicationFailure ? error.cause.type : undefined;
      throw ApplicationFailure.create({ message: progress.message, type: type ?? 'ImportFailed', nonRetryable: true, details: [memoOf(progress).progress] });
    }
    throw error;
  }
}
