// Contact property definitions and groups of the sandbox portal, and how values of each
// property type are validated, stored and shown (HubSpot CRM v3 semantics).
import { HubspotApiError, errorBody, validationError, type PropertyValidationResult } from './errors.ts';

export type PropertyType = 'string' | 'number' | 'date' | 'datetime' | 'enumeration' | 'bool' | 'phone_number';

/** Valid fieldType values per type (HubSpot properties API). */
const FIELD_TYPES: Record<PropertyType, readonly string[]> = {
  string: ['text', 'textarea', 'file', 'html', 'phonenumber', 'calculation_equation'],
  number: ['number', 'calculation_equation'],
  date: ['date'],
  datetime: ['date'],
  enumeration: ['select', 'radio', 'checkbox', 'booleancheckbox', 'calculation_equation'],
  bool: ['booleancheckbox', 'calculation_equation'],
  phone_number: ['phonenumber'],
};

export const MAX_UNIQUE_PROPERTIES = 10;
const DAY_MS = 86_400_000;

export interface PropertyOption {
  label: string;
  value: string;
  displayOrder: number;
  hidden: boolean;
  description?: string;
}

export interface PropertyDefinition {
  name: string;
  label: string;
  type: PropertyType;
  fieldType: string;
  groupName: string;
  description: string;
  displayOrder: number;
  hasUniqueValue: boolean;
  hidden: boolean;
  formField: boolean;
  externalOptions: boolean;
  options: PropertyOption[];
  hubspotDefined: boolean;
  readOnlyValue: boolean;
  createdAt: number;
  updatedAt: number;
}

export interface PropertyGroup {
  name: string;
  label: string;
  displayOrder: number;
}

const DEFAULT_GROUPS: PropertyGroup[] = [
  { name: 'contactinformation', label: 'Contact information', displayOrder: 0 },
  { name: 'emailinformation', label: 'Email information', displayOrder: 1 },
  { name: 'conversioninformation', label: 'Conversion information', displayOrder: 2 },
];

type DefaultProperty = Pick<PropertyDefinition, 'name' | 'label' | 'type' | 'fieldType'> & Partial<PropertyDefinition>;

const DEFAULT_PROPERTIES: DefaultProperty[] = [
  { name: 'email', label: 'Email', type: 'string', fieldType: 'text', description: "A contact's email address" },
  { name: 'firstname', label: 'First Name', type: 'string', fieldType: 'text', description: "A contact's first name" },
  { name: 'lastname', label: 'Last Name', type: 'string', fieldType: 'text', description: "A contact's last name" },
  { name: 'phone', label: 'Phone Number', type: 'string', fieldType: 'phonenumber', description: "A contact's primary phone number" },
  { name: 'mobilephone', label: 'Mobile Phone Number', type: 'string', fieldType: 'phonenumber', description: "A contact's mobile phone number" },
  { name: 'company', label: 'Company Name', type: 'string', fieldType: 'text', description: "Name of the contact's company" },
  { name: 'website', label: 'Website URL', type: 'string', fieldType: 'text', description: "The contact's company website" },
  { name: 'jobtitle', label: 'Job Title', type: 'string', fieldType: 'text', description: "A contact's job title" },
  { name: 'city', label: 'City', type: 'string', fieldType: 'text', description: "A contact's city of residence" },
  { name: 'country', label: 'Country/Region', type: 'string', fieldType: 'text', description: "The contact's country/region of residence" },
  {
    name: 'hs_object_id',
    label: 'Record ID',
    type: 'number',
    fieldType: 'number',
    description: 'The unique ID for this record. This value is set automatically by HubSpot.',
    readOnlyValue: true,
    formField: false,
  },
  {
    name: 'createdate',
    label: 'Create Date',
    type: 'datetime',
    fieldType: 'date',
    description: 'The date that a contact entered the system',
    readOnlyValue: true,
    formField: false,
  },
  {
    name: 'lastmodifieddate',
    label: 'Last Modified Date',
    type: 'datetime',
    fieldType: 'date',
    description: 'Most recent timestamp of any property update for a contact.',
    readOnlyValue: true,
    formField: false,
  },
  {
    name: 'hs_additional_emails',
    label: 'Additional email addresses',
    type: 'enumeration',
    fieldType: 'checkbox',
    description: 'A set of additional email addresses for a contact',
    readOnlyValue: true,
    externalOptions: true,
    formField: false,
  },
];

