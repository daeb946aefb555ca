// When a contact writer starts its next batch (pure; unit-tested in test/unit/batching.test.ts).
//
// A batch costs HubSpot the same two requests (a batch read, a batch create or update) for one friend
// as for a hundred, so under load batches should be full; yet a lone event must not wait. Hence: a
// batch goes at once when the writer is idle, when it is full, or when its oldest event has waited
// `lingerMs`; at most `maxInFlight` batches run at once, one slot always kept free for live events.

export interface BatchPolicy {
  /** friends per batch: HubSpot's batch limit */
  maxFriends: number;
  /** batches being written at once (each one a few HubSpot requests deep) */
  maxInFlight: number;
  /** how long a partial batch of live events waits for more while another batch is being written or just went */
  lingerMs: number;
}

export const DEFAULT_BATCH_POLICY: BatchPolicy = { maxFriends: 100, maxInFlight: 8, lingerMs: 500 };

export interface WriterView {
  now: number;
  /** batches being written */
  inFlight: number;
  /** friends with live events that can go now (none of them in a batch being written) */
  readyLive: number;
  /** when the oldest of those events arrived */
  oldestLiveSince: number | undefined;
  /** friends with import rows only that can go now */
  readyImport: number;
  /** when the last batch started */
  lastDispatchAt: number;
}

export type DispatchDecision =
  /** start a batch: live events first, topped up with import rows */
  | { dispatch: 'live' | 'import' }
  /** nothing to start now; look again at `wakeAt` (ms), or when a batch ends or work arrives */
  | { dispatch: null; wakeAt?: number };

export function nextDispatch(view: WriterView, policy: BatchPolicy = DEFAULT_BATCH_POLICY): DispatchDecision {
  if (view.inFlight >= policy.maxInFlight) return { dispatch: null };
  let wakeAt: number | undefined;
  if (view.readyLive > 0) {
    const waited = view.now - (view.oldestLiveSince ?? view.now);
    const idle = view.inFlight === 0 && view.now - view.lastDispatchAt >= policy.lingerMs;
    if (view.readyLive >= policy.maxFriends || waited >= policy.lingerMs || idle) return { dispatch: 'live' };
    wakeAt = (view.oldestLiveSince ?? view.now) + policy.lingerMs;
    if (view.inFlight === 0) wakeAt = Math.min(wakeAt, view.lastDispatchAt + policy.lingerMs);
  }
  // Import rows come a page at a time, so their batches are full: they go whenever a slot is free, but
  // never into the last one, which waits for live events (they go ahead of an import).
  if (view.readyImport > 0 && view.inFlight < Math.max(1, policy.maxInFlight - 1)) return { dispatch: 'import' };
  return wakeAt === undefined ? { dispatch: null } : { dispatch: null, wakeAt };
}
