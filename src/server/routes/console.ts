// GET /console: the operator console (HTML). Signs in with HTTP Basic (the admin token as password,
// any user name) or its sign-in form (an HttpOnly, SameSite=Strict cookie). Friends are read
// in-process through the same FriendDirectory as GET /friends; import progress and the webhook's
// writers are polled by the page from /console/status.json.
import { randomBytes } from 'node:crypto';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { inboxStateQuery, type InboxState } from '../../contracts.ts';
import { FriendsError, type FriendDirectory, type FriendsPage } from '../../hubspot/friends.ts';
import { cancelImport, getImportProgress, startImport, type ImportStatus, type ImportTarget } from '../../temporal/import-client.ts';
import { importWorkflowId, inboxWorkflowId } from '../../temporal/ids.ts';
import { AdminAuth } from '../admin-auth.ts';
import { consolePage, languageOf, signInPage } from '../console-page.ts';
import { NO_HUBSPOT, sendFriendsError } from './friends.ts';

export interface ConsoleRoutesOptions {
  auth: AdminAuth;
  temporal: Client;
  directory: FriendDirectory | undefined;
  target: ImportTarget;
  namespace: string;
  /** TEMPORAL_UI_URL */
  temporalUiUrl: string | undefined;
}

const CONSOLE_PAGE_SIZE = 50;

const withTimeout = <T>(promise: Promise<T>, ms: number): Promise<T> =>
  Promise.race([promise, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms).unref())]);

/** The channel's latest import (running or not), or null when none ever ran. */
async function latestImport(temporal: Client, target: ImportTarget): Promise<ImportStatus | null> {
  try {
    const description = await temporal.workflow.getHandle(importWorkflowId(target.channelId)).describe();
    const importId = description.raw.workflowExecutionInfo?.firstRunId || description.runId;
    return (await getImportProgress(temporal, importId, { channelId: target.channelId, queryTimeoutMs: 2000 })) ?? null;
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return null;
    throw error;
  }
}

