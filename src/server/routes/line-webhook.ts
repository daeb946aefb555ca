// POST /webhooks/line: the signature on the raw bytes first, then the friend events to their contact
// writers (FriendEventInbox: one signal per writer shard); 200 only once Temporal holds them, 503 when it cannot.
import type { FastifyPluginAsync } from 'fastify';
import { verifyLineSignature } from '../../line/signature.ts';
import { friendEventOf } from '../../line/friend-events.ts';
import type { FriendEventInbox } from '../../temporal/inbox-client.ts';

export interface LineWebhookOptions {
  /** the channel's inbox workflows: events are acknowledged once they are in one */
  inbox: FriendEventInbox;
  channelSecret: string;
  /** how long Temporal may take to accept the events; LINE gives up after 2 s */
  deadlineMs?: number;
  /** events being handed to Temporal at once; past it, 503 at once rather than a queue LINE times out on */
  maxInFlight?: number;
}

export const LINE_WEBHOOK_BODY_LIMIT = 1024 * 1024;

export const lineWebhookRoutes: FastifyPluginAsync<LineWebhookOptions> = async (app, options) => {
  const { inbox, channelSecret } = options;
  const deadlineMs = options.deadlineMs ?? 1200;
  const maxInFlight = options.maxInFlight ?? 2048;
  let inFlight = 0;

  // Raw bytes only here: the signature is over them, and nothing is parsed before it is checked.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: LINE_WEBHOOK_BODY_LIMIT }, (_request, body, done) => done(null, body));

  app.post('/webhooks/line', async (request, reply) => {
    const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    const signature = request.headers['x-line-signature'];
    if (!verifyLineSignature(raw, typeof signature === 'string' ? signature : undefined, channelSecret)) {
      return reply.code(401).send({ error: 'invalid or missing x-line-signature' });
    }
    let body: unknown;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      return reply.code(400).send({ error: 'body is not valid JSON' });
    }
    const events = (body as { events?: unknown })?.events;
    if (!Array.isArray(events)) return reply.code(400).send({ error: 'body has no "events" array' });

    const accepted: Array<{ userId: string; event: NonNullable<ReturnType<typeof friendEventOf>>['event'] }> = [];
    const ignored: Record<string, number> = {};
    for (const candidate of events) {
      const friendEvent = friendEventOf(candidate);
      if (friendEvent) accepted.push(friendEvent);
      else {
        const e = candidate as { type?: unknown; source?: { type?: unknown } };
        const key = `${typeof e?.type === 'string' ? e.type : 'unknown'}/${typeof e?.source?.type === 'string' ? e.source.type : 'none'}`;
        ignored[key] = (ignored[key] ?? 0) + 1;
      }
    }
    if (Object.keys(ignored).length > 0) request.log.info({ ignored }, 'LINE events ignored (not a friend event from a user)');
    if (accepted.length === 0) return { accepted: 0 };

    if (inFlight + accepted.length > maxInFlight) {
      request.log.warn({ inFlight, events: accepted.length }, 'Temporal hand-over saturated: 503 so that LINE redelivers later');
      return reply.code(503).header('retry-after', '1').send({ error: 'too many events in flight; LINE may redeliver them' });
    }
    inFlight += accepted.length;
    const failures = await inbox.deliver(accepted, deadlineMs).finally(() => (inFlight -= accepted.length));
    if (failures.length > 0) {
      request.log.error({ failed: failures.length, of: accepted.length, reason: failures[0]!.reason }, 'Temporal did not accept LINE events');
      return reply.code(503).header('retry-after', '1').send({ error: 'events could not be handed to Temporal; LINE may redeliver them' });
    }
    request.log.info({ accepted: accepted.map((a) => `${a.event.kind}:${a.event.eventId}`) }, 'LINE events handed to Temporal');
    return { accepted: accepted.length };
  });
};
