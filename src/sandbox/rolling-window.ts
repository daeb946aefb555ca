// Rolling windows for the sandbox APIs' rate limits and request statistics (HubSpot's burst and
// search limits, LINE's per-endpoint limit). Time comes from an injectable clock, so a test moves
// time instead of sleeping through a window.

/** Milliseconds, never going back (Date.now, performance.now, or a test's virtual clock). */
export type Clock = () => number;

/** Timestamps inside a rolling window ending now; amortised O(1) per event. */
export class RollingWindow {
  private times: number[] = [];
  private head = 0;

  constructor(
    public windowMs: number,
    private readonly now: Clock = Date.now,
  ) {}

  /** Records an event now and returns how many fall in the window (this one included). */
  add(): number {
    this.times.push(this.now());
    return this.count();
  }

  /** Events in the window ending now: an event exactly `windowMs` old is out of it. */
  count(): number {
    const start = this.now() - this.windowMs;
    while (this.head < this.times.length && this.times[this.head]! <= start) this.head++;
    if (this.head > 4096 && this.head * 2 > this.times.length) {
      this.times = this.times.slice(this.head);
      this.head = 0;
    }
    return this.times.length - this.head;
  }

  clear(): void {
    this.times = [];
    this.head = 0;
  }
}

/**
 * At most `limit` admitted calls per key within a rolling window; a refused call is not counted
 * (LINE's per-endpoint limit). `limit` 0 or Infinity: unlimited.
 */
export class RollingWindowLimiter {
  private readonly windows = new Map<string, RollingWindow>();

  constructor(
    private limit: number,
    private readonly windowMs: number,
    private readonly now: Clock = Date.now,
  ) {}

  /** A new limit starts every key's window afresh. */
  setLimit(limit: number): void {
    this.limit = limit;
    this.windows.clear();
  }

  /** false when `key` already had `limit` admitted calls within the window */
  tryAcquire(key: string): boolean {
    if (!(this.limit > 0) || !Number.isFinite(this.limit)) return true;
    let window = this.windows.get(key);
    if (!window) {
      window = new RollingWindow(this.windowMs, this.now);
      this.windows.set(key, window);
    }
    if (window.count() >= this.limit) return false;
    window.add();
    return true;
  }

  clear(): void {
    this.windows.clear();
  }
}
