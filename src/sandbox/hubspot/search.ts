// POST /crm/v3/objects/contacts/search: filterGroups (OR of ANDs), one sort, `query`, paging by
// offset with HubSpot's caps (200 a page, 10,000 results in all).
import { validationError } from './errors.ts';
import type { Schema } from './schema.ts';
import type { ContactRecord } from './store.ts';

export const SEARCH_MAX_LIMIT = 200;
export const SEARCH_MAX_RESULTS = 10_000;
const MAX_GROUPS = 5;
const MAX_FILTERS_PER_GROUP = 6;
const MAX_FILTERS = 18;

const OPERATORS = new Set(['EQ', 'NEQ', 'LT', 'LTE', 'GT', 'GTE', 'BETWEEN', 'IN', 'NOT_IN', 'HAS_PROPERTY', 'NOT_HAS_PROPERTY', 'CONTAINS_TOKEN', 'NOT_CONTAINS_TOKEN']);

/** Properties `query` looks in, as HubSpot's default searchable contact properties. */
const QUERY_PROPERTIES = ['firstname', 'lastname', 'email', 'phone', 'company'];

interface Filter {
  propertyName: string;
  operator: string;
  value?: string;
  highValue?: string;
  values?: string[];
}

export interface SearchRequest {
  filterGroups: Filter[][];
  sort?: { propertyName: string; descending: boolean };
  query?: string;
  properties?: string[];
  limit: number;
  after: number;
}

export interface Candidate {
  contact: ContactRecord;
  values: Record<string, string>;
  updatedAt: number;
}

export function parseSearchRequest(input: unknown, schema: Schema): SearchRequest {
  const body = (typeof input === 'object' && input !== null ? input : {}) as Record<string, unknown>;
  const limit = body['limit'] === undefined ? 10 : Number(body['limit']);
  if (!Number.isInteger(limit) || limit < 0 || limit > SEARCH_MAX_LIMIT) {
    throw validationError(`limit must be a whole number from 0 to ${SEARCH_MAX_LIMIT}, got ${String(body['limit'])}`);
  }
  const afterRaw = body['after'];
  const after = afterRaw === undefined || afterRaw === null || afterRaw === '' ? 0 : Number(afterRaw);
  if (!Number.isInteger(after) || after < 0) throw validationError(`after must be a non-negative whole number, got ${String(afterRaw)}`);
  if (after + limit > SEARCH_MAX_RESULTS) {
    throw validationError(`Search results are limited to ${SEARCH_MAX_RESULTS} records: after (${after}) + limit (${limit}) goes past them. Narrow the filters instead of paging further.`);
  }

  const groupsRaw = body['filterGroups'] ?? [];
  if (!Array.isArray(groupsRaw)) throw validationError('filterGroups must be an array');
  if (groupsRaw.length > MAX_GROUPS) throw validationError(`Too many filter groups: at most ${MAX_GROUPS} are allowed, got ${groupsRaw.length}`);
  let total = 0;
  const filterGroups = groupsRaw.map((group: unknown) => {
    const filtersRaw = (group as { filters?: unknown } | null)?.filters ?? [];
    if (!Array.isArray(filtersRaw)) throw validationError('filterGroups[].filters must be an array');
    if (filtersRaw.length > MAX_FILTERS_PER_GROUP) throw validationError(`Too many filters in a group: at most ${MAX_FILTERS_PER_GROUP} are allowed, got ${filtersRaw.length}`);
    total += filtersRaw.length;
    return filtersRaw.map((raw: unknown) => parseFilter(raw, schema));
  });
  if (total > MAX_FILTERS) throw validationError(`Too many filters: at most ${MAX_FILTERS} are allowed in all, got ${total}`);

  const sortsRaw = body['sorts'] ?? [];
  if (!Array.isArray(sortsRaw)) throw validationError('sorts must be an array');
  if (sortsRaw.length > 1) throw validationError('Only one sort is allowed');
  let sort: SearchRequest['sort'];
  const first: unknown = sortsRaw[0];
  if (typeof first === 'string' && first !== '') {
    sort = first.startsWith('-') ? { propertyName: first.slice(1), descending: true } : { propertyName: first, descending: false };
  } else if (typeof first === 'object' && first !== null) {
    const { propertyName, direction } = first as { propertyName?: unknown; direction?: unknown };
    if (typeof propertyName !== 'string') throw validationError('sorts[0].propertyName is required');
    if (direction !== undefined && direction !== 'ASCENDING' && direction !== 'DESCENDING') throw validationError(`Invalid sort direction: ${String(direction)}`);
    sort = { propertyName, descending: direction === 'DESCENDING' };
  }

  const properties = Array.isArray(body['properties']) ? body['properties'].filter((p): p is string => typeof p === 'string') : undefined;
  const query = typeof body['query'] === 'string' && body['query'].trim() !== '' ? body['query'].trim().toLowerCase() : undefined;
  return { filterGroups, ...(sort ? { sort } : {}), ...(query ? { query } : {}), ...(properties ? { properties } : {}), limit, after };
}

