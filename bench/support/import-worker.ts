// The worker process of bench/import.ts: configured from the environment like `npm run worker`,
// with the prebuilt workflow bundle (bundling at start-up alone peaks near 500 MB and would hide
// what the import costs), reporting its memory once a second on stdout as JSON lines.
import { loadConfig } from '../../src/config.ts';
import { startWorker } from '../../src/service.ts';
import { cachedWorkflowBundle } from '../../src/temporal/workflow-bundle.ts';

const worker = await startWorker(loadConfig(), { workflowBundle: await cachedWorkflowBundle() });
const report = () => {
  const m = process.memoryUsage();
  process.stdout.write(`${JSON.stringify({ memory: { rss: m.rss, heapTotal: m.heapTotal, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers } })}\n`);
};
process.stdout.write('worker ready\n');
report();
setInterval(report, 1000).unref();
process.once('SIGTERM', () => void worker.stop());
await worker.done;
