// Rate limits as HubSpot applies them (rolling burst window, daily quota, search's own per-second
// limit) and the request statistics benchmarks read to prove they stayed under them.
import { RollingWindow, type Clock } from '../rolling-window.ts';
import type { RateLimitPolicy } from './errors.ts';

export interface LimitSettings {
  /** requests per window (default window 10 s); 0 or Infinity: unlimited */
  requestsPer10s: number;
  /** requests per UTC day; 0 or Infinity: unlimited */
  dailyLimit: number;
  /** length of the burst window; HubSpot's is 10,000 ms (smaller in tests) */
  windowMs: number;
  /** search requests per second; 0 or Infinity: unlimited */
  searchRequestsPerSecond: number;
}

export type LimitVerdict = { ok: true; headers: Record<string, string> } | { ok: false; policy: RateLimitPolicy; headers: Record<string, string> };

const limited = (n: number) => Number.isFinite(n) && n > 0;

export class RateLimiter {
  private readonly burst: RollingWindow;
  private readonly search: RollingWindow;
  private day = '';
  private dailyCount = 0;

  constructor(
    readonly settings: LimitSettings,
    private readonly now: Clock = Date.now,
  ) {
    this.burst = new RollingWindow(settings.windowMs, now);
    this.search = new RollingWindow(1000, now);
  }

  update(changes: Partial<LimitSettings>): void {
    Object.assign(this.settings, changes);
    this.burst.windowMs = this.settings.windowMs;
  }

  reset(): void {
    this.burst.clear();
    this.search.clear();
    this.dailyCount = 0;
  }

  /**
   * Counts a request (rejected ones count too, as at HubSpot) and says whether it may run. Search
   * requests (`burst: false`) have their own per-second limit (admitSearch) and do not spend the
   * rolling burst window; they still count in the day.
   */
  admit({ burst = true } = {}): LimitVerdict {
    const day = new Date(this.now()).toISOString().slice(0, 10);
    if (day !== this.day) {
      this.day = day;
      this.dailyCount = 0;
    }
    this.dailyCount++;
    const inWindow = burst ? this.burst.add() : this.burst.count();
    const { requestsPer10s, dailyLimit, windowMs } = this.settings;
    const headers: Record<string, string> = {};
    if (limited(requestsPer10s)) {
      headers['X-HubSpot-RateLimit-Interval-Milliseconds'] = String(windowMs);
      headers['X-HubSpot-RateLimit-Max'] = String(requestsPer10s);
      headers['X-HubSpot-RateLimit-Remaining'] = String(Math.max(0, requestsPer10s - inWindow));
    }
    if (limited(dailyLimit)) {
      headers['X-HubSpot-RateLimit-Daily'] = String(dailyLimit);
      headers['X-HubSpot-RateLimit-Daily-Remaining'] = String(Math.max(0, dailyLimit - this.dailyCount));
    }
    if (limited(dailyLimit) && this.dailyCount > dailyLimit) return { ok: false, policy: 'DAILY', headers };
    if (burst && limited(requestsPer10s) && inWindow > requestsPer10s) return { ok: false, policy: 'TEN_SECONDLY_ROLLING', headers };
    return { ok: true, headers };
  }

  /** Search's own limit, on top of the general one. */
  admitSearch(): LimitVerdict {
    const inSecond = this.search.add();
    const max = this.settings.searchRequestsPerSecond;
    if (limited(max) && inSecond > max) {
      return { ok: false, policy: 'SECONDLY', headers: { 'X-HubSpot-RateLimit-Secondly': String(max), 'X-HubSpot-RateLimit-Secondly-Remaining': '0' } };
    }
    return { ok: true, headers: {} };
  }
}

export interface SandboxStats {
  since: string;
  /** API requests (everything but `/_sandbox/`), whatever their answer */
  total: number;
  /** by route, e.g. `POST /crm/v3/objects/contacts/batch/upsert` */
  endpoints: Record<string, number>;
  statuses: Record<string, number>;
  /** 429 answers, whatever their cause */
  rateLimited: number;
  rateLimitedByPolicy: Record<RateLimitPolicy, number>;
  faultsInjected: number;
  /** most API requests that arrived within any rolling 10-second window */
  maxRequestsIn10s: number;
  /** most API requests within any rolling `windowMs` (the configured burst window) */
  maxRequestsInWindow: number;
  windowMs: number;
  /** search requests (not in the burst figures above: search has its own limit) */
  searches: number;
  /** most search requests that arrived within any rolling second */
  maxSearchesInSecond: number;
}

export class Stats {
  private data!: SandboxStats;
  private readonly tenSeconds: RollingWindow;
  private readonly searchSecond: RollingWindow;
  private readonly window: RollingWindow;

  constructor(
    windowMs: number,
    private readonly now: Clock = Date.now,
  ) {
    this.tenSeconds = new RollingWindow(10_000, now);
    this.searchSecond = new RollingWindow(1000, now);
    this.window = new RollingWindow(windowMs, now);
    this.reset();
  }

  reset(): void {
    this.tenSeconds.clear();
    this.window.clear();
    this.searchSecond.clear();
    this.data = {
      since: new Date(this.now()).toISOString(),
      total: 0,
      endpoints: {},
      statuses: {},
      rateLimited: 0,
      rateLimitedByPolicy: { TEN_SECONDLY_ROLLING: 0, DAILY: 0, SECONDLY: 0 },
      faultsInjected: 0,
      maxRequestsIn10s: 0,
      maxRequestsInWindow: 0,
      windowMs: this.window.windowMs,
      searches: 0,
      maxSearchesInSecond: 0,
    };
  }

  setWindow(windowMs: number): void {
    this.window.windowMs = windowMs;
    this.data.windowMs = windowMs;
  }

  arrived({ search = false } = {}): void {
    this.data.total++;
    if (search) {
      this.data.searches++;
      this.data.maxSearchesInSecond = Math.max(this.data.maxSearchesInSecond, this.searchSecond.add());
      return;
    }
    this.data.maxRequestsIn10s = Math.max(this.data.maxRequestsIn10s, this.tenSeconds.add());
    this.data.maxRequestsInWindow = Math.max(this.data.maxRequestsInWindow, this.window.add());
  }

  answered(endpoint: string, status: number): void {
    this.data.endpoints[endpoint] = (this.data.endpoints[endpoint] ?? 0) + 1;
    this.data.statuses[String(status)] = (this.data.statuses[String(status)] ?? 0) + 1;
    if (status === 429) this.data.rateLimited++;
  }

  limitedBy(policy: RateLimitPolicy): void {
    this.data.rateLimitedByPolicy[policy]++;
  }

  faultInjected(): void {
    this.data.faultsInjected++;
  }

  snapshot(): SandboxStats {
    return structuredClone(this.data);
  }
}
