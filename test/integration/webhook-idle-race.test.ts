// Events that arrive just as an idle workflow ends: Temporal refuses a signal to a closing workflow
// for a moment ("workflow is closing"), and the webhook must still answer 200 within its deadline.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { friendWorkflowId } from '../../src/temporal/ids.ts';
import { newLineUserId, sendLineWebhook, textMessageEvent } from '../../src/sandbox/line-webhook.ts';
import { friendStateQuery } from '../../workflows/friend.ts';
import { eventually, startStack, type Stack } from '../support/stack.ts';
import { seedFriend } from '../support/sandbox-http.ts';

let stack: Stack;
before(async () => {
  // Inboxes and friends' workflows end after 1 s without events.
  stack = await startStack({ env: { FRIEND_IDLE_SECONDS: '1' } });
});
after(async () => {
  await stack?.stop();
});

test('events sent just as the idle inbox and friend workflows end are all acknowledged and applied once', async () => {
  const userId = newLineUserId();
  await seedFriend(stack.line.url, { userId, displayName: 'Now and then' });
  const send = (text: string) => sendLineWebhook({ url: `${stack.url}/webhooks/line`, channelSecret: stack.config.lineChannelSecret!, events: [textMessageEvent(userId, text)] });
  const statuses: number[] = [];
  // Pairs of events with pauses around the 1 s idle end between them, so that some land while a workflow is closing.
  for (let i = 0; i < 20; i++) {
    statuses.push((await send(`message ${2 * i}`)).status);
    await sleep(900 + (i % 10) * 30);
    statuses.push((await send(`message ${2 * i + 1}`)).status);
  }
  assert.deepEqual(
    statuses.map((s, i) => (s === 200 ? 200 : `message ${i}: ${s}`)),
    statuses.map(() => 200),
  );
  // Each reached the friend exactly once: the runs of the friend's workflow applied 40 events in all.
  const applied = await eventually(async () => {
    let total = 0;
    for await (const execution of stack.client.workflow.list({ query: `WorkflowId = '${friendWorkflowId(stack.config.lineChannelId, userId)}'` })) {
      const handle = stack.client.workflow.getHandle(execution.workflowId, execution.runId);
      total += execution.status.name === 'RUNNING' ? (await handle.query(friendStateQuery)).applied : (await handle.result()).applied;
    }
    return total >= 40 ? total : undefined;
  }, { timeoutMs: 60_000, what: 'all 40 messages applied' });
  assert.equal(applied, 40);
});
