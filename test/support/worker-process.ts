// A worker in its own process (so a test can SIGKILL it), configured from the environment like
// `npm run worker`, but using the cached workflow bundle to start fast.
import { loadConfig } from '../../src/config.ts';
import { startWorker } from '../../src/service.ts';
import { cachedWorkflowBundle } from '../../src/temporal/workflow-bundle.ts';

// Never outlive the test that started it (a failed test must not leave a worker polling).
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) process.exit(1);
}, 500).unref();

const worker = await startWorker(loadConfig(), { workflowBundle: await cachedWorkflowBundle() });
process.stdout.write('worker ready\n');
await worker.done;
