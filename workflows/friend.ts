// One workflow per LINE friend: applies that friend's events one at a time, each at most once.
import {
  ActivityFailure,
  ApplicationFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  log,
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { HubspotActivities, LineActivities, ObserveActivities } from '../activities/index.ts';
import { decideContact, describeDecision } from '../src/contact/index.ts';
import type { ContactDecision, Observation } from '../src/contact/types.ts';
import { hubspotTaskQueue } from '../src/temporal/ids.ts';
import { reapplyFollowStateSignal } from './signals.ts';
import { applyVerifiedEmail } from './verified-email.ts';

/** A friend event as the webhook hands it over: what happened, when, and LINE's event ID. */
export interface FriendEvent {
  /** webhookEventId (LINE), `line-login:<sub>:<iat>` (ID token), `hubspot:<objectId>:<eventId>`: the key that makes redeliveries harmless */
  eventId: string;
  /** `verified-email`: LINE verified the friend's ID token; `hubspot`: the contact got a line_user_id in HubSpot */
  kind: 'follow' | 'unfollow' | 'message' | 'verified-email' | 'hubspot';
  unblocked?: boolean;
  /** `verified-email` only: the e-mail LINE returned for the token (never one a client sent) */
  email?: string;
  /** the event's timestamp (ms): its observation time (for `verified-email` and `hubspot`, the profile read is) */
  timestamp: number;
  redelivery?: boolean;
  /** set on a re-application of an already applied follow-state event (asked for by an import) */
  reapply?: boolean;
}

export interface FriendWorkflowInput {
  channelId: string;
  userId: string;
  timeZone: string;
  hubspotTaskQueue?: string;
  /** events received but not yet applied, carried across continue-as-new */
  pending?: FriendEvent[];
  /** recently applied event IDs, carried across continue-as-new */
  seen?: string[];
  applied?: number;
  failed?: number;
  /** the latest follow-state event applied, for re-application */
  lastFollowEvent?: FriendEvent;
  /** how long without events before the workflow ends (ms) */
  idleMs?: number;
}

export interface AppliedEvent {
  eventId: string;
  kind: FriendEvent['kind'];
  timestamp: number;
  outcome: string;
}

export interface FriendState {
  userId: string;
  pending: number;
  applied: number;
  failed: number;
  duplicatesIgnored: number;
  recent: AppliedEvent[];
}

export const friendEventSignal = defineSignal<[FriendEvent]>('friendEvent');
export const friendStateQuery = defineQuery<FriendState>('friendState');

/** How many applied event IDs a friend remembers: far more than LINE's redelivery window holds. */
export const SEEN_EVENT_IDS = 500;
/** Read-decide-write rounds when a concurrent writer got there first (409) or the contact vanished (404). */
const WRITE_ROUNDS = 4;
const DEFAULT_IDLE_MS = 15 * 60 * 1000;

const line = proxyActivities<LineActivities>({
  startToCloseTimeout: '20 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

/** The import notice and the profile read: a local activity, in the workflow task itself (activities/observe.ts). */
const { observeFriend } = proxyLocalActivities<ObserveActivities>({
  startToCloseTimeout: '20 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

function hubspotActivities(taskQueue: string | undefined) {
  return proxyActivities<HubspotActivities>({
    ...(taskQueue ? { taskQueue } : {}),
    startToCloseTimeout: '30 seconds',
    // Rate limits and outages can last long: keep trying, with waits HubSpot dictates (nextRetryDelay).
    retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '5 minutes' },
  });
}

/** Follow, block, unblock: the events an import coordinates with, and re-applies. */
const isFollowStateEvent = (event: FriendEvent) => event.kind === 'follow' || event.kind === 'unfollow';

/** `profileReadAt`: the observation time of a HubSpot-side enrichment (product.md section 4). */
function observationOf(event: FriendEvent, profileReadAt: number): Observation {
  switch (event.kind) {
    case 'follow':
      return { kind: 'follow', unblocked: Boolean(event.unblocked), observedAt: event.timestamp };
    case 'unfollow':
      return { kind: 'unfollow', observedAt: event.timestamp };
    case 'message':
      return { kind: 'message', observedAt: event.timestamp };
    case 'hubspot':
      return { kind: 'hubspot', observedAt: profileReadAt };
    case 'verified-email':
      return { kind: 'verified-email', email: event.email ?? '', observedAt: profileReadAt };
  }
}

export async function friendWorkflow(input: FriendWorkflowInput): Promise<FriendState> {
  const { userId, timeZone } = input;
  const hubspot = hubspotActivities(input.hubspotTaskQueue ?? hubspotTaskQueue(workflowInfo().taskQueue));
  const pending: FriendEvent[] = [...(input.pending ?? [])];
  const seen = new Set<string>(input.seen ?? []);
  const queued = new Set<string>(pending.map((e) => e.eventId));
  const recent: AppliedEvent[] = [];
  let applied = input.applied ?? 0;
  let duplicatesIgnored = 0;
  let failed = input.failed ?? 0;
  let lastFollowEvent: FriendEvent | undefined = input.lastFollowEvent;

  setHandler(friendEventSignal, (event) => {
    if (seen.has(event.eventId) || queued.has(event.eventId)) {
      duplicatesIgnored++;
      log.info('duplicate LINE event ignored', { eventId: event.eventId, redelivery: event.redelivery });
      return;
    }
    queued.add(event.eventId);
    pending.push(event);
  });
  setHandler(reapplyFollowStateSignal, ({ reason }) => {
    if (!lastFollowEvent || pending.some((e) => e.reapply)) return;
    log.info('re-applying the latest follow state', { reason, eventId: lastFollowEvent.eventId });
    pending.push({ ...lastFollowEvent, reapply: true });
  });
  setHandler(friendStateQuery, () => ({ userId, pending: pending.length, applied, failed, duplicatesIgnored, recent: recent.slice(-20) }));

  const remember = (eventId: string) => {
    seen.add(eventId);
    if (seen.size > SEEN_EVENT_IDS) seen.delete(seen.values().next().value as string);
  };

  const apply = async (event: FriendEvent): Promise<string> => {
    if (event.kind === 'verified-email') {
      return applyVerifiedEmail({ userId, email: event.email ?? '', timeZone, line, hubspot });
    }
    // A blocked user's profile cannot be read: an unfollow needs none. The import notice goes before
    // the contact read (workflows/signals.ts); both happen in one local activity.
    const { profile } = await observeFriend({
      channelId: input.channelId,
      userId,
      readProfile: event.kind !== 'unfollow',
      ...(isFollowStateEvent(event) && !event.reapply ? { notifyImportAt: event.timestamp } : {}),
    });
    const observation = observationOf(event, Date.now());
    const steps: string[] = [];
    for (let round = 1; ; round++) {
      const contacts = await hubspot.readContactsByLineUserId.executeWithOptions({ summary: 'find contact by line_user_id' }, [[userId]]);
      const decision: ContactDecision = decideContact({ userId, observation, profile, existing: contacts[userId] ?? null, now: Date.now(), timeZone });
      const outcome = describeDecision(decision);
      if (decision.action === 'none') return [...steps, outcome].join('; ');
      try {
        // A create never overwrites a contact someone else (an import, a LINE Login) created meanwhile:
        // HubSpot answers 409 on the unique line_user_id, and the next round decides again.
        if (decision.action === 'create') await hubspot.createContact.executeWithOptions({ summary: outcome }, [decision.properties]);
        else await hubspot.updateContactById.executeWithOptions({ summary: `${outcome} (contact ${decision.contactId})` }, [decision.contactId, decision.properties]);
        return [...steps, outcome].join('; ');
      } catch (error) {
        const type = error instanceof ActivityFailure && error.cause instanceof ApplicationFailure ? error.cause.type : undefined;
        if (round >= WRITE_ROUNDS || (type !== 'HubspotConflict' && type !== 'HubspotNotFound')) throw error;
        steps.push(`${outcome}: ${type === 'HubspotConflict' ? 'conflict' : 'contact gone'}, re-reading`);
      }
    }
  };

  const idleMs = input.idleMs ?? DEFAULT_IDLE_MS;
  setCurrentDetails(`LINE friend ${userId}: waiting for events`);
  for (;;) {
    const gotEvent = await condition(() => pending.length > 0, idleMs);
    if (!gotEvent && pending.length === 0) {
      await condition(allHandlersFinished);
      if (pending.length === 0) break;
    }
    // Events of one friend are applied in the order LINE stamped them, one at a time.
    pending.sort((a, b) => a.timestamp - b.timestamp);
    const event = pending.shift()!;
    setCurrentDetails(`applying ${event.kind} of ${new Date(event.timestamp).toISOString()} (${pending.length} more pending)`);
    let outcome: string;
    try {
      outcome = await apply(event);
    } catch (error) {
      // A non-retryable vendor answer (bad token, rejected value): record it and go on with later events.
      failed++;
      outcome = `failed: ${(error as Error).cause instanceof Error ? ((error as Error).cause as Error).message : (error as Error).message}`;
      log.error('LINE event could not be applied', { eventId: event.eventId, kind: event.kind, outcome });
    }
    if (isFollowStateEvent(event) && (!lastFollowEvent || event.timestamp >= lastFollowEvent.timestamp)) lastFollowEvent = { ...event, reapply: false };
    if (event.reapply) continue;
    remember(event.eventId);
    // Only now: a redelivery arriving while the event was being applied is still a duplicate.
    queued.delete(event.eventId);
    applied++;
    recent.push({ eventId: event.eventId, kind: event.kind, timestamp: event.timestamp, outcome });
    if (recent.length > 20) recent.shift();
    log.info('LINE event applied', { eventId: event.eventId, kind: event.kind, outcome });
    setCurrentDetails(`last: ${event.kind} → ${outcome}; applied ${applied}, pending ${pending.length}`);

    if (workflowInfo().continueAsNewSuggested) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof friendWorkflow>({ ...input, pending, seen: [...seen], applied, failed, lastFollowEvent });
    }
  }
  return { userId, pending: 0, applied, failed, duplicatesIgnored, recent };
}
