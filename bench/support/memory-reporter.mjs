// `node --import ./bench/support/memory-reporter.mjs …`: the process reports its memory once a second
// on stdout as JSON lines (bench/import.ts reads them), without changing what the process runs.
const report = () => {
  const m = process.memoryUsage();
  process.stdout.write(`${JSON.stringify({ memory: { rss: m.rss, heapTotal: m.heapTotal, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers } })}\n`);
};
setInterval(report, 1000).unref();
