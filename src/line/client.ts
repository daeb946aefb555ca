import { messagingApi } from '@line/bot-sdk';
import { useLineHttpTransport } from './http-transport.ts';

export interface LineClientOptions {
  channelAccessToken: string;
  baseUrl: string;
}

/**
 * The one Messaging API client setup. `baseUrl` is an origin: the SDK's paths are absolute. Its requests
 * go over node:http(s) instead of the global fetch (src/line/http-transport.ts says why).
 */
export function createLineClient({ channelAccessToken, baseUrl }: LineClientOptions): messagingApi.MessagingApiClient {
  return useLineHttpTransport(new messagingApi.MessagingApiClient({ channelAccessToken, baseURL: baseUrl }));
}
