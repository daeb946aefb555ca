import { status as GrpcStatus } from '@grpc/grpc-js';
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

const WORKFLOW_CLOSING = /workflow is closing/i;

/**
 * A signal to a workflow between two runs (continue-as-new, or an idle end) is refused with
 * RESOURCE_EXHAUSTED "workflow is closing" until the next run exists, a second or more on a busy
 * server: longer than LINE waits. Such a call is not retried here; its caller decides (the webhook's
 * inbox takes a detour, src/temporal/inbox-client.ts; an activity retries). Real overload (any other
 * RESOURCE_EXHAUSTED) keeps the SDK's backoff.
 */
export function isWorkflowClosing(error: unknown): boolean {
  for (let e: unknown = error; e instanceof Error; e = e.cause) {
    const details = (e as { details?: unknown }).details;
    if (WORKFLOW_CLOSING.test(e.message) || (typeof details === 'string' && WORKFLOW_CLOSING.test(details))) return true;
  }
  return false;
}

const defaults = defaultGrpcRetryOptions();
export const clientRetryInterceptor = makeGrpcRetryInterceptor({
  ...defaults,
  retryableDecider: (attempt, status) => !(status.code === GrpcStatus.RESOURCE_EXHAUSTED && WORKFLOW_CLOSING.test(status.details ?? '')) && defaults.retryableDecider(attempt, status),
});

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
