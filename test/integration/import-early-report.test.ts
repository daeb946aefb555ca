// A page's report can reach the import before the page's hand-off has completed there: the hand-off
// activity signals the writers, they apply the rows and report, and only then does the activity's
// completion arrive (in the cluster test its worker was SIGKILLed after signalling, and its retry came
// seconds later). The import must count that report, not drop it and wait for it forever.
//
// Real Temporal (the dev server) and the real workflow bundle; the two activities of the import are
// stand-ins that play exactly that order: the hand-off reports the page itself, then completes late.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { importRowsAppliedSignal, type ImportRowsApplied } from '../../src/contracts.ts';
import { newLineUserId } from '../../src/sandbox/line-webhook.ts';
import { startDevServer, type DevServer } from '../../src/temporal/dev-server.ts';
import { cachedWorkflowBundle } from '../../src/temporal/workflow-bundle.ts';
import { temporalCliPath } from '../support/stack.ts';

let server: DevServer | undefined;
after(async () => {
  await server?.stop();
});

test('a page reported before its hand-off completes in the import is counted: the import completes', async () => {
  server = await startDevServer({ cliPath: temporalCliPath() });
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection });
  const taskQueue = `early-report-${Date.now()}`;
  const workflowId = `line-import/early-report-${Date.now()}`;
  const userIds = [newLineUserId(), newLineUserId()];
  let handOffs = 0;
  const activities = {
    async readFollowerPage() {
      return { userIds, readAt: Date.now() };
    },
    async submitImportRows(_target: unknown, _shards: number, rows: { importId: string; importWorkflowId: string; page: number }) {
      handOffs++;
      // The writer applied the page and reports it …
      const report: ImportRowsApplied = { importId: rows.importId, page: rows.page, shard: 0, counts: { created: 2, updated: 0, unchanged: 0, skipped: 0, failed: 0 }, failures: [] };
      await client.workflow.getHandle(rows.importWorkflowId).signal(importRowsAppliedSignal, report);
      // … and only then does the hand-off's completion reach the import.
      await new Promise((resolve) => setTimeout(resolve, 1500));
      return [0];
    },
  };
  const nativeConnection = await NativeConnection.connect({ address: server.address });
  const worker = await Worker.create({ connection: nativeConnection, taskQueue, workflowBundle: await cachedWorkflowBundle(), activities });
  try {
    const result = await worker.runUntil(async () => {
      const handle = await client.workflow.start('importWorkflow', {
        workflowId,
        taskQueue,
        args: [{ channelId: 'early-report', timeZone: 'UTC', taskQueue, shards: 1 }],
        workflowExecutionTimeout: '30 seconds',
      });
      return (await handle.result()) as { state: string; created: number; pages: number };
    });
    assert.equal(handOffs, 1);
    assert.equal(result.state, 'completed');
    assert.equal(result.created, 2, 'the early report is counted');
    assert.equal(result.pages, 1);
  } finally {
    await nativeConnection.close();
    await connection.close();
  }
});
