export { inboxWorkflow } from './inbox.ts';
export { contactBatchWorkflow } from './contact-batch.ts';
export { importWorkflow } from './import.ts';
