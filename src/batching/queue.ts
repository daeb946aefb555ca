// The pending work of one contact writer (a channel's inbox shard): each friend's events and import
// rows, in the order they came, handed out in batches of friends none of which is being written now.
// Pure and deterministic (the inbox workflow keeps it in its state and carries it across continue-as-new).
import type { FriendEvent, ImportRows, InboxItem } from '../contracts.ts';

/** An import row waiting in the queue (the friend is implied). */
export interface QueuedImportRow {
  importId: string;
  importWorkflowId: string;
  page: number;
  readAt: number;
}

/** One friend's share of a batch: the events to fold (in timestamp order) and its import rows. */
export interface BatchFriend {
  userId: string;
  events: FriendEvent[];
  imports: QueuedImportRow[];
}

interface FriendWork {
  userId: string;
  events: FriendEvent[];
  imports: QueuedImportRow[];
}

export interface WriterQueueSnapshot {
  /** friends with work, live ones first in the order their oldest event came */
  friends: Array<FriendWork & { liveSince?: number }>;
  /** applied event IDs, oldest first */
  seen: string[];
}

/** Applied event IDs a writer remembers: far more than LINE redelivers within a burst, small enough to carry. */
export const SEEN_EVENT_IDS = 10_000;

const byTime = (a: FriendEvent, b: FriendEvent) => a.timestamp - b.timestamp;

export class WriterQueue {
  readonly #work = new Map<string, FriendWork>();
  /** friends with live events → when the oldest of them arrived (insertion order = arrival order) */
  readonly #live = new Map<string, number>();
  /** friends with import rows, in arrival order */
  readonly #imports = new Set<string>();
  /** IDs of events queued or being applied */
  readonly #queued = new Set<string>();
  readonly #seen = new Set<string>();
  readonly #seenLimit: number;
  #liveEvents = 0;
  #importRows = 0;

  constructor(snapshot?: WriterQueueSnapshot, { seenLimit = SEEN_EVENT_IDS } = {}) {
    this.#seenLimit = seenLimit;
    for (const id of snapshot?.seen ?? []) this.#remember(id);
    for (const friend of snapshot?.friends ?? []) {
      for (const event of friend.events) this.#queueEvent(friend.userId, event, friend.liveSince ?? 0);
      for (const row of friend.imports) this.#queueImport(friend.userId, row);
    }
  }

