// A real Temporal cluster for the cluster test: temporal-server (built by src/temporal/server-build.ts)
// with PostgreSQL for persistence and visibility, schemas applied with temporal-sql-tool, a server
// config and a dynamic config generated here, and a namespace registered the way an operator would.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Connection } from '@temporalio/client';
import { msNumberToTs } from '@temporalio/common';
import yaml from 'js-yaml';
import { ensureTemporalServer, type TemporalServerTools } from '../../../src/temporal/server-build.ts';
import { SEARCH_ATTRIBUTE_VALUE_LIMIT } from '../../../src/temporal/search-attributes.ts';
import { freeLowPorts } from './ports.ts';
import { startPostgres, type Postgres } from './postgres.ts';

const run = promisify(execFile);

/** One dynamic-config value, optionally constrained (e.g. `{ taskQueueName: 'x' }`). */
export interface DynamicValue {
  value: unknown;
  constraints?: Record<string, string>;
}

export interface ClusterOptions {
  /** task-queue partitions (read and write) for every queue; default 4 */
  partitions?: number;
  /** more dynamic config, appended after the defaults (a constrained value wins over the default one) */
  dynamicConfig?: Record<string, DynamicValue[]>;
  numHistoryShards?: number;
}

export interface Cluster {
  /** the frontend's gRPC address */
  address: string;
  postgres: Postgres;
  tools: TemporalServerTools;
  dynamicConfigFile: string;
  /** Prometheus metrics of the server */
  metricsUrl: string;
  /** the server's log (warnings and errors) */
  logFile: string;
  /** registers a namespace (as an operator would) and waits until the frontend serves it */
  registerNamespace(namespace: string): Promise<void>;
  /** rewrites the dynamic config (the server reads it again within 5 s) */
  setDynamicConfig(values: Record<string, DynamicValue[]>): Promise<void>;
  stop(): Promise<void>;
}

export function dynamicConfigOf(partitions: number, extra: Record<string, DynamicValue[]> = {}): Record<string, DynamicValue[]> {
  const config: Record<string, DynamicValue[]> = {
    'matching.numTaskqueueReadPartitions': [{ value: partitions }],
    'matching.numTaskqueueWritePartitions': [{ value: partitions }],
    // A batch lists its friends in the LineUserId search attribute (src/temporal/search-attributes.ts).
    'frontend.searchAttributesSizeOfValueLimit': [{ value: SEARCH_ATTRIBUTE_VALUE_LIMIT }],
  };
  for (const [key, values] of Object.entries(extra)) {
    // An unconstrained value replaces the default; constrained ones sit beside it (the server picks the most specific).
    const keep = values.some((v) => !v.constraints) ? [] : (config[key] ?? []);
    config[key] = [...keep, ...values];
  }
  return config;
}

async function sqlSetup(tools: TemporalServerTools, pg: Postgres): Promise<void> {
  const base = ['--plugin', 'postgres12', '--ep', pg.host, '-p', String(pg.port), '-u', pg.user, '--quiet'];
  // The password through the environment, not the command line.
  const env = { ...process.env, SQL_PASSWORD: pg.password };
  const sql = (args: string[]) => run(tools.sqlTool, [...base, ...args], { env, maxBuffer: 16 * 1024 * 1024 });
  for (const [db, dir] of [
    ['temporal', 'temporal'],
    ['temporal_visibility', 'visibility'],
  ] as const) {
    await sql(['--db', db, 'create-database']);
    await sql(['--db', db, 'setup-schema', '-v', '0.0']);
    await sql(['--db', db, 'update-schema', '-d', join(tools.postgresSchemaDir, dir, 'versioned')]);
  }
}

