// HubSpot webhook deliveries as HubSpot makes them (v3 signature, JSON array of events), for the
// sandbox, tests and demos: the service's POST /webhooks/hubspot cannot tell them from HubSpot's.
import { signHubspotRequest } from '../hubspot/signature.ts';

/** Client secret of the sandbox HubSpot app (signs the sandbox webhooks). Not a secret. */
export const SANDBOX_HUBSPOT_CLIENT_SECRET = 'sandbox-hubspot-client-secret';
/** The sandbox app's ID (`appId` of its webhook events). */
export const SANDBOX_HUBSPOT_APP_ID = 4_000_001;
export const SANDBOX_HUBSPOT_PORTAL_ID = 12_345_678;

/** One event of a HubSpot webhook delivery (the fields HubSpot sends for contact subscriptions). */
export interface HubspotWebhookEvent {
  eventId: number;
  subscriptionId: number;
  portalId: number;
  appId: number;
  occurredAt: number;
  subscriptionType: string;
  attemptNumber: number;
  objectId: number;
  changeSource: string;
  sourceId?: string;
  changeFlag?: string;
  propertyName?: string;
  propertyValue?: string;
}

let nextEventId = Math.floor(Math.random() * 1_000_000) * 1000;

type EventOverrides = Partial<HubspotWebhookEvent>;

function base(objectId: number | string, overrides: EventOverrides): Omit<HubspotWebhookEvent, 'subscriptionType'> {
  return {
    eventId: ++nextEventId,
    subscriptionId: 1_000_100,
    portalId: SANDBOX_HUBSPOT_PORTAL_ID,
    appId: SANDBOX_HUBSPOT_APP_ID,
    occurredAt: Date.now(),
    attemptNumber: 0,
    objectId: Number(objectId),
    changeSource: 'CRM_UI',
    sourceId: 'userId:1234567',
    ...overrides,
  };
}

/** `contact.propertyChange` of `propertyName` (default `line_user_id`) on contact `objectId`. */
export function propertyChangeEvent(objectId: number | string, propertyValue: string, overrides: EventOverrides = {}): HubspotWebhookEvent {
  return { ...base(objectId, overrides), subscriptionType: 'contact.propertyChange', propertyName: 'line_user_id', propertyValue, ...overrides };
}

/** `contact.creation` of contact `objectId` (HubSpot sends no property values with it). */
export function creationEvent(objectId: number | string, overrides: EventOverrides = {}): HubspotWebhookEvent {
  return { ...base(objectId, overrides), subscriptionType: 'contact.creation', changeFlag: 'CREATED', ...overrides };
}

export interface SendHubspotWebhookOptions {
  /** the service's endpoint, e.g. http://127.0.0.1:3000/webhooks/hubspot */
  url: string;
  clientSecret: string;
  events?: HubspotWebhookEvent[];
  /** raw body instead of `events` */
  body?: string;
  /** default: now */
  timestamp?: number | string;
  /** the URI to sign; default `url` (set it when the service is reached through a proxy or PUBLIC_URL) */
  signedUri?: string;
  /** default: the correct v3 signature; `null`: no signature header */
  signature?: string | null;
  headers?: Record<string, string>;
}

/** POSTs a delivery signed like HubSpot signs it; resolves with the answer. */
export async function sendHubspotWebhook(options: SendHubspotWebhookOptions): Promise<{ status: number; body: unknown }> {
  const raw = options.body ?? JSON.stringify(options.events ?? []);
  const timestamp = String(options.timestamp ?? Date.now());
  const signature =
    options.signature === undefined ? signHubspotRequest({ clientSecret: options.clientSecret, method: 'POST', uri: options.signedUri ?? options.url, body: raw, timestamp }) : options.signature;
  const response = await fetch(options.url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'user-agent': 'HubSpot Connect 2.0 (http://dev.hubspot.com/)',
      'x-hubspot-request-timestamp': timestamp,
      ...(signature === null ? {} : { 'x-hubspot-signature-v3': signature }),
      ...options.headers,
    },
    body: raw,
    signal: AbortSignal.timeout(10_000),
  });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = text;
  }
  return { status: response.status, body };
}
