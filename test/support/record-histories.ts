// Histories for the replay tests (test/replay/): with LHS_RECORD_HISTORIES=<dir> set, every stack
// (test/support/stack.ts) saves the history of every workflow run on its dev server before it stops,
// as JSON holding the history in Temporal's protobuf encoding (base64; the SDK's historyToJSON trips
// over two protobufjs versions in its own dependencies). test/replay/record.ts runs integration tests
// this way and picks the histories that are committed; decodeHistory reads them back.
import { mkdir, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Client } from '@temporalio/client';
import proto, { type temporal } from '@temporalio/proto';

const { History } = proto.temporal.api.history.v1;

export const RECORD_DIR_ENV = 'LHS_RECORD_HISTORIES';

/** At most this many runs of one workflow type per stack: imports make thousands of batches. */
const PER_TYPE = 150;

export async function recordHistories(client: Client, dir = process.env[RECORD_DIR_ENV]): Promise<number> {
  if (!dir) return 0;
  const file = basename(process.argv[1] ?? 'unknown').replace(/\.test\.ts$/, '');
  const out = join(dir, `${file}-${process.pid}-${Date.now()}`);
  await mkdir(out, { recursive: true });
  const perType = new Map<string, number>();
  let saved = 0;
  for await (const execution of client.workflow.list()) {
    const count = perType.get(execution.type) ?? 0;
    if (count >= PER_TYPE) continue;
    perType.set(execution.type, count + 1);
    const history = await client.workflow.getHandle(execution.workflowId, execution.runId).fetchHistory();
    const name = `${execution.type}-${execution.runId}.json`;
    await writeFile(
      join(out, name),
      JSON.stringify({
        workflowId: execution.workflowId,
        runId: execution.runId,
        type: execution.type,
        status: execution.status.name,
        events: history.events?.length ?? 0,
        history: encodeHistory(history),
      }),
    );
    saved++;
  }
  return saved;
}

export interface RecordedHistory {
  workflowId: string;
  runId: string;
  type: string;
  status: string;
  events: number;
  /** base64 of temporal.api.history.v1.History */
  history: string;
}

export function encodeHistory(history: temporal.api.history.v1.IHistory): string {
  return Buffer.from(History.encode(history).finish()).toString('base64');
}

export function decodeHistory(base64: string): temporal.api.history.v1.History {
  return History.decode(Buffer.from(base64, 'base64'));
}
