import { createHubspotActivities, type HubspotActivityDeps } from './hubspot.ts';
import { createLineActivities, type LineActivityDeps } from './line.ts';
import { createInboxActivities } from './inbox.ts';
import { createObserveActivities } from './observe.ts';

export { createHubspotActivities, createInboxActivities, createLineActivities, createObserveActivities };
export type { HubspotActivities, ContactWrite, ContactWriteResult } from './hubspot.ts';
export type { InboxActivities, InboxItem, HandOverResult } from './inbox.ts';
export type { ObserveActivities, FriendObservation } from './observe.ts';
export type { LineActivities, FollowerPage, LineProfileBatch } from './line.ts';

export type ActivityDeps = HubspotActivityDeps & LineActivityDeps;
