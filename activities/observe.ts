// The first step of applying a friend's event, as one local activity: tell a running import of the
// channel that this friend's follow state is being set now, and read the friend's LINE profile.
//
// It runs inside the friend's workflow task (a local activity): no activity task round trip through
// Temporal, one marker in the history instead of a scheduled/started/completed trio and a signal
// to an import that is usually not running. The import notice is sent before the activity
// completes, so it still reaches the import before the friend's workflow reads the contact.
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { LineProfile } from '../src/contact/types.ts';
import { importWorkflowId } from '../src/temporal/ids.ts';
import { friendObservedSignal } from '../workflows/signals.ts';
import type { LineActivities } from './line.ts';

export interface ObserveActivityDeps {
  /** the LINE activity itself, called here as a function */
  readLineProfile: LineActivities['readLineProfile'];
  temporal: Client;
}

export interface ObserveFriendInput {
  channelId: string;
  userId: string;
  /** read the profile (not for a block: LINE answers 404 for a user who blocked the account) */
  readProfile: boolean;
  /** tell the channel's running import, with the event's observation time */
  notifyImportAt?: number;
}

export interface FriendObservation {
  /** the profile; null when LINE says 404 (not a friend) or when not read */
  profile: LineProfile | null;
  /** whether an import of the channel was running and got the notice */
  importNotified: boolean;
}

export function createObserveActivities({ readLineProfile, temporal }: ObserveActivityDeps) {
  /** The notice first: the import must hold it before this friend's contact is read (workflows/signals.ts). */
  async function notifyImport(channelId: string, userId: string, observedAt: number): Promise<boolean> {
    try {
      await temporal.workflow.getHandle(importWorkflowId(channelId)).signal(friendObservedSignal, { userId, observedAt });
      return true;
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) return false; // no import is running: nothing to coordinate with
      throw error;
    }
  }

  return {
    async observeFriend(input: ObserveFriendInput): Promise<FriendObservation> {
      const [profile, importNotified] = await Promise.all([
        input.readProfile ? readLineProfile(input.userId) : Promise.resolve(null),
        input.notifyImportAt === undefined ? Promise.resolve(false) : notifyImport(input.channelId, input.userId, input.notifyImportAt),
      ]);
      return { profile, importNotified };
    },
  };
}

export type ObserveActivities = ReturnType<typeof createObserveActivities>;
