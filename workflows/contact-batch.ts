// One batch of a contact writer: the read-decide-write loop every producer's events go through.
// Friends' profiles (LINE, in parallel) and contacts (one HubSpot batch read by line_user_id), the
// pure rules folding each friend's observations in timestamp order, then one batch create and one
// batch update. An input HubSpot refuses is read again (by line_user_id, then by the friend's dummy
// e-mail: a contact that lost its line_user_id is adopted) and decided again; never a failed batch.
// Its writer holds every friend of the batch while it runs: one writer per friend, by construction.
import { getExternalWorkflowHandle, log, setCurrentDetails, workflowInfo } from '@temporalio/workflow';
import { failureTypeOf, reasonOf } from './failures.ts';
import type { ContactWrite, ContactWriteResult } from '../activities/index.ts';
import { describeDecision, dummyEmail, foldObservations, isMissing } from '../src/contact/index.ts';
import type { ContactDecision, ExistingContact, LineProfile, Observation } from '../src/contact/types.ts';
import { batchDoneSignal, FailureType, type AppliedEvent, type ContactBatchResult, type FriendEvent, type FriendOutcome, type ImportRowOutcome } from '../src/contracts.ts';
import type { BatchFriend } from '../src/batching/queue.ts';
import { hubspotActivities, lineActivities, lineBatchActivities } from './options.ts';
import { applyVerifiedEmail } from './verified-email.ts';

export type { ContactBatchResult, FriendOutcome };

export interface ContactBatchInput {
  channelId: string;
  timeZone: string;
  hubspotTaskQueue: string;
  friends: BatchFriend[];
  /** the writer to report to (by workflow ID: its current run) and this batch's ID there */
  writerWorkflowId?: string;
  batchId?: string;
}

/** Read-decide-write rounds for inputs HubSpot refused (a concurrent create, an orphaned dummy e-mail, a deleted contact). */
export const WRITE_ROUNDS = 3;

/** A friend's observations, in timestamp order: events and import rows alike. */
interface Planned {
  userId: string;
  observations: Observation[];
  labels: Array<{ eventId: string; kind: AppliedEvent['kind']; timestamp: number }>;
  needsProfile: boolean;
}

function observationOf(event: FriendEvent, profileReadAt: number): Observation {
  switch (event.kind) {
    case 'follow':
      return { kind: 'follow', unblocked: Boolean(event.unblocked), observedAt: event.timestamp };
    case 'unfollow':
      return { kind: 'unfollow', observedAt: event.timestamp };
    case 'message':
      return { kind: 'message', ...(event.message !== undefined ? { message: event.message } : {}), observedAt: event.timestamp };
    case 'hubspot':
      return { kind: 'hubspot', observedAt: profileReadAt };
    case 'verified-email':
      return { kind: 'verified-email', email: event.email ?? '', observedAt: profileReadAt };
  }
}

function plan(friend: BatchFriend, profileReadAt: number): Planned {
  type Item = { at: number; observation: Observation; label: Planned['labels'][number] };
  const items: Item[] = [
    ...friend.events
      .filter((e) => e.kind !== 'verified-email')
      .map((e) => ({ at: e.timestamp, observation: observationOf(e, profileReadAt), label: { eventId: e.eventId, kind: e.kind, timestamp: e.timestamp } })),
    ...friend.imports.map((row) => ({
      at: row.readAt,
      observation: { kind: 'import', observedAt: row.readAt } as Observation,
      label: { eventId: `import:${row.importId}:${row.page}`, kind: 'import' as const, timestamp: row.readAt },
    })),
  ].sort((a, b) => a.at - b.at);
  return {
    userId: friend.userId,
    observations: items.map((i) => i.observation),
    labels: items.map((i) => i.label),
    needsProfile: items.some((i) => i.observation.kind !== 'unfollow'),
  };
}

const importOutcomeOf = (decision: ContactDecision): ImportRowOutcome => {
  if (decision.action === 'create') return 'created';
  if (decision.action === 'update') return 'updated';
  if (decision.reason === 'not-a-friend') return 'skipped';
  if (decision.reason === 'invalid-line-user-id') return 'failed';
  return 'unchanged';
};

