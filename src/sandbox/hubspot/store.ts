// Contacts of the sandbox portal: records in a Map keyed by id, an e-mail index (primary and
// additional e-mails) and one index per unique-value property, so reads and upserts by id,
// e-mail or unique value never scan. Search may scan; it sees the state of `searchLagMs` ago.
import type { Schema } from './schema.ts';

/** What a search sees of a contact at some moment. */
interface Snapshot {
  at: number;
  values: Record<string, string>;
  updatedAt: number;
  archived: boolean;
}

export interface ContactRecord {
  id: string;
  /** stored values: dates/datetimes as epoch ms, e-mails lower-cased; unset properties absent */
  values: Record<string, string>;
  /** epoch ms of properties changed after creation (HubSpot's merge keeps the most recent value); others date from `createdAt` */
  times?: Record<string, number>;
  createdAt: number;
  updatedAt: number;
  archived: boolean;
  archivedAt?: number;
  mergedInto?: string;
  /** recent states, kept only while search lags behind writes */
  history?: Snapshot[];
}

export interface UniqueConflict {
  property: string;
  value: string;
  existingId: string;
}

export class ContactStore {
  readonly contacts = new Map<string, ContactRecord>();
  /** ids in creation order (numeric, increasing): paging without scans */
  private order: number[] = [];
  private readonly emailIndex = new Map<string, string>();
  private readonly uniqueIndexes = new Map<string, Map<string, string>>();
  private nextId = 1;
  private liveCount = 0;

  constructor(
    private readonly schema: Schema,
    private readonly searchLag: () => number,
  ) {}

  reset(): void {
    this.contacts.clear();
    this.order = [];
    this.emailIndex.clear();
    this.uniqueIndexes.clear();
    this.nextId = 1;
    this.liveCount = 0;
  }

  get size(): number {
    return this.liveCount;
  }

  /** A live (not archived, not merged) contact by record id. */
  get(id: string): ContactRecord | undefined {
    const contact = this.contacts.get(id);
    return contact && !contact.archived ? contact : undefined;
  }

  /** A live contact by `hs_object_id`, `email` (primary or additional) or a unique-value property. */
  findBy(idProperty: string, value: string): ContactRecord | undefined {
    if (idProperty === 'hs_object_id') return this.get(value);
    if (idProperty === 'email') {
      const id = this.emailIndex.get(value.trim().toLowerCase());
      return id === undefined ? undefined : this.get(id);
    }
    const id = this.uniqueIndexes.get(idProperty)?.get(this.indexKey(idProperty, value));
    return id === undefined ? undefined : this.get(id);
  }

  /** The first unique value in `changes` that another live contact already holds. */
  conflict(changes: Record<string, string | null>, selfId?: string): UniqueConflict | undefined {
    for (const { property, value } of this.uniqueValues(changes)) {
      const existing = this.findBy(property, value);
      if (existing && existing.id !== selfId) return { property, value, existingId: existing.id };
    }
    return undefined;
  }

  /** The values in `changes` that must be unique (e-mail, unique-value properties), each with the key equal values share. */
  uniqueValues(changes: Record<string, string | null>): Array<{ property: string; value: string; key: string }> {
    const values: Array<{ property: string; value: string; key: string }> = [];
    for (const [property, value] of Object.entries(changes)) {
      if (value === null) continue;
      if (property !== 'email' && !this.schema.get(property)?.hasUniqueValue) continue;
      values.push({ property, value, key: `${property}\u0000${this.indexKey(property, value)}` });
    }
    return values;
  }

  create(changes: Record<string, string | null>, now: number): ContactRecord {
    const id = String(this.nextId++);
    const contact: ContactRecord = { id, values: {}, createdAt: now, updatedAt: now, archived: false };
    for (const [name, value] of Object.entries(changes)) {
      if (value !== null) contact.values[name] = value;
    }
    this.contacts.set(id, contact);
    this.order.push(Number(id));
    this.liveCount++;
    this.index(contact);
    this.remember(contact, now, false);
    return contact;
  }

