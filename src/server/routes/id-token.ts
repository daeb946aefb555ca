// POST /line/id-token: a LIFF page (or a LINE Login callback) sends the friend's LINE Login ID
// token; LINE verifies it, and the e-mail LINE vouches for goes to the friend's contact writer — never an
// e-mail the client sent. The token itself goes nowhere: not to logs, not to Temporal.
import type { FastifyPluginAsync } from 'fastify';
import type { FriendEvent } from '../../contracts.ts';
import { LineLoginUnavailableError, type LineLoginClient } from '../../line/login.ts';
import type { FriendEventInbox } from '../../temporal/inbox-client.ts';
import { ClientRateLimiter, type TokenBucketOptions } from '../rate-limit.ts';

export interface IdTokenRouteOptions {
  /** the channel's contact writers: the e-mail is acknowledged once it is in one */
  inbox: FriendEventInbox;
  login: LineLoginClient;
  /** per client address; default 20 at once, then one every 3 s */
  rateLimit?: Pick<TokenBucketOptions, 'capacity' | 'refillPerSecond'>;
  /** how long Temporal may take to accept the e-mail */
  deadlineMs?: number;
}

/** A JWT (three base64url parts); LINE's ID tokens are well under 4 KiB. */
const ID_TOKEN_PATTERN = '^[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+$';

const bodySchema = {
  type: 'object',
  required: ['idToken'],
  additionalProperties: false,
  properties: { idToken: { type: 'string', minLength: 20, maxLength: 4096, pattern: ID_TOKEN_PATTERN } },
} as const;

const errorSchema = { type: 'object', properties: { error: { type: 'string' } } } as const;

/** The event that carries a verified e-mail; its ID is the token's identity (sub + iat), so a re-posted token is applied once. */
export function verifiedEmailEvent(token: { sub: string; iat: number; email: string }): FriendEvent {
  return { eventId: `line-login:${token.sub}:${token.iat}`, kind: 'verified-email', email: token.email, timestamp: token.iat * 1000 };
}

export const idTokenRoutes: FastifyPluginAsync<IdTokenRouteOptions> = async (app, options) => {
  const { inbox, login } = options;
  const deadlineMs = options.deadlineMs ?? 3000;
  const limiter = new ClientRateLimiter({ capacity: 20, refillPerSecond: 1 / 3, ...options.rateLimit });

  app.post<{ Body: { idToken: string } }>(
    '/line/id-token',
    {
      bodyLimit: 16 * 1024,
      schema: {
        body: bodySchema,
        response: { 202: { type: 'object', required: ['userId'], additionalProperties: false, properties: { userId: { type: 'string' } } }, '4xx': errorSchema, '5xx': errorSchema },
      },
      // Before the body is even read: a flood costs us as little as possible.
      onRequest: async (request, reply) => {
        if (!limiter.take(request.ip)) {
          return reply
            .code(429)
            .header('retry-after', String(limiter.retryAfterSeconds(request.ip)))
            .send({ error: 'too many requests from this address; try again later' });
        }
      },
      // Fastify's schema would silently drop extra fields; say plainly that only the token counts.
      preValidation: async (request, reply) => {
        const body = request.body;
        if (body && typeof body === 'object' && !Array.isArray(body)) {
          const extra = Object.keys(body).filter((k) => k !== 'idToken');
          if (extra.length > 0) {
            return reply
              .code(400)
              .send({ error: `only "idToken" is accepted (got ${extra.map((k) => JSON.stringify(k.slice(0, 40))).join(', ')}): the e-mail is read from LINE, never from the request` });
          }
        }
      },
    },
    async (request, reply) => {
      let verification;
      try {
        verification = await login.verifyIdToken(request.body.idToken);
      } catch (error) {
        if (!(error instanceof LineLoginUnavailableError)) throw error;
        request.log.warn({ reason: error.message }, 'LINE Login could not verify an ID token');
        return reply.code(503).header('retry-after', '5').send({ error: 'LINE could not verify the token right now; try again shortly' });
      }
      if (!verification.ok) {
        request.log.info({ reason: verification.reason }, 'ID token rejected by LINE');
        return reply.code(401).send({ error: `LINE rejected the ID token: ${verification.reason}` });
      }
      const { sub, iat, email } = verification.token;
      if (!email) {
        return reply.code(422).send({
          error: 'LINE returned no e-mail for this token: the LINE Login channel needs the e-mail permission, and the login the scopes "openid email" with the user\'s consent',
        });
      }
      const failures = await inbox.deliver([{ userId: sub, event: verifiedEmailEvent({ sub, iat, email }) }], deadlineMs);
      if (failures.length > 0) {
        request.log.error({ userId: sub, reason: failures[0]!.reason }, 'Temporal did not accept a verified e-mail');
        return reply.code(503).header('retry-after', '1').send({ error: 'the e-mail could not be handed over right now; post the same token again' });
      }
      request.log.info({ userId: sub }, 'verified e-mail handed to the contact writer');
      return reply.code(202).header('cache-control', 'no-store').send({ userId: sub });
    },
  );
};
