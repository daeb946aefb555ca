// Small pure helpers for contact property values. Deterministic: no I/O, no clock, no
// randomness (imported by Temporal workflow code). `Intl.DateTimeFormat` is deterministic.

const DUMMY_EMAIL = /^(u[0-9a-f]{32})@line\.me$/;
const EMAIL = /^[^\s@]+@[^\s@]+$/;

export { isLineUserId } from '../line/ids.ts';

/** The dummy e-mail of a friend whose real e-mail is unknown: `[LINE User ID]@line.me`. */
export function dummyEmail(userId: string): string {
  return `${userId}@line.me`;
}

/** E-mail as stored by the service: trimmed, lower-cased. */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

/** A plausible e-mail address (something@domain, no spaces). */
export function isEmailAddress(email: string): boolean {
  return EMAIL.test(normalizeEmail(email));
}

/**
 * Whether `email` is a dummy e-mail made by `dummyEmail` (case-insensitive): a LINE user ID
 * at `line.me`. With `userId`, only that user's dummy e-mail counts. A real address at
 * line.me (e.g. `taro@line.me`) is not a dummy.
 */
export function isDummyEmail(email: string | null | undefined, userId?: string): boolean {
  if (typeof email !== 'string') return false;
  const match = DUMMY_EMAIL.exec(normalizeEmail(email));
  if (!match) return false;
  return userId === undefined || match[1] === userId.toLowerCase();
}

/** `null`, `undefined`, `''` and blanks are missing HubSpot values. */
export function isMissing(value: string | null | undefined): value is null | undefined | '' {
  return value === null || value === undefined || value.trim() === '';
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function dateFormatter(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone,
      calendar: 'gregory',
      numberingSystem: 'latn',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      era: 'short',
    });
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

/** Whether `timeZone` is an IANA time zone this runtime knows. */
export function isValidTimeZone(timeZone: string): boolean {
  try {
    dateFormatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

/** Epoch ms of `y-m-d h:mi:s.ms` UTC, without `Date.UTC`'s mapping of years 0–99 to 19xx. */
function utc(year: number, month: number, day: number, hour = 0, minute = 0, second = 0, ms = 0): number {
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, ms);
  return date.getTime();
}

/**
 * The value of `line_id_sync_date` for an observation at `now`: midnight UTC, in epoch ms
 * (as a string), of the calendar date of `now` in `timeZone`.
 * Throws RangeError for an unknown time zone (configuration validates it at start).
 */
export function syncDate(now: number, timeZone: string): string {
  const parts = dateFormatter(timeZone).formatToParts(now);
  const part = (type: Intl.DateTimeFormatPartTypes) => parts.find((p) => p.type === type)?.value ?? '';
  const year = Number(part('year'));
  const bc = part('era').toUpperCase().startsWith('B');
  return String(utc(bc ? 1 - year : year, Number(part('month')), Number(part('day'))));
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

const INTEGER = /^-?\d+$/;
const DECIMAL = /^-?\d+\.\d+$/;
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const ISO_DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?(?:(Z)|([+-])(\d{2})(?::?(\d{2}))?)?$/i;

/**
 * A HubSpot date/datetime value as epoch ms: an epoch-ms string (`"1714532645678"`), an ISO
 * 8601 date (`"2024-05-01"`: midnight UTC) or date-time (`"2024-05-01T03:04:05.678Z"`, with an
 * offset, or without one: UTC). `undefined` for a missing or unreadable value.
 */
export function parseHubspotTime(value: string | number | null | undefined): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? Math.trunc(value) : undefined;
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  if (text === '') return undefined;

  if (INTEGER.test(text)) {
    const ms = Number(text);
    return Number.isSafeInteger(ms) ? ms : undefined;
  }
  if (DECIMAL.test(text)) {
    const ms = Math.trunc(Number(text));
    return Number.isSafeInteger(ms) ? ms : undefined;
  }

  const date = ISO_DATE.exec(text);
  if (date) {
    const [year, month, day] = [Number(date[1]), Number(date[2]), Number(date[3])];
    if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
    return utc(year, month, day);
  }

  const dt = ISO_DATE_TIME.exec(text);
  if (dt) {
    const [year, month, day, hour, minute] = [1, 2, 3, 4, 5].map((i) => Number(dt[i])) as [number, number, number, number, number];
    const second = dt[6] === undefined ? 0 : Number(dt[6]);
    const ms = dt[7] === undefined ? 0 : Number(dt[7].slice(0, 3).padEnd(3, '0'));
    if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
    if (hour > 23 || minute > 59 || second > 59) return undefined;
    let offsetMinutes = 0;
    if (dt[9] !== undefined) {
      const offsetHours = Number(dt[10]);
      const offsetMins = dt[11] === undefined ? 0 : Number(dt[11]);
      if (offsetHours > 23 || offsetMins > 59) return undefined;
      offsetMinutes = (dt[9] === '-' ? -1 : 1) * (offsetHours * 60 + offsetMins);
    }
    return utc(year, month, day, hour, minute, second, ms) - offsetMinutes * 60_000;
  }

  return undefined;
}

/** HubSpot's limit for a string property value (characters). */
export const HUBSPOT_TEXT_LIMIT = 65_536;

/** Message types `line_last_message` names in brackets (anything else LINE adds later shows as `[type]`). */
export const NON_TEXT_MESSAGE_TYPES = ['sticker', 'image', 'video', 'audio', 'file', 'location'] as const;

/** `text` cut to at most `limit` UTF-16 units, never between the two halves of a surrogate pair. */
export function truncateText(text: string, limit = HUBSPOT_TEXT_LIMIT): string {
  if (text.length <= limit) return text;
  let end = limit;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return text.slice(0, end);
}

/**
 * What `line_last_message` holds for a webhook message object: the text of a `text` message (cut to
 * HubSpot's 65,536 characters), `[sticker]`, `[image]`, `[video]`, `[audio]`, `[file]`, `[location]`
 * for the other types (`[type]` for a type LINE adds later); undefined when there is no type.
 */
export function lastMessageValue(message: unknown): string | undefined {
  if (!message || typeof message !== 'object') return undefined;
  const { type, text } = message as { type?: unknown; text?: unknown };
  if (typeof type !== 'string' || !/^[a-z][a-zA-Z]{0,30}$/.test(type)) return undefined;
  if (type === 'text') return typeof text === 'string' ? truncateText(text) : '';
  return `[${type}]`;
}
