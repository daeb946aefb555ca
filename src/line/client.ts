import { messagingApi } from '@line/bot-sdk';

export interface LineClientOptions {
  channelAccessToken: string;
  baseUrl: string;
}

/** The one Messaging API client setup. `baseUrl` is an origin: the SDK's paths are absolute. */
export function createLineClient({ channelAccessToken, baseUrl }: LineClientOptions): messagingApi.MessagingApiClient {
  return new messagingApi.MessagingApiClient({ channelAccessToken, baseURL: baseUrl });
}
