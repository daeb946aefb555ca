// Sandbox HubSpot CRM v3 API: a generic HubSpot portal (contacts, properties, property groups,
// batch, search, merge) with HubSpot's status codes, bodies and rate limits, plus `/_sandbox/`
// control routes (no auth) for tests, benchmarks and demos in any process.
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { FaultInjector, installFaults, type FaultRule } from './faults.ts';
import { isControlPath, listenSandbox, type StartedSandbox } from './http.ts';
import type { Clock } from './rolling-window.ts';
import { AUTH_MESSAGE, HubspotApiError, defaultFaultBody, errorBody, rateLimitBody, validationError } from './hubspot/errors.ts';
import { RateLimiter, Stats, type SandboxStats } from './hubspot/limits.ts';
import { Portal, type Answer } from './hubspot/portal.ts';
import { groupView, propertyView } from './hubspot/schema.ts';
import type { ContactRecord } from './hubspot/store.ts';

export { HubspotApiError } from './hubspot/errors.ts';
export type { HubspotErrorBody } from './hubspot/errors.ts';
export type { HubspotContact, HubspotUpsertResult, BatchError } from './hubspot/portal.ts';
export type { SandboxStats } from './hubspot/limits.ts';
export type { FaultRule } from './faults.ts';

export interface HubspotSandboxOptions {
  /** the accepted bearer token; default `sandbox-hubspot-token` */
  accessToken?: string;
  /** burst limit per window (HubSpot: 100 or 190 per 10 s); default 100; 0 or Infinity: unlimited */
  requestsPer10s?: number;
  /** requests per UTC day; default 250,000; 0 or Infinity: unlimited */
  dailyLimit?: number;
  /** search sees writes only this long after them, like HubSpot's index; default 0 */
  searchLagMs?: number;
  /** length of the rolling burst window; default 10,000 (tests use less) */
  windowMs?: number;
  /** search's own limit; default 5 per second; 0 or Infinity: unlimited */
  searchRequestsPerSecond?: number;
  /** shown in error messages; default 12345678 */
  portalId?: number;
  /** the sandbox's clock (ms): contacts' timestamps, search lag, rate limits and stats; default Date.now */
  now?: Clock;
  logger?: boolean;
}

export interface HubspotSandboxLimits {
  /** 0: unlimited */
  requestsPer10s: number;
  /** 0: unlimited */
  dailyLimit: number;
  windowMs: number;
  /** 0: unlimited */
  searchRequestsPerSecond: number;
  searchLagMs: number;
}

/** A contact as the sandbox's own view shows it: every property that has a value, as the API formats it. */
export interface SandboxContact {
  id: string;
  properties: Record<string, string>;
  createdAt: string;
  updatedAt: string;
  archived: boolean;
  archivedAt?: string;
  /** set on a contact merged into another */
  mergedInto?: string;
}

export interface ContactListFilter {
  /** with `value`: only contacts whose `property` has this value (e-mail: primary or additional) */
  property?: string;
  value?: string;
  /** include archived and merged contacts */
  includeArchived?: boolean;
  /** at most this many contacts in `contacts` (default 10,000); `total` counts all */
  limit?: number;
}

export interface HubspotSandboxControls {
  readonly accessToken: string;
  readonly portalId: number;
  listContacts(filter?: ContactListFilter): { total: number; contacts: SandboxContact[] };
  getContact(id: string): SandboxContact | undefined;
  /** As a user creating a contact in HubSpot's UI: same validation as the API, no auth, no rate limit. Throws HubspotApiError. */
  createContact(properties: Record<string, unknown>): SandboxContact;
  /** As a user editing a contact in HubSpot's UI. Throws HubspotApiError. */
  updateContact(id: string, properties: Record<string, unknown>): SandboxContact;
  /** Forgets contacts, faults, rate-limit counters and stats; `schema: true` also drops custom properties and groups. Limits stay. */
  reset(options?: { schema?: boolean }): void;
  addFault(rule: FaultRule): void;
  pendingFaults(): FaultRule[];
  clearFaults(): void;
  setLimits(limits: Partial<HubspotSandboxLimits>): HubspotSandboxLimits;
  limits(): HubspotSandboxLimits;
  stats(): SandboxStats;
  resetStats(): void;
}