function serverConfig(pg: Postgres, ports: Record<string, number>, logFile: string, dynamicConfigFile: string, numHistoryShards: number) {
  const store = (databaseName: string, maxConns: number) => ({
    sql: {
      pluginName: 'postgres12',
      databaseName,
      connectAddr: `${pg.host}:${pg.port}`,
      connectProtocol: 'tcp',
      user: pg.user,
      password: pg.password,
      maxConns,
      maxIdleConns: maxConns,
      maxConnLifetime: '1h',
    },
  });
  const service = (name: string) => ({
    rpc: { grpcPort: ports[`${name}Grpc`], membershipPort: ports[`${name}Membership`], bindOnLocalHost: true, ...(name === 'frontend' ? { httpPort: ports.frontendHttp } : {}) },
  });
  return {
    log: { stdout: false, level: 'warn', outputFile: logFile },
    persistence: {
      defaultStore: 'postgres-default',
      visibilityStore: 'postgres-visibility',
      numHistoryShards,
      datastores: { 'postgres-default': store('temporal', 20), 'postgres-visibility': store('temporal_visibility', 10) },
    },
    global: {
      membership: { maxJoinDuration: '30s', broadcastAddress: '127.0.0.1' },
      metrics: { prometheus: { framework: 'tally', timerType: 'histogram', listenAddress: `127.0.0.1:${ports.metrics}` } },
    },
    services: { frontend: service('frontend'), matching: service('matching'), history: service('history'), worker: service('worker') },
    clusterMetadata: {
      enableGlobalNamespace: false,
      failoverVersionIncrement: 10,
      masterClusterName: 'active',
      currentClusterName: 'active',
      clusterInformation: { active: { enabled: true, initialFailoverVersion: 1, rpcName: 'frontend', rpcAddress: `127.0.0.1:${ports.frontendGrpc}`, httpAddress: `127.0.0.1:${ports.frontendHttp}` } },
    },
    dcRedirectionPolicy: { policy: 'noop' },
    archival: { history: { state: 'disabled' }, visibility: { state: 'disabled' } },
    namespaceDefaults: { archival: { history: { state: 'disabled' }, visibility: { state: 'disabled' } } },
    dynamicConfigClient: { filepath: dynamicConfigFile, pollInterval: '5s' },
  };
}

async function waitFor<T>(what: string, timeoutMs: number, check: () => Promise<T>, exited?: () => string | undefined): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    const gone = exited?.();
    if (gone) throw new Error(`${what}: ${gone}`);
    try {
      return await check();
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${(last as Error)?.message}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

export async function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const tools = await ensureTemporalServer((line) => process.stderr.write(`${line}\n`));
  const dir = await mkdtemp(join(tmpdir(), 'lhs-temporal-'));
  const postgres = await startPostgres();
  let child: ChildProcess | undefined;
  try {
    await sqlSetup(tools, postgres);
    const names = ['frontendGrpc', 'frontendHttp', 'frontendMembership', 'matchingGrpc', 'matchingMembership', 'historyGrpc', 'historyMembership', 'workerGrpc', 'workerMembership', 'metrics'];
    const ports = Object.fromEntries((await freeLowPorts(names.length)).map((p, i) => [names[i]!, p]));
    const logFile = join(dir, 'temporal-server.log');
    const dynamicConfigFile = join(dir, 'dynamic-config.yaml');
    const configFile = join(dir, 'config.yaml');
    const writeDynamic = (values: Record<string, DynamicValue[]>) => writeFile(dynamicConfigFile, yaml.dump(values));
    await writeDynamic(dynamicConfigOf(options.partitions ?? 4, options.dynamicConfig));
    await writeFile(configFile, yaml.dump(serverConfig(postgres, ports, logFile, dynamicConfigFile, options.numHistoryShards ?? 4)), { mode: 0o600 });
    const stdio = createWriteStream(join(dir, 'temporal-server.out'));
    child = spawn(tools.server, ['--config-file', configFile, '--allow-no-auth', 'start'], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.pipe(stdio);
    child.stderr!.pipe(stdio);
    let exit: string | undefined;
    child.once('exit', (code, signal) => (exit = `temporal-server exited (${code ?? signal}); see ${logFile}`));
    const address = `127.0.0.1:${ports.frontendGrpc}`;
    const connection = await waitFor(
      'the Temporal frontend',
      120_000,
      async () => {
        const c = await Connection.connect({ address, connectTimeout: 2000 });
        try {
          await c.workflowService.getSystemInfo({});
          return c;
        } catch (error) {
          await c.close();
          throw error;
        }
      },
      () => exit,
    );
    const server = child;
    return {
      address,
      postgres,
      tools,
      dynamicConfigFile,
      metricsUrl: `http://127.0.0.1:${ports.metrics}/metrics`,
      logFile,
      async registerNamespace(namespace: string) {
        try {
          await connection.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msNumberToTs(24 * 3600 * 1000) });
        } catch (error) {
          if ((error as { code?: number }).code !== 6) throw error; // ALREADY_EXISTS
        }
        // The frontend learns of a new namespace on its next namespace-registry refresh (seconds).
        await waitFor(
          `namespace ${namespace}`,
          60_000,
          () => connection.workflowService.listWorkflowExecutions({ namespace, pageSize: 1 }),
          () => exit,
        );
      },
      setDynamicConfig: (values) => writeDynamic(values),
      async stop() {
        await connection.close().catch(() => {});
        if (server.exitCode === null && server.signalCode === null) {
          const gone = new Promise((r) => server.once('exit', r));
          server.kill('SIGTERM');
          const timer = setTimeout(() => server.kill('SIGKILL'), 15_000);
          await gone;
          clearTimeout(timer);
        }
        await postgres.stop();
        if (!process.env.KEEP_CLUSTER_FILES) await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    child?.kill('SIGKILL');
    await postgres.stop();
    throw error;
  }
}
