// `node --import ./bench/support/memory-reporter.mjs …`: the process reports its memory once a second
// on stdout as JSON lines (bench/import.ts reads them), without changing what the process runs.
// Preloaded modules run in worker threads too (the SDK's workflow thread): each line names its thread,
// since heapUsed/heapTotal are the reporting thread's own isolate (rss is the whole process's).
import { isMainThread, threadId } from 'node:worker_threads';

const thread = isMainThread ? 'main' : `worker-${threadId}`;
const report = () => {
  const m = process.memoryUsage();
  process.stdout.write(`${JSON.stringify({ memory: { thread, rss: m.rss, heapTotal: m.heapTotal, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers } })}\n`);
};
setInterval(report, 1000).unref();