function parseFilter(raw: unknown, schema: Schema): Filter {
  if (typeof raw !== 'object' || raw === null) throw validationError('filters[] must be objects');
  const f = raw as Record<string, unknown>;
  const propertyName = f['propertyName'];
  const operator = f['operator'];
  if (typeof propertyName !== 'string' || propertyName === '') throw validationError('filter propertyName is required');
  if (typeof operator !== 'string' || !OPERATORS.has(operator)) throw validationError(`Invalid filter operator: ${String(operator)}`);
  if (!schema.get(propertyName)) throw validationError(`There was a problem with the request: property "${propertyName}" does not exist`, { subCategory: 'PROPERTY_DOESNT_EXIST' });
  const filter: Filter = { propertyName, operator };
  if (operator === 'IN' || operator === 'NOT_IN') {
    if (!Array.isArray(f['values']) || f['values'].length === 0) throw validationError(`Operator ${operator} requires "values"`);
    filter.values = f['values'].map(String);
  } else if (operator !== 'HAS_PROPERTY' && operator !== 'NOT_HAS_PROPERTY') {
    if (f['value'] === undefined || f['value'] === null) throw validationError(`Operator ${operator} requires "value"`);
    filter.value = String(f['value']);
    if (operator === 'BETWEEN') {
      if (f['highValue'] === undefined || f['highValue'] === null) throw validationError('Operator BETWEEN requires "highValue"');
      filter.highValue = String(f['highValue']);
    }
  }
  return filter;
}

type Value = number | string | undefined;

/** Reads `name` from a candidate in comparable form (virtual properties included). */
function reader(name: string, schema: Schema): (candidate: Candidate) => Value {
  if (name === 'hs_object_id') return (c) => Number(c.contact.id);
  if (name === 'createdate') return (c) => c.contact.createdAt;
  if (name === 'lastmodifieddate') return (c) => c.updatedAt;
  const type = schema.get(name)?.type;
  if (type === 'number' || type === 'date' || type === 'datetime') {
    return (c) => {
      const stored = c.values[name];
      return stored === undefined ? undefined : Number(stored);
    };
  }
  return (c) => c.values[name]?.toLowerCase();
}

/** A filter as a predicate, with its values converted once. */
function compile(filter: Filter, schema: Schema): (candidate: Candidate) => boolean {
  const read = reader(filter.propertyName, schema);
  const want = (v: string | undefined): Value => (v === undefined ? undefined : schema.comparable(filter.propertyName, v));
  const isCheckbox = schema.get(filter.propertyName)?.fieldType === 'checkbox';
  const eq = (a: number | string, b: Value) => b !== undefined && (a === b || (isCheckbox && typeof a === 'string' && typeof b === 'string' && a.split(';').includes(b)));
  const value = want(filter.value);
  const high = want(filter.highValue);
  const values = (filter.values ?? []).map(want);
  switch (filter.operator) {
    case 'HAS_PROPERTY':
      return (c) => read(c) !== undefined;
    case 'NOT_HAS_PROPERTY':
      return (c) => read(c) === undefined;
    case 'EQ':
      return (c) => {
        const actual = read(c);
        return actual !== undefined && eq(actual, value);
      };
    case 'NEQ':
      return (c) => {
        const actual = read(c);
        return actual === undefined || !eq(actual, value);
      };
    case 'IN':
      return (c) => {
        const actual = read(c);
        return actual !== undefined && values.some((v) => eq(actual, v));
      };
    case 'NOT_IN':
      return (c) => {
        const actual = read(c);
        return actual === undefined || !values.some((v) => eq(actual, v));
      };
    case 'CONTAINS_TOKEN':
    case 'NOT_CONTAINS_TOKEN': {
      const token = (filter.value ?? '').toLowerCase();
      const contains = filter.operator === 'CONTAINS_TOKEN';
      return (c) => {
        const actual = read(c);
        return (typeof actual === 'string' && tokenMatch(actual, token)) === contains;
      };
    }
    default: {
      if (value === undefined) return () => false;
      const compare: Record<string, (a: number | string) => boolean> = {
        LT: (a) => a < value,
        LTE: (a) => a <= value,
        GT: (a) => a > value,
        GTE: (a) => a >= value,
        BETWEEN: (a) => high !== undefined && a >= value && a <= high,
      };
      const test = compare[filter.operator] ?? (() => false);
      return (c) => {
        const actual = read(c);
        return actual !== undefined && test(actual);
      };
    }
  }
}

/** HubSpot tokens: `*` wildcards allowed; otherwise a whole word of the value. */
function tokenMatch(value: string, token: string): boolean {
  if (token.includes('*')) {
    const pattern = new RegExp(`^${token.split('*').map(escapeRegExp).join('.*')}$`);
    return pattern.test(value) || value.split(/[\s@.,;_-]+/).some((word) => pattern.test(word));
  }
  return value === token || value.split(/[\s@.,;_-]+/).includes(token);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export function runSearch(request: SearchRequest, candidates: Iterable<Candidate>, schema: Schema): { total: number; page: Candidate[]; nextAfter?: string } {
  const groups = request.filterGroups.map((group) => group.map((f) => compile(f, schema)));
  const query = request.query;
  let hits: Candidate[] = [];
  for (const candidate of candidates) {
    if (groups.length > 0 && !groups.some((group) => group.every((test) => test(candidate)))) continue;
    if (query !== undefined && !QUERY_PROPERTIES.some((p) => candidate.values[p]?.toLowerCase().includes(query))) continue;
    hits.push(candidate);
  }
  const sort = request.sort;
  if (sort) {
    const read = reader(sort.propertyName, schema);
    const keyed = hits.map((candidate) => ({ candidate, key: read(candidate) }));
    keyed.sort((a, b) => {
      const x = a.key;
      const y = b.key;
      if (x === undefined || y === undefined) {
        if (x !== y) return x === undefined ? 1 : -1; // empty values last
        return Number(a.candidate.contact.id) - Number(b.candidate.contact.id);
      }
      const order = x < y ? -1 : x > y ? 1 : Number(a.candidate.contact.id) - Number(b.candidate.contact.id);
      return sort.descending ? -order : order;
    });
    hits = keyed.map((k) => k.candidate);
  }
  const page = hits.slice(request.after, request.after + request.limit);
  const end = request.after + page.length;
  return { total: hits.length, page, ...(end < hits.length && request.limit > 0 ? { nextAfter: String(end) } : {}) };
}
