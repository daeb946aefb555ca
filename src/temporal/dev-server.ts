// Runs `temporal server start-dev` as a child process: gRPC + Web UI + a SQLite file.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname } from 'node:path';
import { Connection } from '@temporalio/client';
import { CLI_TYPE_NAME, SEARCH_ATTRIBUTE_VALUE_LIMIT, SEARCH_ATTRIBUTES } from './search-attributes.ts';

export interface DevServerOptions {
  cliPath: string;
  host?: string;
  /** gRPC port; 0 picks a free one */
  port?: number;
  /** Web UI port; undefined: headless */
  uiPort?: number;
  /** SQLite file; undefined: in memory */
  dbFile?: string;
  namespace?: string;
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
  /** where the server's own output goes (default: discarded) */
  output?: (chunk: string) => void;
  startTimeoutMs?: number;
  /** extra dynamic config, e.g. { 'limit.historyCount.suggestContinueAsNew': 50 } */
  dynamicConfig?: Record<string, unknown>;
  /** register the service's search attributes at start (default true) */
  registerSearchAttributes?: boolean;
}

export interface DevServer {
  address: string;
  uiUrl: string | undefined;
  /** the CLI's process; undefined when the SDK runs a downloaded server */
  process: ChildProcess | undefined;
  stop(): Promise<void>;
}

export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolvePort(port));
    });
  });
}

export async function startDevServer(options: DevServerOptions): Promise<DevServer> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port || (await freePort(host));
  const namespace = options.namespace ?? 'default';
  const args = ['server', 'start-dev', '--ip', host, '--port', String(port), '--namespace', namespace, '--log-level', options.logLevel ?? 'warn'];
  // One partition per task queue, so a task-queue rate limit is exact rather than split four ways.
  args.push('--dynamic-config-value', 'matching.numTaskqueueReadPartitions=1', '--dynamic-config-value', 'matching.numTaskqueueWritePartitions=1');
  for (const [key, value] of Object.entries(options.dynamicConfig ?? {})) args.push('--dynamic-config-value', `${key}=${JSON.stringify(value)}`);
  args.push('--dynamic-config-value', `frontend.searchAttributesSizeOfValueLimit=${SEARCH_ATTRIBUTE_VALUE_LIMIT}`);
  if (options.registerSearchAttributes !== false) for (const key of SEARCH_ATTRIBUTES) args.push('--search-attribute', `${key.name}=${CLI_TYPE_NAME[key.type]}`);
  if (options.uiPort) args.push('--ui-ip', host, '--ui-port', String(options.uiPort));
  else args.push('--headless');
  if (options.dbFile) {
    mkdirSync(dirname(options.dbFile), { recursive: true });
    args.push('--db-filename', options.dbFile);
  }
  const child = spawn(options.cliPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const output = options.output ?? (() => {});
  let exited: string | undefined;
  const tail: string[] = [];
  const collect = (chunk: Buffer) => {
    const text = chunk.toString();
    tail.push(text);
    if (tail.length > 20) tail.shift();
    output(text);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  child.once('exit', (code, signal) => {
    exited = `exited with ${signal ?? code}`;
  });

  const address = `${host}:${port}`;
  const deadline = Date.now() + (options.startTimeoutMs ?? 60_000);
  for (;;) {
    if (exited) throw new Error(`Temporal dev server ${exited}: ${tail.join('').trim().slice(-2000)}`);
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1000 });
      try {
        await connection.workflowService.describeNamespace({ namespace });
        break;
      } finally {
        await connection.close();
      }
    } catch (error) {
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`Temporal dev server did not become ready at ${address}: ${(error as Error).message}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await gone;
    clearTimeout(timer);
  };
  return { address, uiUrl: options.uiPort ? `http://${host}:${options.uiPort}` : undefined, process: child, stop };
}

/**
 * Last resort on a machine with internet: the SDK downloads the dev server itself
 * (the same CLI, fetched from Temporal's CDN), with the same options.
 */
export async function startDownloadedDevServer(options: Omit<DevServerOptions, 'cliPath' | 'output' | 'startTimeoutMs'>): Promise<DevServer> {
  // @temporalio/testing is a devDependency: only this last resort of `npm start` needs it.
  const { TestWorkflowEnvironment } = await import('@temporalio/testing').catch((error: unknown) => {
    throw new Error(
      `no Temporal CLI here, and @temporalio/testing (a devDependency) is not installed to download the dev server: set TEMPORAL_CLI_PATH or TEMPORAL_ADDRESS (${(error as Error).message})`,
    );
  });
  const host = options.host ?? '127.0.0.1';
  const port = options.port || (await freePort(host));
  if (options.dbFile) mkdirSync(dirname(options.dbFile), { recursive: true });
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'cached-download' },
      ip: host,
      port,
      namespace: options.namespace ?? 'default',
      ...(options.uiPort ? { ui: true, uiPort: options.uiPort } : {}),
      ...(options.dbFile ? { dbFilename: options.dbFile } : {}),
      searchAttributes: [...SEARCH_ATTRIBUTES],
      extraArgs: [
        '--dynamic-config-value',
        'matching.numTaskqueueReadPartitions=1',
        '--dynamic-config-value',
        'matching.numTaskqueueWritePartitions=1',
        '--dynamic-config-value',
        `frontend.searchAttributesSizeOfValueLimit=${SEARCH_ATTRIBUTE_VALUE_LIMIT}`,
      ],
    },
  });
  return {
    address: `${host}:${port}`,
    uiUrl: options.uiPort ? `http://${host}:${options.uiPort}` : undefined,
    process: undefined,
    stop: () => env.teardown(),
  };
}
