// HubSpot activities: one activity = one HubSpot request, so pacing activities paces requests.
import type { Client } from '@hubspot/api-client';
import type { ExistingContact } from '../src/contact/types.ts';
import type { HubspotBudget } from '../src/hubspot/budget.ts';
import { CONTACT_READ_PROPERTIES } from '../src/hubspot/properties.ts';
import { httpStatusOf, hubspotFailure } from './vendor-errors.ts';

export interface HubspotActivityDeps {
  hubspot: Client;
  timeZone: string;
  /** this process's share of HubSpot's rolling window (src/hubspot/budget.ts); none: unpaced */
  budget?: HubspotBudget;
}

export interface ContactWrite {
  userId: string;
  /** the contact's record ID, for updates */
  contactId?: string;
  properties: Record<string, string>;
}

export interface ContactWriteResult {
  written: Array<{ userId: string; contactId: string }>;
  failed: Array<{ userId: string; reason: string; category?: string }>;
}

interface BatchError {
  status?: string;
  category?: string;
  message?: string;
  context?: Record<string, string[] | undefined>;
}

/** The user IDs a HubSpot batch error names (HubSpot puts them in `context.ids` or similar). */
function idsOfError(error: BatchError): string[] {
  return Object.values(error.context ?? {}).flatMap((v) => (Array.isArray(v) ? v : []));
}

