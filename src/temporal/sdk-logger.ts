// The Temporal SDK's logger for the process entries (`npm start`, `npm run worker`): its INFO lines
// (bundling, worker states) only at LOG_LEVEL=debug, and no warning a newcomer cannot act on.
import { DefaultLogger, type LogEntry, type LogLevel, type LogMetadata } from '@temporalio/worker';

/**
 * SDK warnings that describe the intended set-up, not a problem: the HubSpot worker (task queue
 * `<queue>-hubspot`) runs activities only, so the SDK says it polls no workflow tasks.
 */
const EXPECTED_WARNINGS = ['No workflows registered, not polling for workflow tasks'];

/** DefaultLogger at WARN (DEBUG when `logLevel` is debug), the expected warnings demoted to DEBUG. */
export class SdkLogger extends DefaultLogger {
  constructor(logLevel: string, write?: (entry: LogEntry) => void) {
    super(logLevel === 'debug' ? 'DEBUG' : 'WARN', write);
  }

  override log(level: LogLevel, message: string, meta?: LogMetadata): void {
    super.log(level === 'WARN' && EXPECTED_WARNINGS.includes(message) ? 'DEBUG' : level, message, meta);
  }
}
