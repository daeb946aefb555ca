// Every activity's options and retry policy, in one place (visible and tunable here only).
import { proxyActivities, type ActivityOptions } from '@temporalio/workflow';
import type { HubspotActivities, InboxActivities, LineActivities } from '../activities/index.ts';

/** LINE 429/5xx and network failures: retried with backoff; a 4xx other than 404 is final (activities/vendor-errors.ts). */
export const LINE_RETRY = { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' } as const;
/** HubSpot rate limits and outages can last long: keep trying, with the waits HubSpot dictates (nextRetryDelay). */
export const HUBSPOT_RETRY = { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '5 minutes' } as const;
/** Temporal itself unreachable or overloaded: keep trying; the work is safe in the caller's history. */
export const TEMPORAL_RETRY = { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds' } as const;

/** One profile read (verified e-mail). */
export const lineActivities = () => proxyActivities<LineActivities>({ startToCloseTimeout: '20 seconds', retry: LINE_RETRY });

/** Profiles of a batch: heartbeated as reads finish (at most once a second), so a dead worker is noticed in seconds and the retry resumes. */
export const lineBatchActivities = () => proxyActivities<LineActivities>({ startToCloseTimeout: '2 minutes', heartbeatTimeout: '15 seconds', retry: LINE_RETRY });

/** A follower page. */
export const followerPageActivities = () => proxyActivities<LineActivities>({ startToCloseTimeout: '1 minute', retry: LINE_RETRY });

/** HubSpot: one activity is one request, on the queue whose rate limit paces all workers together. */
export const hubspotActivities = (taskQueue: string) => proxyActivities<HubspotActivities>({ taskQueue, startToCloseTimeout: '30 seconds', retry: HUBSPOT_RETRY } satisfies ActivityOptions);

/** Hand-offs to other workflows (an import's rows to the writers). */
export const inboxActivities = () => proxyActivities<InboxActivities>({ startToCloseTimeout: '1 minute', retry: TEMPORAL_RETRY });
