import { createHubspotActivities, type HubspotActivityDeps } from './hubspot.ts';
import { createLineActivities, type LineActivityDeps } from './line.ts';
import { createInboxActivities } from './inbox.ts';

export { createHubspotActivities, createInboxActivities, createLineActivities };
export type { HubspotActivities, ContactWrite, ContactWriteResult } from './hubspot.ts';
export type { InboxActivities } from './inbox.ts';
export type { LineActivities, FollowerPage, LineProfileBatch } from './line.ts';

export type ActivityDeps = HubspotActivityDeps & LineActivityDeps;
