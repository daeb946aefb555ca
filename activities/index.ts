import { createHubspotActivities, type HubspotActivityDeps } from './hubspot.ts';
import { createLineActivities, type LineActivityDeps } from './line.ts';

export { createHubspotActivities, createLineActivities };
export type { HubspotActivities, ContactWrite, ContactWriteResult } from './hubspot.ts';
export type { LineActivities, FollowerPage, LineProfileBatch } from './line.ts';

export type ActivityDeps = HubspotActivityDeps & LineActivityDeps;
