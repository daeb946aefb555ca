// The account's friends as HubSpot holds them (the service stores none): LINE contacts read through
// HubSpot's search API, newest first (`line_id_sync_date`, then record ID), paged by key so that
// paging goes on past search's 10,000-result ceiling, and paced to search's own limit (apart from
// the sync's HubSpot budget, which it never spends).
//
// Keyset paging with one sort per search (HubSpot allows one): a cursor names a sync date and the
// last record ID shown on it; a page reads "this date, IDs below the last one" sorted by
// hs_object_id, and when a date runs out, probes the next older date (sorted by line_id_sync_date,
// limit 1). Contacts without a sync date come last, by record ID. No search ever pages by offset,
// so none goes near the ceiling, and ties in HubSpot's sort never matter.
import type { Client } from '@hubspot/api-client';
import { CREATED_VIA, FOLLOW_STATES } from '../contact/types.ts';
import { parseHubspotTime } from '../contact/values.ts';

export interface Friend {
  userId: string;
  contactId: string;
  name: string | null;
  pictureUrl: string | null;
  follow: string | null;
  createdVia: string | null;
  /** `YYYY-MM-DD` */
  syncDate: string | null;
  email: string | null;
  /** ISO time */
  lastMessageAt: string | null;
  lastMessage: string | null;
  language: string | null;
}

export interface FriendsPage {
  friends: Friend[];
  next: string | null;
}

export interface FriendsQuery {
  follow?: 'YES' | 'NO';
  q?: string;
  limit?: number;
  after?: string;
}

export interface FriendsSummary {
  total: number;
  follow: Record<string, number>;
  createdVia: Record<string, number>;
  /** ISO time the figures were counted (they are kept a few seconds) */
  countedAt: string;
}

/** Why a friends read failed, for the HTTP answer. */
export class FriendsError extends Error {
  constructor(
    readonly status: 400 | 502 | 503,
    message: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'FriendsError';
  }
}

export const FRIENDS_DEFAULT_LIMIT = 50;
export const FRIENDS_MAX_LIMIT = 100;
/** Words of `q` at most: HubSpot allows 6 filters per group, and paging needs 4 of them. */
export const MAX_QUERY_WORDS = 2;

const PROPERTIES = [
  'line_user_id',
  'line_user_name',
  'line_user_picture',
  'line_follow',
  'line_created_via',
  'line_id_sync_date',
  'email',
  'line_last_message',
  'line_last_message_at',
  'line_language',
];

interface Filter {
  propertyName: string;
  operator: string;
  value?: string;
}

interface SearchAnswer {
  total: number;
  results: Array<{ id: string; properties: Record<string, string | null> }>;
  paging?: { next?: { after?: string } };
}

/**
 * Where the next page starts: `r`: every dated friend below this sync date (epoch ms; `null`: all);
 * `d`: the friends of this sync date by record ID, below `i`; `u`: those without a sync date, below `i`.
 */
type Cursor = { r: number | null } | { d: number; i?: string } | { u: true; i?: string };

const encodeCursor = (cursor: Cursor) => Buffer.from(JSON.stringify(cursor), 'utf8').toString('base64url');

function decodeCursor(text: string): Cursor {
  const bad = () => new FriendsError(400, 'after is not a cursor this service gave (use the "next" of the previous page)');
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(text)) throw bad();
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    throw bad();
  }
  if (typeof value !== 'object' || value === null) throw bad();
  const c = value as { d?: unknown; i?: unknown; u?: unknown };
  if (c.i !== undefined && (typeof c.i !== 'string' || !/^\d{1,20}$/.test(c.i))) throw bad();
  if ('r' in c) {
    const r = (c as { r?: unknown }).r;
    if (r === null || (typeof r === 'number' && Number.isSafeInteger(r))) return { r };
    throw bad();
  }
  if (c.u === true) return { u: true, ...(c.i !== undefined ? { i: c.i } : {}) };
  if (typeof c.d === 'number' && Number.isSafeInteger(c.d)) return { d: c.d, ...(c.i !== undefined ? { i: c.i as string } : {}) };
  throw bad();
}