export function createHubspotActivities({ hubspot, timeZone, budget }: HubspotActivityDeps) {
  /** One HubSpot request, in a slot of the budget's window. */
  const paced = <T>(request: () => Promise<T>): Promise<T> => (budget ? budget.run(request) : request());

  /** Results of a batch write → per-user outcome; inputs HubSpot gave no result for are failed with its first error. */
  function outcomeOf(
    writes: ContactWrite[],
    response: { results: Array<{ id: string; properties: Record<string, string | null> }> },
    userIdOf: (result: { id: string; properties: Record<string, string | null> }) => string | undefined,
  ): ContactWriteResult {
    const written: ContactWriteResult['written'] = [];
    for (const result of response.results) {
      const userId = userIdOf(result);
      if (userId) written.push({ userId, contactId: result.id });
    }
    const done = new Set(written.map((w) => w.userId));
    const errors = ('errors' in response ? (response.errors as BatchError[] | undefined) : undefined) ?? [];
    const failed = writes
      .filter((w) => !done.has(w.userId))
      .map((w) => {
        const error = errors.find((e) => idsOfError(e).includes(w.contactId ?? w.userId)) ?? errors[0];
        return { userId: w.userId, reason: error?.message ?? 'no result returned for this input', ...(error?.category ? { category: error.category } : {}) };
      });
    return { written, failed };
  }

  /**
   * New contacts in one batch create. Every input carries its own objectWriteTraceId (the friend's LINE
   * user ID, unique in a batch): only then does HubSpot answer per input (207) instead of failing the
   * whole batch on one conflict, so a contact created meanwhile fails only its own input.
   */
  async function createContacts(writes: ContactWrite[]): Promise<ContactWriteResult> {
    if (writes.length === 0) return { written: [], failed: [] };
    let response;
    try {
      response = await paced(() =>
        hubspot.crm.contacts.batchApi.create({
          inputs: writes.map((w) => ({ properties: { ...w.properties, line_user_id: w.userId }, associations: [], objectWriteTraceId: w.userId })),
        }),
      );
    } catch (error) {
      throw hubspotFailure(error, { operation: `batch create of ${writes.length} contacts`, timeZone });
    }
    return outcomeOf(writes, response, (result) => result.properties.line_user_id ?? undefined);
  }

  /** Changes to existing contacts in one batch update by record ID (never creates a half contact). */
  async function updateContacts(writes: ContactWrite[]): Promise<ContactWriteResult> {
    if (writes.length === 0) return { written: [], failed: [] };
    const userIdOfContact = new Map(writes.map((w) => [w.contactId!, w.userId]));
    let response;
    try {
      response = await paced(() => hubspot.crm.contacts.batchApi.update({ inputs: writes.map((w) => ({ id: w.contactId!, properties: w.properties })) }));
    } catch (error) {
      throw hubspotFailure(error, { operation: `batch update of ${writes.length} contacts`, timeZone });
    }
    return outcomeOf(writes, response, (result) => userIdOfContact.get(result.id));
  }

  /** One batch read by a unique property; the answer keyed by that property's value (`keyOf` normalises it). */
  async function readContactsBy(idProperty: 'line_user_id' | 'email', ids: string[], keyOf: (value: string) => string, what: string): Promise<Record<string, ExistingContact>> {
    if (ids.length === 0) return {};
    let response;
    try {
      response = await paced(() => hubspot.crm.contacts.batchApi.read({ inputs: ids.map((id) => ({ id })), idProperty, properties: CONTACT_READ_PROPERTIES, propertiesWithHistory: [] }));
    } catch (error) {
      throw hubspotFailure(error, { operation: `batch read of ${ids.length} ${what}`, timeZone });
    }
    const found: Record<string, ExistingContact> = {};
    for (const result of response.results) {
      const value = result.properties[idProperty];
      if (value) found[keyOf(value)] = { id: result.id, properties: result.properties };
    }
    return found;
  }

  return {
    createContacts,
    updateContacts,

    /** Contacts by LINE user ID (unique property), one batch read; absent IDs are simply missing. */
    readContactsByLineUserId: (userIds: string[]) => readContactsBy('line_user_id', userIds, (id) => id, 'contacts'),

    /** Contacts by e-mail (unique), one batch read: finds the contacts that hold friends' dummy e-mails. Keys are lower-cased. */
    readContactsByEmail: (emails: string[]) => readContactsBy('email', emails, (email) => email.toLowerCase(), 'contacts by e-mail'),

    /** The contact with this e-mail (GET by idProperty=email), or null when HubSpot has none. */
    async readContactByEmail(email: string): Promise<ExistingContact | null> {
      try {
        const contact = await paced(() => hubspot.crm.contacts.basicApi.getById(email, CONTACT_READ_PROPERTIES, undefined, undefined, false, 'email'));
        return { id: contact.id, properties: contact.properties };
      } catch (error) {
        if (httpStatusOf(error) === 404) return null;
        throw hubspotFailure(error, { operation: 'read of a contact by e-mail', timeZone });
      }
    },

    /** Creates one contact (POST); a 409 (e-mail or LINE user ID taken) is a HubspotConflict. */
    async createContact(properties: Record<string, string>): Promise<{ contactId: string }> {
      try {
        const contact = await paced(() => hubspot.crm.contacts.basicApi.create({ properties, associations: [] }));
        return { contactId: contact.id };
      } catch (error) {
        throw hubspotFailure(error, { operation: 'contact create', timeZone });
      }
    },

    /** Updates one contact by its record ID (PATCH); a 409 (e-mail or LINE user ID taken) is a HubspotConflict. */
    async updateContactById(contactId: string, properties: Record<string, string>): Promise<{ contactId: string }> {
      try {
        const contact = await paced(() => hubspot.crm.contacts.basicApi.update(contactId, { properties }));
        return { contactId: contact.id };
      } catch (error) {
        throw hubspotFailure(error, { operation: `update of contact ${contactId}`, timeZone });
      }
    },

    /** HubSpot's contact merge: `primaryId` survives with its ID and history; `mergedId` is folded into it. */
    async mergeContacts(primaryId: string, mergedId: string): Promise<{ contactId: string }> {
      try {
        const contact = await paced(() => hubspot.crm.contacts.basicApi.merge({ primaryObjectId: primaryId, objectIdToMerge: mergedId }));
        return { contactId: contact.id };
      } catch (error) {
        throw hubspotFailure(error, { operation: `merge of contact ${mergedId} into ${primaryId}`, timeZone });
      }
    },
  };
}

export type HubspotActivities = ReturnType<typeof createHubspotActivities>;
