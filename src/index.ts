// The package's TypeScript API: start, follow and cancel imports of existing LINE friends.
export {
  startImport,
  getImportProgress,
  cancelImport,
  importTargetOf,
  isImportId,
  type ImportTarget,
  type StartImportOptions,
  type StartedImport,
  type ImportStatus,
  type CancelledImport,
  type FindImportOptions,
} from './temporal/import-client.ts';
export { connectClient, type TemporalTarget } from './temporal/connection.ts';
export { importWorkflowId } from './temporal/ids.ts';
export { importProgressQuery, describeProgress, type ImportOptions, type ImportProgress, type ImportState, type ImportFailure, type ImportCounts } from '../workflows/import.ts';