/** Properties HubSpot computes; `hs_object_id`, `createdate`, `lastmodifieddate` come from the record itself. */
export const VIRTUAL_PROPERTIES = new Set(['hs_object_id', 'createdate', 'lastmodifieddate']);
/** Returned on every read and write, whatever was asked. */
export const ALWAYS_RETURNED = ['createdate', 'hs_object_id', 'lastmodifieddate'] as const;
/** Returned when a read names no properties. */
export const DEFAULT_READ_PROPERTIES = ['createdate', 'email', 'firstname', 'hs_object_id', 'lastmodifieddate', 'lastname'] as const;

export function isoOf(ms: number): string {
  return new Date(ms).toISOString();
}

export class Schema {
  readonly groups = new Map<string, PropertyGroup>();
  readonly properties = new Map<string, PropertyDefinition>();

  constructor(private readonly portalId: number) {
    this.reset();
  }

  reset(): void {
    this.groups.clear();
    this.properties.clear();
    for (const group of DEFAULT_GROUPS) this.groups.set(group.name, { ...group });
    const at = Date.UTC(2020, 0, 1);
    DEFAULT_PROPERTIES.forEach((p, index) => {
      this.properties.set(p.name, {
        groupName: 'contactinformation',
        description: '',
        displayOrder: index,
        hasUniqueValue: false,
        hidden: false,
        formField: true,
        externalOptions: false,
        options: [],
        readOnlyValue: false,
        createdAt: at,
        updatedAt: at,
        ...p,
        hubspotDefined: true,
      });
    });
  }

  get(name: string): PropertyDefinition | undefined {
    return this.properties.get(name);
  }

  /** Unique-value custom properties (not `email`, whose uniqueness HubSpot enforces on its own). */
  uniqueProperties(): PropertyDefinition[] {
    return [...this.properties.values()].filter((p) => p.hasUniqueValue);
  }

  /** `email` or a property with `hasUniqueValue`: what upserts, batch reads and `idProperty` may key on. */
  isIdProperty(name: string): boolean {
    return name === 'email' || this.properties.get(name)?.hasUniqueValue === true;
  }

  // ---- groups ----

  createGroup(input: unknown): PropertyGroup {
    const body = asObject(input);
    const name = body['name'];
    const label = body['label'];
    if (typeof name !== 'string' || name.trim() === '') throw validationError('name can not be null or empty');
    if (!/^[a-z][a-z0-9_]*$/i.test(name)) throw validationError(`Invalid property group name: ${name}`);
    if (typeof label !== 'string' || label.trim() === '') throw validationError('label can not be null or empty');
    if (this.groups.has(name)) {
      throw new HubspotApiError(409, errorBody('OBJECT_ALREADY_EXISTS', `A property group named '${name}' already exists.`, { subCategory: 'PropertyGroupError.GROUP_ALREADY_EXISTS' }));
    }
    const displayOrder = typeof body['displayOrder'] === 'number' ? body['displayOrder'] : -1;
    const group = { name, label, displayOrder };
    this.groups.set(name, group);
    return group;
  }

  updateGroup(name: string, input: unknown): PropertyGroup {
    const group = this.groups.get(name);
    if (!group) throw groupNotFound(name);
    const body = asObject(input);
    if (typeof body['label'] === 'string' && body['label'].trim() !== '') group.label = body['label'];
    if (typeof body['displayOrder'] === 'number') group.displayOrder = body['displayOrder'];
    return group;
  }

  getGroup(name: string): PropertyGroup {
    const group = this.groups.get(name);
    if (!group) throw groupNotFound(name);
    return group;
  }

  // ---- properties ----

