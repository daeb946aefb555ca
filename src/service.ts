// Wiring shared by the process entries: a worker process and an HTTP server, each stoppable.
import type { FastifyInstance } from 'fastify';
import type { Client, Connection } from '@temporalio/client';
import type { WorkflowBundleOption } from '@temporalio/worker';
import type { Config } from './config.ts';
import { HubspotBudget } from './hubspot/budget.ts';
import { createHubspotClient } from './hubspot/client.ts';
import { ensureLineProperties } from './hubspot/ensure-properties.ts';
import { createLineClient } from './line/client.ts';
import { connectClient, connectWorkerConnection, targetOf } from './temporal/connection.ts';
import { ensureSearchAttributes } from './temporal/ensure-search-attributes.ts';
import { createSyncWorkers, runWorkers } from './temporal/worker.ts';
import { runtimeWorkflowBundle } from './temporal/workflow-bundle.ts';

type Log = (line: string) => void;

export interface RunningWorker {
  /** resolves when the workers stop; rejects if one fails */
  done: Promise<void>;
  stop(): Promise<void>;
}

/** What the workers need to exist: Temporal's search attributes, HubSpot's LINE properties. */
async function prepareWorker(client: Client, hubspot: ReturnType<typeof createHubspotClient>, budget: HubspotBudget, namespace: string, log: Log): Promise<void> {
  try {
    const added = await ensureSearchAttributes(client.connection as Connection, namespace);
    if (added.length) log(`added Temporal search attributes: ${added.join(', ')}`);
  } catch (error) {
    // Temporal Cloud manages search attributes outside the operator API.
    log(`could not check Temporal search attributes (${(error as Error).message}); make sure LineChannelId and LineUserId (Keyword) exist`);
  }
  const report = await ensureLineProperties(hubspot, { budget });
  if (report.created.length) log(`created HubSpot properties: ${report.created.join(', ')}`);
  if (report.updated.length) log(`updated HubSpot properties: ${report.updated.join(', ')}`);
  for (const problem of report.problems) log(`HubSpot property problem: ${problem}`);
}

/** `workflowBundle`: default dist/workflow-bundle.js in the build (a cached bundle when run as TypeScript). */
export async function startWorker(config: Config, options: { log?: Log; workflowBundle?: WorkflowBundleOption } = {}): Promise<RunningWorker> {
  const log = options.log ?? (() => {});
  const target = targetOf(config);
  if (!config.hubspotAccessToken || !config.lineChannelAccessToken) throw new Error('the worker needs HUBSPOT_ACCESS_TOKEN and LINE_CHANNEL_ACCESS_TOKEN');
  // The activities' requests keep to HubSpot's rolling window; every answer (start-up checks too) says what HubSpot counted.
  const budget = new HubspotBudget({ max: config.hubspotRequestsPer10s });
  const hubspot = createHubspotClient({ accessToken: config.hubspotAccessToken, baseUrl: config.hubspotBaseUrl, budget });
  const line = createLineClient({ channelAccessToken: config.lineChannelAccessToken, baseUrl: config.lineApiBaseUrl });

  const client = await connectClient(target);
  try {
    await prepareWorker(client, hubspot, budget, target.namespace, log);
  } catch (error) {
    await client.connection.close();
    throw error;
  }

  const workflowBundle = options.workflowBundle ?? (await runtimeWorkflowBundle());
  const connection = await connectWorkerConnection(target);
  const workers = await createSyncWorkers({
    connection,
    temporal: client,
    namespace: target.namespace,
    taskQueue: config.taskQueue,
    line,
    hubspot,
    timeZone: config.syncDateTimeZone,
    hubspotRequestsPer10s: config.hubspotRequestsPer10s,
    hubspotBudget: budget,
    workflowBundle,
  });
  const abort = new AbortController();
  const done = runWorkers(workers, abort.signal).finally(() => Promise.all([connection.close(), client.connection.close()]));
  return {
    done,
    async stop() {
      abort.abort();
      await done.catch(() => {});
    },
  };
}

export interface RunningServer {
  app: FastifyInstance;
  url: string;
  client: Client;
  stop(): Promise<void>;
}

export async function startServer(config: Config): Promise<RunningServer> {
  // Loaded here, not at the top: a worker process (`npm run worker`) never pays for Fastify and the routes.
  const { buildApp } = await import('./server/app.ts');
  const client = await connectClient(targetOf(config));
  const app = await buildApp({ config, temporal: client });
  const address = await app.listen({ port: config.port, host: config.host });
  return {
    app,
    url: address,
    client,
    async stop() {
      await app.close();
      await client.connection.close();
    },
  };
}

/** Stops everything on SIGINT/SIGTERM, once; a second Ctrl-C exits at once. */
export function onShutdown(stop: () => Promise<void>, log: Log): void {
  let stopping = 0;
  const handler = (signal: NodeJS.Signals) => {
    // A terminal's Ctrl-C may reach us twice (the process group, and a parent relaying it): only a later one forces.
    if (stopping && Date.now() - stopping < 1500) return;
    if (stopping) {
      log(`${signal} again: exiting now`);
      process.exit(130);
    }
    stopping = Date.now();
    log(`${signal}: stopping…`);
    stop().then(
      () => process.exit(0),
      (error: unknown) => {
        log(`error while stopping: ${(error as Error).message}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
}
