// The HTTP service as a Fastify plugin: webhooks in, Temporal out. No LINE calls here; HubSpot is
// only read, by search, for the operator's friends list (GET /friends, the console).
import Fastify, { type FastifyInstance, type FastifyPluginAsync, type FastifyServerOptions } from 'fastify';
import type { Client } from '@temporalio/client';
import type { Config } from '../config.ts';
import { importTargetOf } from '../temporal/import-client.ts';
import { contactTargetOf, FriendEventInbox } from '../temporal/inbox-client.ts';
import { healthRoutes } from './routes/health.ts';
import { importRoutes } from './routes/imports.ts';
import { lineWebhookRoutes } from './routes/line-webhook.ts';
import { createLineLoginClient } from '../line/login.ts';
import { hubspotWebhookRoutes } from './routes/hubspot-webhook.ts';
import { idTokenRoutes } from './routes/id-token.ts';
import { friendsRoutes } from './routes/friends.ts';
import { consoleRoutes } from './routes/console.ts';
import { AdminAuth } from './admin-auth.ts';
import { createHubspotClient } from '../hubspot/client.ts';
import { FriendDirectory } from '../hubspot/friends.ts';

export interface AppOptions {
  config: Config;
  temporal: Client;
}

/** Everything the service serves, registered as one plugin so tests and entries build it the same way. */
export const syncService: FastifyPluginAsync<AppOptions> = async (app, { config, temporal }) => {
  app.setErrorHandler((error: { statusCode?: number; message: string }, request, reply) => {
    const status = error.statusCode && error.statusCode >= 400 ? error.statusCode : 500;
    if (status >= 500) request.log.error({ err: error }, 'request failed');
    else request.log.info({ status, reason: error.message }, 'request rejected');
    void reply.code(status).send({ error: status >= 500 ? 'internal error' : error.message });
  });

  await app.register(healthRoutes, { temporal });
  // Operator endpoints exist only with a configured admin token.
  if (config.adminToken) {
    await app.register(importRoutes, { temporal, adminToken: config.adminToken, target: importTargetOf(config) });
    // Friends are read from HubSpot by search, paced to search's own limit (never the sync's budget).
    const auth = new AdminAuth(config.adminToken);
    const directory = config.hubspotAccessToken
      ? new FriendDirectory({
          hubspot: createHubspotClient({ accessToken: config.hubspotAccessToken, baseUrl: config.hubspotBaseUrl }),
          searchRequestsPerSecond: config.hubspotSearchRequestsPerSecond,
        })
      : undefined;
    await app.register(friendsRoutes, { auth, directory });
    await app.register(consoleRoutes, {
      auth,
      temporal,
      directory,
      target: importTargetOf(config),
      namespace: config.temporalNamespace,
      temporalUiUrl: config.temporalUiUrl,
    });
  }
  // Every producer hands its events to the same contact writers, through one group commit.
  const inbox = new FriendEventInbox(temporal, contactTargetOf(config), { shards: config.lineInboxShards });
  // A signal still retrying after its request was answered must end before the connection closes.
  app.addHook('onClose', () => inbox.drain());
  if (config.lineChannelSecret) await app.register(lineWebhookRoutes, { inbox, channelSecret: config.lineChannelSecret });
  if (config.lineLoginChannelId) {
    const login = createLineLoginClient({ baseUrl: config.lineApiBaseUrl, channelId: config.lineLoginChannelId });
    await app.register(idTokenRoutes, { inbox, login });
  }
  if (config.hubspotClientSecret) {
    await app.register(hubspotWebhookRoutes, { inbox, clientSecret: config.hubspotClientSecret, publicUrl: config.publicUrl });
  }
};

/** pino options: JSON logs, never an authorization header or signature. */
export function loggerOptions(level: string): FastifyServerOptions['logger'] {
  return {
    level,
    redact: {
      paths: ['req.headers.authorization', 'req.headers["x-line-signature"]', 'req.headers["x-hubspot-signature-v3"]', 'req.headers.cookie', '*.idToken', '*.id_token'],
      censor: '[redacted]',
    },
  };
}

export async function buildApp(options: AppOptions & { logger?: FastifyServerOptions['logger'] }): Promise<FastifyInstance> {
  const app = Fastify({
    logger: options.logger ?? loggerOptions(options.config.logLevel),
    bodyLimit: 1024 * 1024,
    // Behind a load balancer, client addresses and protocol come from X-Forwarded-* (TRUST_PROXY).
    trustProxy: options.config.trustProxy as boolean,
    requestTimeout: 10_000,
  });
  await app.register(syncService, options);
  return app;
}