/** `q` as HubSpot token filters on the name: words (at most two), each matched anywhere in a word of the name. */
export function nameFilters(q: string | undefined): Filter[] {
  if (q === undefined) return [];
  const words = q
    .normalize('NFKC')
    .replace(/[^\p{L}\p{N}\p{M}@._-]+/gu, ' ')
    .trim()
    .split(/\s+/)
    .filter((w) => w !== '');
  if (words.length > MAX_QUERY_WORDS) throw new FriendsError(400, `q may hold at most ${MAX_QUERY_WORDS} words`);
  return words.map((word) => ({ propertyName: 'line_user_name', operator: 'CONTAINS_TOKEN', value: `*${word}*` }));
}

/** The pacer's "second": a little longer than HubSpot's, whose clock sees requests arrive with some jitter. */
const PACER_SECOND_MS = 1100;

/**
 * At most `perSecond` calls in any rolling second as HubSpot counts them, in arrival order. A call holds
 * its slot from its start until a second after its answer: HubSpot counted it somewhere in between, and
 * on a busy machine a request can reach HubSpot well after it started (counting from the start alone
 * let 6 into one of HubSpot's seconds).
 */
export class SearchPacer {
  /** per slot taken: undefined while the call runs, then when it was answered */
  private readonly slots: Array<number | undefined> = [];
  private tail: Promise<unknown> = Promise.resolve();
  private waiting = 0;

  constructor(
    readonly perSecond: number,
    /** a call that would wait longer than this is refused at once (the client should retry) */
    private readonly maxWaitMs = 8000,
  ) {}

  /** Seconds a new call would wait now (roughly). */
  get queueSeconds(): number {
    return this.waiting / this.perSecond;
  }

  run<T>(call: () => Promise<T>): Promise<T> {
    if ((this.waiting / this.perSecond) * 1000 > this.maxWaitMs) {
      return Promise.reject(new FriendsError(503, 'too many friends requests at once: HubSpot search allows only a few per second; try again shortly', Math.ceil(this.queueSeconds)));
    }
    this.waiting++;
    const turn = this.tail.then(async () => {
      try {
        await this.slot();
      } finally {
        this.waiting--;
      }
    });
    this.tail = turn.catch(() => {});
    return turn.then(async () => {
      try {
        return await call();
      } finally {
        // Slots are alike: any running one becomes this answer.
        this.slots[this.slots.indexOf(undefined)] = Date.now();
      }
    });
  }

  /** Takes a slot when one is free. */
  private async slot(): Promise<void> {
    for (;;) {
      const now = Date.now();
      for (let i = this.slots.length - 1; i >= 0; i--) {
        const answeredAt = this.slots[i];
        if (answeredAt !== undefined && now - answeredAt >= PACER_SECOND_MS) this.slots.splice(i, 1);
      }
      if (this.slots.length < this.perSecond) {
        this.slots.push(undefined);
        return;
      }
      const answered = this.slots.filter((t): t is number => t !== undefined);
      // All running: look again shortly; else when the oldest answer is a second old.
      await new Promise((resolve) => setTimeout(resolve, answered.length ? PACER_SECOND_MS - (now - Math.min(...answered)) : 25));
    }
  }
}

/** HTTP status of an SDK error; undefined for a network failure (whose `code` is e.g. "ECONNREFUSED"). */
const statusOf = (error: unknown): number | undefined => {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'number' ? code : undefined;
};

/** Record IDs as numbers, whatever their length. */
const compareIds = (a: string, b: string) => a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);

export interface FriendDirectoryOptions {
  hubspot: Client;
  /** HUBSPOT_SEARCH_REQUESTS_PER_SECOND */
  searchRequestsPerSecond: number;
  /** how long summary figures are kept (default 15 s) */
  summaryTtlMs?: number;
}

export class FriendDirectory {
  readonly pacer: SearchPacer;
  private summaryCache: { at: number; value: Promise<FriendsSummary> } | undefined;

  constructor(private readonly options: FriendDirectoryOptions) {
    this.pacer = new SearchPacer(options.searchRequestsPerSecond);
  }

