// The sandbox portal's contact operations with HubSpot CRM v3 semantics, independent of HTTP:
// each method takes the request body/parameters and returns `{status, body}` or throws a
// HubspotApiError carrying HubSpot's error status and body.
import { HubspotApiError, errorBody, notFoundError, propertyValuesError, validationError, type PropertyValidationResult } from './errors.ts';
import { ALWAYS_RETURNED, DEFAULT_READ_PROPERTIES, Schema, isoOf } from './schema.ts';
import { parseSearchRequest, runSearch } from './search.ts';
import { ContactStore, type ContactRecord, type UniqueConflict } from './store.ts';

export const BATCH_LIMIT = 100;
const LIST_LIMIT = 100;

/** A contact as the CRM v3 API shows it (`SimplePublicObject`). */
export interface HubspotContact {
  id: string;
  properties: Record<string, string | null>;
  createdAt: string;
  updatedAt: string;
  archived: boolean;
  archivedAt?: string;
}

/** A batch upsert result (`SimplePublicUpsertObject`). */
export interface HubspotUpsertResult extends HubspotContact {
  new: boolean;
}

/** An error of a batch answer (`StandardError`). */
export interface BatchError {
  status: 'error';
  category: string;
  message: string;
  context: Record<string, string[]>;
  errors: unknown[];
  links: Record<string, string>;
}

export interface Answer {
  status: number;
  body?: unknown;
}

type Changes = Record<string, string | null>;
type Obj = Record<string, unknown>;

export class Portal {
  readonly schema: Schema;
  readonly store: ContactStore;

  constructor(
    readonly portalId: number,
    searchLag: () => number,
    private readonly clock: () => number = Date.now,
  ) {
    this.schema = new Schema(portalId);
    this.store = new ContactStore(this.schema, searchLag);
  }

  // ---- single objects ----

  create(body: unknown): Answer {
    const changes = this.validateWrite(propertiesOf(body));
    const conflict = this.store.conflict(changes);
    if (conflict) throw conflictError(conflict);
    const contact = this.store.create(changes, this.clock());
    return { status: 201, body: this.view(contact, this.written(contact, Object.keys(changes))) };
  }

  read(id: string, query: { idProperty?: string; properties?: string[]; archived?: boolean }): Answer {
    const contact = this.resolve(id, query.idProperty, 'read', query.archived === true);
    return { status: 200, body: this.view(contact, this.readProperties(contact, query.properties)) };
  }

  update(id: string, idProperty: string | undefined, body: unknown): Answer {
    const contact = this.resolve(id, idProperty, 'update', false);
    const changes = this.validateWrite(propertiesOf(body));
    const conflict = this.store.conflict(changes, contact.id);
    if (conflict) throw conflictError(conflict);
    this.store.update(contact, changes, this.clock());
    return { status: 200, body: this.view(contact, this.written(contact, Object.keys(changes))) };
  }

  archive(id: string): Answer {
    const contact = this.store.get(id);
    if (contact) this.store.archive(contact, this.clock());
    return { status: 204 };
  }

  list(query: { limit?: string; after?: string; properties?: string[] }): Answer {
    const limit = query.limit === undefined ? 10 : Number(query.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > LIST_LIMIT) throw validationError(`limit must be a whole number from 1 to ${LIST_LIMIT}, got ${query.limit}`);
    const after = query.after === undefined || query.after === '' ? 0 : Number(query.after);
    if (!Number.isInteger(after) || after < 0) throw validationError(`after must be a record id, got ${query.after}`);
    const { results, nextAfter } = this.store.page(after, limit);
    return {
      status: 200,
      body: {
        results: results.map((c) => this.view(c, this.readProperties(c, query.properties))),
        ...(nextAfter ? { paging: { next: { after: nextAfter, link: `?after=${nextAfter}` } } } : {}),
      },
    };
  }

  // ---- batches ----