  createProperty(input: unknown, now: number): PropertyDefinition {
    const body = asObject(input);
    const name = requiredString(body, 'name');
    const label = requiredString(body, 'label');
    const type = requiredString(body, 'type');
    const fieldType = requiredString(body, 'fieldType');
    const groupName = requiredString(body, 'groupName');
    if (!/^[a-z][a-z0-9_]*$/.test(name)) {
      throw validationError(`Property name "${name}" is invalid: it must start with a lowercase letter and contain only lowercase letters, digits and underscores.`);
    }
    if (this.properties.has(name)) {
      throw new HubspotApiError(409, errorBody('OBJECT_ALREADY_EXISTS', `Property named '${name}' already exists.`, { subCategory: 'PropertyValidationError.PROPERTY_EXISTS' }));
    }
    if (!(type in FIELD_TYPES)) throw validationError(`Invalid property type: ${type}`);
    const propertyType = type as PropertyType;
    if (!FIELD_TYPES[propertyType].includes(fieldType)) {
      throw validationError(`Property fieldType "${fieldType}" is not valid for type "${type}"; valid field types: ${FIELD_TYPES[propertyType].join(', ')}`);
    }
    if (!this.groups.has(groupName)) throw validationError(`Property group ${groupName} does not exist.`, { subCategory: 'PropertyValidationError.INVALID_GROUP' });
    const externalOptions = body['externalOptions'] === true;
    let options = parseOptions(body['options']);
    if (propertyType === 'bool' && options.length === 0) {
      options = [
        { label: 'Yes', value: 'true', displayOrder: 0, hidden: false },
        { label: 'No', value: 'false', displayOrder: 1, hidden: false },
      ];
    }
    if (propertyType === 'enumeration' && options.length === 0 && !externalOptions) {
      throw validationError(`Enumeration property ${name} must have at least one option.`, { subCategory: 'PropertyValidationError.ENUMERATION_WITHOUT_OPTIONS' });
    }
    const hasUniqueValue = body['hasUniqueValue'] === true;
    if (hasUniqueValue) {
      if (propertyType !== 'string' && propertyType !== 'number') {
        throw validationError(`Property ${name} of type ${type} cannot have unique values; only string and number properties can.`);
      }
      if (this.uniqueProperties().length >= MAX_UNIQUE_PROPERTIES) {
        throw validationError(`Unable to create property ${name}: the limit of ${MAX_UNIQUE_PROPERTIES} unique value properties for contacts has been reached.`, {
          subCategory: 'PropertyValidationError.UNIQUE_PROPERTY_LIMIT_EXCEEDED',
        });
      }
    }
    const definition: PropertyDefinition = {
      name,
      label,
      type: propertyType,
      fieldType,
      groupName,
      description: typeof body['description'] === 'string' ? body['description'] : '',
      displayOrder: typeof body['displayOrder'] === 'number' ? body['displayOrder'] : -1,
      hasUniqueValue,
      hidden: body['hidden'] === true,
      formField: body['formField'] === true,
      externalOptions,
      options,
      hubspotDefined: false,
      readOnlyValue: false,
      createdAt: now,
      updatedAt: now,
    };
    this.properties.set(name, definition);
    return definition;
  }

  updateProperty(name: string, input: unknown, now: number): PropertyDefinition {
    const property = this.properties.get(name);
    if (!property) throw propertyNotFound(name);
    const body = asObject(input);
    if ('hasUniqueValue' in body && body['hasUniqueValue'] !== property.hasUniqueValue) {
      throw validationError(`hasUniqueValue cannot be changed on existing property ${name}.`, { subCategory: 'PropertyValidationError.CANNOT_UPDATE_UNIQUE_VALUE' });
    }
    if (property.hubspotDefined && ('type' in body || 'fieldType' in body)) {
      throw validationError(`Property ${name} is defined by HubSpot; its type cannot be changed.`);
    }
    const type = typeof body['type'] === 'string' ? body['type'] : property.type;
    const fieldType = typeof body['fieldType'] === 'string' ? body['fieldType'] : property.fieldType;
    if (!(type in FIELD_TYPES)) throw validationError(`Invalid property type: ${type}`);
    if (!FIELD_TYPES[type as PropertyType].includes(fieldType)) {
      throw validationError(`Property fieldType "${fieldType}" is not valid for type "${type}"`);
    }
    if (typeof body['groupName'] === 'string' && !this.groups.has(body['groupName'])) {
      throw validationError(`Property group ${body['groupName']} does not exist.`, { subCategory: 'PropertyValidationError.INVALID_GROUP' });
    }
    const options = 'options' in body ? parseOptions(body['options']) : property.options;
    if (type === 'enumeration' && options.length === 0 && !property.externalOptions) {
      throw validationError(`Enumeration property ${name} must have at least one option.`);
    }
    property.type = type as PropertyType;
    property.fieldType = fieldType;
    property.options = options;
    if (typeof body['groupName'] === 'string') property.groupName = body['groupName'];
    if (typeof body['label'] === 'string' && body['label'].trim() !== '') property.label = body['label'];
    if (typeof body['description'] === 'string') property.description = body['description'];
    if (typeof body['displayOrder'] === 'number') property.displayOrder = body['displayOrder'];
    if (typeof body['hidden'] === 'boolean') property.hidden = body['hidden'];
    if (typeof body['formField'] === 'boolean') property.formField = body['formField'];
    property.updatedAt = now;
    return property;
  }

