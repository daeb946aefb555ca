// Where the worker's main thread allocates: `node --import ./bench/support/allocation-profiler.mjs …`
// runs V8's sampling heap profiler in the main thread, counting every allocation, including what the
// garbage collector has freed since (what a heap snapshot cannot show). Each SIGWINCH writes the
// samples since the last one to $ALLOCATION_PROFILE_DIR (default .data/profiles) as a .heapprofile
// (Chrome DevTools → Memory → Load, or bench/support/allocation-summary.mjs for a text summary).
// ALLOCATION_PROFILE_SURVIVORS=1 leaves out what a scavenge (minor GC) freed: what is left is what
// reached the old generation (promoted, or allocated there), whose rate sets V8's heap growing factor.
// With the import benchmark:
//   BENCH_WORKER_NODE_ARGS='--import ./bench/support/allocation-profiler.mjs' npm run bench:import -- --scenario scale --friends 20000
//   pkill -WINCH -f 'run.mjs worker'   # during the import (not SIGUSR2: Temporal's runtime shuts the worker down on it)
import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';
import { isMainThread } from 'node:worker_threads';

if (isMainThread) {
  const dir = process.env.ALLOCATION_PROFILE_DIR ?? join(process.cwd(), '.data', 'profiles');
  const session = new Session();
  session.connect();
  session.post('HeapProfiler.enable');
  const start = () =>
    session.post('HeapProfiler.startSampling', { samplingInterval: 16384, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: process.env.ALLOCATION_PROFILE_SURVIVORS !== '1' });
  start();
  process.on('SIGWINCH', () => {
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