  batchRead(body: unknown): Answer {
    const startedAt = this.clock();
    const input = asObject(body);
    const inputs = batchInputs(input);
    const idProperty = optionalString(input['idProperty'], 'idProperty');
    if (idProperty !== undefined && idProperty !== 'hs_object_id' && !this.schema.isIdProperty(idProperty)) throw this.nonUnique(idProperty, 'read');
    const ids = inputs.map((item, index) => requiredId(item, index));
    rejectDuplicates(ids.map((id) => this.idKey(idProperty, id)));
    const properties = stringList(input['properties']);
    const results: HubspotContact[] = [];
    const missing: string[] = [];
    for (const id of ids) {
      const contact = this.store.findBy(idProperty ?? 'hs_object_id', id);
      if (contact) results.push(this.view(contact, this.readProperties(contact, properties)));
      else missing.push(id);
    }
    const errors = missing.length === 0 ? [] : [batchError('OBJECT_NOT_FOUND', 'Could not get some CONTACT objects, they may be deleted or not exist. Check that ids are valid.', { ids: missing })];
    return this.batchAnswer(200, results, errors, startedAt);
  }

  /**
   * HubSpot's batch create. Partial results (207 with per-input errors naming the input's trace
   * ID) only in "multi-status" mode: every input carries its own, unique `objectWriteTraceId`.
   * Otherwise the batch is all or nothing: the first input that conflicts on a unique value —
   * with an existing contact or an earlier input of the batch — fails the whole batch with one
   * 409, and nothing is created.
   */
  batchCreate(body: unknown): Answer {
    const startedAt = this.clock();
    const inputs = batchInputs(asObject(body));
    const prepared = this.validateAll(inputs.map((item) => ({ properties: propertiesOf(item) })));
    if (!multiStatus(inputs)) {
      const claimed = new Map<string, number>();
      prepared.forEach((changes, index) => {
        const conflict = this.store.conflict(changes);
        if (conflict) throw conflictError(conflict);
        const unique = this.store.uniqueValues(changes);
        for (const { property, value, key } of unique) {
          const earlier = claimed.get(key);
          if (earlier !== undefined) throw batchDuplicateError(property, value, earlier, index);
        }
        for (const { key } of unique) claimed.set(key, index);
      });
    }
    const results: HubspotContact[] = [];
    const errors: BatchError[] = [];
    prepared.forEach((changes, index) => {
      // In multi-status mode an earlier input of the batch is already created here, so a later
      // input with the same unique value conflicts with it like with any existing contact.
      const conflict = this.store.conflict(changes);
      if (conflict) {
        errors.push(conflictBatchError(conflict, traceContext(inputs[index]!)));
        return;
      }
      const contact = this.store.create(changes, this.clock());
      results.push(this.view(contact, this.written(contact, Object.keys(changes))));
    });
    return this.batchAnswer(201, results, errors, startedAt);
  }

  batchUpdate(body: unknown): Answer {
    const startedAt = this.clock();
    const inputs = batchInputs(asObject(body));
    const keyed = inputs.map((item, index) => {
      const idProperty = optionalString(item['idProperty'], `inputs[${index}].idProperty`);
      if (idProperty !== undefined && !this.schema.isIdProperty(idProperty)) throw this.nonUnique(idProperty, 'update');
      return { id: requiredId(item, index), idProperty };
    });
    rejectDuplicates(keyed.map(({ id, idProperty }) => this.idKey(idProperty, id)));
    const prepared = this.validateAll(inputs.map((item) => ({ properties: propertiesOf(item) })));
    const results: HubspotContact[] = [];
    const errors: BatchError[] = [];
    keyed.forEach(({ id, idProperty }, index) => {
      const contact = this.store.findBy(idProperty ?? 'hs_object_id', id);
      if (!contact) {
        errors.push(batchError('OBJECT_NOT_FOUND', 'Could not get some CONTACT objects, they may be deleted or not exist. Check that ids are valid.', { ids: [id], ...traceContext(inputs[index]!) }));
        return;
      }
      const changes = prepared[index]!;
      const conflict = this.store.conflict(changes, contact.id);
      if (conflict) {
        errors.push(conflictBatchError(conflict, { ids: [id], ...traceContext(inputs[index]!) }));
        return;
      }
      this.store.update(contact, changes, this.clock());
      results.push(this.view(contact, this.written(contact, Object.keys(changes))));
    });
    return this.batchAnswer(200, results, errors, startedAt);
  }

