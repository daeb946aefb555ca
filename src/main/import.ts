// `npm run import -- [--wait]`: starts an import of the channel's existing friends (or joins the
// running one) on the Temporal at TEMPORAL_ADDRESS (default 127.0.0.1:7233, what `npm start`
// runs) and, with --wait, shows its progress until it ends. Exit code: 0 completed, 1 failed,
// 3 canceled, 2 bad configuration or arguments.
import { parseArgs } from 'node:util';
import type { Client } from '@temporalio/client';
import { progressLine, summary } from '../cli/import-progress.ts';
import { configOrExit, loadConfig } from '../config.ts';
import { connectClient, targetOf } from '../temporal/connection.ts';
import { getImportProgress, importTargetOf, startImport, type ImportStatus } from '../temporal/import-client.ts';

const USAGE = `usage: npm run import -- [--wait] [--page-size N]

Starts an import of the LINE channel's existing friends into HubSpot, or joins the one running.
  --wait                 show progress until the import ends; exit 1 if it failed, 3 if canceled
  --page-size N          follower IDs per LINE page (1-1000, default 1000)
Environment: TEMPORAL_ADDRESS (default 127.0.0.1:7233), TEMPORAL_NAMESPACE, TEMPORAL_TASK_QUEUE,
LINE_CHANNEL_ID, SYNC_DATE_TIME_ZONE (as for the worker).`;

const log = (line: string) => process.stderr.write(`${line}\n`);

function fail(message: string, code = 2): never {
  log(message);
  process.exit(code);
}

let args;
try {
  args = parseArgs({
    options: { wait: { type: 'boolean', default: false }, 'page-size': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    strict: true,
  }).values;
} catch (error) {
  fail(`${(error as Error).message}\n\n${USAGE}`);
}
if (args.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
const whole = (name: string, value: string | undefined, max: number) => {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > max) fail(`--${name} must be a whole number from 1 to ${max}, got "${value}"`);
  return n;
};
const pageSize = whole('page-size', args['page-size'], 1000);

const config = configOrExit(() => loadConfig());
const address = config.temporalAddress ?? '127.0.0.1:7233';

let client: Client;
try {
  client = await connectClient(targetOf(config, address));
} catch (error) {
  fail(`cannot reach Temporal at ${address} (${(error as Error).message}); is \`npm start\` running, or TEMPORAL_ADDRESS set?`, 1);
}

const target = importTargetOf(config);
const started = await startImport(client, { ...target, ...(pageSize ? { pageSize } : {}) });
log(`${started.alreadyRunning ? 'joined the import already running' : 'started an import'} of channel ${target.channelId}: ` + `importId ${started.importId} (workflow ${started.workflowId})`);
process.stdout.write(`${JSON.stringify({ importId: started.importId, workflowId: started.workflowId, runId: started.runId, alreadyRunning: started.alreadyRunning })}\n`);

if (!args.wait) {
  log('follow it with `npm run import -- --wait` (joins it), in the Temporal UI, or GET /imports/<importId>');
  await client.connection.close();
  process.exit(0);
}

const tty = process.stderr.isTTY === true;
let tick = 0;
let lastLineAt = 0;
let last: ImportStatus | undefined;
let interrupted = false;
process.once('SIGINT', () => {
  interrupted = true;
});

for (;;) {
  if (interrupted) {
    if (tty) process.stderr.write('\n');
    log(`stopped watching; the import goes on (importId ${started.importId})`);
    await client.connection.close();
    process.exit(130);
  }
  // Asks Temporal once a second; on a terminal the spinner turns in between.
  if (!tty || tick % 4 === 0) {
    try {
      last = (await getImportProgress(client, started.importId, { channelId: target.channelId })) ?? last;
    } catch (error) {
      if (!tty) log(`progress not available right now (${(error as Error).message}); retrying`);
    }
  }
  tick++;
  if (last) {
    const line = progressLine(last, Date.now(), tick);
    if (tty) process.stderr.write(`\r\x1b[2K${line.slice(0, Math.max(20, (process.stderr.columns ?? 160) - 1))}`);
    else if (Date.now() - lastLineAt >= 5000 || last.state !== 'running') {
      log(line);
      lastLineAt = Date.now();
    }
    if (last.state !== 'running') break;
  }
  await new Promise((resolve) => setTimeout(resolve, tty ? 250 : 1000));
}

if (tty) process.stderr.write('\n');
log(summary(last, Date.now()));
await client.connection.close();
process.exit(last.state === 'completed' ? 0 : last.state === 'canceled' ? 3 : 1);