  getProperty(name: string): PropertyDefinition {
    const property = this.properties.get(name);
    if (!property) throw propertyNotFound(name);
    return property;
  }

  // ---- values ----

  /**
   * Validates one written value. Returns the stored form (dates and datetimes as epoch ms, e-mails
   * lower-cased), `null` for a cleared value, or a HubSpot validation result.
   */
  normalize(name: string, raw: unknown): { value: string | null } | { error: PropertyValidationResult } {
    const property = this.properties.get(name);
    if (!property) return { error: this.invalid(name, 'PROPERTY_DOESNT_EXIST', `Property "${name}" does not exist`) };
    if (property.readOnlyValue) {
      return { error: this.invalid(name, 'READ_ONLY_VALUE', `"${name}" is a read only property; its value cannot be set.`) };
    }
    if (raw === null || raw === undefined || raw === '') return { value: null };
    if (typeof raw === 'object') return { error: this.invalid(name, 'INVALID_PROPERTY_VALUE', `Property "${name}" must be a string, number or boolean`) };
    const text = String(raw);

    if (name === 'email') {
      const email = text.trim().toLowerCase();
      if (!EMAIL.test(email)) return { error: this.invalid(name, 'INVALID_EMAIL', `Email address ${text} is invalid`) };
      return { value: email };
    }
    switch (property.type) {
      case 'string':
      case 'phone_number':
        // HubSpot stores at most 65,536 characters in a string property.
        if (text.length > STRING_VALUE_LIMIT) {
          return { error: this.invalid(name, 'INVALID_LONG_STRING', `${name} is ${text.length} characters long; a property value holds at most ${STRING_VALUE_LIMIT} characters.`) };
        }
        return { value: text };
      case 'number': {
        const trimmed = text.trim();
        const n = Number(trimmed);
        if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(trimmed) || !Number.isFinite(n)) {
          return { error: this.invalid(name, 'INVALID_NUMBER', `${text} is not a valid number.`) };
        }
        return { value: String(n) };
      }
      case 'bool': {
        const lower = text.trim().toLowerCase();
        if (lower !== 'true' && lower !== 'false') return { error: this.invalid(name, 'INVALID_BOOLEAN', `${text} is not a valid boolean: use true or false.`) };
        return { value: lower };
      }
      case 'date': {
        const ms = parseDateInput(text);
        if (ms === undefined) return { error: this.invalid(name, 'INVALID_DATE', `${text} is not a valid date. Dates must be at midnight UTC, as epoch milliseconds or YYYY-MM-DD.`) };
        if (ms % DAY_MS !== 0) return { error: this.invalid(name, 'INVALID_DATE', `${text} is at ${clockOf(ms)} UTC, not midnight! Dates must be at midnight UTC.`) };
        return { value: String(ms) };
      }
      case 'datetime': {
        const ms = parseDateInput(text);
        if (ms === undefined) return { error: this.invalid(name, 'INVALID_DATETIME', `${text} is not a valid datetime: use epoch milliseconds or ISO 8601.`) };
        return { value: String(ms) };
      }
      case 'enumeration': {
        if (property.externalOptions) return { value: text };
        const allowed = new Set(property.options.map((o) => o.value));
        const values = property.fieldType === 'checkbox' ? text.split(';') : [text];
        const bad = values.find((v) => !allowed.has(v));
        if (bad !== undefined) {
          const listed = property.options.map((o) => `label: "${o.label}"\nvalue: "${o.value}"\ndisplay_order: ${o.displayOrder}\nhidden: ${o.hidden}\nread_only: false\n`).join(', ');
          return { error: this.invalid(name, 'INVALID_OPTION', `${bad} was not one of the allowed options: [${listed}]`) };
        }
        return { value: values.join(';') };
      }
    }
  }

  /** The stored value as HubSpot returns it: dates `YYYY-MM-DD`, datetimes ISO 8601 with ms. */
  format(name: string, stored: string): string {
    const type = this.properties.get(name)?.type;
    if (type === 'date') return isoOf(Number(stored)).slice(0, 10);
    if (type === 'datetime') return isoOf(Number(stored));
    return stored;
  }

  /** A search filter value in the stored form of `name` (numbers for number/date/datetime). */
  comparable(name: string, value: string): number | string | undefined {
    const type = this.properties.get(name)?.type;
    if (type === 'number') {
      const n = Number(value);
      return Number.isFinite(n) && value.trim() !== '' ? n : undefined;
    }
    if (type === 'date' || type === 'datetime') return parseDateInput(value);
    return value.toLowerCase();
  }

  private invalid(name: string, error: string, message: string): PropertyValidationResult {
    return { isValid: false, message, error, name, localizedErrorMessage: message, portalId: this.portalId };
  }
}

