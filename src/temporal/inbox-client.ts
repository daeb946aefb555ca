// Producers' hand-over to Temporal: friend events into the channel's contact writers (inbox workflows),
// group-committed; an import's rows likewise.
//
// Starting a workflow per event costs the server far more than a signal to a running one, and a
// signal can carry many events. Each inbox shard has at most one signal in flight; events that
// arrive meanwhile wait and go together in the next one. At low rates an event goes alone at once;
// at high rates batches grow by themselves, so the ack stays short while Temporal's work per event
// falls. A webhook request is answered 200 only once the signal carrying its events returned.
// (No workflow code is imported here: activities use this module too.)
import { randomUUID } from 'node:crypto';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { isWorkflowClosing } from './connection.ts';
import type { SignalDefinition } from '@temporalio/common';
import type { Config } from '../config.ts';
import { batchFriendsFor, inboxEventsSignal, WorkflowType, type ContactTarget, type InboxItem } from '../contracts.ts';
import { inboxShardOf, inboxWorkflowId } from './ids.ts';
import { LineChannelId, SyncKind } from './search-attributes.ts';

export const contactTargetOf = (config: Config): ContactTarget => ({
  channelId: config.lineChannelId,
  taskQueue: config.taskQueue,
  timeZone: config.syncDateTimeZone,
  idleMs: config.lineInboxIdleSeconds * 1000,
  maxBatchFriends: batchFriendsFor(config.temporalSearchAttributeValueLimit ?? 2048),
});

/**
 * A signal to a writer shard, starting it if it is not running. `running` remembers shards this
 * process reached, which are signalled directly (the cheaper call) until one turns out to have ended.
 */
export async function signalInbox<Args extends unknown[]>(client: Client, target: ContactTarget, shard: number, signal: SignalDefinition<Args>, args: Args, running?: Set<string>): Promise<void> {
  const { channelId } = target;
  const workflowId = inboxWorkflowId(channelId, shard);
  if (running?.has(workflowId)) {
    try {
      await client.workflow.getHandle(workflowId).signal(signal, ...args);
      return;
    } catch (error) {
      if (!(error instanceof WorkflowNotFoundError)) throw error;
      // It ended when idle (or was terminated): start it again with this signal.
      running.delete(workflowId);
    }
  }
  const options = {
    workflowId,
    taskQueue: target.taskQueue,
    args: [{ channelId, shard, target }],
    signal,
    signalArgs: args,
    typedSearchAttributes: [
      { key: LineChannelId, value: channelId },
      { key: SyncKind, value: 'inbox' },
    ],
    staticSummary: `LINE contact writer ${shard} (channel ${channelId})`,
    staticDetails:
      "The one writer of its friends' HubSpot contacts: holds LINE webhook events, verified e-mails, HubSpot enrichments and import rows, and applies them in batches (child workflows line-batch/…, searchable by LineUserId). Query inboxState for its backlog, friendStatus for one friend.",
  };
  // By type name: this module must not import workflow code (activities use it).
  await client.workflow.signalWithStart(WorkflowType.inbox, options as Parameters<typeof client.workflow.signalWithStart>[1]);
  running?.add(workflowId);
}

export interface InboxOptions {
  /** inbox workflows per channel (LINE_INBOX_SHARDS) */
  shards: number;
  /** events per signal at most */
  maxBatch?: number;
  /**
   * Signals of one shard start at least this far apart (ms). Every signal wakes the inbox for a
   * workflow task, so under a burst fewer, larger signals leave Temporal more room; an event that
   * arrives after a quiet spell still goes at once. Default 20.
   */
  minGapMs?: number;
}

interface Waiting {
  item: InboxItem;
  deadline: number;
  resolve: () => void;
  reject: (error: Error) => void;
}

export interface DeliveryFailure {
  userId: string;
  reason: string;
}

/** A detour takes events for this long after it was last used; then the next closing writer gets a new one. */
const DETOUR_REUSE_MS = 2000;

export class FriendEventInbox {
  readonly #client: Client;
  readonly #target: ContactTarget;
  readonly #shards: Array<{ waiting: Waiting[]; sending: boolean; lastSentAt: number; timer: NodeJS.Timeout | undefined; detour?: { workflowId: string; usedAt: number } }>;
  readonly #maxBatch: number;
  readonly #minGapMs: number;
  readonly #running = new Set<string>();
  /** signals on their way: a request answered 503 at its deadline may leave one still retrying */
  readonly #inFlight = new Set<Promise<void>>();
  /** the most events one signal has carried so far; signals that went to a detour */
  readonly stats = { largestBatch: 0, signals: 0, detours: 0 };

