// POST /webhooks/hubspot: the v3 signature on the raw bytes first, then each contact that got a
// LINE user ID in HubSpot goes to the friend's contact writer, which fills it in from LINE.
import type { FastifyPluginAsync } from 'fastify';
import { HUBSPOT_SIGNATURE_HEADER, HUBSPOT_TIMESTAMP_HEADER, requestUri, verifyHubspotRequest } from '../../hubspot/signature.ts';
import { friendEventOfHubspot } from '../../hubspot/webhook-events.ts';
import type { FriendEventInbox } from '../../temporal/inbox-client.ts';
import type { FriendEvent } from '../../contracts.ts';

export interface HubspotWebhookOptions {
  /** the channel's contact writers: events are acknowledged once they are in one */
  inbox: FriendEventInbox;
  clientSecret: string;
  /** PUBLIC_URL: the origin HubSpot calls; unset: from the request's Host and X-Forwarded-Proto */
  publicUrl: string | undefined;
  /** how long Temporal may take to accept the events; HubSpot gives up after 5 s */
  deadlineMs?: number;
}

export const HUBSPOT_WEBHOOK_BODY_LIMIT = 1024 * 1024;

const header = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value);

export const hubspotWebhookRoutes: FastifyPluginAsync<HubspotWebhookOptions> = async (app, options) => {
  const { inbox, clientSecret, publicUrl } = options;
  const deadlineMs = options.deadlineMs ?? 3000;

  // Raw bytes only here: the signature is over them, and nothing is parsed before it is checked.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: HUBSPOT_WEBHOOK_BODY_LIMIT }, (_request, body, done) => done(null, body));

  app.post('/webhooks/hubspot', async (request, reply) => {
    const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    const verdict = verifyHubspotRequest({
      clientSecret,
      method: request.method,
      uri: requestUri({ protocol: request.protocol, host: request.host, url: request.url }, publicUrl),
      body: raw,
      timestamp: header(request.headers[HUBSPOT_TIMESTAMP_HEADER]),
      signature: header(request.headers[HUBSPOT_SIGNATURE_HEADER]),
    });
    if (!verdict.ok) {
      request.log.info({ reason: verdict.reason }, 'HubSpot webhook refused');
      return reply.code(401).send({ error: `invalid HubSpot webhook: ${verdict.reason}` });
    }
    let body: unknown;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      return reply.code(400).send({ error: 'body is not valid JSON' });
    }
    if (!Array.isArray(body)) return reply.code(400).send({ error: 'body is not a JSON array of events' });

    const accepted: Array<{ userId: string; objectId: string; event: FriendEvent }> = [];
    const ignored: Record<string, number> = {};
    for (const candidate of body) {
      const result = friendEventOfHubspot(candidate);
      if ('userId' in result) {
        accepted.push(result);
        continue;
      }
      ignored[result.ignored] = (ignored[result.ignored] ?? 0) + 1;
      if (result.ignored === 'not a LINE user ID') {
        request.log.warn({ objectId: result.objectId, eventId: result.eventId }, 'HubSpot contact got a line_user_id that is not a LINE user ID (U + 32 hex): ignored');
      }
    }
    if (Object.keys(ignored).length > 0) request.log.info({ ignored }, 'HubSpot events ignored');
    if (accepted.length === 0) return { accepted: 0 };

    const failures = await inbox.deliver(
      accepted.map(({ userId, event }) => ({ userId, event })),
      deadlineMs,
    );
    if (failures.length > 0) {
      request.log.error({ failed: failures.length, of: accepted.length, reason: failures[0]!.reason }, 'Temporal did not accept HubSpot events');
      // HubSpot retries non-2xx deliveries; the writer ignores the ones it already has.
      return reply.code(503).header('retry-after', '1').send({ error: 'events could not be handed to Temporal; HubSpot will retry' });
    }
    request.log.info({ accepted: accepted.map((a) => `${a.objectId}→${a.userId}`) }, 'HubSpot events handed to Temporal');
    return { accepted: accepted.length };
  });
};
