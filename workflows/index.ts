export { friendWorkflow, friendEventSignal, friendStateQuery } from './friend.ts';
