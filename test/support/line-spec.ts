// Validators from LINE's own OpenAPI specs (../shared/vendor-specs/line/*.yml, beside the repository):
// what the sandbox answers and the webhook events it builds are checked against LINE's schemas.
//
// OpenAPI 3.0 is not plain JSON Schema; the conversion here handles what LINE's specs use:
// - `$ref: '#/components/schemas/X'` → `#/$defs/X` of one schema document per spec;
// - `discriminator.mapping` with subtypes that `allOf` their parent (webhook.yml's Event, Source,
//   MessageContent, ...): a reference to the parent validates the parent's own properties *and* the
//   subtype named by the discriminator (`type: follow` → FollowEvent); an `allOf` reference to the
//   parent (inheritance) validates only the parent's own properties, so there is no cycle; unknown
//   discriminator values validate as the parent alone (LINE may add event types);
// - `nullable`, and the `int32`/`int64`/`double`/`binary` formats.
// By default objects are closed (`unevaluatedProperties: false`, draft 2019-09): a sandbox response
// or built event with a property LINE's schema does not define fails, so the sandbox cannot invent
// fields the real API does not have.
import { readFileSync } from 'node:fs';
import Ajv2019Module from 'ajv/dist/2019.js';
import addFormatsModule from 'ajv-formats';
import yaml from 'js-yaml';
import type { ErrorObject, ValidateFunction } from 'ajv';

// CommonJS modules seen from ESM: the class / plugin is the module's `default` property
const Ajv2019 = Ajv2019Module.default;
type Ajv2019Instance = InstanceType<typeof Ajv2019>;
const addFormats = addFormatsModule.default;

export const LINE_SPEC_DIR = new URL('../../../shared/vendor-specs/line/', import.meta.url);

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

interface OpenApiDoc {
  paths?: Record<string, Record<string, { responses?: Record<string, { content?: Record<string, { schema?: Json }> }> }>>;
  components?: { schemas?: Record<string, JsonObject> };
}

export type SpecName = 'messaging-api' | 'webhook';

export interface SpecOptions {
  /** reject properties the schema does not define (default true) */
  closed?: boolean;
}

export interface SpecValidator {
  (data: unknown): boolean;
  errors: ErrorObject[] | null | undefined;
  /** throws with ajv's errors when `data` does not match */
  assert(data: unknown, what?: string): void;
  /** a readable list of the last errors */
  describe(): string;
}

const docs = new Map<SpecName, OpenApiDoc>();

export function loadLineSpec(name: SpecName): OpenApiDoc {
  let doc = docs.get(name);
  if (!doc) {
    doc = yaml.load(readFileSync(new URL(`${name}.yml`, LINE_SPEC_DIR), 'utf8')) as OpenApiDoc;
    docs.set(name, doc);
  }
  return doc;
}

const COMPONENT_REF = '#/components/schemas/';
const DISPATCH = '__dispatch';

function isObject(value: Json | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function refName(ref: string): string {
  if (!ref.startsWith(COMPONENT_REF)) throw new Error(`unsupported $ref ${ref}`);
  return ref.slice(COMPONENT_REF.length);
}

/** Converts one OpenAPI schema; `inAllOf`: it is an item of an allOf (inheritance). */
function convert(schema: Json, polymorphic: Set<string>, closed: boolean, inAllOf = false): Json {
  if (Array.isArray(schema)) return schema.map((item) => convert(item, polymorphic, closed));
  if (!isObject(schema)) return schema;
  if (typeof schema.$ref === 'string') {
    const name = refName(schema.$ref);
    if (inAllOf) return { $ref: `#/$defs/${name}` };
    const target = polymorphic.has(name) ? `${name}${DISPATCH}` : name;
    return closed ? { $ref: `#/$defs/${target}`, unevaluatedProperties: false } : { $ref: `#/$defs/${target}` };
  }
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === 'discriminator' || key === 'nullable' || key === 'example' || key === 'examples' || key === 'externalDocs' || key === 'xml') continue;
    if (key === 'allOf' && Array.isArray(value)) {
      out.allOf = value.map((item) => convert(item, polymorphic, closed, true));
    } else if ((key === 'properties' || key === 'patternProperties') && isObject(value)) {
      out[key] = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, convert(v, polymorphic, closed)]));
    } else if (isObject(value) || Array.isArray(value)) {
      out[key] = convert(value, polymorphic, closed);
    } else {
      out[key] = value;
    }
  }
  if (schema.nullable === true && typeof out.type === 'string') out.type = [out.type, 'null'];
  // LINE's reference: "When the channel state is standby, the webhook event won't contain a reply
  // token"; webhook.yml marks replyToken required regardless. Required in active mode only, and
  // absent in standby mode.
  if (Array.isArray(out.required) && out.required.includes('replyToken')) {
    out.required = out.required.filter((key) => key !== 'replyToken');
    out.if = { properties: { mode: { const: 'standby' } }, required: ['mode'] };
    out.then = { not: { required: ['replyToken'] } };
    out.else = { required: ['replyToken'] };
  }
  return out;
}

