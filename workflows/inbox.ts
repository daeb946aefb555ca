// A channel's webhook inbox (one of LINE_INBOX_SHARDS): the webhook's durable hand-off point.
//
// The webhook answers LINE as soon as Temporal holds its events; one signal carries every event that
// arrived while the previous signal to this shard was in flight (group commit), so the ack costs one
// history write per batch instead of one workflow start per event. This workflow then hands the
// events, in the order received, to each friend's own workflow, which applies them one at a time and
// each event ID once.
import { allHandlersFinished, condition, continueAsNew, defineQuery, defineSignal, log, proxyActivities, setCurrentDetails, setHandler, workflowInfo } from '@temporalio/workflow';
import type { HandOverResult, InboxActivities, InboxItem } from '../activities/inbox.ts';
import type { FriendTarget } from '../src/temporal/friend-client.ts';

export type { InboxItem };

/** One webhook signal: its events, and where friends' workflows run (the sender's current settings, so a change applies at once). */
export interface InboxBatch {
  target: FriendTarget;
  items: InboxItem[];
}

export interface InboxWorkflowInput {
  channelId: string;
  shard: number;
  /** where friends' workflows run, and their settings (each batch brings the sender's current ones) */
  target: FriendTarget;
  /** events received but not yet handed over, carried across continue-as-new */
  backlog?: InboxItem[];
  received?: number;
  delivered?: number;
  refused?: number;
  /** the largest backlog carried into continue-as-new (default 5,000 events, well under a payload's 2 MB) */
  maxCarriedBacklog?: number;
  /** hand-overs made without the pace so far, because the history had to continue as new */
  unpacedHandOvers?: number;
}

export interface InboxState {
  channelId: string;
  shard: number;
  /** events waiting to be handed over (including those being handed over now) */
  backlog: number;
  received: number;
  delivered: number;
  refused: number;
  /** the last refusals Temporal gave for good, with why */
  recentRefusals: HandOverResult['refused'];
  /** hand-overs made without the pace, so that a history grown too long with a backlog too large to carry could continue as new */
  unpacedHandOvers: number;
}

export const inboxEventsSignal = defineSignal<[InboxBatch]>('inboxEvents');
export const inboxStateQuery = defineQuery<InboxState>('inboxState');

/** Events per hand-over activity. */
export const HAND_OVER_BATCH = 200;
/** A backlog larger than this is not carried into continue-as-new (its input would grow too large); it drains first. */
const MAX_CARRIED_BACKLOG = 5000;
const DEFAULT_IDLE_MS = 15 * 60 * 1000;

const { handOverFriendEvents } = proxyActivities<InboxActivities>({
  // Paced by LINE_HANDOVER_PER_SECOND, a hand-over may take minutes; a lost worker shows in the heartbeats.
  startToCloseTimeout: '1 hour',
  heartbeatTimeout: '30 seconds',
  // Temporal itself unreachable or overloaded: keep trying; the events are safe in this history.
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds' },
});

export async function inboxWorkflow(input: InboxWorkflowInput): Promise<InboxState> {
  const { channelId, shard } = input;
  let target = input.target;
  const backlog: InboxItem[] = [...(input.backlog ?? [])];
  let received = input.received ?? 0;
  let delivered = input.delivered ?? 0;
  let refused = input.refused ?? 0;
  let handingOver = 0;
  let unpacedHandOvers = input.unpacedHandOvers ?? 0;
  const maxCarried = input.maxCarriedBacklog ?? MAX_CARRIED_BACKLOG;
  const recentRefusals: HandOverResult['refused'] = [];
  const state = (): InboxState => ({
    channelId,
    shard,
    backlog: backlog.length + handingOver,
    received,
    delivered,
    refused,
    recentRefusals: [...recentRefusals],
    unpacedHandOvers,
  });

  setHandler(inboxEventsSignal, (batch) => {
    backlog.push(...batch.items);
    received += batch.items.length;
    target = batch.target;
  });
  setHandler(inboxStateQuery, state);

  setCurrentDetails(`LINE webhook inbox ${shard} of channel ${channelId}: waiting for events`);
  for (;;) {
    // Idle as long as a friend's workflow (FRIEND_IDLE_SECONDS, as the latest batch says); the next event starts it again.
    if (!(await condition(() => backlog.length > 0, target.idleMs ?? DEFAULT_IDLE_MS))) {
      await condition(allHandlersFinished);
      if (backlog.length === 0) break;
    }
    // The history must continue as new before it reaches Temporal's limits, but a backlog too large to
    // carry must shrink first: then the pace gives way (events are never dropped to keep it).
    const unpaced = workflowInfo().continueAsNewSuggested && backlog.length > maxCarried;
    if (unpaced) unpacedHandOvers++;
    const batch = backlog.splice(0, HAND_OVER_BATCH);
    handingOver = batch.length;
    const friends = new Set(batch.map((item) => item.userId)).size;
    setCurrentDetails(
      `handing ${batch.length} events to ${friends} friends' workflows${unpaced ? ' without the pace (the history must continue as new)' : ''} (${backlog.length} more waiting); delivered ${delivered} so far`,
    );
    const result = await handOverFriendEvents.executeWithOptions({ summary: `hand ${batch.length} LINE events to ${friends} friends' workflows${unpaced ? ', unpaced' : ''}` }, [
      target,
      batch,
      { paced: !unpaced },
    ]);
    handingOver = 0;
    delivered += result.delivered;
    refused += result.refused.length;
    if (result.refused.length) {
      log.error('LINE events Temporal refused for good', { refused: result.refused });
      recentRefusals.push(...result.refused);
      recentRefusals.splice(0, Math.max(0, recentRefusals.length - 20));
    }
    setCurrentDetails(`delivered ${delivered} of ${received} events to friends' workflows; ${backlog.length} waiting${refused ? `; ${refused} refused by Temporal (see the query inboxState)` : ''}`);

    if (workflowInfo().continueAsNewSuggested && backlog.length <= maxCarried) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof inboxWorkflow>({ ...input, target, backlog, received, delivered, refused, unpacedHandOvers });
    }
  }
  return state();
}