export type HubspotSandboxApp = FastifyInstance & { hubspotSandbox: HubspotSandboxControls };

/** The bearer token the sandbox accepts unless told otherwise. */
export const SANDBOX_HUBSPOT_ACCESS_TOKEN = 'sandbox-hubspot-token';
const LIST_DEFAULT_LIMIT = 10_000;

const unlimitedAsZero = (n: number) => (Number.isFinite(n) && n > 0 ? n : 0);

/** Counts the faults it hands out, for the stats. */
class CountingFaultInjector extends FaultInjector {
  constructor(private readonly onTake: () => void) {
    super();
  }

  override take(path: string): FaultRule | undefined {
    const rule = super.take(path);
    if (rule) this.onTake();
    return rule;
  }
}

export function buildHubspotSandbox(options: HubspotSandboxOptions = {}): HubspotSandboxApp {
  const accessToken = options.accessToken ?? SANDBOX_HUBSPOT_ACCESS_TOKEN;
  const now = options.now ?? Date.now;
  let searchLagMs = Math.max(0, options.searchLagMs ?? 0);
  const portal = new Portal(options.portalId ?? 12345678, () => searchLagMs, now);
  const limiter = new RateLimiter(
    {
      requestsPer10s: unlimitedAsZero(options.requestsPer10s ?? 100),
      dailyLimit: unlimitedAsZero(options.dailyLimit ?? 250_000),
      windowMs: options.windowMs ?? 10_000,
      searchRequestsPerSecond: unlimitedAsZero(options.searchRequestsPerSecond ?? 5),
    },
    now,
  );
  const stats = new Stats(limiter.settings.windowMs, now);
  const faults = new CountingFaultInjector(() => stats.faultInjected());

  const sandboxView = (contact: ContactRecord): SandboxContact => ({
    ...portal.view(contact, {}),
    properties: portal.allProperties(contact),
    ...(contact.mergedInto !== undefined ? { mergedInto: contact.mergedInto } : {}),
  });

  const controls: HubspotSandboxControls = {
    accessToken,
    portalId: portal.portalId,
    listContacts(filter = {}) {
      const limit = filter.limit ?? LIST_DEFAULT_LIMIT;
      let matches: ContactRecord[];
      const { property, value } = filter;
      if (property !== undefined && value !== undefined && !filter.includeArchived && (property === 'hs_object_id' || portal.schema.isIdProperty(property))) {
        const found = portal.store.findBy(property, value);
        matches = found ? [found] : [];
      } else {
        matches = [];
        for (const contact of portal.store.contacts.values()) {
          if (contact.archived && !filter.includeArchived) continue;
          if (property !== undefined && value !== undefined && !hasValue(contact, property, value)) continue;
          matches.push(contact);
        }
      }
      return { total: matches.length, contacts: matches.slice(0, limit).map(sandboxView) };
    },
    getContact(id) {
      const contact = portal.store.contacts.get(id);
      return contact ? sandboxView(contact) : undefined;
    },
    createContact(properties) {
      const answer = portal.create({ properties });
      return sandboxView(portal.store.get((answer.body as { id: string }).id)!);
    },
    updateContact(id, properties) {
      portal.update(id, undefined, { properties });
      return sandboxView(portal.store.get(id)!);
    },
    reset(resetOptions = {}) {
      portal.store.reset();
      if (resetOptions.schema) portal.schema.reset();
      faults.clear();
      limiter.reset();
      stats.reset();
    },
    addFault: (rule) => faults.add(rule),
    pendingFaults: () => faults.pending(),
    clearFaults: () => faults.clear(),
    setLimits(changes) {
      const next: Partial<HubspotSandboxLimits> = {};
      for (const key of ['requestsPer10s', 'dailyLimit', 'searchRequestsPerSecond'] as const) {
        if (changes[key] !== undefined) next[key] = unlimitedAsZero(checkNumber(changes[key], key));
      }
      if (changes.windowMs !== undefined) {
        const windowMs = checkNumber(changes.windowMs, 'windowMs');
        if (windowMs <= 0 || !Number.isFinite(windowMs)) throw new RangeError('windowMs must be a positive number');
        next.windowMs = windowMs;
        stats.setWindow(windowMs);
      }
      if (changes.searchLagMs !== undefined) searchLagMs = Math.max(0, checkNumber(changes.searchLagMs, 'searchLagMs'));
      limiter.update(next);
      return controls.limits();
    },
    limits: () => ({ ...limiter.settings, searchLagMs }),
    stats: () => stats.snapshot(),
    resetStats: () => stats.reset(),
  };

  function hasValue(contact: ContactRecord, property: string, value: string): boolean {
    const stored = contact.values[property];
    if (stored === undefined) return false;
    if (property === 'email') {
      const wanted = value.trim().toLowerCase();
      return stored === wanted || (contact.values['hs_additional_emails'] ?? '').split(';').includes(wanted);
    }
    return stored === value || portal.schema.format(property, stored) === value;
  }

  const app = Fastify({ logger: options.logger ?? false, bodyLimit: 50 * 1024 * 1024 });

  // HubSpot answers an empty JSON body like none and malformed JSON with its own 400.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    const text = String(body);
    if (text.trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch (error) {
      done(validationError(`Invalid input JSON on line 1, column 1: ${(error as Error).message}`), undefined);
    }
  });

  app.setErrorHandler((error, request, reply) => {
    if (error instanceof HubspotApiError) return reply.code(error.statusCode).headers(error.headers).send(error.body);
    const status = (error as { statusCode?: number }).statusCode;
    if (status !== undefined && status >= 400 && status < 500) {
      return reply.code(status).send(errorBody('VALIDATION_ERROR', (error as Error).message));
    }
    request.log.error(error);
    return reply.code(500).send(errorBody('INTERNAL_ERROR', 'internal error'));
  });

  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send(errorBody('OBJECT_NOT_FOUND', `No route for ${request.method} ${request.url.split('?')[0]}`));
  });

  // Hook order: count the request, authenticate, apply rate limits (which count it), then injected faults.
  // Search has its own per-second limit and does not spend the burst window (HubSpot's "search is limited separately").
  const isSearch = (request: FastifyRequest) => request.method === 'POST' && request.url.split('?')[0] === '/crm/v3/objects/contacts/search';
  app.addHook('onRequest', async (request) => {
    if (!isControlPath(request.url)) stats.arrived({ search: isSearch(request) });
  });
  app.addHook('onRequest', async (request, reply) => {
    if (isControlPath(request.url)) return;
    const match = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '');
    if (!match || match[1] !== accessToken) {
      return reply.code(401).send(errorBody('INVALID_AUTHENTICATION', AUTH_MESSAGE));
    }
    const verdict = limiter.admit({ burst: !isSearch(request) });
    reply.headers(verdict.headers);
    if (!verdict.ok) {
      stats.limitedBy(verdict.policy);
      return reply.code(429).send(rateLimitBody(verdict.policy));
    }
  });
  installFaults(app, faults, defaultFaultBody);
  app.addHook('onResponse', async (request, reply) => {
    if (!isControlPath(request.url)) stats.answered(`${request.method} ${request.routeOptions.url ?? '(no route)'}`, reply.statusCode);
  });

  const send = (reply: FastifyReply, answer: Answer) => reply.code(answer.status).send(answer.body);
  const query = (q: unknown) => (q ?? {}) as Record<string, unknown>;
  const text = (v: unknown) => (typeof v === 'string' ? v : Array.isArray(v) && typeof v[0] === 'string' ? v[0] : undefined);

  // ---- properties and groups ----
  const properties = '/crm/v3/properties/contacts';
  app.get(properties, async (request) => {
    const archived = text(query(request.query)['archived']) === 'true';
    return { results: archived ? [] : [...portal.schema.properties.values()].map(propertyView) };
  });
  app.post(properties, async (request, reply) => reply.code(201).send(propertyView(portal.schema.createProperty(request.body, now()))));
  app.get(`${properties}/groups`, async () => ({ results: [...portal.schema.groups.values()].map(groupView) }));
  app.post(`${properties}/groups`, async (request, reply) => reply.code(201).send(groupView(portal.schema.createGroup(request.body))));
  app.get<{ Params: { groupName: string } }>(`${properties}/groups/:groupName`, async (request) => groupView(portal.schema.getGroup(request.params.groupName)));
  app.patch<{ Params: { groupName: string } }>(`${properties}/groups/:groupName`, async (request) => groupView(portal.schema.updateGroup(request.params.groupName, request.body)));
  app.get<{ Params: { propertyName: string } }>(`${properties}/:propertyName`, async (request) => propertyView(portal.schema.getProperty(request.params.propertyName)));
  app.patch<{ Params: { propertyName: string } }>(`${properties}/:propertyName`, async (request) => propertyView(portal.schema.updateProperty(request.params.propertyName, request.body, now())));

  // ---- contacts ----
  const contacts = '/crm/v3/objects/contacts';
  app.get(contacts, async (request, reply) => {
    const q = query(request.query);
    return send(reply, portal.list({ limit: text(q['limit']), after: text(q['after']), properties: propertyNames(q['properties']) }));
  });
  app.post(contacts, async (request, reply) => send(reply, portal.create(request.body)));
  app.post(`${contacts}/batch/read`, async (request, reply) => send(reply, portal.batchRead(request.body)));
  app.post(`${contacts}/batch/create`, async (request, reply) => send(reply, portal.batchCreate(request.body)));
  app.post(`${contacts}/batch/update`, async (request, reply) => send(reply, portal.batchUpdate(request.body)));
  app.post(`${contacts}/batch/upsert`, async (request, reply) => send(reply, portal.batchUpsert(request.body)));
  app.post(`${contacts}/batch/archive`, async (request, reply) => send(reply, portal.batchArchive(request.body)));
  app.post(`${contacts}/merge`, async (request, reply) => send(reply, portal.merge(request.body)));
  app.post(`${contacts}/search`, async (request, reply) => {
    const verdict = limiter.admitSearch();
    if (!verdict.ok) {
      stats.limitedBy(verdict.policy);
      throw new HubspotApiError(429, rateLimitBody(verdict.policy), verdict.headers);
    }
    return send(reply, portal.search(request.body));
  });
  app.get<{ Params: { contactId: string } }>(`${contacts}/:contactId`, async (request, reply) => {
    const q = query(request.query);
    return send(reply, portal.read(request.params.contactId, { idProperty: text(q['idProperty']), properties: propertyNames(q['properties']), archived: text(q['archived']) === 'true' }));
  });
  app.patch<{ Params: { contactId: string } }>(`${contacts}/:contactId`, async (request, reply) =>
    send(reply, portal.update(request.params.contactId, text(query(request.query)['idProperty']), request.body)),
  );
  app.delete<{ Params: { contactId: string } }>(`${contacts}/:contactId`, async (request, reply) => send(reply, portal.archive(request.params.contactId)));

  // ---- controls ----
  app.get('/_sandbox/contacts', async (request) => {
    const q = query(request.query);
    const limit = text(q['limit']);
    return controls.listContacts({
      property: text(q['property']),
      value: text(q['value']),
      includeArchived: text(q['includeArchived']) === 'true',
      ...(limit !== undefined && /^\d+$/.test(limit) ? { limit: Number(limit) } : {}),
    });
  });
  app.get<{ Params: { id: string } }>('/_sandbox/contacts/:id', async (request, reply) => {
    const contact = controls.getContact(request.params.id);
    return contact ? contact : reply.code(404).send(errorBody('OBJECT_NOT_FOUND', `No contact ${request.params.id}`));
  });
  app.post('/_sandbox/contacts', async (request, reply) => reply.code(201).send(controls.createContact(controlProperties(request.body))));
  app.patch<{ Params: { id: string } }>('/_sandbox/contacts/:id', async (request) => controls.updateContact(request.params.id, controlProperties(request.body)));
  app.post('/_sandbox/reset', async (request, reply) => {
    controls.reset({ schema: (request.body as { schema?: unknown } | undefined)?.schema === true });
    return reply.code(204).send();
  });
  app.get('/_sandbox/faults', async () => ({ pending: controls.pendingFaults() }));
  app.post('/_sandbox/faults', async (request, reply) => {
    const rule = { ...(request.body as FaultRule) };
    if (rule.status === 429 && rule.headers === undefined) {
      const { requestsPer10s, windowMs } = limiter.settings;
      rule.headers = {
        'X-HubSpot-RateLimit-Interval-Milliseconds': String(windowMs),
        'X-HubSpot-RateLimit-Max': String(requestsPer10s || 100),
        'X-HubSpot-RateLimit-Remaining': '0',
      };
    }
    try {
      controls.addFault(rule);
    } catch (error) {
      throw validationError((error as Error).message);
    }
    return reply.code(201).send({ pending: controls.pendingFaults() });
  });
  app.delete('/_sandbox/faults', async (_request, reply) => {
    controls.clearFaults();
    return reply.code(204).send();
  });
  app.get('/_sandbox/limits', async () => controls.limits());
  app.post('/_sandbox/limits', async (request) => {
    try {
      // JSON has no Infinity: null means unlimited, like 0.
      const body = (request.body ?? {}) as Record<string, unknown>;
      const limits = Object.fromEntries(Object.entries(body).map(([key, value]) => [key, value === null ? 0 : value]));
      return controls.setLimits(limits as Partial<HubspotSandboxLimits>);
    } catch (error) {
      throw validationError((error as Error).message);
    }
  });
  app.get('/_sandbox/stats', async () => controls.stats());
  app.delete('/_sandbox/stats', async (_request, reply) => {
    controls.resetStats();
    return reply.code(204).send();
  });

  app.decorate('hubspotSandbox', controls);
  return app as unknown as HubspotSandboxApp;
}

