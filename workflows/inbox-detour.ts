// Where the webhook puts events while its writer is between two runs (continue-as-new): Temporal
// refuses signals to a closing workflow ("workflow is closing") until the next run exists, which on a
// busy server takes a second or more, longer than LINE should wait for its answer. The events are
// durably here at once, and this workflow hands them to the writer's next run (a signal-with-start,
// retried until the writer takes them), then ends when no more come.
import { allHandlersFinished, condition, setCurrentDetails, setHandler } from '@temporalio/workflow';
import { inboxEventsSignal, type ContactTarget, type InboxItem } from '../src/contracts.ts';
import { inboxActivities } from './options.ts';

export interface InboxDetourInput {
  channelId: string;
  shard: number;
  target: ContactTarget;
}

/** How long a detour waits for more events before it ends. */
const DETOUR_IDLE = '5 seconds';

export async function inboxDetourWorkflow({ channelId, shard, target: initial }: InboxDetourInput): Promise<number> {
  let target = initial;
  const pending: InboxItem[] = [];
  let forwarded = 0;
  setHandler(inboxEventsSignal, (batch) => {
    target = { ...target, ...batch.target };
    pending.push(...batch.items);
  });
  const { forwardToInbox } = inboxActivities();
  for (;;) {
    if (!(await condition(() => pending.length > 0, DETOUR_IDLE))) {
      await condition(allHandlersFinished);
      if (pending.length === 0) return forwarded;
    }
    const items = pending.splice(0);
    setCurrentDetails(`handing ${items.length} events to contact writer ${shard} of channel ${channelId}`);
    await forwardToInbox.executeWithOptions({ summary: `hand ${items.length} events to the contact writer` }, [target, shard, items]);
    forwarded += items.length;
    setCurrentDetails(`handed ${forwarded} events to contact writer ${shard} of channel ${channelId}`);
  }
}
