// The Temporal SDK's logger of the process entries: warnings stay, the expected one is demoted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LogEntry } from '@temporalio/worker';
import { SdkLogger } from '../../src/temporal/sdk-logger.ts';

function logged(logLevel: string, lines: Array<['WARN' | 'INFO' | 'ERROR', string]>): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  const logger = new SdkLogger(logLevel, (entry: LogEntry) => out.push([entry.level, entry.message]));
  for (const [level, message] of lines) logger.log(level, message);
  return out;
}

test('the activity-only HubSpot worker\'s "No workflows registered" warning is not shown at the default level', () => {
  const shown = logged('info', [
    ['WARN', 'No workflows registered, not polling for workflow tasks'],
    ['WARN', '[TMPRL1104] Workflow task duration exceeded 5 seconds'],
    ['INFO', 'Worker state changed'],
    ['ERROR', 'Worker failed'],
  ]);
  assert.deepEqual(shown, [
    ['WARN', '[TMPRL1104] Workflow task duration exceeded 5 seconds'],
    ['ERROR', 'Worker failed'],
  ]);
});

test("the same logger through the SDK's child-logger path (warn()) demotes it too", () => {
  const out: string[] = [];
  const logger = new SdkLogger('info', (entry) => out.push(entry.message));
  logger.warn('No workflows registered, not polling for workflow tasks');
  logger.warn('something else');
  assert.deepEqual(out, ['something else']);
});

test('at LOG_LEVEL=debug everything is shown, the expected warning as DEBUG', () => {
  const shown = logged('debug', [
    ['WARN', 'No workflows registered, not polling for workflow tasks'],
    ['INFO', 'Worker state changed'],
  ]);
  assert.deepEqual(shown, [
    ['DEBUG', 'No workflows registered, not polling for workflow tasks'],
    ['INFO', 'Worker state changed'],
  ]);
});