export async function contactBatchWorkflow(input: ContactBatchInput): Promise<ContactBatchResult> {
  const { timeZone, friends } = input;
  const hubspot = hubspotActivities(input.hubspotTaskQueue);
  const label = `${friends.length} friends`;
  setCurrentDetails(`applying ${friends.reduce((n, f) => n + f.events.length + f.imports.length, 0)} events of ${label}`);

  const toRead = friends.map((f) => f.userId);
  const needProfile = friends.filter((f) => f.imports.length > 0 || f.events.some((e) => e.kind !== 'unfollow' && e.kind !== 'verified-email')).map((f) => f.userId);
  // Profiles (LINE) and contacts (HubSpot) do not depend on each other: read both at once.
  const [profiles, contacts] = await Promise.all([
    needProfile.length
      ? lineBatchActivities().readLineProfiles.executeWithOptions({ summary: `read ${needProfile.length} LINE profiles` }, [needProfile])
      : Promise.resolve({ profiles: {} as Record<string, LineProfile | null>, rejected: {} as Record<string, string>, readAt: Date.now() }),
    hubspot.readContactsByLineUserId.executeWithOptions({ summary: `read ${toRead.length} contacts by line_user_id` }, [toRead]),
  ]);

  const plans = new Map(friends.map((f) => [f.userId, plan(f, profiles.readAt)]));
  const outcomes = new Map<string, FriendOutcome>(friends.map((f) => [f.userId, { userId: f.userId, events: [], imports: [] }]));
  const failed = (userId: string, reason: string) => {
    outcomes.get(userId)!.failure = reason;
  };
  for (const [userId, reason] of Object.entries(profiles.rejected)) failed(userId, `LINE refused the profile: ${reason}`);

  /** Decides every friend against what HubSpot holds; records each step and returns the writes. */
  const decide = (userIds: string[], known: Record<string, ExistingContact | null>) => {
    const decisions = new Map<string, ContactDecision>();
    for (const userId of userIds) {
      const planned = plans.get(userId)!;
      if (planned.observations.length === 0) continue;
      const { decision, steps } = foldObservations({
        userId,
        observations: planned.observations,
        profile: profiles.profiles[userId] ?? null,
        existing: known[userId] ?? null,
        now: Date.now(),
        timeZone,
      });
      decisions.set(userId, decision);
      outcomes.get(userId)!.events = planned.labels.map((l, i) => ({ ...l, outcome: describeDecision(steps[i]!) }));
    }
    return decisions;
  };

  let pending = decide(
    toRead.filter((id) => !(id in profiles.rejected)),
    contacts,
  );
  const final = new Map<string, ContactDecision>();
  for (let round = 1; pending.size > 0; round++) {
    const creates: ContactWrite[] = [];
    const updates: ContactWrite[] = [];
    for (const [userId, decision] of pending) {
      if (decision.action === 'create') creates.push({ userId, properties: decision.properties });
      else if (decision.action === 'update') updates.push({ userId, contactId: decision.contactId, properties: decision.properties });
      else final.set(userId, decision);
    }
    const again = round > 1 ? ` (round ${round})` : '';
    const write = (writes: ContactWrite[], run: () => Promise<ContactWriteResult>): Promise<ContactWriteResult> =>
      writes.length === 0
        ? Promise.resolve({ written: [], failed: [] })
        : run().catch((error: unknown) => {
            // A whole batch refused for good (e.g. a value HubSpot rejects): its inputs fail, the rest goes on.
            if (failureTypeOf(error) === FailureType.HubspotConflict || failureTypeOf(error) === FailureType.HubspotNotFound) {
              return { written: [], failed: writes.map((w) => ({ userId: w.userId, reason: reasonOf(error), category: 'CONFLICT' })) };
              // (a batch without per-input results: every input is read again)
            }
            if (failureTypeOf(error) === FailureType.HubspotRejected) return { written: [], failed: writes.map((w) => ({ userId: w.userId, reason: reasonOf(error), category: 'REJECTED' })) };
            throw error;
          });
    const [created, updated] = await Promise.all([
      write(creates, () => hubspot.createContacts.executeWithOptions({ summary: `create ${creates.length} contacts${again}: ${summaryOf(creates, pending)}` }, [creates])),
      write(updates, () => hubspot.updateContacts.executeWithOptions({ summary: `update ${updates.length} contacts${again}: ${summaryOf(updates, pending)}` }, [updates])),
    ]);
    for (const w of [...created.written, ...updated.written]) final.set(w.userId, pending.get(w.userId)!);
    // A conflict or a vanished contact may be gone on a fresh read; any other refusal (a value HubSpot rejects) is final.
    const rereadable = (f: { category?: string }) => f.category === undefined || f.category === 'CONFLICT' || f.category === 'OBJECT_NOT_FOUND';
    const refused = [...created.failed, ...updated.failed].filter(rereadable);
    for (const f of [...created.failed, ...updated.failed].filter((f) => !rereadable(f))) failed(f.userId, f.reason);
    if (refused.length === 0) break;
    if (round >= WRITE_ROUNDS) {
      for (const f of refused) failed(f.userId, f.reason);
      break;
    }
    log.warn('HubSpot refused some contacts of a batch; reading and deciding them again', { refused: refused.length, round, reason: refused[0]?.reason });
    const ids = refused.map((f) => f.userId);
    const byUserId = await hubspot.readContactsByLineUserId.executeWithOptions({ summary: `read ${ids.length} refused contacts again by line_user_id` }, [ids]);
    // A create refused on the unique e-mail: a contact holds the friend's dummy e-mail without its
    // line_user_id (cleared, a CSV round trip, a merge). That contact is the friend's own: adopt it.
    const orphans = ids.filter((id) => !byUserId[id]);
    const byEmail = orphans.length
      ? await hubspot.readContactsByEmail.executeWithOptions({ summary: `read ${orphans.length} contacts by their friend's dummy e-mail` }, [orphans.map(dummyEmail)])
      : {};
    const known: Record<string, ExistingContact | null> = {};
    for (const id of ids) {
      const adopted = byEmail[dummyEmail(id).toLowerCase()];
      known[id] = byUserId[id] ?? (adopted && (isMissing(adopted.properties.line_user_id) || adopted.properties.line_user_id === id) ? adopted : null);
    }
    pending = decide(ids, known);
  }

  // Verified e-mails: steps of their own (a merge), after the friend's other events, under the same hold.
  const line = lineActivities();
  await Promise.all(
    friends
      .filter((f) => f.events.at(-1)?.kind === 'verified-email' && !outcomes.get(f.userId)!.failure)
      .map(async (f) => {
        const event = f.events.at(-1)!;
        let outcome: string;
        try {
          outcome = await applyVerifiedEmail({ userId: f.userId, email: event.email ?? '', timeZone, line, hubspot });
        } catch (error) {
          outcome = `failed: ${reasonOf(error)}`;
        }
        outcomes.get(f.userId)!.events.push({ eventId: event.eventId, kind: event.kind, timestamp: event.timestamp, outcome });
      }),
  );

  for (const friend of friends) {
    const outcome = outcomes.get(friend.userId)!;
    const decision = final.get(friend.userId);
    if (outcome.failure) {
      outcome.events = outcome.events.map((e) => (e.kind === 'verified-email' ? e : { ...e, outcome: `failed: ${outcome.failure}` }));
      if (!outcome.events.length) outcome.events = friend.events.map((e) => ({ eventId: e.eventId, kind: e.kind, timestamp: e.timestamp, outcome: `failed: ${outcome.failure}` }));
    }
    outcome.imports = friend.imports.map((row) =>
      outcome.failure ? { ...row, outcome: 'failed' as const, reason: outcome.failure } : { ...row, outcome: decision ? importOutcomeOf(decision) : 'unchanged' },
    );
  }
  const result = [...outcomes.values()];
  const written = [...final.values()].filter((d) => d.action !== 'none').length;
  setCurrentDetails(`applied: ${written} contacts written, ${result.filter((o) => o.failure).length} failed, of ${label} (${workflowInfo().workflowId})`);
  if (input.writerWorkflowId && input.batchId) {
    await getExternalWorkflowHandle(input.writerWorkflowId)
      .signal(batchDoneSignal, { batchId: input.batchId, result: { friends: result } })
      .catch((error: unknown) => log.error("the writer is gone: it did not get this batch's result", { writer: input.writerWorkflowId, reason: (error as Error).message }));
  }
  return { friends: result };
}

/** `FOLLOW 28, IMPORT 2` / `line_follow 3, line_user_name 1`: what a write does, without names or e-mails. */
function summaryOf(writes: ContactWrite[], decisions: Map<string, ContactDecision>): string {
  const counts = new Map<string, number>();
  for (const w of writes) {
    const d = decisions.get(w.userId)!;
    const keys = d.action === 'create' ? [d.properties.line_created_via ?? 'LINE'] : d.action === 'update' ? Object.keys(d.properties) : [];
    for (const k of keys) counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  return [...counts].map(([k, n]) => `${k} ${n}`).join(', ');
}