  batchUpsert(body: unknown): Answer {
    const startedAt = this.clock();
    const inputs = batchInputs(asObject(body));
    const keyed = inputs.map((item, index) => {
      const idProperty = optionalString(item['idProperty'], `inputs[${index}].idProperty`);
      if (idProperty === undefined) throw validationError(`inputs[${index}].idProperty is required: the name of a unique value property (such as email) to upsert by`);
      if (!this.schema.isIdProperty(idProperty)) throw this.nonUnique(idProperty, 'upsert');
      return { id: requiredId(item, index), idProperty };
    });
    rejectDuplicates(keyed.map(({ id, idProperty }) => this.idKey(idProperty, id)));
    // The id is the value of idProperty, so it is validated like a written value.
    const prepared = this.validateAll(inputs.map((item, index) => ({ properties: propertiesOf(item), key: keyed[index]! })));
    const results: HubspotUpsertResult[] = [];
    const errors: BatchError[] = [];
    keyed.forEach(({ id, idProperty }, index) => {
      const changes = prepared[index]!;
      const existing = this.store.findBy(idProperty, id);
      const conflict = this.store.conflict(changes, existing?.id);
      if (conflict) {
        errors.push(conflictBatchError(conflict, { ids: [id], ...traceContext(inputs[index]!) }));
        return;
      }
      if (existing) {
        // The key names the contact; only an explicit property value changes it.
        if (!Object.hasOwn(propertiesOf(inputs[index]!), idProperty)) delete changes[idProperty];
        this.store.update(existing, changes, this.clock());
        results.push({ ...this.view(existing, this.written(existing, Object.keys(changes))), new: false });
      } else {
        const contact = this.store.create(changes, this.clock());
        results.push({ ...this.view(contact, this.written(contact, Object.keys(changes))), new: true });
      }
    });
    return this.batchAnswer(200, results, errors, startedAt);
  }

  batchArchive(body: unknown): Answer {
    const inputs = batchInputs(asObject(body));
    const ids = inputs.map((item, index) => requiredId(item, index));
    rejectDuplicates(ids);
    const now = this.clock();
    for (const id of ids) {
      const contact = this.store.get(id);
      if (contact) this.store.archive(contact, now);
    }
    return { status: 204 };
  }

  // ---- search, merge ----

  search(body: unknown): Answer {
    const request = parseSearchRequest(body, this.schema);
    const { total, page, nextAfter } = runSearch(request, this.store.searchable(this.clock()), this.schema);
    return {
      status: 200,
      body: {
        total,
        results: page.map(({ contact, values, updatedAt }) => {
          const frozen: ContactRecord = { ...contact, values, updatedAt, archived: false };
          return this.view(frozen, this.readProperties(frozen, request.properties));
        }),
        ...(nextAfter ? { paging: { next: { after: nextAfter } } } : {}),
      },
    };
  }

  merge(body: unknown): Answer {
    const input = asObject(body);
    const primaryId = idText(input['primaryObjectId']);
    const mergedId = idText(input['objectIdToMerge']);
    if (typeof primaryId !== 'string' || primaryId === '') throw validationError('primaryObjectId is required');
    if (typeof mergedId !== 'string' || mergedId === '') throw validationError('objectIdToMerge is required');
    if (primaryId === mergedId) throw validationError(`Cannot merge a contact with itself: primaryObjectId and objectIdToMerge are both ${primaryId}.`);
    const primary = this.store.get(primaryId);
    const merged = this.store.get(mergedId);
    if (!primary || !merged) {
      const missing = [primary ? undefined : primaryId, merged ? undefined : mergedId].filter((x): x is string => x !== undefined);
      throw notFoundError(`Could not get some CONTACT objects, they may be deleted or not exist. Check that ids are valid.`, { context: { ids: missing } });
    }
    this.store.merge(primary, merged, this.clock());
    return { status: 200, body: this.view(primary, this.readProperties(primary, undefined)) };
  }

  // ---- helpers ----

  /** Validates every property of a write; any invalid value rejects the whole request. */
  validateWrite(properties: Obj): Changes {
    return this.validateAll([{ properties }])[0]!;
  }

  private validateAll(items: Array<{ properties: Obj; key?: { id: string; idProperty: string } }>): Changes[] {
    const problems: PropertyValidationResult[] = [];
    const prepared = items.map(({ properties, key }) => {
      const changes: Changes = {};
      for (const [name, raw] of Object.entries(properties)) {
        const result = this.schema.normalize(name, raw);
        if ('error' in result) problems.push(result.error);
        else changes[name] = result.value;
      }
      if (key) {
        const result = this.schema.normalize(key.idProperty, key.id);
        if ('error' in result) problems.push(result.error);
        else if (changes[key.idProperty] === undefined) changes[key.idProperty] = result.value;
      }
      return changes;
    });
    if (problems.length > 0) throw propertyValuesError(problems);
    return prepared;
  }

