// Records the histories that test/replay/replay.test.ts replays: runs integration tests with
// LHS_RECORD_HISTORIES set (every stack saves every run's history before it stops, see
// test/support/record-histories.ts), then keeps, for every workflow type, the smallest histories that
// show each feature (continue-as-new, signals, child workflows, activity retries, timers, the verified
// e-mail merge, …), and writes them to test/replay/histories/ with a manifest of the commit they came from.
//
//   node --import tsx test/replay/record.ts [test files…]      (default: the files below)
//
// Record from the release the histories should stand for (main's HEAD, clean tree): replaying them
// against later code is what proves that code can take over runs the release started.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, mkdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../src/temporal/cli.ts';
import { decodeHistory, RECORD_DIR_ENV, type RecordedHistory } from '../support/record-histories.ts';

const DEFAULT_FILES = [
  'test/integration/webhook-inbox.test.ts',
  'test/integration/friend-lifecycle.test.ts',
  'test/integration/verified-email.test.ts',
  'test/integration/friend-resilience.test.ts',
  'test/integration/import.test.ts',
  'test/integration/webhook-idle-race.test.ts',
];
const OUT = join(PROJECT_ROOT, 'test', 'replay', 'histories');
const PER_FEATURE = 2;

type Recorded = RecordedHistory;

type Event = Record<string, Record<string, unknown> | undefined>;

/** What a history exercises, by its events. */
export function featuresOf(recorded: Recorded): string[] {
  const events = (decodeHistory(recorded.history).events ?? []) as unknown as Event[];
  const features = new Set<string>([`status-${recorded.status.toLowerCase()}`]);
  const activityTypes = new Set<string>();
  for (const e of events) {
    if (e.workflowExecutionContinuedAsNewEventAttributes) features.add('continue-as-new');
    if (e.workflowExecutionStartedEventAttributes?.continuedExecutionRunId) features.add('continued-run');
    if (e.workflowExecutionSignaledEventAttributes) features.add('signal');
    if (e.startChildWorkflowExecutionInitiatedEventAttributes) features.add('child-workflow');
    if (e.signalExternalWorkflowExecutionInitiatedEventAttributes) features.add('signal-external');
    if (e.timerStartedEventAttributes) features.add('timer');
    if (e.timerCanceledEventAttributes) features.add('timer-canceled');
    if (e.markerRecordedEventAttributes) features.add('local-activity');
    if (e.activityTaskFailedEventAttributes || e.activityTaskTimedOutEventAttributes) features.add('activity-failed');
    if (Number(e.activityTaskStartedEventAttributes?.attempt ?? 1) > 1) features.add('activity-retried');
    if (e.childWorkflowExecutionFailedEventAttributes) features.add('child-failed');
    if (e.workflowTaskFailedEventAttributes) features.add('workflow-task-failed');
    const scheduled = e.activityTaskScheduledEventAttributes as { activityType?: { name?: string } } | undefined;
    if (scheduled?.activityType?.name) activityTypes.add(scheduled.activityType.name);
  }
  if (activityTypes.has('readContactByEmail')) features.add('verified-email-merge');
  for (const type of activityTypes) features.add(`activity-${type}`);
  return [...features];
}

function record(files: string[], dir: string): void {
  const run = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=dot', ...files], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, [RECORD_DIR_ENV]: dir },
    stdio: 'inherit',
  });
  // The histories are real runs either way; a failed assertion is reported, not a reason to keep none.
  if (run.status !== 0) process.stderr.write(`warning: some tests failed (exit ${run.status}); their runs are recorded all the same\n`);
}

function load(dir: string): Recorded[] {
  const all: Recorded[] = [];
  for (const sub of readdirSync(dir)) {
    for (const name of readdirSync(join(dir, sub))) all.push(JSON.parse(readFileSync(join(dir, sub, name), 'utf8')) as Recorded);
  }
  return all;
}

function select(all: Recorded[]): Array<{ recorded: Recorded; features: string[]; why: string[] }> {
  const chosen = new Map<string, { recorded: Recorded; features: string[]; why: string[] }>();
  const byType = new Map<string, Array<{ recorded: Recorded; features: string[]; size: number }>>();
  for (const recorded of all) {
    const entry = { recorded, features: featuresOf(recorded), size: recorded.history.length };
    byType.set(recorded.type, [...(byType.get(recorded.type) ?? []), entry]);
  }
  for (const [type, entries] of byType) {
    entries.sort((a, b) => a.size - b.size);
    const features = new Set(entries.flatMap((e) => e.features));
    for (const feature of features) {
      for (const entry of entries.filter((e) => e.features.includes(feature)).slice(0, PER_FEATURE)) {
        const key = entry.recorded.runId;
        const found = chosen.get(key) ?? { recorded: entry.recorded, features: entry.features, why: [] };
        found.why.push(`${type}:${feature}`);
        chosen.set(key, found);
      }
    }
  }
  return [...chosen.values()];
}

const files = process.argv.slice(2).length ? process.argv.slice(2) : DEFAULT_FILES;
const git = (...args: string[]) => spawnSync('git', args, { cwd: PROJECT_ROOT, encoding: 'utf8' }).stdout.trim();
const dir = mkdtempSync(join(tmpdir(), 'lhs-histories-'));
try {
  record(files, dir);
  const all = load(dir);
  const chosen = select(all);
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  const manifest = {
    recordedAt: new Date().toISOString(),
    commit: git('rev-parse', 'HEAD'),
    workflowSources: git('log', '-1', '--format=%H', '--', 'workflows', 'src/contracts.ts', 'src/batching', 'src/contact'),
    dirtyWorkflowSources: git('status', '--porcelain', '--', 'workflows', 'src') !== '',
    fromTests: files,
    recordedRuns: all.length,
    histories: [] as Array<{ file: string; type: string; status: string; events: number; features: string[]; chosenFor: string[] }>,
  };
  for (const { recorded, features, why } of chosen.sort((a, b) => a.recorded.type.localeCompare(b.recorded.type))) {
    const file = `${recorded.type}-${recorded.runId}.json`;
    writeFileSync(join(OUT, file), `${JSON.stringify({ ...recorded, features }, null, 1)}\n`);
    manifest.histories.push({ file, type: recorded.type, status: recorded.status, events: recorded.events, features, chosenFor: why });
  }
  writeFileSync(join(OUT, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  const bytes = readdirSync(OUT).reduce((sum, name) => sum + statSync(join(OUT, name)).size, 0);
  process.stderr.write(`kept ${chosen.length} of ${all.length} histories (${(bytes / 1024).toFixed(0)} KB) in test/replay/histories/\n`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