/** HubSpot's limit on a string property value, in characters. */
export const STRING_VALUE_LIMIT = 65_536;

const EMAIL = /^[^\s@]+@[^\s@.]+(\.[^\s@.]+)+$/;

/** Epoch ms from epoch ms digits, `YYYY-MM-DD`, or an ISO 8601 date-time; undefined if none of these. */
export function parseDateInput(text: string): number | undefined {
  const trimmed = text.trim();
  if (/^-?\d+$/.test(trimmed)) {
    const ms = Number(trimmed);
    return Number.isSafeInteger(ms) ? ms : undefined;
  }
  if (/^\d{4}-\d{2}-\d{2}$/.test(trimmed)) {
    const ms = Date.parse(`${trimmed}T00:00:00.000Z`);
    return Number.isNaN(ms) || isoOf(ms).slice(0, 10) !== trimmed ? undefined : ms;
  }
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/.test(trimmed)) {
    const ms = Date.parse(trimmed);
    return Number.isNaN(ms) ? undefined : ms;
  }
  return undefined;
}

/** `H:M:S.ms` the way HubSpot prints it in INVALID_DATE messages (no zero padding). */
function clockOf(ms: number): string {
  const d = new Date(ms);
  return `${d.getUTCHours()}:${d.getUTCMinutes()}:${d.getUTCSeconds()}.${d.getUTCMilliseconds()}`;
}

function asObject(input: unknown): Record<string, unknown> {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw validationError('Invalid input JSON: expected an object');
  }
  return input as Record<string, unknown>;
}

function requiredString(body: Record<string, unknown>, key: string): string {
  const value = body[key];
  if (typeof value !== 'string' || value.trim() === '') throw validationError(`${key} can not be null or empty`);
  return value;
}

function parseOptions(input: unknown): PropertyOption[] {
  if (input === undefined || input === null) return [];
  if (!Array.isArray(input)) throw validationError('options must be an array');
  const seen = new Set<string>();
  return input.map((raw, index) => {
    const option = asObject(raw);
    const value = option['value'];
    const label = option['label'];
    if (typeof value !== 'string' || value === '') throw validationError(`options[${index}].value can not be null or empty`);
    if (typeof label !== 'string' || label === '') throw validationError(`options[${index}].label can not be null or empty`);
    if (seen.has(value)) throw validationError(`Duplicate option value: ${value}`);
    seen.add(value);
    return {
      label,
      value,
      displayOrder: typeof option['displayOrder'] === 'number' ? option['displayOrder'] : index,
      hidden: option['hidden'] === true,
      ...(typeof option['description'] === 'string' ? { description: option['description'] } : {}),
    };
  });
}

function propertyNotFound(name: string): HubspotApiError {
  return new HubspotApiError(404, errorBody('OBJECT_NOT_FOUND', `Unable to find property ${name} for object type 0-1`, { subCategory: 'PropertyError.PROPERTY_NOT_FOUND' }));
}

function groupNotFound(name: string): HubspotApiError {
  return new HubspotApiError(404, errorBody('OBJECT_NOT_FOUND', `Unable to find property group ${name} for object type 0-1`));
}

export function propertyView(p: PropertyDefinition) {
  return {
    updatedAt: isoOf(p.updatedAt),
    createdAt: isoOf(p.createdAt),
    name: p.name,
    label: p.label,
    type: p.type,
    fieldType: p.fieldType,
    description: p.description,
    groupName: p.groupName,
    options: p.options.map((o) => ({ ...o })),
    displayOrder: p.displayOrder,
    calculated: false,
    externalOptions: p.externalOptions,
    hasUniqueValue: p.hasUniqueValue,
    hidden: p.hidden,
    ...(p.hubspotDefined ? { hubspotDefined: true } : {}),
    modificationMetadata: { archivable: !p.hubspotDefined, readOnlyDefinition: p.hubspotDefined, readOnlyValue: p.readOnlyValue },
    formField: p.formField,
    dataSensitivity: 'non_sensitive',
    archived: false,
  };
}

export function groupView(g: PropertyGroup) {
  return { name: g.name, label: g.label, displayOrder: g.displayOrder, archived: false };
}