  /** A live contact by record id or by `idProperty`, else HubSpot's 404. */
  private resolve(id: string, idProperty: string | undefined, action: 'read' | 'update', includeArchived: boolean): ContactRecord {
    if (idProperty !== undefined && idProperty !== 'hs_object_id' && !this.schema.isIdProperty(idProperty)) throw this.nonUnique(idProperty, action);
    const contact = this.store.findBy(idProperty ?? 'hs_object_id', id) ?? (includeArchived && (idProperty ?? 'hs_object_id') === 'hs_object_id' ? this.archivedOnly(id) : undefined);
    if (contact) return contact;
    const numeric = /^\d+$/.test(id);
    throw notFoundError(numeric || idProperty !== undefined ? 'resource not found' : 'Object not found.  objectId are usually numeric.', { context: { id: [id] } });
  }

  private archivedOnly(id: string): ContactRecord | undefined {
    const contact = this.store.contacts.get(id);
    return contact?.archived && contact.mergedInto === undefined ? contact : undefined;
  }

  private nonUnique(property: string, action: 'read' | 'update' | 'upsert'): HubspotApiError {
    const verb = action === 'read' ? 'read' : 'update/upsert';
    return validationError(`Unable to perform ${verb} by non-unique 0-1 property ${property} in portal ID ${this.portalId}`);
  }

  /** Key under which two batch ids are "the same id". */
  private idKey(idProperty: string | undefined, id: string): string {
    return idProperty === 'email' ? id.trim().toLowerCase() : id;
  }

  /** Properties a read returns: the asked ones (null when unset) or the default set, plus the always-returned ones. */
  readProperties(contact: ContactRecord, requested: string[] | undefined): Record<string, string | null> {
    const names = requested && requested.length > 0 ? [...requested, ...ALWAYS_RETURNED] : [...DEFAULT_READ_PROPERTIES];
    const properties: Record<string, string | null> = {};
    for (const name of names) {
      if (!this.schema.get(name)) continue; // HubSpot ignores unknown names on reads
      properties[name] = this.valueOf(contact, name);
    }
    return properties;
  }

  /** Properties a write returns: the written ones (as now stored) plus the always-returned ones. */
  private written(contact: ContactRecord, names: string[]): Record<string, string | null> {
    const properties: Record<string, string | null> = {};
    for (const name of [...names, ...ALWAYS_RETURNED]) properties[name] = this.valueOf(contact, name) ?? '';
    return properties;
  }

  /** Every property that has a value (the sandbox's own view). */
  allProperties(contact: ContactRecord): Record<string, string> {
    const properties: Record<string, string> = {};
    for (const name of [...Object.keys(contact.values), ...ALWAYS_RETURNED]) properties[name] = this.valueOf(contact, name)!;
    return properties;
  }

  private valueOf(contact: ContactRecord, name: string): string | null {
    if (name === 'hs_object_id') return contact.id;
    if (name === 'createdate') return isoOf(contact.createdAt);
    if (name === 'lastmodifieddate') return isoOf(contact.updatedAt);
    const stored = contact.values[name];
    return stored === undefined ? null : this.schema.format(name, stored);
  }

  view(contact: ContactRecord, properties: Record<string, string | null>): HubspotContact {
    return {
      id: contact.id,
      properties,
      createdAt: isoOf(contact.createdAt),
      updatedAt: isoOf(contact.updatedAt),
      archived: contact.archived,
      ...(contact.archived && contact.archivedAt !== undefined ? { archivedAt: isoOf(contact.archivedAt) } : {}),
    };
  }

  private batchAnswer(okStatus: number, results: unknown[], errors: BatchError[], startedAt: number): Answer {
    const body = {
      status: 'COMPLETE',
      results,
      ...(errors.length > 0 ? { numErrors: errors.length, errors } : {}),
      startedAt: isoOf(startedAt),
      completedAt: isoOf(this.clock()),
    };
    return { status: errors.length > 0 ? 207 : okStatus, body };
  }
}