  /** Applies validated, conflict-free changes; returns whether anything changed. */
  update(contact: ContactRecord, changes: Record<string, string | null>, now: number): boolean {
    const changed = Object.entries(changes).filter(([name, value]) => (contact.values[name] ?? null) !== value);
    if (changed.length === 0) return false;
    this.remember(contact, now, true);
    this.unindex(contact);
    const times = (contact.times ??= {});
    for (const [name, value] of changed) {
      if (value === null) delete contact.values[name];
      else contact.values[name] = value;
      times[name] = now;
    }
    // A primary e-mail that was also an additional one stops being "additional".
    const email = contact.values['email'];
    const additional = contact.values['hs_additional_emails'];
    if (email !== undefined && additional !== undefined) {
      const rest = additional.split(';').filter((e) => e !== email);
      if (rest.length > 0) contact.values['hs_additional_emails'] = rest.join(';');
      else delete contact.values['hs_additional_emails'];
    }
    contact.updatedAt = now;
    this.index(contact);
    this.remember(contact, now, false);
    return true;
  }

  archive(contact: ContactRecord, now: number): void {
    this.remember(contact, now, true);
    this.unindex(contact);
    contact.archived = true;
    contact.archivedAt = now;
    contact.updatedAt = now;
    this.liveCount--;
    this.remember(contact, now, false);
  }

  /**
   * HubSpot's contact merge: the primary keeps its id and e-mail (the other's e-mail becomes an
   * additional e-mail); for every other property the most recently set value wins, and a value
   * only one of them has is kept. The merged contact is gone afterwards.
   */
  merge(primary: ContactRecord, merged: ContactRecord, now: number): void {
    this.remember(primary, now, true);
    this.remember(merged, now, true);
    this.unindex(primary);
    this.unindex(merged);

    const values: Record<string, string> = {};
    const times: Record<string, number> = {};
    const names = new Set([...Object.keys(primary.values), ...Object.keys(merged.values)]);
    for (const name of names) {
      if (name === 'email' || name === 'hs_additional_emails') continue;
      const p = primary.values[name];
      const m = merged.values[name];
      const takeMerged = p === undefined || (m !== undefined && changedAt(merged, name) > changedAt(primary, name));
      values[name] = (takeMerged ? m : p)!;
      times[name] = changedAt(takeMerged ? merged : primary, name);
    }
    const emails = [primary.values['email'], merged.values['email']].filter((e): e is string => e !== undefined);
    const additional = new Set<string>([...splitList(primary.values['hs_additional_emails']), ...splitList(merged.values['hs_additional_emails']), ...emails.slice(1)]);
    if (emails[0] !== undefined) {
      values['email'] = emails[0];
      times['email'] = primary.values['email'] !== undefined ? changedAt(primary, 'email') : now;
      additional.delete(emails[0]);
    }
    if (additional.size > 0) {
      values['hs_additional_emails'] = [...additional].join(';');
      times['hs_additional_emails'] = now;
    }

    primary.values = values;
    primary.times = times;
    primary.createdAt = Math.min(primary.createdAt, merged.createdAt);
    primary.updatedAt = now;
    merged.archived = true;
    merged.archivedAt = now;
    merged.mergedInto = primary.id;
    merged.updatedAt = now;
    this.liveCount--;
    this.index(primary);
    this.remember(primary, now, false);
    this.remember(merged, now, false);
  }

