// LINE activities: profile reads and follower pages through the Messaging API client.
import type { messagingApi } from '@line/bot-sdk';
import { ApplicationFailure } from '@temporalio/common';
import type { LineProfile } from '../src/contact/types.ts';
import { FailureType, httpStatusOf, lineFailure } from './vendor-errors.ts';

export interface LineActivityDeps {
  line: messagingApi.MessagingApiClient;
}

export interface FollowerPage {
  userIds: string[];
  next?: string;
  /** when LINE answered: the observation time of every friend on this page */
  readAt: number;
}

export function createLineActivities({ line }: LineActivityDeps) {
  return {
    /** The friend's profile, or null when LINE says 404: unknown, not a friend, or blocked. */
    async readLineProfile(userId: string): Promise<LineProfile | null> {
      try {
        const profile = await line.getProfile(userId);
        return { userId: profile.userId, displayName: profile.displayName, ...(profile.pictureUrl ? { pictureUrl: profile.pictureUrl } : {}) };
      } catch (error) {
        if (httpStatusOf(error) === 404) return null;
        throw lineFailure(error, `profile read of ${userId}`);
      }
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

export type LineActivities = ReturnType<typeof createLineActivities>;
