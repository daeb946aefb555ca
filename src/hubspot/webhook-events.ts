// Which HubSpot webhook events concern a LINE friend's contact, and in what form the friend
// workflow takes them (product.md section 5: a contact gets a `line_user_id` in HubSpot).
//
// Only `contact.propertyChange` of `line_user_id` carries work. HubSpot's `contact.creation`
// payload has no property values (just the object ID), and HubSpot also sends a propertyChange for
// each subscribed property a contact is created with, so the propertyChange subscription covers
// every way a contact gets a LINE user ID — by hand, CSV import, API, form — with the value in
// the payload. Creation events are acknowledged and ignored: reading every new contact of the
// portal just to find the few with a LINE user ID would spend HubSpot's rate limit for nothing.
import type { FriendEvent } from '../contracts.ts';
import { isLineUserId } from '../contact/values.ts';

export const LINE_USER_ID_PROPERTY = 'line_user_id';

export type HubspotEventVerdict =
  | { userId: string; objectId: string; event: FriendEvent }
  | { ignored: 'not a contact.propertyChange of line_user_id' | 'value cleared' | 'not a LINE user ID' | 'made by this app' | 'malformed event'; objectId?: string; eventId?: string };

const idText = (value: unknown): string | undefined =>
  (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) || (typeof value === 'string' && /^\d{1,20}$/.test(value)) ? String(value) : undefined;

/** A HubSpot webhook event → the friend event it means, or why it is ignored. Never throws. */
export function friendEventOfHubspot(candidate: unknown): HubspotEventVerdict {
  if (!candidate || typeof candidate !== 'object' || Array.isArray(candidate)) return { ignored: 'malformed event' };
  const e = candidate as Record<string, unknown>;
  const objectId = idText(e.objectId);
  const eventId = idText(e.eventId);
  if (e.subscriptionType !== 'contact.propertyChange' || e.propertyName !== LINE_USER_ID_PROPERTY) {
    return { ignored: 'not a contact.propertyChange of line_user_id', ...(objectId ? { objectId } : {}) };
  }
  if (objectId === undefined || eventId === undefined || typeof e.occurredAt !== 'number' || !Number.isFinite(e.occurredAt)) return { ignored: 'malformed event' };
  // The service's own writes (it sets line_user_id when it creates a contact) come back as
  // INTEGRATION changes whose sourceId is this app's ID: they need no enrichment.
  if (e.changeSource === 'INTEGRATION' && e.appId !== undefined && idText(e.appId) !== undefined && e.sourceId === idText(e.appId)) {
    return { ignored: 'made by this app', objectId, eventId };
  }
  const value = typeof e.propertyValue === 'string' ? e.propertyValue.trim() : '';
  if (value === '') return { ignored: 'value cleared', objectId, eventId };
  if (!isLineUserId(value)) return { ignored: 'not a LINE user ID', objectId, eventId };
  return {
    userId: value,
    objectId,
    // HubSpot's eventId is not guaranteed unique across objects; with the object it keys a delivery.
    event: { eventId: `hubspot:${objectId}:${eventId}`, kind: 'hubspot', timestamp: e.occurredAt },
  };
}
