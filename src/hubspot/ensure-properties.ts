// Makes sure the `line` property group and the LINE contact properties exist (idempotent, race-safe).
import type { Client } from '@hubspot/api-client';
import type { HubspotBudget } from './budget.ts';
import { LINE_PROPERTIES, LINE_PROPERTY_GROUP, type PropertyDefinition } from './properties.ts';

const statusOf = (error: unknown) => (error as { code?: number }).code;

/** Startup calls retry HubSpot's 429/5xx a few times, waiting as HubSpot says. */
async function call<T>(what: string, fn: () => Promise<T>, budget: HubspotBudget | undefined): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await (budget ? budget.run(fn) : fn());
    } catch (error) {
      const status = statusOf(error);
      const retryable = status === 429 || status === 423 || (status !== undefined && status >= 500);
      if (!retryable || attempt >= 6) {
        const body = (error as { body?: { message?: string } }).body;
        throw new Error(`HubSpot ${what} failed (${status ?? 'network'}): ${body?.message ?? (error as Error).message}`, { cause: error });
      }
      const interval = Number((error as { headers?: Record<string, string> }).headers?.['x-hubspot-ratelimit-interval-milliseconds']);
      await new Promise((r) => setTimeout(r, status === 429 ? interval || 10_000 : 500 * 2 ** attempt));
    }
  }
}

export interface EnsureReport {
  created: string[];
  updated: string[];
  problems: string[];
}

/**
 * `budget`: the worker's HubSpot budget, so that a worker starting while others fill HubSpot's window
 * (a restart mid-import) waits its turn instead of sending its checks over the limit.
 */
export async function ensureLineProperties(hubspot: Client, { budget }: { budget?: HubspotBudget } = {}): Promise<EnsureReport> {
  const report: EnsureReport = { created: [], updated: [], problems: [] };
  const api = hubspot.crm.properties;
  try {
    await call('group read', () => api.groupsApi.getByName('contacts', LINE_PROPERTY_GROUP.name), budget);
  } catch (error) {
    if (statusOf((error as Error).cause) !== 404) throw error;
    try {
      await call('group create', () => api.groupsApi.create('contacts', { ...LINE_PROPERTY_GROUP }), budget);
      report.created.push(`group ${LINE_PROPERTY_GROUP.name}`);
    } catch (createError) {
      if (statusOf((createError as Error).cause) !== 409) throw createError;
    }
  }
  for (const definition of LINE_PROPERTIES) {
    await ensureProperty(hubspot, definition, report, budget);
  }
  return report;
}

async function ensureProperty(hubspot: Client, definition: PropertyDefinition, report: EnsureReport, budget: HubspotBudget | undefined): Promise<void> {
  const api = hubspot.crm.properties.coreApi;
  let existing;
  try {
    existing = await call(`property ${definition.name} read`, () => api.getByName('contacts', definition.name), budget);
  } catch (error) {
    if (statusOf((error as Error).cause) !== 404) throw error;
    try {
      await call(`property ${definition.name} create`, () => api.create('contacts', { ...definition } as never), budget);
      report.created.push(definition.name);
      return;
    } catch (createError) {
      if (statusOf((createError as Error).cause) !== 409) throw createError;
      existing = await call(`property ${definition.name} read`, () => api.getByName('contacts', definition.name), budget);
    }
  }
  if (existing.type !== definition.type) {
    report.problems.push(`${definition.name} has type ${existing.type}, expected ${definition.type}`);
  }
  if (definition.hasUniqueValue && !existing.hasUniqueValue) {
    report.problems.push(`${definition.name} must have unique values (HubSpot cannot change this later: recreate the property)`);
  }
  if (definition.options) {
    const have = new Set((existing.options ?? []).map((o) => o.value));
    const missing = definition.options.filter((o) => !have.has(o.value));
    if (missing.length > 0) {
      await call(`property ${definition.name} options update`, () => api.update('contacts', definition.name, { options: [...(existing.options ?? []), ...missing] } as never), budget);
      report.updated.push(`${definition.name} options ${missing.map((o) => o.value).join(', ')}`);
    }
  }
}
