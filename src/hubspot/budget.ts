// HubSpot's rolling 10-second budget as one worker process spends it.
//
// Temporal's task-queue rate limit (src/temporal/worker.ts) paces HubSpot activities across every
// worker, but it is a token bucket: after a pause it lets a second's worth through at once, so a
// rolling window can see 1.1 × the rate. This gate makes the rest exact for the process: a request
// goes only when fewer than the limit of this process's requests are in flight or answered within the
// last window, and when HubSpot's own `X-HubSpot-RateLimit-Remaining` — which counts every client of
// the app, other workers included — does not say the window is spent. A request holds its slot from
// the moment it may go until a window after its answer: HubSpot counted it somewhere in between,
// however slow the network or the first connection. Waiting requests go in order. When HubSpot's count
// has shown other clients lately, a small reserve of the window is left to them (SHARED_WINDOW_RESERVE, then
// one slot for OTHERS_REMEMBERED_MS); without a fresh count (at start, after a quiet window) one request
// goes first to learn it.

export interface BudgetOptions {
  /** HubSpot's limit per window (HUBSPOT_REQUESTS_PER_10S) */
  max: number;
  windowMs?: number;
  /** added to the window after an answer (clock and network jitter) */
  slackMs?: number;
  /** how often a full window of requests all still in flight is looked at again */
  pollMs?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export interface BudgetHeaders {
  remaining?: string | null;
  max?: string | null;
  intervalMs?: string | null;
}

interface Observation {
  at: number;
  remaining: number;
  max: number;
  intervalMs: number;
  /** this process's sends since the observation */
  sentSince: number;
  /** this process's answers that left the window since the observation (each frees a slot HubSpot counted) */
  freedSince: number;
}

/**
 * With other clients spending the window, this share of it is left to them: each process knows its own
 * sends at once but the others' only from HubSpot's next answer, so two processes reading the same
 * Remaining could otherwise both spend it (the cluster test saw 101–103 in a window of 100).
 */
export const SHARED_WINDOW_RESERVE = 0.05;
/**
 * After HubSpot's count last showed other clients: for a window the whole reserve stays (their share
 * comes and goes between answers, and this process's own count may run a little ahead of HubSpot's);
 * after that, for OTHERS_REMEMBERED_MS, one request of the window is left: a worker that starts again
 * sends its first request knowing nothing, and that slot keeps it inside the limit. A process that has
 * never seen another client keeps the whole window.
 */
export const OTHERS_REMEMBERED_MS = 10 * 60 * 1000;

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class HubspotBudget {
  readonly max: number;
  private readonly windowMs: number;
  private readonly slackMs: number;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly pollMs: number;
  /** requests that may have gone and have no answer yet */
  private inFlight = 0;
  /** answer times of requests still in the window, oldest first */
  private readonly answered: number[] = [];
  private observed: Observation | undefined;
  /** when HubSpot's count last showed other clients spending the window (OTHERS_REMEMBERED_MS) */
  private othersSeenAt: number | undefined;
  /** after a 429 nobody knows how far over the window is: nothing goes until it has passed */
  private blockedUntil = 0;
  /** whether HubSpot's answers carry the Remaining header (undefined: no answer yet) */
  private headersKnown: boolean | undefined;
  private queue: Promise<void> = Promise.resolve();

  constructor(options: BudgetOptions) {
    this.max = Math.max(1, Math.floor(options.max));
    this.windowMs = options.windowMs ?? 10_000;
    this.slackMs = options.slackMs ?? 100;
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? realSleep;
    this.pollMs = options.pollMs ?? 25;
  }

  /** Runs one HubSpot request under the budget: waits for a slot, holds it until a window after the answer. */
  async run<T>(request: () => Promise<T>): Promise<T> {
    await this.acquire();
    try {
      return await request();
    } finally {
      this.release();
    }
  }

  /** Resolves when one request may go now and counts it in flight; `release()` when it is answered. Callers are served in order. */
  acquire(): Promise<void> {
    const turn = this.queue.then(() => this.waitForSlot());
    this.queue = turn.catch(() => {});
    return turn;
  }

  /** The request `acquire()` let go was answered (or failed): its slot stays taken for one more window. */
  release(): void {
    if (this.inFlight > 0) this.inFlight--;
    this.answered.push(this.now());
  }

  /** What HubSpot said of its window in an answer's headers (`status` 429: the window is over). */
  observe(headers: BudgetHeaders, status?: number): void {
    const intervalMs = Number(headers.intervalMs) || this.windowMs;
    if (status === 429) this.blockedUntil = Math.max(this.blockedUntil, this.now() + intervalMs + this.slackMs);
    const remaining = Number(headers.remaining);
    if (headers.remaining == null || headers.remaining === '' || !Number.isFinite(remaining)) {
      this.headersKnown ??= false;
      return;
    }
    this.headersKnown = true;
    const max = Number(headers.max) || this.max;
    const now = this.now();
    this.expire(now);
    const own = this.inFlight + this.answered.length;
    // HubSpot counted more in its window than this process had sent: other workers (or other apps of the portal) spend it too.
    if (max - remaining > own) this.othersSeenAt = now;
    this.observed = { at: now, remaining, max, intervalMs, sentSince: 0, freedSince: 0 };
  }

  /** Requests this process may still send now by its own count. */
  ownRemaining(): number {
    this.expire(this.now());
    return this.max - this.inFlight - this.answered.length;
  }

  /**
   * Requests HubSpot's last answer leaves for now: what it said remained, less what this process sent
   * since, plus its own requests that left the window since (others' requests are assumed to stay:
   * the guess errs on waiting). Infinity when HubSpot said nothing within its interval.
   */
  reportedRemaining(): number {
    const now = this.now();
    this.expire(now);
    const seen = this.observed;
    if (!seen || now - seen.at >= seen.intervalMs) return Infinity;
    return seen.remaining - seen.sentSince + seen.freedSince;
  }

  /** The part of HubSpot's window left to other clients, by how lately HubSpot's count showed them (OTHERS_REMEMBERED_MS). */
  private reserveForOthers(now: number): number {
    if (!this.observed || this.othersSeenAt === undefined) return 0;
    const since = now - this.othersSeenAt;
    if (since < this.windowMs) return Math.ceil(this.observed.max * SHARED_WINDOW_RESERVE);
    return since < OTHERS_REMEMBERED_MS ? 1 : 0;
  }

  private expire(now: number): void {
    const horizon = now - this.windowMs - this.slackMs;
    while (this.answered.length > 0 && this.answered[0]! <= horizon) {
      this.answered.shift();
      if (this.observed) this.observed.freedSince++;
    }
  }

  private async waitForSlot(): Promise<void> {
    for (;;) {
      const now = this.now();
      if (now < this.blockedUntil) {
        await this.sleep(this.blockedUntil - now);
        continue;
      }
      this.expire(now);
      const own = this.max - this.inFlight - this.answered.length;
      const reported = this.reportedRemaining();
      const reserve = reported === Infinity ? 0 : this.reserveForOthers(now);
      // Without a fresh word from HubSpot (a process just started, or idle for a window) others may have
      // filled the window: one request goes first, and its answer says how much is left.
      const probing = reported === Infinity && this.headersKnown !== false && this.inFlight > 0;
      if (own > 0 && reported > reserve && !probing) {
        this.inFlight++;
        if (this.observed) this.observed.sentSince++;
        return;
      }
      // Until the oldest own answer leaves the window (all in flight: a moment), or HubSpot's answer is forgotten.
      const oldest = this.answered[0];
      const untilOwnFrees = oldest !== undefined && !probing ? oldest + this.windowMs + this.slackMs - now : this.pollMs;
      const untilForgotten = this.observed ? this.observed.at + this.observed.intervalMs - now : Infinity;
      await this.sleep(Math.max(1, Math.min(untilOwnFrees, untilForgotten)));
    }
  }
}
