// Operator endpoints GET /friends and GET /friends/summary: the account's LINE contacts, read from
// HubSpot (the service stores none). Registered only when ADMIN_TOKEN is set; bearer token needed.
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { FriendsError, FRIENDS_MAX_LIMIT, type FriendDirectory } from '../../hubspot/friends.ts';
import type { AdminAuth } from '../admin-auth.ts';

export interface FriendsRoutesOptions {
  auth: AdminAuth;
  /** undefined: this server has no HubSpot token (HUBSPOT_ACCESS_TOKEN) */
  directory: FriendDirectory | undefined;
}

const nullable = (type: string) => ({ type: [type, 'null'] });
const friendSchema = {
  type: 'object',
  properties: {
    userId: { type: 'string' },
    contactId: { type: 'string' },
    name: nullable('string'),
    pictureUrl: nullable('string'),
    follow: nullable('string'),
    createdVia: nullable('string'),
    syncDate: nullable('string'),
    email: nullable('string'),
    lastMessageAt: nullable('string'),
    lastMessage: nullable('string'),
    language: nullable('string'),
  },
} as const;
const errorSchema = { type: 'object', properties: { error: { type: 'string' } } } as const;
const counts = { type: 'object', additionalProperties: { type: 'integer' } } as const;

export function sendFriendsError(reply: FastifyReply, error: unknown) {
  if (!(error instanceof FriendsError)) throw error;
  if (error.retryAfterSeconds !== undefined) void reply.header('retry-after', String(error.retryAfterSeconds));
  return reply.code(error.status).send({ error: error.message });
}

export const NO_HUBSPOT = 'this server has no HubSpot access token (HUBSPOT_ACCESS_TOKEN): it cannot read the friends';

export const friendsRoutes: FastifyPluginAsync<FriendsRoutesOptions> = async (app, { auth, directory }) => {
  app.addHook('onRequest', async (request, reply) => {
    if (!auth.bearer(request)) {
      return reply.code(401).header('www-authenticate', 'Bearer realm="line-hubspot-sync operator"').send({ error: 'missing or wrong admin bearer token' });
    }
  });

  app.get<{ Querystring: { follow?: 'YES' | 'NO'; q?: string; limit?: number; after?: string } }>(
    '/friends',
    {
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            follow: { type: 'string', enum: ['YES', 'NO'] },
            q: { type: 'string', maxLength: 100 },
            limit: { type: 'integer', minimum: 1, maximum: FRIENDS_MAX_LIMIT },
            after: { type: 'string', maxLength: 200 },
          },
        },
        response: {
          200: { type: 'object', properties: { friends: { type: 'array', items: friendSchema }, next: nullable('string') } },
          '4xx': errorSchema,
          '5xx': errorSchema,
        },
      },
    },
    async (request, reply) => {
      if (!directory) return reply.code(503).send({ error: NO_HUBSPOT });
      try {
        const { follow, q, limit, after } = request.query;
        return await directory.list({ ...(follow ? { follow } : {}), ...(q ? { q } : {}), ...(limit ? { limit } : {}), ...(after ? { after } : {}) });
      } catch (error) {
        return sendFriendsError(reply, error);
      }
    },
  );

  app.get(
    '/friends/summary',
    {
      schema: {
        response: {
          200: { type: 'object', properties: { total: { type: 'integer' }, follow: counts, createdVia: counts, countedAt: { type: 'string' } } },
          '4xx': errorSchema,
          '5xx': errorSchema,
        },
      },
    },
    async (_request, reply) => {
      if (!directory) return reply.code(503).send({ error: NO_HUBSPOT });
      try {
        return await directory.summary();
      } catch (error) {
        return sendFriendsError(reply, error);
      }
    },
  );
};
