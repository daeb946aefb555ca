import { spawn, type ChildProcess } from 'node:child_process';
import type { Config } from '../../src/config.ts';

/** Starts test/support/worker-process.ts with the stack's configuration; resolves once it polls. */
export async function startChildWorker(config: Config): Promise<ChildProcess> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    TEMPORAL_ADDRESS: config.temporalAddress!,
    TEMPORAL_NAMESPACE: config.temporalNamespace,
    TEMPORAL_TASK_QUEUE: config.taskQueue,
    LINE_CHANNEL_ID: config.lineChannelId,
    LINE_CHANNEL_ACCESS_TOKEN: config.lineChannelAccessToken!,
    LINE_API_BASE_URL: config.lineApiBaseUrl,
    HUBSPOT_ACCESS_TOKEN: config.hubspotAccessToken!,
    HUBSPOT_BASE_URL: config.hubspotBaseUrl,
    HUBSPOT_REQUESTS_PER_10S: String(config.hubspotRequestsPer10s),
    SYNC_DATE_TIME_ZONE: config.syncDateTimeZone,
    LINE_INBOX_SHARDS: String(config.lineInboxShards),
    LINE_INBOX_IDLE_SECONDS: String(config.lineInboxIdleSeconds),
    ...(config.temporalSearchAttributeValueLimit ? { TEMPORAL_SEARCH_ATTRIBUTE_VALUE_LIMIT: String(config.temporalSearchAttributeValueLimit) } : {}),
  };
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/worker-process.ts'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`child worker did not start: ${output}`)), 60_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('worker ready')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`child worker exited with ${code}: ${output}`));
    });
  });
  child.removeAllListeners('exit');
  return child;
}

export function killHard(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}