export const consoleRoutes: FastifyPluginAsync<ConsoleRoutesOptions> = async (app, options) => {
  const { auth, temporal, directory, target } = options;
  const secure = (request: FastifyRequest) => request.protocol === 'https';

  // The sign-in form posts application/x-www-form-urlencoded (in this plugin only).
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 4096 }, (_request, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(String(body))));
  });

  const securityHeaders = (reply: FastifyReply, nonce: string) =>
    reply
      .header('content-type', 'text/html; charset=utf-8')
      .header('cache-control', 'no-store')
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'same-origin')
      .header('x-frame-options', 'DENY')
      .header(
        'content-security-policy',
        `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'unsafe-inline'; img-src https: http: data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`,
      );

  const signIn = (request: FastifyRequest, reply: FastifyReply, wrong = false) => {
    const nonce = randomBytes(16).toString('base64');
    return securityHeaders(reply.code(401), nonce)
      .header('www-authenticate', 'Basic realm="line-hubspot-sync console", charset="UTF-8"')
      .send(signInPage(languageOf(request.headers['accept-language']), nonce, wrong));
  };

  /** A state-changing request must come from this console's own page (a cross-site form would carry Basic credentials too). */
  const sameOrigin = (request: FastifyRequest) => {
    const site = request.headers['sec-fetch-site'];
    if (typeof site === 'string') return site === 'same-origin' || site === 'none';
    const origin = request.headers.origin ?? request.headers.referer;
    if (origin === undefined) return true; // not a browser
    try {
      return new URL(origin).host === request.headers.host;
    } catch {
      return false;
    }
  };

  const guard = async (request: FastifyRequest, reply: FastifyReply) => {
    if (!auth.console(request)) {
      if (request.method === 'GET' && request.url.split('?')[0] === '/console') return signIn(request, reply);
      return reply.code(401).header('www-authenticate', 'Basic realm="line-hubspot-sync console", charset="UTF-8"').send({ error: 'sign in to the console first' });
    }
    if (request.method === 'POST' && !sameOrigin(request)) return reply.code(403).send({ error: 'cross-site request refused' });
  };

  // The form on its own (no Basic challenge, so that a browser shows it rather than its password dialog).
  app.get('/console/sign-in', async (request, reply) => {
    const nonce = randomBytes(16).toString('base64');
    return securityHeaders(reply, nonce).send(signInPage(languageOf(request.headers['accept-language']), nonce));
  });

  app.post<{ Body: { token?: string } | undefined }>('/console/sign-in', async (request, reply) => {
    const token = typeof request.body?.token === 'string' ? request.body.token.trim() : '';
    if (!sameOrigin(request)) return reply.code(403).send({ error: 'cross-site request refused' });
    if (!token || !auth.isToken(token)) {
      request.log.info('console sign-in refused');
      const nonce = randomBytes(16).toString('base64');
      return securityHeaders(reply.code(401), nonce).send(signInPage(languageOf(request.headers['accept-language']), nonce, true));
    }
    return reply
      .code(303)
      .header('set-cookie', auth.sessionCookie(secure(request)))
      .header('location', '/console')
      .send();
  });

  app.post('/console/sign-out', async (request, reply) =>
    reply
      .code(303)
      .header('set-cookie', AdminAuth.signOutCookie(secure(request)))
      .header('location', '/console/sign-in')
      .send(),
  );

  app.get<{ Querystring: { follow?: string; q?: string; after?: string } }>('/console', { onRequest: guard }, async (request, reply) => {
    const follow = request.query.follow === 'YES' || request.query.follow === 'NO' ? request.query.follow : undefined;
    const q = typeof request.query.q === 'string' && request.query.q.trim() !== '' ? request.query.q.trim().slice(0, 100) : undefined;
    const after = typeof request.query.after === 'string' && request.query.after !== '' ? request.query.after : undefined;
    let friends: FriendsPage | { error: string };
    if (!directory) friends = { error: NO_HUBSPOT };
    else {
      try {
        friends = await directory.list({ ...(follow ? { follow } : {}), ...(q ? { q } : {}), ...(after ? { after } : {}), limit: CONSOLE_PAGE_SIZE });
      } catch (error) {
        if (!(error instanceof FriendsError)) throw error;
        friends = { error: error.message };
        reply.code(error.status === 400 ? 400 : 503);
      }
    }
    const ui = options.temporalUiUrl;
    const nonce = randomBytes(16).toString('base64');
    return securityHeaders(reply, nonce).send(
      consolePage({
        lang: languageOf(request.headers['accept-language']),
        nonce,
        filters: { ...(follow ? { follow } : {}), ...(q ? { q } : {}) },
        friends,
        storyUrl: ui ? (userId) => `${ui}/namespaces/${encodeURIComponent(options.namespace)}/workflows?query=${encodeURIComponent(`LineUserId="${userId}"`)}` : undefined,
        channelId: target.channelId,
        cookieSession: auth.cookie(request),
      }),
    );
  });

  app.get('/console/status.json', { onRequest: guard }, async (request, reply) => {
    const shards = Array.from({ length: target.shards ?? 1 }, (_, shard) => shard);
    const [imported, writers] = await Promise.all([
      latestImport(temporal, target).catch((error: unknown) => {
        request.log.warn({ reason: (error as Error).message }, 'console: import progress unavailable');
        return null;
      }),
      Promise.all(
        shards.map(async (shard) => {
          let state: InboxState | null = null;
          try {
            const handle = temporal.workflow.getHandle(inboxWorkflowId(target.channelId, shard));
            const description = await withTimeout(handle.describe(), 2000);
            if (description.status.name === 'RUNNING') state = await withTimeout(handle.query(inboxStateQuery), 2000);
          } catch {
            state = null; // no writer running (it starts with the next event)
          }
          return { shard, state };
        }),
      ),
    ]);
    return reply.header('cache-control', 'no-store').send({ import: imported, writers });
  });

  app.get('/console/summary.json', { onRequest: guard }, async (_request, reply) => {
    if (!directory) return reply.code(503).send({ error: NO_HUBSPOT });
    try {
      return await directory.summary();
    } catch (error) {
      return sendFriendsError(reply, error);
    }
  });

  app.post<{ Body: { pageSize?: string } | undefined }>('/console/import', { onRequest: guard }, async (request, reply) => {
    const raw = typeof request.body?.pageSize === 'string' ? request.body.pageSize.trim() : '';
    const pageSize = raw === '' ? undefined : Number(raw);
    if (pageSize !== undefined && (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 1000)) return reply.code(400).send({ error: 'pageSize must be a whole number from 1 to 1000' });
    const started = await startImport(temporal, { ...target, ...(pageSize ? { pageSize } : {}) });
    request.log.info({ importId: started.importId, alreadyRunning: started.alreadyRunning }, 'console: import started or joined');
    return reply.code(303).header('location', '/console').send();
  });

  app.post<{ Body: { importId?: string } | undefined }>('/console/import/cancel', { onRequest: guard }, async (request, reply) => {
    const importId = typeof request.body?.importId === 'string' ? request.body.importId : '';
    const result = importId ? await cancelImport(temporal, importId, { channelId: target.channelId }) : undefined;
    if (!result) return reply.code(404).send({ error: 'no such import' });
    request.log.info({ importId, cancelRequested: result.cancelRequested }, 'console: import cancel requested');
    return reply.code(303).header('location', '/console').send();
  });
};
