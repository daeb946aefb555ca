// The real thing for integration tests: a Temporal dev server, sandbox LINE and HubSpot over HTTP,
// the workers and the HTTP server, wired exactly as `npm start` wires them.
import type { Client } from '@temporalio/client';
import { loadConfig, type Config } from '../../src/config.ts';
import { startHubspotSandbox, SANDBOX_HUBSPOT_ACCESS_TOKEN, type HubspotSandboxOptions } from '../../src/sandbox/hubspot.ts';
import { SANDBOX_HUBSPOT_CLIENT_SECRET } from '../../src/sandbox/hubspot-webhooks.ts';
import { SANDBOX_LINE_CHANNEL_ACCESS_TOKEN, SANDBOX_LINE_CHANNEL_SECRET, SANDBOX_LINE_LOGIN_CHANNEL_ID, startLineSandbox } from '../../src/sandbox/line.ts';
import { startServer, startWorker, type RunningServer, type RunningWorker } from '../../src/service.ts';
import { locateTemporalCli } from '../../src/temporal/cli.ts';
import { freePort, startDevServer, type DevServer } from '../../src/temporal/dev-server.ts';
import { cachedWorkflowBundle } from '../../src/temporal/workflow-bundle.ts';
import { SEARCH_ATTRIBUTE_VALUE_LIMIT } from '../../src/temporal/search-attributes.ts';
import type { WorkflowBundleOption } from '@temporalio/worker';
import { recordHistories } from './record-histories.ts';

export interface StackOptions {
  hubspot?: HubspotSandboxOptions;
  env?: Record<string, string>;
  /** SQLite file for the dev server (restart tests); default in memory */
  dbFile?: string;
  /** gRPC port of the dev server (restart tests); default a free one */
  temporalPort?: number;
  /** dynamic config of the dev server */
  dynamicConfig?: Record<string, unknown>;
  /** the workers' workflow code (upgrade tests: a previous release's bundle); default the current one */
  workflowBundle?: WorkflowBundleOption;
  /** serve the Temporal Web UI (on a free port) and link the console to it, as `npm start` does */
  temporalUi?: boolean;
}

export interface Stack {
  config: Config;
  temporal: DevServer;
  client: Client;
  line: Awaited<ReturnType<typeof startLineSandbox>>;
  hubspot: Awaited<ReturnType<typeof startHubspotSandbox>>;
  server: RunningServer;
  worker: RunningWorker | undefined;
  /** base URL of the service */
  url: string;
  /** starts the workers (again), with another workflow bundle if given (an upgrade) */
  startWorker(workflowBundle?: WorkflowBundleOption): Promise<RunningWorker>;
  stopWorker(): Promise<void>;
  stop(): Promise<void>;
}

const quiet = () => {};

export function temporalCliPath(): string {
  const cli = locateTemporalCli();
  if (!cli) throw new Error('the Temporal CLI is not installed: run `npm run temporal:ensure` (npm test does)');
  return cli.path;
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const temporal = await startDevServer({
    cliPath: temporalCliPath(),
    ...(options.dbFile ? { dbFile: options.dbFile } : {}),
    ...(options.temporalPort ? { port: options.temporalPort } : {}),
    ...(options.dynamicConfig ? { dynamicConfig: options.dynamicConfig } : {}),
    ...(options.temporalUi ? { uiPort: await freePort() } : {}),
  });
  const line = await startLineSandbox({ port: 0 });
  const hubspot = await startHubspotSandbox({ port: 0, ...options.hubspot });
  const config: Config = {
    ...loadConfig({
      LOG_LEVEL: 'warn',
      HUBSPOT_REQUESTS_PER_10S: String(options.hubspot?.requestsPer10s ?? 1000),
      LINE_LOGIN_CHANNEL_ID: SANDBOX_LINE_LOGIN_CHANNEL_ID,
      HUBSPOT_CLIENT_SECRET: SANDBOX_HUBSPOT_CLIENT_SECRET,
      // What the dev server allows (src/temporal/dev-server.ts), as `npm start` configures it.
      TEMPORAL_SEARCH_ATTRIBUTE_VALUE_LIMIT: String(SEARCH_ATTRIBUTE_VALUE_LIMIT),
      ...options.env,
    }),
    port: 0,
    temporalAddress: temporal.address,
    lineChannelSecret: SANDBOX_LINE_CHANNEL_SECRET,
    lineChannelAccessToken: SANDBOX_LINE_CHANNEL_ACCESS_TOKEN,
    lineApiBaseUrl: line.url,
    hubspotAccessToken: SANDBOX_HUBSPOT_ACCESS_TOKEN,
    hubspotBaseUrl: hubspot.url,
  };
  const workflowBundle = options.workflowBundle ?? (await cachedWorkflowBundle());
  if (temporal.uiUrl) config.temporalUiUrl ??= temporal.uiUrl;
  const server = await startServer(config);
  const stack: Stack = {
    config,
    temporal,
    client: server.client,
    line,
    hubspot,
    server,
    worker: undefined,
    url: server.url,
    async startWorker(bundle?: WorkflowBundleOption) {
      stack.worker = await startWorker(config, { log: quiet, workflowBundle: bundle ?? workflowBundle });
      return stack.worker;
    },
    async stopWorker() {
      // (recorded here too: some tests stop the worker, then the dev server, before the stack stops)
      if (stack.worker) await recordHistories(server.client).catch(() => {});
      await stack.worker?.stop();
      stack.worker = undefined;
    },
    async stop() {
      // LHS_RECORD_HISTORIES=<dir>: every run's history, for the replay tests (test/replay/record.ts).
      await recordHistories(server.client).catch((error: unknown) => process.stderr.write(`recording histories failed: ${(error as Error).message}\n`));
      await stack.stopWorker();
      await server.stop();
      await Promise.all([line.close(), hubspot.close()]);
      await temporal.stop();
    },
  };
  await stack.startWorker();
  return stack;
}

/** Polls until `check` returns a value (not undefined) or the time runs out. */
/** Polls `check` until it returns a value. `what` names the wait in the timeout's error; a function is called then (e.g. to show a process's output by that time). */
export async function eventually<T>(check: () => Promise<T | undefined> | T | undefined, { timeoutMs = 20_000, intervalMs = 100, what = 'condition' as string | (() => string) } = {}): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${typeof what === 'function' ? what() : what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

// Keep test output readable: the SDK's INFO lines (worker state, applied events) go unprinted.
import { DefaultLogger, Runtime } from '@temporalio/worker';
try {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
} catch {
  // already installed in this process
}
