// The one place where LINE and HubSpot errors become Temporal retry decisions.
import { ApplicationFailure } from '@temporalio/common';
import { FailureType } from '../src/contracts.ts';

export { FailureType };

interface HttpErrorShape {
  status: number;
  headers: (name: string) => string | undefined;
  body: unknown;
}

function header(headers: unknown, name: string): string | undefined {
  if (!headers) return undefined;
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  const record = headers as Record<string, string | string[] | undefined>;
  const key = Object.keys(record).find((k) => k.toLowerCase() === name.toLowerCase());
  const value = key === undefined ? undefined : record[key];
  return Array.isArray(value) ? value[0] : value;
}

function parseBody(body: unknown): unknown {
  if (typeof body !== 'string') return body;
  try {
    return JSON.parse(body);
  } catch {
    return body;
  }
}

function asHubspotError(error: unknown): HttpErrorShape | undefined {
  const e = error as { code?: unknown; body?: unknown; headers?: unknown };
  if (e && typeof e.code === 'number' && e.code >= 100 && e.code < 600) {
    return { status: e.code, headers: (n) => header(e.headers, n), body: parseBody(e.body) };
  }
  return undefined;
}

function asLineError(error: unknown): HttpErrorShape | undefined {
  const e = error as { status?: unknown; body?: unknown; headers?: unknown };
  if (e && typeof e.status === 'number' && e.status >= 100 && e.status < 600) {
    return { status: e.status, headers: (n) => header(e.headers, n), body: parseBody(e.body) };
  }
  return undefined;
}

function messageOf(body: unknown, fallback: string): string {
  if (body && typeof body === 'object' && 'message' in body && typeof body.message === 'string') return body.message;
  if (typeof body === 'string' && body.trim()) return body.trim().slice(0, 500);
  return fallback;
}

/** Milliseconds until the next midnight in a time zone (HubSpot's daily limit resets then). */
export function msUntilNextMidnight(now: number, timeZone: string): number {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', { timeZone, hour12: false, hour: 'numeric', minute: 'numeric', second: 'numeric' }).formatToParts(new Date(now)).map((p) => [p.type, p.value]),
  );
  const elapsed = ((Number(parts.hour) % 24) * 3600 + Number(parts.minute) * 60 + Number(parts.second)) * 1000 + (now % 1000);
  return Math.max(1000, 24 * 3600 * 1000 - elapsed);
}

function isNetworkError(error: unknown): boolean {
  const e = error as { name?: string; code?: string; cause?: { code?: string } };
  const code = e?.code ?? e?.cause?.code;
  return (
    e?.name === 'TypeError' ||
    e?.name === 'FetchError' ||
    e?.name === 'AbortError' ||
    e?.name === 'TimeoutError' ||
    (typeof code === 'string' && /^(ECONN|ETIMEDOUT|EPIPE|ENOTFOUND|EAI_AGAIN|UND_ERR)/.test(code))
  );
}

export interface HubspotErrorContext {
  /** what was being done, e.g. "batch upsert of 100 contacts" */
  operation: string;
  /** for DAILY limits */
  timeZone: string;
  now?: number;
}

/** A HubSpot SDK error → the failure Temporal acts on. Never includes the access token. */
export function hubspotFailure(error: unknown, context: HubspotErrorContext): ApplicationFailure {
  const http = asHubspotError(error);
  if (!http) {
    if (isNetworkError(error)) {
      return ApplicationFailure.retryable(`HubSpot unreachable during ${context.operation}: ${(error as Error).message}`, FailureType.Network);
    }
    return ApplicationFailure.retryable(`HubSpot ${context.operation} failed: ${(error as Error)?.message ?? String(error)}`, FailureType.HubspotUnavailable);
  }
  const { status, body } = http;
  const message = messageOf(body, `HTTP ${status}`);
  const correlationId = (body as { correlationId?: string })?.correlationId;
  const details = [{ status, category: (body as { category?: string })?.category, correlationId }];
  if (status === 429) {
    const policy = (body as { policyName?: string })?.policyName;
    if (policy === 'DAILY') {
      return ApplicationFailure.create({
        message: `HubSpot daily API limit reached during ${context.operation}; retrying when it resets`,
        type: FailureType.HubspotDailyLimit,
        nextRetryDelay: msUntilNextMidnight(context.now ?? Date.now(), context.timeZone),
        details,
      });
    }
    const interval = Number(http.headers('x-hubspot-ratelimit-interval-milliseconds')) || 10_000;
    return ApplicationFailure.create({
      message: `HubSpot rate limit (${policy ?? 'unknown policy'}) during ${context.operation}; retrying after the ${interval / 1000} s window`,
      type: FailureType.HubspotRateLimited,
      nextRetryDelay: interval,
      details,
    });
  }
  if (status === 423) {
    return ApplicationFailure.create({ message: `HubSpot locked (423) during ${context.operation}: ${message}`, type: FailureType.HubspotUnavailable, nextRetryDelay: 2000, details });
  }
  if (status >= 500) {
    return ApplicationFailure.create({ message: `HubSpot ${status} during ${context.operation}: ${message}`, type: FailureType.HubspotUnavailable, details });
  }
  if (status === 404) {
    return ApplicationFailure.create({ message: `HubSpot found nothing for ${context.operation}: ${message}`, type: FailureType.HubspotNotFound, nonRetryable: true, details });
  }
  if (status === 409) {
    return ApplicationFailure.create({ message: `HubSpot conflict during ${context.operation}: ${message}`, type: FailureType.HubspotConflict, nonRetryable: true, details });
  }
  return ApplicationFailure.create({
    message: `HubSpot rejected ${context.operation} (${status}): ${message}`,
    type: FailureType.HubspotRejected,
    nonRetryable: true,
    details,
  });
}

/** A LINE SDK (HTTPFetchError) or fetch error → the failure Temporal acts on. */
export function lineFailure(error: unknown, operation: string): ApplicationFailure {
  const http = asLineError(error);
  if (!http) {
    if (isNetworkError(error)) return ApplicationFailure.retryable(`LINE unreachable during ${operation}: ${(error as Error).message}`, FailureType.Network);
    return ApplicationFailure.retryable(`LINE ${operation} failed: ${(error as Error)?.message ?? String(error)}`, FailureType.LineUnavailable);
  }
  const message = messageOf(http.body, `HTTP ${http.status}`);
  const details = [{ status: http.status, requestId: http.headers('x-line-request-id') }];
  if (http.status === 429) return ApplicationFailure.create({ message: `LINE rate limit during ${operation}: ${message}`, type: FailureType.LineRateLimited, details });
  if (http.status >= 500) return ApplicationFailure.create({ message: `LINE ${http.status} during ${operation}: ${message}`, type: FailureType.LineUnavailable, details });
  return ApplicationFailure.create({ message: `LINE rejected ${operation} (${http.status}): ${message}`, type: FailureType.LineRejected, nonRetryable: true, details });
}

export function httpStatusOf(error: unknown): number | undefined {
  return asLineError(error)?.status ?? asHubspotError(error)?.status;
}
