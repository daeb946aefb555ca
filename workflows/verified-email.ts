// A verified e-mail reaches the friend's contact (product.md sections 3 and 5), inside the contact
// batch that holds the friend (the writer lets no other batch hold it meanwhile). Each round re-reads HubSpot and takes ONE step — merge,
// create or update — so a crash, a retried request or a concurrent change anywhere between two
// steps only means the next round sees the new state and carries on from there.
import { ApplicationFailure, log, type ActivityInterfaceFor } from '@temporalio/workflow';
import type { HubspotActivities, LineActivities } from '../activities/index.ts';
import { decideContact, describeDecision } from '../src/contact/rules.ts';
import type { ExistingContact, Observation } from '../src/contact/types.ts';
import { isEmailAddress, isMissing, normalizeEmail } from '../src/contact/values.ts';
import { FailureType } from '../src/contracts.ts';
import { failureTypeOf } from './failures.ts';

/** Rounds before giving up: a merge and a write need 3; the rest absorb conflicts with concurrent writers. */
export const VERIFIED_EMAIL_ROUNDS = 6;

export interface VerifiedEmailContext {
  userId: string;
  email: string;
  timeZone: string;
  line: ActivityInterfaceFor<LineActivities>;
  hubspot: ActivityInterfaceFor<HubspotActivities>;
}

/** Applies one verified e-mail; returns a one-line outcome (no e-mail addresses in it). */
export async function applyVerifiedEmail({ userId, email: rawEmail, timeZone, line, hubspot }: VerifiedEmailContext): Promise<string> {
  const email = normalizeEmail(rawEmail);
  if (!isEmailAddress(email)) return 'none: invalid-email';
  const profile = await line.readLineProfile.executeWithOptions({ summary: 'read LINE profile (verified e-mail)' }, [userId]);
  // The follow state this tells of was observed when the profile was read.
  const observation: Observation = { kind: 'verified-email', email, observedAt: Date.now() };
  const steps: string[] = [];
  // A write HubSpot refused outright: tried again once after a re-read (the refusal may have been
  // about a state that no longer holds, e.g. a merge already done), then given up.
  let refused: string | undefined;

  for (let round = 1; round <= VERIFIED_EMAIL_ROUNDS; round++) {
    const byLineUserId: ExistingContact | null = (await hubspot.readContactsByLineUserId.executeWithOptions({ summary: 'find contact by line_user_id' }, [[userId]]))[userId] ?? null;
    const byEmail = await hubspot.readContactByEmail.executeWithOptions({ summary: 'find contact by verified e-mail' }, [email]);
    const other = byEmail && byEmail.id !== byLineUserId?.id ? byEmail : null;
    const otherUserId = other?.properties.line_user_id;

    if (other && !isMissing(otherUserId) && otherUserId.trim() !== userId) {
      // Two LINE users are never merged into one contact: the e-mail stays where it is.
      log.warn('verified e-mail belongs to the contact of another LINE user: not merged', { userId, contactId: other.id });
      return [...steps, 'none: e-mail belongs to another LINE user'].join('; ');
    }

    let step: string;
    let write: () => Promise<unknown>;
    if (other && byLineUserId) {
      // Another contact has the e-mail: it survives (ID, history) and takes the LINE contact in.
      step = `merge LINE contact ${byLineUserId.id} into ${other.id}`;
      write = () => hubspot.mergeContacts.executeWithOptions({ summary: step }, [other.id, byLineUserId.id]);
    } else {
      const decision = decideContact({ userId, observation, profile, existing: byLineUserId ?? other, now: Date.now(), timeZone });
      step = describeDecision(decision);
      if (decision.action === 'none') return [...steps, step].join('; ');
      write =
        decision.action === 'create'
          ? () => hubspot.createContact.executeWithOptions({ summary: step }, [decision.properties])
          : () => hubspot.updateContactById.executeWithOptions({ summary: `${step} (contact ${decision.contactId})` }, [decision.contactId, decision.properties]);
      step = decision.action === 'update' ? `${step} (contact ${decision.contactId})` : step;
    }

    try {
      await write();
    } catch (error) {
      const type = failureTypeOf(error);
      if (type === FailureType.HubspotConflict) {
        // Someone took the e-mail or the LINE user ID meanwhile: look again.
        steps.push(`${step}: conflict, re-reading`);
        continue;
      }
      if ((type === FailureType.HubspotRejected || type === FailureType.HubspotNotFound) && refused !== step) {
        refused = step;
        steps.push(`${step}: refused, re-reading`);
        continue;
      }
      throw error;
    }
    steps.push(step);
    // A created or updated contact is complete; after a merge, the survivor is checked next round.
    if (!step.startsWith('merge')) return steps.join('; ');
  }
  throw ApplicationFailure.create({
    message: `the verified e-mail of ${userId} did not settle after ${VERIFIED_EMAIL_ROUNDS} rounds: ${steps.join('; ')}`,
    type: FailureType.VerifiedEmailUnsettled,
    nonRetryable: true,
  });
}
