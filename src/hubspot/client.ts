import { Client } from '@hubspot/api-client';

export interface HubspotClientOptions {
  accessToken: string;
  baseUrl: string;
}

/** The one HubSpot client setup: no hidden retries, no in-process limiter (Temporal retries and paces). */
export function createHubspotClient({ accessToken, baseUrl }: HubspotClientOptions): Client {
  return new Client({ accessToken, basePath: baseUrl, numberOfApiCallRetries: 0 });
}
