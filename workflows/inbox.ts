// A channel's contact writer (one of LINE_INBOX_SHARDS; a friend always maps to the same one): the one
// writer of its friends' HubSpot contacts, for every producer. Webhook events, verified e-mails and
// HubSpot enrichments arrive by signal (the producers' group commit), an import's rows a page at a
// time. The writer folds them into batches across friends (live events first, import rows after) and
// runs each batch as a child workflow (workflows/contact-batch.ts), never two batches holding the same
// friend at once: one writer per friend, per-friend order, each event ID applied once.
import {
  allHandlersFinished,
  CancellationScope,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  log,
  ParentClosePolicy,
  patched,
  setCurrentDetails,
  setHandler,
  sleep,
  startChild,
  workflowInfo,
} from '@temporalio/workflow';
import { DEFAULT_BATCH_POLICY, nextDispatch, type BatchPolicy } from '../src/batching/policy.ts';
import { WriterQueue, type BatchFriend, type WriterQueueSnapshot } from '../src/batching/queue.ts';
import {
  batchDoneSignal,
  friendStatusQuery,
  importCancelledSignal,
  importRowsAppliedSignal,
  importRowsSignal,
  inboxEventsSignal,
  inboxStateQuery,
  DEFAULT_BATCH_FRIENDS,
  type AppliedEvent,
  type ContactTarget,
  type FriendStatus,
  type ImportRowOutcome,
  type ImportRowsApplied,
  type InboxState,
} from '../src/contracts.ts';
import { hubspotTaskQueue } from '../src/temporal/ids.ts';
import { LineChannelId, LineUserId, SyncKind } from '../src/temporal/search-attributes.ts';
import { contactBatchWorkflow } from './contact-batch.ts';
import { PATCH } from './patches.ts';
import type { ContactBatchResult } from '../src/contracts.ts';

export interface InboxWorkflowInput {
  channelId: string;
  shard: number;
  /** where batches run and how dates are written (each signal brings the sender's current one) */
  target: ContactTarget;
  /** batch sizes and timing (default DEFAULT_BATCH_POLICY) */
  policy?: Partial<BatchPolicy>;
  /** what a previous run handed over through continue-as-new */
  carried?: InboxCarry;
}

/** An import page's rows in this shard, until all are applied and reported. */
interface PageAccount {
  importId: string;
  importWorkflowId: string;
  page: number;
  outstanding: number;
  counts: Record<ImportRowOutcome, number>;
  failures: Array<{ userId: string; reason: string }>;
}

interface FriendMemory {
  applied: number;
  failed: number;
  recent: AppliedEvent[];
}

export interface InboxCarry {
  queue: WriterQueueSnapshot;
  /** batches started by an earlier run and still being written: they report by signal (batchDone) */
  inFlight?: Array<{ batchId: string; friends: BatchFriend[] }>;
  pages: PageAccount[];
  friends: Array<[string, FriendMemory]>;
  counters: { received: number; applied: number; failed: number; duplicatesIgnored: number; batches: number };
  recentFailures: InboxState['recentFailures'];
  /** the last pages reported, to answer a page handed over again (PATCH.writerQuickNewRun) */
  reported?: ImportRowsApplied[];
}

const DEFAULT_IDLE_MS = 15 * 60 * 1000;
/** Friends whose last events the writer remembers for the friendStatus query. */
const REMEMBERED_FRIENDS = 2000;
/** Of those, carried into the next run. */
const CARRIED_FRIENDS = 300;
const RECENT_PER_FRIEND = 10;
/**
 * A writer continues as new well before Temporal suggests it (thousands of events): the step to the
 * next run makes the worker replay the whole history once (a signal that lands during the last task
 * refuses it, and Core evicts the run), and meanwhile Temporal refuses signals ("workflow is closing";
 * the webhook takes a detour). Any other event that lands during that replay (a timer firing, a batch
 * completing) refuses the step once more and costs a second replay, so before the step the writer lets
 * its batches finish (at most NEW_RUN_BATCH_WAIT_MS: a HubSpot outage must not hold the history back;
 * later batches report to the next run by signal) and cancels its timers. At 200 events/s a
 * 1,500-event history took 2.5 s to replay (twice: a 5 s pause); 500 events keep it well under a second.
 */
