import { Client } from '@hubspot/api-client';
import { keepAliveAgent } from '../http-agents.ts';
import type { HubspotBudget } from './budget.ts';

export interface HubspotClientOptions {
  accessToken: string;
  baseUrl: string;
  /** told what HubSpot says of its rolling window in every answer (the activities pace their requests with it) */
  budget?: HubspotBudget;
}

interface ResponseContextLike {
  httpStatusCode: number;
  headers: Record<string, string | undefined>;
}

/**
 * The one HubSpot client setup: no hidden retries (Temporal retries); with a budget, each answer
 * tells it what HubSpot counted in its window (`budget.run` around a call paces it). With an
 * `httpAgent` the client sends over node:http(s) instead of the global fetch (src/http-agents.ts).
 */
export function createHubspotClient({ accessToken, baseUrl, budget }: HubspotClientOptions): Client {
  return new Client({
    accessToken,
    basePath: baseUrl,
    numberOfApiCallRetries: 0,
    httpAgent: keepAliveAgent(new URL(baseUrl).protocol),
    ...(budget
      ? {
          middleware: [
            {
              pre: (context: unknown) => context,
              post: (context: unknown) => {
                const { headers, httpStatusCode } = context as ResponseContextLike;
                budget.observe(
                  {
                    remaining: headers['x-hubspot-ratelimit-remaining'],
                    max: headers['x-hubspot-ratelimit-max'],
                    intervalMs: headers['x-hubspot-ratelimit-interval-milliseconds'],
                  },
                  httpStatusCode,
                );
                return context;
              },
            },
          ],
        }
      : {}),
  });
}
