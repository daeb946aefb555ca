// Where the worker's main thread allocates: `node --import ./bench/support/allocation-profiler.mjs …`
// runs V8's sampling heap profiler in the main thread, counting every allocation, including what the
// garbage collector has freed since (what a heap snapshot cannot show). Each SIGUSR2 writes the
// samples since the last one to $ALLOCATION_PROFILE_DIR (default .data/profiles) as a .heapprofile
// (Chrome DevTools → Memory → Load, or bench/support/allocation-summary.mjs for a text summary).
// With the import benchmark:
//   BENCH_WORKER_NODE_ARGS='--import ./bench/support/allocation-profiler.mjs' npm run bench:import -- --scenario scale --friends 20000
//   pkill -USR2 -f 'run.mjs worker'   # during the import
import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';
import { isMainThread } from 'node:worker_threads';

if (isMainThread) {
  const dir = process.env.ALLOCATION_PROFILE_DIR ?? join(process.cwd(), '.data', 'profiles');
  const session = new Session();
  session.connect();
  session.post('HeapProfiler.enable');
  const start = () => session.post('HeapProfiler.startSampling', { samplingInterval: 16384, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  start();
  process.on('SIGUSR2', () => {
    session.post('HeapProfiler.stopSampling', (error, result) => {
      if (error) process.stderr.write(`[allocation-profiler] ${error.message}\n`);
      else {
        mkdirSync(dir, { recursive: true });
        const file = join(dir, `allocations-${process.pid}-${Date.now()}.heapprofile`);
        writeFileSync(file, JSON.stringify(result.profile));
        process.stderr.write(`[allocation-profiler] wrote ${file}\n`);
      }
      start();
    });
  });
}
