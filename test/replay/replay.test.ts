// Upgrade safety, part 1: the histories of real runs (recorded from the release by
// test/replay/record.ts, committed in test/replay/histories/) replay on today's workflow code
// without a non-determinism error, for every workflow type the worker registers; and a deliberate
// non-deterministic change (a timer added before a workflow's first command) is caught.
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { DefaultLogger, makeTelemetryFilterString, Runtime, Worker, type WorkflowBundle } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import type { temporal } from '@temporalio/proto';
import * as registered from '../../workflows/index.ts';
import { PROJECT_ROOT } from '../../src/temporal/cli.ts';
import { bundleWorkflows, cachedWorkflowBundle } from '../../src/temporal/workflow-bundle.ts';
import { decodeHistory, type RecordedHistory } from '../support/record-histories.ts';

const DIR = join(PROJECT_ROOT, 'test', 'replay', 'histories');

// The non-determinism the mutants cause is expected here: Temporal's core would print a WARN per run.
Runtime.install({ logger: new DefaultLogger('ERROR'), telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'ERROR', other: 'ERROR' }), forward: {} } } });

interface Manifest {
  commit: string;
  histories: Array<{ file: string; type: string; status: string; features: string[] }>;
}
const manifest = JSON.parse(readFileSync(join(DIR, 'manifest.json'), 'utf8')) as Manifest;

function load(file: string): { workflowId: string; type: string; history: temporal.api.history.v1.IHistory } {
  const recorded = JSON.parse(readFileSync(join(DIR, file), 'utf8')) as RecordedHistory;
  return { workflowId: recorded.workflowId, type: recorded.type, history: decodeHistory(recorded.history) };
}

async function replayAll(bundle: WorkflowBundle, files: string[]): Promise<Array<{ file: string; error: Error | undefined }>> {
  const histories = files.map(load);
  const results: Array<{ file: string; error: Error | undefined }> = [];
  let i = 0;
  for await (const result of Worker.runReplayHistories(
    { workflowBundle: bundle, replayName: 'upgrade-check' },
    histories.map(({ workflowId, history }) => ({ workflowId, history })),
  )) {
    results.push({ file: files[i++]!, error: result.error });
  }
  return results;
}

test('every workflow type has recorded histories, covering continue-as-new, signals, child workflows, retries and the verified e-mail merge', () => {
  const types = new Set(manifest.histories.map((h) => h.type));
  for (const name of Object.keys(registered)) assert.ok(types.has(name), `no recorded history of ${name}`);
  const features = new Set(manifest.histories.flatMap((h) => h.features.map((f) => `${h.type}:${f}`)));
  for (const needed of [
    'inboxWorkflow:continue-as-new',
    'inboxWorkflow:continued-run',
    'inboxWorkflow:signal',
    'inboxWorkflow:child-workflow',
    'contactBatchWorkflow:signal-external',
    'contactBatchWorkflow:activity-retried',
    'contactBatchWorkflow:verified-email-merge',
    'importWorkflow:continue-as-new',
    'importWorkflow:signal',
    'inboxDetourWorkflow:signal',
  ]) {
    assert.ok(features.has(needed), `no recorded history shows ${needed}`);
  }
});

test(`the recorded histories (${manifest.histories.length}, from ${manifest.commit.slice(0, 7)}) replay on the current workflow code`, async () => {
  const results = await replayAll(
    await cachedWorkflowBundle(),
    manifest.histories.map((h) => h.file),
  );
  assert.equal(results.length, manifest.histories.length);
  const failures = results.filter((r) => r.error).map((r) => `${r.file}: ${r.error!.name}: ${r.error!.message}`);
  assert.deepEqual(failures, []);
});

// A copy of the workflow code with one change, bundled like the real one.
const mutants = join(PROJECT_ROOT, '.data', 'replay-mutants', randomUUID());
after(() => rmSync(mutants, { recursive: true, force: true }));

const built = new Map<string, Promise<WorkflowBundle>>();
function mutantBundle(file: string, workflow: string): Promise<WorkflowBundle> {
  if (!built.has(workflow)) built.set(workflow, buildMutant(file, workflow));
  return built.get(workflow)!;
}

async function buildMutant(file: string, workflow: string): Promise<WorkflowBundle> {
  const tree = join(mutants, workflow);
  mkdirSync(tree, { recursive: true });
  cpSync(join(PROJECT_ROOT, 'workflows'), join(tree, 'workflows'), { recursive: true });
  cpSync(join(PROJECT_ROOT, 'src'), join(tree, 'src'), { recursive: true });
  const path = join(tree, 'workflows', file);
  const source = readFileSync(path, 'utf8');
  const start = new RegExp(`export async function ${workflow}\\([^)]*\\)[^{]*\\{`);
  assert.match(source, start, `the mutation finds ${workflow} in ${file}`);
  // A timer before anything else: the first command no longer matches what the history recorded.
  writeFileSync(path, `import { sleep as mutantSleep } from '@temporalio/workflow';\n${source.replace(start, (head) => `${head}\n  await mutantSleep(1);`)}`);
  return bundleWorkflows(join(tree, 'workflows', 'index.ts'));
}

for (const [file, workflow] of [
  ['contact-batch.ts', 'contactBatchWorkflow'],
  ['import.ts', 'importWorkflow'],
] as const) {
  test(`a non-deterministic change to ${workflow} fails the replay of its histories`, async () => {
    // Runs that got as far as their first command (an open run may have recorded none yet).
    const files = manifest.histories.filter((h) => h.type === workflow && ['COMPLETED', 'CONTINUED_AS_NEW'].includes(h.status)).map((h) => h.file);
    assert.ok(files.length > 0);
    const results = await replayAll(await mutantBundle(file, workflow), files);
    for (const result of results) {
      assert.ok(
        result.error instanceof DeterminismViolationError,
        `${result.file}: expected a DeterminismViolationError, got ${result.error ? `${result.error.name}: ${result.error.message}` : 'none'}`,
      );
    }
    // The other types, unchanged, still replay on the same bundle: the error is the change's, not the bundle's.
    const others = manifest.histories
      .filter((h) => h.type !== workflow)
      .slice(0, 5)
      .map((h) => h.file);
    const clean = await replayAll(await mutantBundle(file, workflow), others);
    assert.deepEqual(
      clean.filter((r) => r.error).map((r) => r.file),
      [],
    );
  });
}
