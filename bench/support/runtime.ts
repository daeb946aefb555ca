// Import this before anything that starts a Temporal worker: it installs the SDK runtime with a
// logger that counts warnings (e.g. "[TMPRL1104] Workflow task duration exceeded 5 seconds") instead
// of printing each one over the benchmark's output. Errors are still printed.
import { DefaultLogger, Runtime } from '@temporalio/worker';

const counts = new Map<string, number>();

/** Warnings and errors the SDK (TS and core) logged since the start, by kind. */
export function sdkLogCounts(): Record<string, number> {
  return Object.fromEntries(counts);
}

function kindOf(message: string): string {
  const code = /\[(TMPRL\d+)\]/.exec(message)?.[1];
  const text = message.replace(/\[TMPRL\d+\]\s*/, '').replace(/^[0-9a-f-]{36}:\S+\s+/, '');
  return `${code ? `${code} ` : ''}${text.slice(0, 80)}`;
}

try {
  Runtime.install({
    logger: new DefaultLogger('WARN', (entry) => {
      if (entry.message.startsWith('No workflows registered')) return; // the activity-only worker says so on start
      const key = `${entry.level} ${kindOf(entry.message)}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
      if (entry.level === 'ERROR' && (counts.get(key) ?? 0) <= 3) process.stderr.write(`[temporal sdk] ${entry.message}\n`);
    }),
    telemetryOptions: { logging: { filter: { core: 'WARN', other: 'ERROR' }, forward: {} } },
  });
} catch {
  // already installed in this process
}
