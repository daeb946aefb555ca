export { inboxWorkflow } from './inbox.ts';
export { contactBatchWorkflow } from './contact-batch.ts';
export { importWorkflow } from './import.ts';
export { inboxDetourWorkflow } from './inbox-detour.ts';
