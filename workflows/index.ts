export { friendWorkflow, friendEventSignal, friendStateQuery } from './friend.ts';
export { importWorkflow, importProgressQuery } from './import.ts';
export { inboxWorkflow, inboxEventsSignal, inboxStateQuery } from './inbox.ts';
