// The webhook's hand-over to Temporal: friend events into the channel's inbox workflows, group-committed.
//
// Starting a workflow per event costs the server far more than a signal to a running one, and a
// signal can carry many events. Each inbox shard has at most one signal in flight; events that
// arrive meanwhile wait and go together in the next one. At low rates an event goes alone at once;
// at high rates batches grow by themselves, so the ack stays short while Temporal's work per event
// falls. A webhook request is answered 200 only once the signal carrying its events returned.
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { inboxEventsSignal, inboxWorkflow, type InboxItem } from '../../workflows/inbox.ts';
import type { FriendTarget } from './friend-client.ts';
import { inboxShardOf, inboxWorkflowId } from './ids.ts';
import { LineChannelId, SyncKind } from './search-attributes.ts';

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

export class FriendEventInbox {
  readonly #client: Client;
  readonly #target: FriendTarget;
  readonly #shards: Array<{ waiting: Waiting[]; sending: boolean; lastSentAt: number; timer: NodeJS.Timeout | undefined }>;
  readonly #maxBatch: number;
  readonly #minGapMs: number;
  /** inboxes this process started or signalled: signalled directly until one turns out not to run */
  readonly #running = new Set<string>();
  /** the most events one signal has carried so far */
  readonly stats = { largestBatch: 0 };

  constructor(client: Client, target: FriendTarget, options: InboxOptions) {
    this.#client = client;
    this.#target = target;
    this.#shards = Array.from({ length: Math.max(1, options.shards) }, () => ({ waiting: [], sending: false, lastSentAt: 0, timer: undefined }));
    this.#maxBatch = options.maxBatch ?? 500;
    this.#minGapMs = options.minGapMs ?? 20;
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
    const deadline = Math.max(...batch.map((w) => w.deadline));
    void this.#client
      .withDeadline(deadline, () => this.#signal(shard, batch.map((w) => w.item)))
      .then(
        () => batch.forEach((w) => w.resolve()),
        (error: unknown) => batch.forEach((w) => w.reject(error instanceof Error ? error : new Error(String(error)))),
      )
      .finally(() => {
        state.sending = false;
        this.#flush(shard);
      });
  }

  /** A signal to the running inbox (the cheaper call for the server); a signal-with-start when it is not running. */
  async #signal(shard: number, items: InboxItem[]): Promise<void> {
    const { channelId } = this.#target;
    const workflowId = inboxWorkflowId(channelId, shard);
    if (this.#running.has(workflowId)) {
      try {
        await this.#client.workflow.getHandle(workflowId).signal(inboxEventsSignal, { target: this.#target, items });
        return;
      } catch (error) {
        if (!(error instanceof WorkflowNotFoundError)) throw error;
        // It ended when idle (or was terminated): start it again with these events.
        this.#running.delete(workflowId);
      }
    }
    await this.#client.workflow.signalWithStart(inboxWorkflow, {
      workflowId,
      taskQueue: this.#target.taskQueue,
      args: [{ channelId, shard, target: this.#target }],
      signal: inboxEventsSignal,
      signalArgs: [{ target: this.#target, items }],
      typedSearchAttributes: [
        { key: LineChannelId, value: channelId },
        { key: SyncKind, value: 'inbox' },
      ],
      staticSummary: `LINE webhook inbox ${shard} (channel ${channelId})`,
      staticDetails:
        "Holds LINE webhook events from the moment the webhook answers LINE until each is in its friend's workflow (line-friend/…), in the order received. Query inboxState for its backlog.",
    });
    this.#running.add(workflowId);
  }
}
