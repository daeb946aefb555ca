// LINE activities: profile reads and follower pages through the Messaging API client.
import type { messagingApi } from '@line/bot-sdk';
import { activityInfo, cancellationSignal, heartbeat } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { LineProfile } from '../src/contact/types.ts';
import { FailureType } from '../src/contracts.ts';
import { httpStatusOf, lineFailure } from './vendor-errors.ts';

export interface LineActivityDeps {
  line: messagingApi.MessagingApiClient;
}

export interface FollowerPage {
  userIds: string[];
  next?: string;
  /** when LINE answered: the observation time of every friend on this page */
  readAt: number;
}

/** Profiles of a batch of friends: `null` where LINE says 404; `rejected`: LINE refused to say (e.g. 400), with why. */
export interface LineProfileBatch {
  profiles: Record<string, LineProfile | null>;
  rejected: Record<string, string>;
  /** when the reads ended: the observation time of a HubSpot-side enrichment */
  readAt: number;
}

/** Profile reads of one batch that run at once: well under LINE's 2,000 requests/s, enough to keep HubSpot busy. */
export const PROFILE_READ_CONCURRENCY = 16;
/** `readLineProfiles` heartbeats its progress at most this often (its heartbeat timeout is 15 s, workflows/options.ts). */
export const HEARTBEAT_EVERY_MS = 1000;

/** Batch size limit of `readLineProfiles`: the import's batch (HubSpot's batch limit is 100). */
export const PROFILE_BATCH_LIMIT = 100;

export function createLineActivities({ line }: LineActivityDeps) {
  /** The friend's profile, or null when LINE says 404: unknown, not a friend, or blocked. */
  async function readLineProfile(userId: string): Promise<LineProfile | null> {
    try {
      const profile = await line.getProfile(userId);
      return {
        userId: profile.userId,
        displayName: profile.displayName,
        ...(profile.pictureUrl ? { pictureUrl: profile.pictureUrl } : {}),
        ...(profile.language ? { language: profile.language } : {}),
      };
    } catch (error) {
      if (httpStatusOf(error) === 404) return null;
      throw lineFailure(error, `profile read of ${userId}`);
    }
  }

  return {
    readLineProfile,

    /**
     * Profiles of up to 100 friends, `concurrency` reads at a time. Each finished read is
     * heartbeated, so when a read fails (LINE 429/5xx, network) or the worker dies, Temporal's
     * retry resumes with the profiles already read instead of reading them again.
     */
    async readLineProfiles(userIds: string[], concurrency: number = PROFILE_READ_CONCURRENCY): Promise<LineProfileBatch> {
      if (userIds.length > PROFILE_BATCH_LIMIT) {
        throw ApplicationFailure.create({ message: `readLineProfiles takes at most ${PROFILE_BATCH_LIMIT} user IDs, got ${userIds.length}`, type: FailureType.InvalidArgument, nonRetryable: true });
      }
      const done = resumedBatch(activityInfo().heartbeatDetails);
      const todo = userIds.filter((id) => !(id in done.profiles) && !(id in done.rejected));
      const signal = cancellationSignal();
      let failure: ApplicationFailure | undefined;
      let next = 0;
      // Every heartbeat serialises the whole batch so far, and Temporal's core sends one to the server only
      // every 80 % of the heartbeat timeout: one per read would serialise a 100-friend batch 100 times
      // (the worker's main allocation during an import). One per HEARTBEAT_EVERY_MS keeps the liveness
      // signal and the resume point; a failure heartbeats the full progress (below).
      let lastBeat = -Infinity;
      const beat = () => {
        const now = Date.now();
        if (now - lastBeat < HEARTBEAT_EVERY_MS) return;
        lastBeat = now;
        heartbeat(done);
      };
      const reader = async () => {
        while (failure === undefined && !signal.aborted && next < todo.length) {
          const userId = todo[next++]!;
          try {
            done.profiles[userId] = await readLineProfile(userId);
          } catch (error) {
            const mapped = error as ApplicationFailure;
            // One friend LINE will never answer for (e.g. 400) must not hold up the other 99.
            if (mapped.nonRetryable) done.rejected[userId] = mapped.message;
            else failure ??= mapped;
          }
          beat();
        }
      };
      await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, todo.length)) }, reader));
      if (failure) {
        // The progress so far goes with the failure (the SDK sends a pending heartbeat before it), so the retry resumes from it.
        heartbeat(done);
        throw failure;
      }
      if (signal.aborted) throw signal.reason instanceof Error ? signal.reason : new Error('profile reads cancelled');
      // The answer in the batch's order (heartbeats may have resumed it in another order).
      const profiles: LineProfileBatch['profiles'] = {};
      const rejected: LineProfileBatch['rejected'] = {};
      for (const id of userIds) {
        if (id in done.rejected) rejected[id] = done.rejected[id]!;
        else profiles[id] = done.profiles[id] ?? null;
      }
      return { profiles, rejected, readAt: Date.now() };
    },

    /** One page of follower IDs (verified and premium accounts only). */
    async readFollowerPage(start: string | undefined, limit: number): Promise<FollowerPage> {
      try {
        const page = await line.getFollowers(start, limit);
        return { userIds: page.userIds, ...(page.next ? { next: page.next } : {}), readAt: Date.now() };
      } catch (error) {
        if (httpStatusOf(error) === 403) {
          throw ApplicationFailure.create({
            message: 'this LINE account is not verified or premium: LINE refuses to list its followers (403)',
            type: FailureType.LineAccountNotAllowed,
            nonRetryable: true,
          });
        }
        throw lineFailure(error, 'follower list read');
      }
    },
  };
}

/** The progress a previous attempt heartbeated, or a fresh start. */
function resumedBatch(details: unknown): Omit<LineProfileBatch, 'readAt'> {
  const d = details as Partial<LineProfileBatch> | undefined;
  return {
    profiles: d && typeof d.profiles === 'object' && d.profiles !== null ? { ...d.profiles } : {},
    rejected: d && typeof d.rejected === 'object' && d.rejected !== null ? { ...d.rejected } : {},
  };
}

export type LineActivities = ReturnType<typeof createLineActivities>;
