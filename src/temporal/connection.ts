import { Client, Connection, defaultGrpcRetryOptions, makeGrpcRetryInterceptor } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import type { Config } from '../config.ts';

export interface TemporalTarget {
  address: string;
  namespace: string;
  apiKey?: string | undefined;
  tls?: boolean;
}

export const targetOf = (config: Config, address = config.temporalAddress): TemporalTarget => {
  if (!address) throw new Error('no Temporal address: set TEMPORAL_ADDRESS or use `npm start`');
  return { address, namespace: config.temporalNamespace, apiKey: config.temporalApiKey, tls: config.temporalTls };
};

/** gRPC RESOURCE_EXHAUSTED */
const RESOURCE_EXHAUSTED = 8;
const WORKFLOW_CLOSING = /workflow is closing/i;

/**
 * The SDK's retries, but one case sooner. A signal that lands just as its workflow completes (an idle
 * inbox or friend workflow ending at that moment) is refused for a few milliseconds with
 * RESOURCE_EXHAUSTED "workflow is closing"; the SDK backs off 1.7 s on RESOURCE_EXHAUSTED, past the
 * webhook's deadline, and LINE would get a 503. Retried after ~30 ms, the signal finds the workflow
 * closed and starts a new run. Real overload (any other RESOURCE_EXHAUSTED) keeps the SDK's backoff.
 */
export const clientRetryInterceptor = makeGrpcRetryInterceptor(
  defaultGrpcRetryOptions({
    initialIntervalMs: ({ code, details }) => (code === RESOURCE_EXHAUSTED ? (WORKFLOW_CLOSING.test(details ?? '') ? 20 : 1000) : 100),
  }),
);

export async function connectClient(target: TemporalTarget): Promise<Client> {
  const connection = await Connection.connect({
    address: target.address,
    ...(target.tls ? { tls: true } : {}),
    ...(target.apiKey ? { apiKey: target.apiKey } : {}),
    connectTimeout: 5000,
    interceptors: [clientRetryInterceptor],
  });
  return new Client({ connection, namespace: target.namespace });
}

export async function connectWorkerConnection(target: TemporalTarget): Promise<NativeConnection> {
  return NativeConnection.connect({
    address: target.address,
    ...(target.tls ? { tls: true } : {}),
    ...(target.apiKey ? { apiKey: target.apiKey } : {}),
  });
}