  /** One search, paced; a 429 (search's own limit, shared with other apps of the portal) waits and tries again twice. */
  private async search(filters: Filter[], sort: { propertyName: string; direction: 'ASCENDING' | 'DESCENDING' }, limit: number): Promise<SearchAnswer> {
    const request = { filterGroups: [{ filters }], sorts: [sort] as unknown as string[], properties: PROPERTIES, limit, after: '0' };
    for (let attempt = 1; ; attempt++) {
      try {
        return (await this.pacer.run(() => this.options.hubspot.crm.contacts.searchApi.doSearch(request as never))) as unknown as SearchAnswer;
      } catch (error) {
        if (error instanceof FriendsError) throw error;
        const status = statusOf(error);
        if (status === 429 && attempt < 3) {
          await new Promise((resolve) => setTimeout(resolve, 1000 * attempt));
          continue;
        }
        throw upstreamError(error);
      }
    }
  }

  async list(query: FriendsQuery = {}): Promise<FriendsPage> {
    const limit = query.limit ?? FRIENDS_DEFAULT_LIMIT;
    if (!Number.isInteger(limit) || limit < 1 || limit > FRIENDS_MAX_LIMIT) throw new FriendsError(400, `limit must be a whole number from 1 to ${FRIENDS_MAX_LIMIT}`);
    if (query.follow !== undefined && !FOLLOW_STATES.includes(query.follow)) throw new FriendsError(400, 'follow must be YES or NO');
    const base: Filter[] = [
      { propertyName: 'line_user_id', operator: 'HAS_PROPERTY' },
      ...(query.follow ? [{ propertyName: 'line_follow', operator: 'EQ', value: query.follow }] : []),
      ...nameFilters(query.q),
    ];
    const byIdBelow = (id: string | undefined): Filter[] => (id === undefined ? [] : [{ propertyName: 'hs_object_id', operator: 'LT', value: id }]);
    const idDescending = { propertyName: 'hs_object_id', direction: 'DESCENDING' } as const;

    const dated = (below: number | null): Filter =>
      below === null ? { propertyName: 'line_id_sync_date', operator: 'HAS_PROPERTY' } : { propertyName: 'line_id_sync_date', operator: 'LT', value: String(below) };
    const undated: Filter = { propertyName: 'line_id_sync_date', operator: 'NOT_HAS_PROPERTY' };
    const dateDescending = { propertyName: 'line_id_sync_date', direction: 'DESCENDING' } as const;
    const dateOf = (r: SearchAnswer['results'][number]) => parseHubspotTime(r.properties['line_id_sync_date'] ?? undefined) ?? 0;
    const newestFirst = (a: SearchAnswer['results'][number], b: SearchAnswer['results'][number]) => dateOf(b) - dateOf(a) || compareIds(b.id, a.id);

    let cursor: Cursor = query.after !== undefined && query.after !== '' ? decodeCursor(query.after) : { r: null };
    const friends: Friend[] = [];
    for (;;) {
      const want = limit - friends.length;
      if (want <= 0) {
        // The page is full: say where the next starts, or that there is none (never an empty last page).
        if ('r' in cursor) {
          const probe = await this.search([...base, dated(cursor.r)], dateDescending, 1);
          if (probe.results.length > 0) return { friends, next: encodeCursor(cursor) };
          cursor = { u: true };
        }
        if ('u' in cursor) {
          const tail = await this.search([...base, undated, ...byIdBelow(cursor.i)], idDescending, 1);
          return { friends, next: tail.results.length > 0 ? encodeCursor(cursor) : null };
        }
        return { friends, next: encodeCursor(cursor) };
      }
      if ('r' in cursor) {
        // Older dates, many at once: every date above the last one listed is complete in this answer.
        const answer = await this.search([...base, dated(cursor.r)], dateDescending, want);
        if (answer.results.length === 0) {
          cursor = { u: true };
          continue;
        }
        if (answer.paging?.next === undefined) {
          friends.push(...[...answer.results].sort(newestFirst).map(friendOf));
          cursor = { u: true };
          continue;
        }
        const oldest = dateOf(answer.results.at(-1)!);
        friends.push(
          ...answer.results
            .filter((r) => dateOf(r) > oldest)
            .sort(newestFirst)
            .map(friendOf),
        );
        // the oldest date may go on past this answer: read it by record ID
        cursor = { d: oldest };
        continue;
      }
      const answer = await this.search([...base, 'u' in cursor ? undated : { propertyName: 'line_id_sync_date', operator: 'EQ', value: String(cursor.d) }, ...byIdBelow(cursor.i)], idDescending, want);
      friends.push(...answer.results.map(friendOf));
      const last = answer.results.at(-1)?.id;
      if (answer.paging?.next !== undefined && last !== undefined) return { friends, next: encodeCursor({ ...cursor, i: last }) };
      if ('u' in cursor) return { friends, next: null };
      cursor = { r: cursor.d };
    }
  }

