import { Client, Connection } from '@temporalio/client';
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

export async function connectClient(target: TemporalTarget): Promise<Client> {
  const connection = await Connection.connect({
    address: target.address,
    ...(target.tls ? { tls: true } : {}),
    ...(target.apiKey ? { apiKey: target.apiKey } : {}),
    connectTimeout: 5000,
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
