// A token bucket per client address, in this process's memory. Memory is the right place: it is
// abuse protection for public endpoints, not data — each server instance limiting on its own, and
// forgetting everything on restart, costs nothing the product relies on.

export interface TokenBucketOptions {
  /** requests a client may make at once */
  capacity: number;
  /** tokens given back per second */
  refillPerSecond: number;
  /** clients remembered at most (least recently seen are forgotten first); default 10,000 */
  maxClients?: number;
  now?: () => number;
}

export class ClientRateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly now: () => number;
  private readonly maxClients: number;

  constructor(private readonly options: TokenBucketOptions) {
    this.now = options.now ?? (() => performance.now());
    this.maxClients = options.maxClients ?? 10_000;
  }

  /** Takes one token for `client`; false when the client has none left. */
  take(client: string): boolean {
    const now = this.now();
    const { capacity, refillPerSecond } = this.options;
    const bucket = this.buckets.get(client) ?? { tokens: capacity, at: now };
    bucket.tokens = Math.min(capacity, bucket.tokens + ((now - bucket.at) / 1000) * refillPerSecond);
    bucket.at = now;
    // Map order = recency: re-inserting moves the client to the end.
    this.buckets.delete(client);
    this.buckets.set(client, bucket);
    if (this.buckets.size > this.maxClients) this.buckets.delete(this.buckets.keys().next().value as string);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  /** Seconds until `client` has a token again (for Retry-After). */
  retryAfterSeconds(client: string): number {
    const bucket = this.buckets.get(client);
    if (!bucket || bucket.tokens >= 1 || this.options.refillPerSecond <= 0) return 1;
    return Math.max(1, Math.ceil((1 - bucket.tokens) / this.options.refillPerSecond));
  }
}
