// `npm run worker`: the workers alone, against TEMPORAL_ADDRESS.
import { Runtime } from '@temporalio/worker';
import { configOrExit, loadConfig, requireFor } from '../config.ts';
import { SdkLogger } from '../temporal/sdk-logger.ts';
import { onShutdown, startWorker } from '../service.ts';

const config = configOrExit(() => {
  const c = loadConfig();
  requireFor(c, 'worker');
  return c;
});
const log = (line: string) => process.stderr.write(`[worker] ${line}\n`);
// The SDK's own lines only at LOG_LEVEL=debug.
Runtime.install({ logger: new SdkLogger(config.logLevel) });
const worker = await startWorker(config, { log });
log(`polling task queue ${config.taskQueue} (and ${config.taskQueue}-hubspot) on ${config.temporalAddress}`);
onShutdown(() => worker.stop(), log);
await worker.done;
