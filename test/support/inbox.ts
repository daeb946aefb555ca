// Reads what a channel's contact writers (inbox workflows) received, from their histories: every run, open or
// closed, with or without a worker. Tests and the webhook benchmark check acceptance with it.
import type { Client } from '@temporalio/client';
import { inboxEventsSignal, type InboxBatch, type InboxItem } from '../../src/contracts.ts';

export interface InboxContents {
  /** LINE users whose events Temporal accepted into an inbox */
  userIds: Set<string>;
  /** every accepted event, in the order of the signals */
  items: InboxItem[];
  /** signals the webhook sent (one per batch) */
  signals: number;
  /** inbox runs (continue-as-new and restarts after an idle end make more) */
  runs: number;
}

export async function inboxContents(client: Client, channelId: string): Promise<InboxContents> {
  const contents: InboxContents = { userIds: new Set(), items: [], signals: 0, runs: 0 };
  for await (const execution of client.workflow.list({ query: `LineChannelId = "${channelId}" AND LineSyncKind = "inbox"` })) {
    contents.runs++;
    const history = await client.workflow.getHandle(execution.workflowId, execution.runId).fetchHistory();
    for (const event of history.events ?? []) {
      // Producers' events only: a writer also gets import rows and batch reports (batchDone, from a batch an earlier run started) by signal.
      const signalled = event.workflowExecutionSignaledEventAttributes;
      const payload = signalled?.signalName === inboxEventsSignal.name ? signalled.input?.payloads?.[0]?.data : undefined;
      if (!payload) continue;
      const { items } = JSON.parse(Buffer.from(payload).toString('utf8')) as InboxBatch;
      contents.signals++;
      for (const item of items) {
        contents.items.push(item);
        contents.userIds.add(item.userId);
      }
    }
  }
  return contents;
}
