// Several observations of one friend in one batch, folded into the one write HubSpot gets: each is
// decided against the contact as the ones before it left it, in the order given (timestamp order).
import { applyDecision, decideContact, describeDecision } from './rules.ts';
import type { ContactDecision, ExistingContact, LineProfile, Observation } from './types.ts';

export interface FoldInput {
  userId: string;
  /** in the order they are to be applied */
  observations: Observation[];
  /** the profile read for this batch; `null`: not a friend (LINE 404) or not read (only blocks) */
  profile: LineProfile | null;
  existing: ExistingContact | null;
  now: number;
  timeZone: string;
}

export interface FoldResult {
  /** what to write: the contact that results, or the changes to the existing one */
  decision: ContactDecision;
  /** each observation's own decision, in order: what the Temporal UI shows per event */
  steps: ContactDecision[];
}

/** An unwritten contact's ID while folding (a create followed by updates). */
const NEW = 'new';

export function foldObservations({ userId, observations, profile, existing, now, timeZone }: FoldInput): FoldResult {
  let current = existing;
  const steps: ContactDecision[] = [];
  for (const observation of observations) {
    // An unfollow's profile is not read: a blocked user has none.
    const step = decideContact({ userId, observation, profile: observation.kind === 'unfollow' ? null : profile, existing: current, now, timeZone });
    steps.push(step);
    current = applyDecision(current, step, NEW);
  }
  const last = steps.at(-1);
  const unchanged = (): ContactDecision => (last?.action === 'none' ? last : { action: 'none', reason: 'unchanged' });
  if (current === null) return { decision: unchanged(), steps };
  if (existing === null) return { decision: { action: 'create', properties: definedOnly(current.properties) }, steps };
  const changes: Record<string, string> = {};
  for (const [name, value] of Object.entries(current.properties)) {
    if (value !== undefined && value !== null && (existing.properties as Record<string, string | null | undefined>)[name] !== value) changes[name] = value;
  }
  if (Object.keys(changes).length === 0) return { decision: unchanged(), steps };
  return { decision: { action: 'update', contactId: existing.id, properties: changes }, steps };
}

function definedOnly(properties: ExistingContact['properties']): Record<string, string> {
  return Object.fromEntries(Object.entries(properties).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
}

/** One line per folded step, joined: e.g. `follow: create FOLLOW contact; message: none: unchanged`. */
export function describeSteps(kinds: string[], steps: ContactDecision[]): string {
  return steps.map((step, i) => `${kinds[i] ?? '?'}: ${describeDecision(step)}`).join('; ');
}