  /** Live contacts after `afterId` in creation order (binary search, no scan). */
  page(afterId: number, limit: number): { results: ContactRecord[]; nextAfter?: string } {
    let lo = 0;
    let hi = this.order.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.order[mid]! <= afterId) lo = mid + 1;
      else hi = mid;
    }
    const results: ContactRecord[] = [];
    for (let i = lo; i < this.order.length; i++) {
      const contact = this.get(String(this.order[i]));
      if (!contact) continue;
      if (results.length === limit) return { results, nextAfter: String(results[results.length - 1]!.id) };
      results.push(contact);
    }
    return { results };
  }

  /**
   * Every contact as a search at `now` sees it: the state of `searchLagMs` ago. Contacts created
   * within the lag are not seen yet; archived or merged ones are still seen until the lag passes.
   */
  *searchable(now: number): Generator<{ contact: ContactRecord; values: Record<string, string>; updatedAt: number }> {
    const lag = this.searchLag();
    const cutoff = now - lag;
    for (const contact of this.contacts.values()) {
      const history = contact.history;
      if (lag <= 0 || history === undefined || history.length === 0) {
        if (!contact.archived) yield { contact, values: contact.values, updatedAt: contact.updatedAt };
        continue;
      }
      let seen: Snapshot | undefined;
      for (const snapshot of history) {
        if (snapshot.at <= cutoff) seen = snapshot;
        else break;
      }
      if (seen === history[history.length - 1]) contact.history = undefined; // settled: current state is what search sees
      if (seen && !seen.archived) yield { contact, values: seen.values, updatedAt: seen.updatedAt };
    }
  }

  /** Records the state search will see (only while search lags). `before`: state ahead of a write. */
  private remember(contact: ContactRecord, now: number, before: boolean): void {
    const lag = this.searchLag();
    if (lag <= 0) {
      contact.history = undefined;
      return;
    }
    if (before) {
      // The state before this write has been visible since the previous write.
      if (contact.history === undefined) {
        contact.history = [{ at: contact.updatedAt, values: { ...contact.values }, updatedAt: contact.updatedAt, archived: contact.archived }];
      }
      return;
    }
    const history = (contact.history ??= []);
    const last = history[history.length - 1];
    const snapshot = { at: now, values: { ...contact.values }, updatedAt: contact.updatedAt, archived: contact.archived };
    if (last && last.at === now) history[history.length - 1] = snapshot;
    else history.push(snapshot);
    // Keep only the newest state older than the lag and everything after it.
    const cutoff = now - lag;
    let keepFrom = 0;
    for (let i = 0; i < history.length; i++) if (history[i]!.at <= cutoff) keepFrom = i;
    if (keepFrom > 0) history.splice(0, keepFrom);
  }

  private indexKey(property: string, value: string): string {
    if (property === 'email') return value.trim().toLowerCase();
    if (this.schema.get(property)?.type === 'number' && value.trim() !== '' && Number.isFinite(Number(value))) return String(Number(value));
    return value;
  }

  private index(contact: ContactRecord): void {
    if (contact.archived) return;
    const email = contact.values['email'];
    if (email !== undefined) this.emailIndex.set(email, contact.id);
    for (const additional of splitList(contact.values['hs_additional_emails'])) {
      if (!this.emailIndex.has(additional)) this.emailIndex.set(additional, contact.id);
    }
    for (const [name, value] of Object.entries(contact.values)) {
      if (name === 'email' || !this.schema.get(name)?.hasUniqueValue) continue;
      let index = this.uniqueIndexes.get(name);
      if (!index) this.uniqueIndexes.set(name, (index = new Map()));
      index.set(value, contact.id);
    }
  }

  private unindex(contact: ContactRecord): void {
    for (const email of [contact.values['email'], ...splitList(contact.values['hs_additional_emails'])]) {
      if (email !== undefined && this.emailIndex.get(email) === contact.id) this.emailIndex.delete(email);
    }
    for (const [name, value] of Object.entries(contact.values)) {
      const index = this.uniqueIndexes.get(name);
      if (index?.get(value) === contact.id) index.delete(value);
    }
  }
}

function changedAt(contact: ContactRecord, name: string): number {
  return contact.times?.[name] ?? contact.createdAt;
}

function splitList(value: string | undefined): string[] {
  return value === undefined || value === '' ? [] : value.split(';');
}
