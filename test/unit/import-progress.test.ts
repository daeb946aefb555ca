// How an import's progress reads: the live line of `npm run import -- --wait`, its summary, and
// the Temporal UI's current details.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { handled, outcomeBar, progressLine, summary } from '../../src/cli/import-progress.ts';
import { describeProgress, type ImportProgress } from '../../workflows/import.ts';

const base: ImportProgress = {
  importId: '01a1fdf8-9ccd-7475-8a9d-c9dd219aa7d9',
  channelId: 'default',
  state: 'running',
  startedAt: '2026-01-01T00:00:00.000Z',
  cursor: 'abc',
  page: 3,
  failures: [],
  pages: 2,
  friendsSeen: 3000,
  created: 1000,
  updated: 500,
  unchanged: 400,
  skipped: 50,
  failed: 50,
};
const at = (seconds: number) => Date.parse(base.startedAt) + seconds * 1000;

describe('import progress as people read it', () => {
  test('friends handled are the sum of the outcomes', () => {
    assert.equal(handled(base), 2000);
  });

  test('the bar shows each outcome in proportion to the friends listed so far, the rest pending', () => {
    const bar = outcomeBar(base, 30);
    assert.equal([...bar].length, 30);
    assert.equal(bar, `${'█'.repeat(10)}${'▓'.repeat(5)}${'▒'.repeat(4)}░✗${'·'.repeat(9)}`, 'a failure is never rounded away');
    assert.equal(outcomeBar({ ...base, failed: 0 }, 30), `${'█'.repeat(10)}${'▓'.repeat(5)}${'▒'.repeat(4)}░${'·'.repeat(10)}`);
    assert.equal(outcomeBar({ ...base, friendsSeen: 0, created: 0, updated: 0, unchanged: 0, skipped: 0, failed: 0 }, 5), '·····');
  });

  test('the live line has the page, counts, rate and elapsed time', () => {
    const line = progressLine(base, at(100));
    assert.match(line, /page 3 · 2,000\/3,000 friends · 1,000 created · 500 updated · 400 unchanged · 50 skipped · 50 failed · 20\/s · 1m40s$/);
    assert.match(progressLine({ ...base, state: 'completed' }, at(100)), /^✓ /);
    assert.match(progressLine({ ...base, state: 'failed' }, at(100)), /^✗ /);
  });

  test('the summary names the outcome, every count and the first failures', () => {
    const failures = Array.from({ length: 12 }, (_, i) => ({ userId: `U${String(i).padStart(32, '0')}`, reason: 'Contact already exists' }));
    const text = summary({ ...base, state: 'failed', message: 'this LINE account is not verified or premium', failures, finishedAt: '2026-01-01T00:00:10.000Z' }, at(999));
    assert.match(text, /^import 01a1fdf8-\S+ failed: this LINE account is not verified or premium$/m);
    assert.match(text, /created +1,000/);
    assert.match(text, /time +10s \(200\.0 friends\/s\)/);
    assert.equal(text.split('\n').filter((l) => l.startsWith('  ✗')).length, 10);
    assert.match(text, /… 40 more failures/);
  });

  test("the Temporal UI's current details say where the import is", () => {
    assert.equal(describeProgress(base), 'importing page 3 (2 done) · 3000 friends seen: 1000 created, 500 updated, 400 unchanged, 50 skipped, 50 failed');
    assert.match(describeProgress({ ...base, state: 'failed', message: 'boom' }), /^failed at page 3: boom/);
    assert.match(describeProgress({ ...base, state: 'completed' }), /^completed: 2 pages/);
  });
});