export type StartedHubspotSandbox = StartedSandbox<HubspotSandboxApp, HubspotSandboxControls>;

/** Starts the sandbox HubSpot API. `port` 0 (the default) picks a free port. */
export async function startHubspotSandbox(options: HubspotSandboxOptions & { port?: number; host?: string } = {}): Promise<StartedHubspotSandbox> {
  const { port, host, ...rest } = options;
  const app = buildHubspotSandbox(rest);
  return listenSandbox(app, app.hubspotSandbox, { port, host });
}

/** `properties=a,b`, `properties=a&properties=b` or both. */
function propertyNames(value: unknown): string[] | undefined {
  const list = Array.isArray(value) ? value : value === undefined ? [] : [value];
  const names = list
    .flatMap((v) => String(v).split(','))
    .map((s) => s.trim())
    .filter((s) => s !== '');
  return names.length > 0 ? [...new Set(names)] : undefined;
}

function controlProperties(body: unknown): Record<string, unknown> {
  const properties = (body as { properties?: unknown } | undefined)?.properties;
  if (typeof properties !== 'object' || properties === null || Array.isArray(properties)) {
    throw validationError('Send {"properties": {...}}');
  }
  return properties as Record<string, unknown>;
}

function checkNumber(value: unknown, name: string): number {
  if (typeof value !== 'number' || Number.isNaN(value) || value < 0) throw new RangeError(`${name} must be a non-negative number`);
  return value;
}
