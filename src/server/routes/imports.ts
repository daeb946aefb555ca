// Operator endpoints for imports of existing friends: POST /imports, GET and DELETE /imports/:importId.
// Registered only when ADMIN_TOKEN is set; every request needs it as a bearer token.
import { status as GrpcStatus } from '@grpc/grpc-js';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import type { Client } from '@temporalio/client';
import { cancelImport, getImportProgress, startImport, type ImportTarget } from '../../temporal/import-client.ts';
import type { ImportOptions } from '../../../workflows/import.ts';

export interface ImportRoutesOptions {
  temporal: Client;
  adminToken: string;
  target: ImportTarget;
}

const importOptionsSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    pageSize: { type: 'integer', minimum: 1, maximum: 1000, description: 'follower IDs per LINE page' },
  },
} as const;

const importIdParams = { type: 'object', required: ['importId'], properties: { importId: { type: 'string', maxLength: 100 } } } as const;
const errorSchema = { type: 'object', properties: { error: { type: 'string' } } } as const;
const stateSchema = { type: 'string', enum: ['running', 'completed', 'failed', 'canceled'] } as const;
const count = { type: 'integer' } as const;

const progressSchema = {
  type: 'object',
  properties: {
    importId: { type: 'string' },
    workflowId: { type: 'string' },
    runId: { type: 'string' },
    channelId: { type: 'string' },
    state: stateSchema,
    startedAt: { type: 'string' },
    finishedAt: { type: 'string' },
    pages: count,
    page: count,
    cursor: { type: ['string', 'null'] },
    friendsSeen: count,
    created: count,
    updated: count,
    unchanged: count,
    skipped: count,
    failed: count,
    failures: { type: 'array', items: { type: 'object', properties: { userId: { type: 'string' }, reason: { type: 'string' } } } },
    message: { type: 'string' },
    stale: { type: 'boolean' },
  },
} as const;

/** The token's hash, so that the comparison takes the same time whatever the given token's length. */
const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();

/** Temporal down or unreachable (gRPC UNAVAILABLE / DEADLINE_EXCEEDED): the operator should retry, not debug. */
function isTemporalUnavailable(error: unknown): boolean {
  const e = error as { code?: number; cause?: { code?: number }; name?: string };
  const code = e?.code ?? e?.cause?.code;
  return code === GrpcStatus.UNAVAILABLE || code === GrpcStatus.DEADLINE_EXCEEDED || (e?.name === 'ServiceError' && /UNAVAILABLE|DEADLINE/.test(String((error as Error).message)));
}

export const importRoutes: FastifyPluginAsync<ImportRoutesOptions> = async (app, { temporal, adminToken, target }) => {
  const expected = digest(adminToken);

  app.addHook('onRequest', async (request, reply) => {
    const match = /^Bearer[ \t]+([^\s]+)[ \t]*$/i.exec(request.headers.authorization ?? '');
    if (!match || !timingSafeEqual(digest(match[1]!), expected)) {
      return reply.code(401).header('www-authenticate', 'Bearer realm="line-hubspot-sync operator"').send({ error: 'missing or wrong admin bearer token' });
    }
  });

  const unavailable = (reply: FastifyReply, error: unknown) => {
    if (!isTemporalUnavailable(error)) throw error;
    return reply.code(503).header('retry-after', '5').send({ error: 'Temporal is unavailable; try again shortly' });
  };

  app.post<{ Body: ImportOptions | undefined }>(
    '/imports',
    {
      schema: {
        body: importOptionsSchema,
        response: {
          202: {
            type: 'object',
            properties: { importId: { type: 'string' }, workflowId: { type: 'string' }, runId: { type: 'string' }, alreadyRunning: { type: 'boolean' } },
          },
          '4xx': errorSchema,
          503: errorSchema,
        },
      },
      preValidation: async (request, reply) => {
        // An empty POST (no body at all) means "the defaults".
        if (request.body === undefined || request.body === null) request.body = {};
        // Fastify's validator drops unknown properties silently; a mistyped option must not pass unnoticed.
        const unknown = typeof request.body === 'object' && !Array.isArray(request.body) ? Object.keys(request.body).filter((k) => !(k in importOptionsSchema.properties)) : [];
        if (unknown.length > 0) {
          return reply.code(400).send({ error: `unknown import option(s): ${unknown.join(', ')}; known: ${Object.keys(importOptionsSchema.properties).join(', ')}` });
        }
      },
    },
    async (request, reply) => {
      try {
        const started = await startImport(temporal, { ...target, ...request.body });
        request.log.info({ importId: started.importId, alreadyRunning: started.alreadyRunning }, started.alreadyRunning ? 'import already running: joined' : 'import started');
        return reply.code(202).send(started);
      } catch (error) {
        return unavailable(reply, error);
      }
    },
  );

  app.get<{ Params: { importId: string } }>(
    '/imports/:importId',
    { schema: { params: importIdParams, response: { 200: progressSchema, '4xx': errorSchema, 503: errorSchema } } },
    async (request, reply) => {
      try {
        const status = await getImportProgress(temporal, request.params.importId, { channelId: target.channelId });
        if (!status) return reply.code(404).send({ error: `no import with ID ${request.params.importId}` });
        return status;
      } catch (error) {
        return unavailable(reply, error);
      }
    },
  );

  app.delete<{ Params: { importId: string } }>(
    '/imports/:importId',
    {
      schema: {
        params: importIdParams,
        response: {
          '2xx': { type: 'object', properties: { importId: { type: 'string' }, workflowId: { type: 'string' }, cancelRequested: { type: 'boolean' }, state: stateSchema } },
          '4xx': errorSchema,
          503: errorSchema,
        },
      },
    },
    async (request, reply) => {
      try {
        const result = await cancelImport(temporal, request.params.importId, { channelId: target.channelId });
        if (!result) return reply.code(404).send({ error: `no import with ID ${request.params.importId}` });
        request.log.info({ importId: result.importId, cancelRequested: result.cancelRequested }, 'import cancel requested');
        // 202: cancellation is on its way; 200: the import had already ended (nothing to cancel).
        return reply.code(result.cancelRequested ? 202 : 200).send(result);
      } catch (error) {
        return unavailable(reply, error);
      }
    },
  );
};