  constructor(client: Client, target: ContactTarget, options: InboxOptions) {
    this.#client = client;
    this.#target = target;
    this.#shards = Array.from({ length: Math.max(1, options.shards) }, () => ({ waiting: [], sending: false, lastSentAt: 0, timer: undefined }));
    this.#maxBatch = options.maxBatch ?? 500;
    this.#minGapMs = options.minGapMs ?? 20;
  }

  /** Waits for the signals still on their way (before the Temporal connection closes). */
  async drain(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
  }

  /**
   * Hands a request's events to Temporal within `deadlineMs`. Resolves with the events Temporal did not
   * take in time (empty: every one is durably in its inbox's history).
   */
  async deliver(events: InboxItem[], deadlineMs: number): Promise<DeliveryFailure[]> {
    const deadline = Date.now() + deadlineMs;
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<'expired'>((resolve) => (timer = setTimeout(resolve, deadlineMs, 'expired')));
    const outcome = await Promise.race([Promise.allSettled(events.map((item) => this.#enqueue(item, deadline))), expired]);
    clearTimeout(timer);
    if (outcome === 'expired') return events.map(({ userId }) => ({ userId, reason: `Temporal did not accept the events within ${deadlineMs} ms` }));
    return outcome.flatMap((result, i) => (result.status === 'rejected' ? [{ userId: events[i]!.userId, reason: (result.reason as Error)?.message ?? String(result.reason) }] : []));
  }

  /** To the writer; while it is between two runs, to a detour that hands them over (workflows/inbox-detour.ts). */
  async #send(shard: number, items: InboxItem[]): Promise<void> {
    try {
      await signalInbox(this.#client, this.#target, shard, inboxEventsSignal, [{ target: this.#target, items }], this.#running);
      return;
    } catch (error) {
      if (!isWorkflowClosing(error)) throw error;
    }
    const state = this.#shards[shard]!;
    const now = Date.now();
    if (!state.detour || now - state.detour.usedAt > DETOUR_REUSE_MS) state.detour = { workflowId: `${inboxWorkflowId(this.#target.channelId, shard)}/detour-${randomUUID()}`, usedAt: now };
    state.detour.usedAt = now;
    this.stats.detours++;
    const options = {
      workflowId: state.detour.workflowId,
      taskQueue: this.#target.taskQueue,
      args: [{ channelId: this.#target.channelId, shard, target: this.#target }],
      signal: inboxEventsSignal,
      signalArgs: [{ target: this.#target, items }],
      typedSearchAttributes: [
        { key: LineChannelId, value: this.#target.channelId },
        { key: SyncKind, value: 'inbox-detour' },
      ],
      staticSummary: `LINE events for contact writer ${shard} while it continues as new (channel ${this.#target.channelId})`,
    };
    await this.#client.workflow.signalWithStart(WorkflowType.inboxDetour, options as Parameters<Client['workflow']['signalWithStart']>[1]);
  }

  #enqueue(item: InboxItem, deadline: number): Promise<void> {
    const shard = inboxShardOf(item.userId, this.#shards.length);
    return new Promise<void>((resolve, reject) => {
      this.#shards[shard]!.waiting.push({ item, deadline, resolve, reject });
      this.#flush(shard);
    });
  }

  #flush(shard: number): void {
    const state = this.#shards[shard]!;
    if (state.sending) return;
    // Events whose request has already been answered 503 are not sent: LINE redelivers them.
    const now = Date.now();
    const live = state.waiting.filter((w) => w.deadline > now);
    for (const w of state.waiting) if (w.deadline <= now) w.reject(new Error('deadline passed before the events could be sent'));
    state.waiting = live;
    if (live.length === 0) return;
    const gap = state.lastSentAt + this.#minGapMs - now;
    if (gap > 0) {
      state.timer ??= setTimeout(() => {
        state.timer = undefined;
        this.#flush(shard);
      }, gap);
      return;
    }
    state.lastSentAt = now;
    const batch = state.waiting.splice(0, this.#maxBatch);
    state.sending = true;
    this.stats.largestBatch = Math.max(this.stats.largestBatch, batch.length);
    this.stats.signals++;
    const deadline = Math.max(...batch.map((w) => w.deadline));
    const sent: Promise<void> = this.#client
      .withDeadline(deadline, () =>
        this.#send(
          shard,
          batch.map((w) => w.item),
        ),
      )
      .then(
        () => batch.forEach((w) => w.resolve()),
        (error: unknown) => batch.forEach((w) => w.reject(error instanceof Error ? error : new Error(String(error)))),
      )
      .finally(() => {
        this.#inFlight.delete(sent);
        state.sending = false;
        this.#flush(shard);
      });
    this.#inFlight.add(sent);
  }
}