  /** Friends by follow state and by created-via (counted by search totals; kept `summaryTtlMs`). */
  summary(): Promise<FriendsSummary> {
    const ttl = this.options.summaryTtlMs ?? 15_000;
    const cached = this.summaryCache;
    if (cached && Date.now() - cached.at < ttl) return cached.value;
    const value = this.countSummary();
    this.summaryCache = { at: Date.now(), value };
    value.catch(() => {
      if (this.summaryCache?.value === value) this.summaryCache = undefined;
    });
    return value;
  }

  private async countSummary(): Promise<FriendsSummary> {
    const line: Filter = { propertyName: 'line_user_id', operator: 'HAS_PROPERTY' };
    const byId = { propertyName: 'hs_object_id', direction: 'ASCENDING' } as const;
    const count = async (extra: Filter[]) => (await this.search([line, ...extra], byId, 1)).total;
    const total = await count([]);
    const follow: Record<string, number> = {};
    for (const value of FOLLOW_STATES) follow[value] = await count([{ propertyName: 'line_follow', operator: 'EQ', value }]);
    follow['unknown'] = Math.max(0, total - FOLLOW_STATES.reduce((n, v) => n + follow[v]!, 0));
    const createdVia: Record<string, number> = {};
    for (const value of CREATED_VIA) createdVia[value] = await count([{ propertyName: 'line_created_via', operator: 'EQ', value }]);
    createdVia['unknown'] = Math.max(0, total - CREATED_VIA.reduce((n, v) => n + createdVia[v]!, 0));
    return { total, follow, createdVia, countedAt: new Date().toISOString() };
  }
}

function friendOf(result: SearchAnswer['results'][number]): Friend {
  const p = result.properties;
  const value = (name: string) => {
    const v = p[name];
    return v === undefined || v === null || v === '' ? null : v;
  };
  const syncMs = parseHubspotTime(value('line_id_sync_date'));
  const messageMs = parseHubspotTime(value('line_last_message_at'));
  return {
    userId: value('line_user_id') ?? '',
    contactId: result.id,
    name: value('line_user_name'),
    pictureUrl: value('line_user_picture'),
    follow: value('line_follow'),
    createdVia: value('line_created_via'),
    syncDate: syncMs === undefined ? null : new Date(syncMs).toISOString().slice(0, 10),
    email: value('email'),
    lastMessageAt: messageMs === undefined ? null : new Date(messageMs).toISOString(),
    lastMessage: value('line_last_message'),
    language: value('line_language'),
  };
}

/** A HubSpot failure as the operator should read it: down → 503, refusing us → 502. */
function upstreamError(error: unknown): FriendsError {
  const status = statusOf(error);
  const body = (error as { body?: { message?: string } }).body;
  if (status === 429) return new FriendsError(503, 'HubSpot search is rate limited right now; try again shortly', 2);
  if (status === undefined || status >= 500 || status === 423) return new FriendsError(503, `HubSpot is unavailable (${status ?? 'no answer'}); try again shortly`, 5);
  if (status === 401 || status === 403) return new FriendsError(502, `HubSpot refused the service's access token (${status}): check HUBSPOT_ACCESS_TOKEN and its crm.objects.contacts.read scope`);
  return new FriendsError(502, `HubSpot refused the search (${status}): ${body?.message ?? 'no reason given'}`);
}
