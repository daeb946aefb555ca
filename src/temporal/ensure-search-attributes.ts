import { status as GrpcStatus } from '@grpc/grpc-js';
import type { Connection } from '@temporalio/client';
import proto from '@temporalio/proto';
import { SEARCH_ATTRIBUTES } from './search-attributes.ts';

const { IndexedValueType } = proto.temporal.api.enums.v1;
const INDEXED_TYPE = { KEYWORD: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD, KEYWORD_LIST: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST } as const;

/** Adds the search attributes the service needs; safe to run from many workers at once. One of the wrong type stops the worker, saying so. */
export async function ensureSearchAttributes(connection: Connection, namespace: string): Promise<string[]> {
  const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
  const present = customAttributes ?? {};
  for (const key of SEARCH_ATTRIBUTES) {
    const type = present[key.name];
    if (type !== undefined && type !== null && Number(type) !== INDEXED_TYPE[key.type as keyof typeof INDEXED_TYPE]) {
      throw new Error(`the Temporal search attribute ${key.name} exists with another type; this release needs ${key.type} (remove it, or use a new namespace or dev-server database)`);
    }
  }
  const missing = SEARCH_ATTRIBUTES.filter((k) => !(k.name in present));
  if (missing.length === 0) return [];
  try {
    await connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(missing.map((k) => [k.name, INDEXED_TYPE[k.type as keyof typeof INDEXED_TYPE]])),
    });
  } catch (error) {
    // Another worker added them first (ALREADY_EXISTS = 6).
    if ((error as { code?: number }).code !== GrpcStatus.ALREADY_EXISTS) throw error;
  }
  return missing.map((k) => k.name);
}
