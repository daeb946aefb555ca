import type { FastifyPluginAsync } from 'fastify';
import type { Client } from '@temporalio/client';

export const healthRoutes: FastifyPluginAsync<{ temporal: Client }> = async (app, { temporal }) => {
  app.get('/healthz', { schema: { response: { 200: { type: 'object', properties: { status: { type: 'string' } } } } } }, async () => ({ status: 'ok' }));

  app.get('/readyz', async (_request, reply) => {
    try {
      await temporal.withDeadline(Date.now() + 1000, () => temporal.workflowService.getSystemInfo({}));
      return { status: 'ready', temporal: 'connected' };
    } catch {
      return reply.code(503).send({ status: 'not ready', temporal: 'unreachable' });
    }
  });
};
