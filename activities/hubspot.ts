// HubSpot activities: one activity = one HubSpot request, so pacing activities paces requests.
import type { Client } from '@hubspot/api-client';
import type { ExistingContact } from '../src/contact/types.ts';
import { CONTACT_READ_PROPERTIES } from '../src/hubspot/properties.ts';
import { httpStatusOf, hubspotFailure } from './vendor-errors.ts';

export interface HubspotActivityDeps {
  hubspot: Client;
  timeZone: string;
}

export interface ContactWrite {
  userId: string;
  properties: Record<string, string>;
}

export interface ContactWriteResult {
  written: Array<{ userId: string; contactId: string; created: boolean }>;
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

export function createHubspotActivities({ hubspot, timeZone }: HubspotActivityDeps) {
  /** Creates or updates contacts keyed by LINE user ID in one batch upsert; a 207 reports per-input failures. */
  async function upsertContactsByLineUserId(writes: ContactWrite[]): Promise<ContactWriteResult> {
      if (writes.length === 0) return { written: [], failed: [] };
      let response;
      try {
        response = await hubspot.crm.contacts.batchApi.upsert({
          inputs: writes.map((w) => ({ id: w.userId, idProperty: 'line_user_id', properties: { ...w.properties, line_user_id: w.userId } })),
        });
      } catch (error) {
        throw hubspotFailure(error, { operation: `batch upsert of ${writes.length} contacts`, timeZone });
      }
      const written: ContactWriteResult['written'] = [];
      for (const result of response.results) {
        const userId = result.properties.line_user_id;
        if (userId) written.push({ userId, contactId: result.id, created: Boolean((result as { _new?: boolean; new?: boolean })._new ?? (result as { new?: boolean }).new) });
      }
      const done = new Set(written.map((w) => w.userId));
      const errors = ('errors' in response ? (response.errors as BatchError[] | undefined) : undefined) ?? [];
      const failed: ContactWriteResult['failed'] = [];
      for (const error of errors) {
        for (const userId of idsOfError(error)) {
          if (!done.has(userId) && writes.some((w) => w.userId === userId)) {
            failed.push({ userId, reason: error.message ?? 'unknown error', category: error.category });
            done.add(userId);
          }
        }
      }
      // HubSpot did not say which inputs failed: report every input without a result.
      for (const w of writes) {
        if (!done.has(w.userId)) failed.push({ userId: w.userId, reason: errors[0]?.message ?? 'no result returned for this input', category: errors[0]?.category });
      }
      return { written, failed };
  }

  return {
    upsertContactsByLineUserId,

    /** Contacts by LINE user ID (unique property), one batch read; absent IDs are simply missing. */
    async readContactsByLineUserId(userIds: string[]): Promise<Record<string, ExistingContact>> {
      if (userIds.length === 0) return {};
      let response;
      try {
        response = await hubspot.crm.contacts.batchApi.read({
          inputs: userIds.map((id) => ({ id })),
          idProperty: 'line_user_id',
          properties: CONTACT_READ_PROPERTIES,
          propertiesWithHistory: [],
        });
      } catch (error) {
        throw hubspotFailure(error, { operation: `batch read of ${userIds.length} contacts`, timeZone });
      }
      const found: Record<string, ExistingContact> = {};
      for (const result of response.results) {
        const userId = result.properties.line_user_id;
        if (userId) found[userId] = { id: result.id, properties: result.properties };
      }
      return found;
    },

    /** The contact with this e-mail (GET by idProperty=email), or null when HubSpot has none. */
    async readContactByEmail(email: string): Promise<ExistingContact | null> {
      try {
        const contact = await hubspot.crm.contacts.basicApi.getById(email, CONTACT_READ_PROPERTIES, undefined, undefined, false, 'email');
        return { id: contact.id, properties: contact.properties };
      } catch (error) {
        if (httpStatusOf(error) === 404) return null;
        throw hubspotFailure(error, { operation: 'read of a contact by e-mail', timeZone });
      }
    },

    /** Creates one contact (POST); a 409 (e-mail or LINE user ID taken) is a HubspotConflict. */
    async createContact(properties: Record<string, string>): Promise<{ contactId: string }> {
      try {
        const contact = await hubspot.crm.contacts.basicApi.create({ properties, associations: [] });
        return { contactId: contact.id };
      } catch (error) {
        throw hubspotFailure(error, { operation: 'contact create', timeZone });
      }
    },

    /** Updates one contact by its record ID (PATCH); a 409 (e-mail or LINE user ID taken) is a HubspotConflict. */
    async updateContactById(contactId: string, properties: Record<string, string>): Promise<{ contactId: string }> {
      try {
        const contact = await hubspot.crm.contacts.basicApi.update(contactId, { properties });
        return { contactId: contact.id };
      } catch (error) {
        throw hubspotFailure(error, { operation: `update of contact ${contactId}`, timeZone });
      }
    },

    /** HubSpot's contact merge: `primaryId` survives with its ID and history; `mergedId` is folded into it. */
    async mergeContacts(primaryId: string, mergedId: string): Promise<{ contactId: string }> {
      try {
        const contact = await hubspot.crm.contacts.basicApi.merge({ primaryObjectId: primaryId, objectIdToMerge: mergedId });
        return { contactId: contact.id };
      } catch (error) {
        throw hubspotFailure(error, { operation: `merge of contact ${mergedId} into ${primaryId}`, timeZone });
      }
    },
  };
}

export type HubspotActivities = ReturnType<typeof createHubspotActivities>;