function conflictMessage(conflict: UniqueConflict): string {
  return conflict.property === 'email'
    ? `Contact already exists. Existing ID: ${conflict.existingId}`
    : `A contact with ${conflict.property} "${conflict.value}" already exists. Existing ID: ${conflict.existingId}`;
}

function conflictDetail(conflict: UniqueConflict) {
  const what = conflict.property === 'email' ? `email ${conflict.value}` : `${conflict.property} "${conflict.value}"`;
  return { message: `A contact with ${what} already exists. Existing ID: ${conflict.existingId}`, in: conflict.property };
}

export function conflictError(conflict: UniqueConflict): HubspotApiError {
  return new HubspotApiError(409, errorBody('CONFLICT', conflictMessage(conflict), { errors: [conflictDetail(conflict)] }));
}

function conflictBatchError(conflict: UniqueConflict, context: Record<string, string[]>): BatchError {
  return { ...batchError('CONFLICT', conflictMessage(conflict), context), errors: [conflictDetail(conflict)] };
}

/** 409 for two inputs of an all-or-nothing batch create holding the same unique value. */
function batchDuplicateError(property: string, value: string, first: number, second: number): HubspotApiError {
  const what = property === 'email' ? `email ${value}` : `${property} "${value}"`;
  const message = `Contact already exists in this batch: inputs[${first}] and inputs[${second}] have the same ${what}`;
  return new HubspotApiError(409, errorBody('CONFLICT', message, { errors: [{ message, in: property }] }));
}

/** HubSpot's multi-status opt-in: every input has its own `objectWriteTraceId`, none used twice. */
function multiStatus(inputs: Obj[]): boolean {
  const traces = new Set<string>();
  for (const item of inputs) {
    const trace = item['objectWriteTraceId'];
    if (typeof trace !== 'string' || trace === '' || traces.has(trace)) return false;
    traces.add(trace);
  }
  return true;
}

function batchError(category: string, message: string, context: Record<string, string[]>): BatchError {
  return { status: 'error', category, message, context, errors: [], links: {} };
}

function traceContext(item: Obj): Record<string, string[]> {
  const trace = item['objectWriteTraceId'];
  return typeof trace === 'string' ? { objectWriteTraceId: [trace] } : {};
}

function asObject(body: unknown): Obj {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw validationError('Invalid input JSON: expected a JSON object');
  return body as Obj;
}

function propertiesOf(body: unknown): Obj {
  const properties = asObject(body)['properties'];
  if (properties === undefined || properties === null) return {};
  if (typeof properties !== 'object' || Array.isArray(properties)) throw validationError('Invalid input JSON: properties must be an object of property names to values');
  return properties as Obj;
}

function batchInputs(body: Obj): Obj[] {
  const inputs = body['inputs'];
  if (!Array.isArray(inputs)) throw validationError('Invalid input JSON: "inputs" is required and must be an array');
  if (inputs.length > BATCH_LIMIT) {
    throw validationError(`Batch input limit exceeded: at most ${BATCH_LIMIT} inputs are allowed per request, got ${inputs.length}`, { context: { maxInputs: [String(BATCH_LIMIT)] } });
  }
  return inputs.map((item, index) => {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) throw validationError(`Invalid input JSON: inputs[${index}] must be an object`);
    return item as Obj;
  });
}

function requiredId(item: Obj, index: number): string {
  const id = item['id'];
  if (typeof id === 'number' && Number.isFinite(id)) return String(id);
  if (typeof id !== 'string' || id.trim() === '') throw validationError(`inputs[${index}].id is required`);
  return id;
}

function idText(value: unknown): unknown {
  return typeof value === 'number' && Number.isInteger(value) ? String(value) : value;
}

function optionalString(value: unknown, name: string): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') throw validationError(`${name} must be a string`);
  return value;
}

function stringList(value: unknown): string[] | undefined {
  if (!Array.isArray(value)) return undefined;
  return value.filter((v): v is string => typeof v === 'string');
}

function rejectDuplicates(keys: string[]): void {
  const seen = new Set<string>();
  const duplicates = new Set<string>();
  for (const key of keys) {
    if (seen.has(key)) duplicates.add(key);
    seen.add(key);
  }
  if (duplicates.size > 0) {
    const list = [...duplicates];
    throw validationError(`Duplicate IDs found in batch input: [${list.join(', ')}]. IDs must be unique`, { context: { ids: list } });
  }
}