function buildDocument(doc: OpenApiDoc, closed: boolean): JsonObject {
  const schemas = doc.components?.schemas ?? {};
  const polymorphic = new Set(
    Object.entries(schemas)
      .filter(([, s]) => isObject(s.discriminator ?? null))
      .map(([name]) => name),
  );
  const defs: JsonObject = {};
  for (const [name, schema] of Object.entries(schemas)) {
    defs[name] = convert(schema, polymorphic, closed);
    if (polymorphic.has(name)) {
      const discriminator = schema.discriminator as JsonObject;
      const property = discriminator.propertyName as string;
      const mapping = (isObject(discriminator.mapping ?? null) ? discriminator.mapping : {}) as Record<string, string>;
      defs[`${name}${DISPATCH}`] = {
        allOf: [
          { $ref: `#/$defs/${name}` },
          ...Object.entries(mapping).map(([value, ref]) => ({
            if: { properties: { [property]: { const: value } }, required: [property] },
            then: { $ref: `#/$defs/${refName(ref)}` },
          })),
        ],
      };
    }
  }
  return { $id: 'line-spec', $defs: defs };
}

const ajvs = new Map<string, Ajv2019Instance>();

function ajvFor(name: SpecName, closed: boolean): Ajv2019Instance {
  const key = `${name}:${closed}`;
  let ajv = ajvs.get(key);
  if (!ajv) {
    ajv = new Ajv2019({ strict: false, allErrors: true, validateFormats: true });
    addFormats(ajv);
    ajv.addFormat('int32', { type: 'number', validate: (n: number) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31 });
    ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isInteger(n) });
    ajv.addFormat('double', { type: 'number', validate: () => true });
    ajv.addFormat('binary', () => true);
    ajv.addSchema(buildDocument(loadLineSpec(name), closed));
    ajvs.set(key, ajv);
  }
  return ajv;
}

function wrap(validate: ValidateFunction, label: string): SpecValidator {
  const describe = () => {
    const all = validate.errors ?? [];
    // a failing subschema discards its annotations, so "unevaluated property" and "then" errors follow
    // from the real ones: show those alone when there are any
    const causes = all.filter((e) => e.keyword !== 'unevaluatedProperties' && e.keyword !== 'if');
    const unevaluated = all.filter((e) => e.keyword === 'unevaluatedProperties');
    const shown = causes.length > 0 ? causes : unevaluated;
    return shown.map((e) => `${e.instancePath || '(root)'} ${e.message ?? ''} ${JSON.stringify(e.params)}`).join('; ');
  };
  const fn = ((data: unknown) => validate(data) as boolean) as SpecValidator;
  Object.defineProperty(fn, 'errors', { get: () => validate.errors });
  fn.describe = describe;
  fn.assert = (data: unknown, what = 'data') => {
    if (!validate(data)) throw new Error(`${what} does not match ${label}: ${describe()}\n${JSON.stringify(data)}`);
  };
  return fn;
}

function schemaRef(name: SpecName, schema: string, closed: boolean): JsonObject {
  const doc = loadLineSpec(name);
  const source = doc.components?.schemas?.[schema];
  if (!source) throw new Error(`${name}.yml has no components.schemas.${schema}`);
  const target = isObject(source.discriminator ?? null) ? `${schema}${DISPATCH}` : schema;
  return closed ? { $ref: `line-spec#/$defs/${target}`, unevaluatedProperties: false } : { $ref: `line-spec#/$defs/${target}` };
}

/** A validator for `components.schemas[schema]` of a spec (polymorphic ones dispatch on the discriminator). */
export function lineSchemaValidator(name: SpecName, schema: string, options: SpecOptions = {}): SpecValidator {
  const closed = options.closed ?? true;
  return wrap(ajvFor(name, closed).compile(schemaRef(name, schema, closed)), `${name}.yml#/components/schemas/${schema}`);
}

/** Messaging API schema by name, e.g. `UserProfileResponse`, `GetFollowersResponse`, `ErrorResponse`. */
export function messagingSchemaValidator(schema: string, options?: SpecOptions): SpecValidator {
  return lineSchemaValidator('messaging-api', schema, options);
}

/** Any webhook event (`Event`, dispatched on `type`: follow → FollowEvent, ...; unknown types as Event). */
export function webhookEventValidator(options?: SpecOptions): SpecValidator {
  return webhookSchemaValidator('Event', options);
}

/** Webhook schema by name, e.g. `CallbackRequest`, `Event`, `FollowEvent`, `Source`. */
export function webhookSchemaValidator(schema: string, options?: SpecOptions): SpecValidator {
  return lineSchemaValidator('webhook', schema, options);
}

/**
 * The response schema messaging-api.yml declares for `method path` answering `status`
 * (`path` as written in the spec, e.g. `/v2/bot/profile/{userId}`). Error statuses the spec does not
 * list for the operation use LINE's common error body, `ErrorResponse` ("Error responses" in LINE's
 * reference applies to every endpoint).
 */
export function messagingResponseValidator(path: string, method: string, status: number, options: SpecOptions = {}): SpecValidator {
  const closed = options.closed ?? true;
  const operation = loadLineSpec('messaging-api').paths?.[path]?.[method.toLowerCase()];
  if (!operation) throw new Error(`messaging-api.yml has no operation ${method.toUpperCase()} ${path}`);
  const response = operation.responses?.[String(status)];
  const schema = response?.content?.['application/json']?.schema;
  const label = `messaging-api.yml ${method.toUpperCase()} ${path} ${status}`;
  if (schema === undefined) {
    if (status >= 400) return wrap(ajvFor('messaging-api', closed).compile(schemaRef('messaging-api', 'ErrorResponse', closed)), `${label} (ErrorResponse)`);
    throw new Error(`${label}: no JSON response schema in the spec`);
  }
  if (isObject(schema) && typeof schema.$ref === 'string') {
    return wrap(ajvFor('messaging-api', closed).compile(schemaRef('messaging-api', refName(schema.$ref), closed)), label);
  }
  throw new Error(`${label}: inline response schemas are not supported; name the component schema with messagingSchemaValidator`);
}
