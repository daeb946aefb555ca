// LINE's rate limit as the sandbox applies it (per endpoint, whatever the parameters, over a rolling
// second; refused calls do not count) and the request statistics tests and benchmarks read.
import { RollingWindowLimiter, type Clock } from '../rolling-window.ts';

/** LINE counts its per-endpoint limits per second. */
const LIMIT_WINDOW_MS = 1000;

export class EndpointRateLimit {
  private readonly limiter: RollingWindowLimiter;

  /** `perSecond` 0: unlimited */
  constructor(perSecond: number, now: Clock) {
    this.limiter = new RollingWindowLimiter(perSecond, LIMIT_WINDOW_MS, now);
  }

  setLimit(perSecond: number): void {
    this.limiter.setLimit(perSecond);
  }

  /** false when `endpoint` (method + route) already had its limit of calls within the last second */
  tryAcquire(endpoint: string): boolean {
    return this.limiter.tryAcquire(endpoint);
  }
}

export interface EndpointStats {
  requests: number;
  statuses: Record<string, number>;
}

/** API requests (not the control routes) by endpoint and status. */
export class RequestStats {
  private readonly byEndpoint = new Map<string, EndpointStats>();

  record(endpoint: string, status: number): void {
    let entry = this.byEndpoint.get(endpoint);
    if (!entry) {
      entry = { requests: 0, statuses: {} };
      this.byEndpoint.set(endpoint, entry);
    }
    entry.requests += 1;
    entry.statuses[String(status)] = (entry.statuses[String(status)] ?? 0) + 1;
  }

  snapshot(): Record<string, EndpointStats> {
    const out: Record<string, EndpointStats> = {};
    for (const [key, value] of this.byEndpoint) out[key] = { requests: value.requests, statuses: { ...value.statuses } };
    return out;
  }

  clear(): void {
    this.byEndpoint.clear();
  }
}