const NEW_RUN_AFTER_EVENTS = 500;
/** Runs started by the release before PATCH.writerQuickNewRun. */
const NEW_RUN_AFTER_EVENTS_BEFORE_PATCH = 1500;
const NEW_RUN_BATCH_WAIT_MS = 3000;
const NEW_RUN_AFTER_BYTES = 3_000_000;
/** A queue longer than this is not carried into continue-as-new (the input must stay well under 2 MB): it drains first. */
const MAX_CARRIED_WORK = 5000;
/** Page reports kept to answer a page handed over again after it was reported. */
const REPORTS_KEPT = 16;
/** Failures listed in an import page's report, at most. */
const PAGE_FAILURES_LISTED = 20;

const emptyCounts = (): Record<ImportRowOutcome, number> => ({ created: 0, updated: 0, unchanged: 0, skipped: 0, failed: 0 });

export async function inboxWorkflow(input: InboxWorkflowInput): Promise<InboxState> {
  const { channelId, shard } = input;
  const info = workflowInfo();
  // Decided at the run's first task, so a run started by the previous release replays as it ran.
  const quickNewRun = patched(PATCH.writerQuickNewRun);
  const newRunAfterEvents = quickNewRun ? NEW_RUN_AFTER_EVENTS : NEW_RUN_AFTER_EVENTS_BEFORE_PATCH;
  const policy = (): BatchPolicy => ({ ...DEFAULT_BATCH_POLICY, maxFriends: target.maxBatchFriends ?? DEFAULT_BATCH_FRIENDS, ...input.policy });
  let target = input.target;
  const queue = new WriterQueue(input.carried?.queue);
  const pages = new Map<string, PageAccount>((input.carried?.pages ?? []).map((p) => [`${p.importId}/${p.page}`, p]));
  const friends = new Map<string, FriendMemory>(input.carried?.friends ?? []);
  const counters = { received: 0, applied: 0, failed: 0, duplicatesIgnored: 0, batches: 0, ...input.carried?.counters };
  const recentFailures: InboxState['recentFailures'] = [...(input.carried?.recentFailures ?? [])];
  /** batches being written → their friends (held: no other batch takes them) */
  const inFlightBatches = new Map<string, BatchFriend[]>((input.carried?.inFlight ?? []).map((b) => [b.batchId, b.friends]));
  const busy = new Set<string>([...inFlightBatches.values()].flat().map((f) => f.userId));
  for (const friends of inFlightBatches.values()) queue.holdInFlight(friends);
  /** child starts not yet confirmed: a new run waits for them (a start of a closed run's child could be lost) */
  let starting = 0;
  let lastDispatchAt = 0;
  /** wake-up timers running (fire time → its scope, cancelled before a new run) */
  const timers = new Map<number, CancellationScope>();
  /** bumped by every signal and every finished batch: the main loop looks again */
  let changes = 0;
  const reports: Array<Promise<void>> = [];

  const state = (): InboxState => ({
    channelId,
    shard,
    backlog: queue.liveEvents + [...inFlightBatches.values()].reduce((n, friends) => n + friends.reduce((m, f) => m + f.events.length, 0), 0),
    importBacklog: queue.importRows,
    batchesInFlight: inFlightBatches.size,
    ...counters,
    recentFailures: [...recentFailures],
  });

  setHandler(inboxEventsSignal, (batch) => {
    target = { ...target, ...batch.target };
    for (const item of batch.items) {
      if (queue.addEvent(item, Date.now())) counters.received++;
      else {
        counters.duplicatesIgnored++;
        log.info('duplicate friend event ignored', { eventId: item.event.eventId, redelivery: item.event.redelivery });
      }
    }
    changes++;
  });
  /** the last pages reported (page key → its report) */
  const reported = new Map<string, ImportRowsApplied>((input.carried?.reported ?? []).map((r) => [`${r.importId}/${r.page}`, r]));
  setHandler(importRowsSignal, (rows) => {
    const key = `${rows.importId}/${rows.page}`;
    if (quickNewRun) {
      // A page handed over again (the import's hand-off retried): its rows are waiting, being written or
      // applied. Never apply them twice: a page still held reports once all of it is applied; a page
      // already reported is reported again (the import counts a shard's report once).
      const done = reported.get(key);
      if (pages.has(key) || done) {
        log.info('import page handed over again: not applied twice', { importId: rows.importId, page: rows.page, reportedAlready: Boolean(done) });
        if (done && !pages.has(key)) sendReport(rows.importWorkflowId, done);
        return;
      }
    }
    const added = queue.addImportRows(rows);
    const account = pages.get(key) ?? { importId: rows.importId, importWorkflowId: rows.importWorkflowId, page: rows.page, outstanding: 0, counts: emptyCounts(), failures: [] };
    account.outstanding += added;
    pages.set(key, account);
    // A page re-sent after everything was applied (a retried hand-off): report it again at once.
    if (account.outstanding === 0) report(account);
    changes++;
  });
  setHandler(importCancelledSignal, ({ importId }) => {
    const dropped = queue.dropImport(importId);
    for (const [key, account] of pages) if (account.importId === importId) pages.delete(key);
    log.info('import cancelled: its waiting rows are dropped', { importId, dropped });
    changes++;
  });
  setHandler(inboxStateQuery, state);
  setHandler(friendStatusQuery, (userId): FriendStatus | null => {
    const memory = friends.get(userId);
    const pending = queue.pendingOf(userId) + (busy.has(userId) ? 1 : 0);
    if (!memory && pending === 0) return null;
    return { userId, pending, applied: memory?.applied ?? 0, failed: memory?.failed ?? 0, recent: [...(memory?.recent ?? [])] };
  });

  function report(account: PageAccount): void {
    const key = `${account.importId}/${account.page}`;
    pages.delete(key);
    const applied: ImportRowsApplied = { importId: account.importId, page: account.page, shard, counts: account.counts, failures: account.failures };
    if (quickNewRun) {
      reported.set(key, applied);
      if (reported.size > REPORTS_KEPT) reported.delete(reported.keys().next().value as string);
    }
    sendReport(account.importWorkflowId, applied);
  }
  function sendReport(importWorkflowId: string, applied: ImportRowsApplied): void {
    reports.push(
      getExternalWorkflowHandle(importWorkflowId)
        .signal(importRowsAppliedSignal, applied)
        .catch(() => log.warn('the import is gone: its page report is dropped', { importId: applied.importId, page: applied.page })),
    );
  }

  const remember = (userId: string, events: AppliedEvent[], failedEvents: number) => {
    const memory = friends.get(userId) ?? { applied: 0, failed: 0, recent: [] };
    friends.delete(userId);
    memory.applied += events.length - failedEvents;
    memory.failed += failedEvents;
    memory.recent = [...memory.recent, ...events].slice(-RECENT_PER_FRIEND);
    friends.set(userId, memory);
    if (friends.size > REMEMBERED_FRIENDS) friends.delete(friends.keys().next().value as string);
  };

  function record(batchWorkflowId: string, result: ContactBatchResult): void {
    for (const friend of result.friends) {
      const events = friend.events.map((e) => ({ ...e, batchWorkflowId }));
      const failedEvents = events.filter((e) => e.outcome.startsWith('failed')).length;
      counters.applied += events.length - failedEvents;
      counters.failed += failedEvents;
      remember(friend.userId, events, failedEvents);
      for (const e of events.filter((x) => x.outcome.startsWith('failed'))) {
        recentFailures.push({ userId: friend.userId, eventId: e.eventId, reason: e.outcome });
        log.error('friend event could not be applied', { userId: friend.userId, eventId: e.eventId, outcome: e.outcome });
      }
      for (const row of friend.imports) {
        const account = pages.get(`${row.importId}/${row.page}`);
        if (!account) continue; // its import was cancelled meanwhile
        account.counts[row.outcome]++;
        if (row.outcome === 'failed' && account.failures.length < PAGE_FAILURES_LISTED) account.failures.push({ userId: friend.userId, reason: row.reason ?? 'unknown' });
        if (--account.outstanding <= 0) report(account);
      }
    }
    recentFailures.splice(0, Math.max(0, recentFailures.length - 20));
  }

  /** batches this run started: it waits for their completion (their signal comes just before it) */
  const startedHere = new Set<string>();
  /** results signalled by batches of this run whose completion has not come yet: applied before a new run */
  const signalled = new Map<string, ContactBatchResult>();
  /** A batch is written: its completion, seen by the run that started it; or its signal, for a batch an earlier run started. */
  const finish = (batchId: string, result: ContactBatchResult) => {
    signalled.delete(batchId);
    const batch = inFlightBatches.get(batchId);
    if (!batch) return;
    inFlightBatches.delete(batchId);
    record(batchId, result);
    queue.done(batch);
    for (const f of batch) busy.delete(f.userId);
    changes++;
  };
  setHandler(batchDoneSignal, ({ batchId, result }) => {
    if (startedHere.has(batchId)) signalled.set(batchId, result);
    else finish(batchId, result);
  });

  const failedResult = (batch: BatchFriend[], reason: string): ContactBatchResult => ({
    friends: batch.map((f) => ({
      userId: f.userId,
      events: f.events.map((e) => ({ eventId: e.eventId, kind: e.kind, timestamp: e.timestamp, outcome: reason })),
      imports: f.imports.map((row) => ({ ...row, outcome: 'failed' as const, reason })),
      failure: reason,
    })),
  });

  const runBatch = async (batch: BatchFriend[]) => {
    counters.batches++;
    const batchId = `line-batch/${channelId}/${shard}/${info.firstExecutionRunId.slice(0, 8)}-${counters.batches}`;
    const events = batch.reduce((n, f) => n + f.events.length + f.imports.length, 0);
    inFlightBatches.set(batchId, batch);
    startedHere.add(batchId);
    starting++;
    let handle;
    try {
      handle = await startChild(contactBatchWorkflow, {
        workflowId: batchId,
        args: [{ channelId, timeZone: target.timeZone, hubspotTaskQueue: hubspotTaskQueue(target.taskQueue), friends: batch, writerWorkflowId: info.workflowId, batchId }],
        taskQueue: target.taskQueue,
        // The writer may continue as new while a batch runs (a HubSpot outage): the batch goes on and reports by signal.
        parentClosePolicy: ParentClosePolicy.ABANDON,
        typedSearchAttributes: [
          { key: LineChannelId, value: channelId },
          { key: LineUserId, value: batch.map((f) => f.userId) },
          { key: SyncKind, value: 'batch' },
        ],
        staticSummary: `${events} LINE events of ${batch.length} friends (channel ${channelId})`,
      });
    } catch (error) {
      // Temporal refused the start itself (e.g. a search attribute over the server's limit): record it, go on.
      finish(batchId, failedResult(batch, `failed: batch ${batchId} could not start: ${(error as Error).message}`));
      return;
    } finally {
      starting--;
      changes++;
    }
    try {
      finish(batchId, await handle.result());
    } catch (error) {
      // Only a bug or an operator ends a batch this way (vendor failures are retried or recorded inside it).
      finish(batchId, failedResult(batch, `failed: batch ${batchId} ended without a result: ${(error as Error).message}`));
    }
  };

  const hasWork = () => queue.liveEvents > 0 || queue.importRows > 0 || inFlightBatches.size > 0;
  const show = () =>
    setCurrentDetails(
      `contact writer ${shard} of channel ${channelId}: ${queue.liveEvents} live events and ${queue.importRows} import rows waiting, ${inFlightBatches.size} batches being written; applied ${counters.applied}, failed ${counters.failed}, duplicates ${counters.duplicatesIgnored}`,
    );
  const carry = (): InboxCarry => ({
    queue: queue.snapshot(),
    inFlight: [...inFlightBatches].map(([batchId, friends]) => ({ batchId, friends })),
    pages: [...pages.values()],
    friends: [...friends].slice(-CARRIED_FRIENDS),
    counters,
    recentFailures,
    ...(reported.size ? { reported: [...reported.values()] } : {}),
  });

  show();
  for (;;) {
    // A new run when Temporal suggests it, batches in flight or not (they report to the new run by
    // signal); a backlog too long to carry drains first.
    const now = workflowInfo();
    const historyFull = now.continueAsNewSuggested || now.historyLength >= newRunAfterEvents || now.historySize >= NEW_RUN_AFTER_BYTES;
    if (historyFull && queue.liveEvents + queue.importRows <= MAX_CARRIED_WORK) {
      await condition(() => starting === 0);
      if (quickNewRun) {
        // No new batch meanwhile; events keep arriving and wait for the next run.
        // This run's children completing during the step's replay would refuse it a second time.
        await condition(() => ![...startedHere].some((id) => inFlightBatches.has(id)), NEW_RUN_BATCH_WAIT_MS);
        for (const scope of timers.values()) scope.cancel();
        timers.clear();
      }
      // A batch that signalled this run before its completion came would never report to the next one.
      do {
        for (const [batchId, result] of [...signalled]) finish(batchId, result);
        await Promise.all(reports);
        await condition(allHandlersFinished);
      } while (signalled.size > 0);
      await continueAsNew<typeof inboxWorkflow>({ ...input, target, carried: carry() });
    }
    const decision = nextDispatch(
      {
        now: Date.now(),
        inFlight: inFlightBatches.size,
        ...(() => {
          const live = queue.readyLive(busy);
          return { readyLive: live.friends, oldestLiveSince: live.oldestSince };
        })(),
        readyImport: queue.readyImportOnly(busy),
        lastDispatchAt,
      },
      policy(),
    );
    if (decision.dispatch) {
      const batch = queue.take(policy().maxFriends, busy, { withImports: true });
      if (batch.length > 0) {
        for (const f of batch) busy.add(f.userId);
        lastDispatchAt = Date.now();
        void runBatch(batch);
        show();
        continue;
      }
    }
    if (!hasWork()) {
      show();
      if (!(await condition(() => hasWork() || workflowInfo().continueAsNewSuggested, target.idleMs ?? DEFAULT_IDLE_MS))) {
        await Promise.all(reports);
        await condition(allHandlersFinished);
        if (!hasWork()) return state();
      }
      continue;
    }
    const seen = changes;
    const wakeAt = 'wakeAt' in decision ? decision.wakeAt : undefined;
    // One timer per wake-up time, left to fire (a signal meanwhile does not cancel and restart it).
    if (wakeAt !== undefined && !timers.has(wakeAt) && ![...timers.keys()].some((at) => at <= wakeAt && at > Date.now())) {
      const scope = new CancellationScope();
      timers.set(wakeAt, scope);
      void scope
        .run(() => sleep(Math.max(1, wakeAt - Date.now())))
        .then(
          () => {
            timers.delete(wakeAt);
            changes++;
          },
          () => {}, // cancelled before a new run
        );
    }
    await condition(() => changes !== seen);
  }
}