  /** Queues a live event; false when its ID was applied or is queued already (a redelivery). */
  addEvent({ userId, event }: InboxItem, now: number): boolean {
    if (this.#seen.has(event.eventId) || this.#queued.has(event.eventId)) return false;
    this.#queueEvent(userId, event, now);
    return true;
  }

  /** Queues a page's rows; a friend with a row of the same import and page already queued keeps one. */
  addImportRows(rows: ImportRows): number {
    let added = 0;
    for (const userId of rows.userIds) {
      const existing = this.#work.get(userId)?.imports ?? [];
      if (existing.some((r) => r.importId === rows.importId && r.page === rows.page)) continue;
      this.#queueImport(userId, { importId: rows.importId, importWorkflowId: rows.importWorkflowId, page: rows.page, readAt: rows.readAt });
      added++;
    }
    return added;
  }

  /** Removes the rows of a cancelled import that are still waiting; returns how many. */
  dropImport(importId: string): number {
    let dropped = 0;
    for (const userId of [...this.#imports]) {
      const work = this.#work.get(userId)!;
      const kept = work.imports.filter((r) => r.importId !== importId);
      dropped += work.imports.length - kept.length;
      this.#importRows -= work.imports.length - kept.length;
      work.imports = kept;
      if (kept.length === 0) this.#imports.delete(userId);
      this.#forgetIfIdle(userId);
    }
    return dropped;
  }

  /** Friends with live events, not in `busy`, and when the oldest of their events arrived. */
  readyLive(busy: ReadonlySet<string>): { friends: number; oldestSince: number | undefined } {
    let friends = 0;
    let oldestSince: number | undefined;
    for (const [userId, since] of this.#live) {
      if (busy.has(userId)) continue;
      friends++;
      oldestSince ??= since;
    }
    return { friends, oldestSince };
  }

  /** Friends with import rows only (no live events), not in `busy`. */
  readyImportOnly(busy: ReadonlySet<string>): number {
    let friends = 0;
    for (const userId of this.#imports) if (!busy.has(userId) && !this.#live.has(userId)) friends++;
    return friends;
  }

  /**
   * Up to `maxFriends` friends not in `busy`: those with live events first (oldest first), then, when
   * `withImports`, friends with import rows only. Each friend brings its events in timestamp order up
   * to and including its first verified e-mail (a merge takes steps of its own; later events wait for
   * the next batch) and all its import rows.
   */
  take(maxFriends: number, busy: ReadonlySet<string>, { withImports = true } = {}): BatchFriend[] {
    const batch: BatchFriend[] = [];
    const pick = (userId: string) => {
      const work = this.#work.get(userId)!;
      const events = [...work.events].sort(byTime);
      const email = events.findIndex((e) => e.kind === 'verified-email');
      const taken = email >= 0 ? events.slice(0, email + 1) : events;
      const rest = email >= 0 ? events.slice(email + 1) : [];
      batch.push({ userId, events: taken, imports: work.imports });
      this.#liveEvents -= taken.length;
      this.#importRows -= work.imports.length;
      work.events = rest;
      work.imports = [];
      this.#imports.delete(userId);
      if (rest.length === 0) this.#live.delete(userId);
      this.#forgetIfIdle(userId);
    };
    for (const userId of [...this.#live.keys()]) {
      if (batch.length >= maxFriends) return batch;
      if (!busy.has(userId)) pick(userId);
    }
    if (!withImports) return batch;
    for (const userId of [...this.#imports]) {
      if (batch.length >= maxFriends) return batch;
      if (!busy.has(userId)) pick(userId);
    }
    return batch;
  }

  /** A batch a previous run started is still being written: its event IDs count as queued until it is done. */
  holdInFlight(batch: readonly BatchFriend[]): void {
    for (const friend of batch) for (const event of friend.events) this.#queued.add(event.eventId);
  }

  /** A batch is written: its event IDs are remembered (a later redelivery is a duplicate), then un-queued. */
  done(batch: readonly BatchFriend[]): void {
    for (const friend of batch) {
      for (const event of friend.events) {
        this.#remember(event.eventId);
        this.#queued.delete(event.eventId);
      }
    }
  }

  get liveEvents(): number {
    return this.#liveEvents;
  }

  get importRows(): number {
    return this.#importRows;
  }

  /** Pending events of one friend (waiting, not in a batch). */
  pendingOf(userId: string): number {
    const work = this.#work.get(userId);
    return work ? work.events.length + work.imports.length : 0;
  }

  snapshot(): WriterQueueSnapshot {
    const friends: WriterQueueSnapshot['friends'] = [];
    for (const [userId, since] of this.#live) friends.push({ ...this.#work.get(userId)!, liveSince: since });
    for (const userId of this.#imports) if (!this.#live.has(userId)) friends.push({ ...this.#work.get(userId)! });
    return { friends, seen: [...this.#seen] };
  }

  #queueEvent(userId: string, event: FriendEvent, since: number): void {
    const work = this.#workOf(userId);
    work.events.push(event);
    this.#queued.add(event.eventId);
    if (!this.#live.has(userId)) this.#live.set(userId, since);
    this.#liveEvents++;
  }

  #queueImport(userId: string, row: QueuedImportRow): void {
    this.#workOf(userId).imports.push(row);
    this.#imports.add(userId);
    this.#importRows++;
  }

  #workOf(userId: string): FriendWork {
    let work = this.#work.get(userId);
    if (!work) {
      work = { userId, events: [], imports: [] };
      this.#work.set(userId, work);
    }
    return work;
  }

  #forgetIfIdle(userId: string): void {
    const work = this.#work.get(userId);
    if (work && work.events.length === 0 && work.imports.length === 0) this.#work.delete(userId);
  }

  #remember(eventId: string): void {
    this.#seen.delete(eventId);
    this.#seen.add(eventId);
    if (this.#seen.size > this.#seenLimit) this.#seen.delete(this.#seen.values().next().value as string);
  }
}
