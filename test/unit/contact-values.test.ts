import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { dummyEmail, isDummyEmail, isEmailAddress, isLineUserId, isMissing, isValidTimeZone, normalizeEmail, parseHubspotTime, syncDate } from '../../src/contact/index.ts';

const U = 'U4af49806292c3b7e7f1b2c3d4e5f6a7b';
const OTHER = 'U0123456789abcdef0123456789abcdef';

describe('LINE user IDs', () => {
  const cases: Array<[unknown, boolean]> = [
    [U, true],
    [OTHER, true],
    ['U' + '0'.repeat(32), true],
    ['U' + 'f'.repeat(32), true],
    ['U4AF49806292C3B7E7F1B2C3D4E5F6A7B', false], // uppercase hex
    ['u4af49806292c3b7e7f1b2c3d4e5f6a7b', false], // lowercase u
    ['U' + 'a'.repeat(31), false],
    ['U' + 'a'.repeat(33), false],
    ['U' + 'g'.repeat(32), false],
    ['C4af49806292c3b7e7f1b2c3d4e5f6a7b', false], // a group ID
    ['R4af49806292c3b7e7f1b2c3d4e5f6a7b', false], // a room ID
    [` ${U}`, false],
    [`${U}\n`, false],
    ['', false],
    [null, false],
    [undefined, false],
    [42, false],
  ];
  for (const [value, expected] of cases) {
    test(`${JSON.stringify(value)} ${expected ? 'is' : 'is not'} a LINE user ID`, () => {
      assert.equal(isLineUserId(value), expected);
    });
  }
});

describe('dummy e-mail', () => {
  test('the dummy e-mail is the LINE user ID at line.me', () => {
    assert.equal(dummyEmail(U), 'U4af49806292c3b7e7f1b2c3d4e5f6a7b@line.me');
  });

  const cases: Array<[string | null | undefined, string | undefined, boolean]> = [
    [`${U}@line.me`, undefined, true],
    [`${U}@line.me`, U, true],
    [`${U}@LINE.ME`, U, true],
    [`${U.toLowerCase()}@line.me`, U, true],
    [`${U.toUpperCase()}@Line.Me`, undefined, true],
    [`  ${U}@line.me  `, U, true],
    [`${OTHER}@line.me`, undefined, true],
    [`${OTHER}@line.me`, U, false], // another user's dummy
    ['taro@line.me', undefined, false], // a real address at line.me
    [`${U}@line.me.example.com`, undefined, false],
    [`${U}@example.com`, undefined, false],
    [`${U}x@line.me`, undefined, false],
    ['taro@example.com', undefined, false],
    ['', undefined, false],
    [null, undefined, false],
    [undefined, U, false],
  ];
  for (const [email, userId, expected] of cases) {
    test(`${JSON.stringify(email)}${userId ? ' for that user' : ''} ${expected ? 'is' : 'is not'} a dummy e-mail`, () => {
      assert.equal(isDummyEmail(email, userId), expected);
    });
  }

  test('e-mails are stored trimmed and lower-cased', () => {
    assert.equal(normalizeEmail('  Taro.Yamada@Example.COM '), 'taro.yamada@example.com');
  });

  const addresses: Array<[string, boolean]> = [
    ['taro@example.com', true],
    [' Taro@Example.com ', true],
    ['taro@localhost', true],
    ['taro', false],
    ['taro@', false],
    ['@example.com', false],
    ['ta ro@example.com', false],
    ['a@b@c', false],
    ['', false],
  ];
  for (const [email, expected] of addresses) {
    test(`${JSON.stringify(email)} ${expected ? 'is' : 'is not'} an e-mail address`, () => {
      assert.equal(isEmailAddress(email), expected);
    });
  }
});

describe('missing HubSpot values', () => {
  const cases: Array<[string | null | undefined, boolean]> = [
    [null, true],
    [undefined, true],
    ['', true],
    ['  ', true],
    ['YES', false],
    ['0', false],
  ];
  for (const [value, expected] of cases) {
    test(`${JSON.stringify(value)} ${expected ? 'is' : 'is not'} missing`, () => {
      assert.equal(isMissing(value), expected);
    });
  }
});

describe('LINE ID Sync Date is midnight UTC of the calendar date in the configured time zone', () => {
  const day = (y: number, m: number, d: number) => String(Date.UTC(y, m - 1, d));
  const cases: Array<[string, string, string, string]> = [
    // [instant (UTC), time zone, expected calendar date, why]
    ['2024-05-01T00:00:00.000Z', 'UTC', day(2024, 5, 1), 'UTC midnight'],
    ['2024-05-01T23:59:59.999Z', 'UTC', day(2024, 5, 1), 'last UTC millisecond of the day'],
    ['2024-05-01T16:00:00.000Z', 'UTC', day(2024, 5, 1), 'afternoon UTC'],
    ['2024-05-01T16:00:00.000Z', 'Asia/Tokyo', day(2024, 5, 2), 'already the next day in Tokyo'],
    ['2024-05-01T14:59:59.999Z', 'Asia/Tokyo', day(2024, 5, 1), 'one millisecond before Tokyo midnight'],
    ['2024-05-01T15:00:00.000Z', 'Asia/Tokyo', day(2024, 5, 2), 'Tokyo midnight'],
    ['2023-12-31T15:00:00.000Z', 'Asia/Tokyo', day(2024, 1, 1), 'new year in Tokyo, not yet in UTC'],
    ['2024-02-28T15:00:00.000Z', 'Asia/Tokyo', day(2024, 2, 29), 'leap day in Tokyo'],
    ['2024-05-02T06:59:59.999Z', 'America/Los_Angeles', day(2024, 5, 1), '23:59 PDT'],
    ['2024-05-02T07:00:00.000Z', 'America/Los_Angeles', day(2024, 5, 2), 'midnight PDT'],
    ['2024-01-01T07:59:59.999Z', 'America/Los_Angeles', day(2023, 12, 31), 'still last year in Los Angeles'],
    ['2024-01-01T08:00:00.000Z', 'America/Los_Angeles', day(2024, 1, 1), 'midnight PST'],
    ['2024-03-10T07:59:59.999Z', 'America/Los_Angeles', day(2024, 3, 9), 'before the spring-forward day (PST)'],
    ['2024-03-10T08:00:00.000Z', 'America/Los_Angeles', day(2024, 3, 10), 'spring-forward day starts (PST)'],
    ['2024-03-10T10:00:00.000Z', 'America/Los_Angeles', day(2024, 3, 10), 'the DST switch itself'],
    ['2024-03-11T06:59:59.999Z', 'America/Los_Angeles', day(2024, 3, 10), 'spring-forward day ends (PDT)'],
    ['2024-03-11T07:00:00.000Z', 'America/Los_Angeles', day(2024, 3, 11), 'next day starts at PDT midnight'],
    ['2024-11-03T06:59:59.999Z', 'America/Los_Angeles', day(2024, 11, 2), 'before the fall-back day (PDT)'],
    ['2024-11-04T07:59:59.999Z', 'America/Los_Angeles', day(2024, 11, 3), 'the 25-hour fall-back day ends (PST)'],
    ['2024-11-04T08:00:00.000Z', 'America/Los_Angeles', day(2024, 11, 4), 'next day starts at PST midnight'],
    ['2024-03-30T23:30:00.000Z', 'Europe/London', day(2024, 3, 30), 'GMT before BST'],
    ['2024-03-31T23:30:00.000Z', 'Europe/London', day(2024, 4, 1), 'BST: 00:30 the next day'],
    ['2024-05-01T10:00:00.000Z', 'Pacific/Kiritimati', day(2024, 5, 2), 'UTC+14'],
    ['2024-05-01T10:00:00.000Z', 'Pacific/Pago_Pago', day(2024, 4, 30), 'UTC-11'],
    ['2024-05-01T18:29:59.999Z', 'Asia/Kolkata', day(2024, 5, 1), 'UTC+5:30 before midnight'],
    ['2024-05-01T18:30:00.000Z', 'Asia/Kolkata', day(2024, 5, 2), 'UTC+5:30 midnight'],
  ];
  for (const [instant, timeZone, expected, why] of cases) {
    test(`${instant} in ${timeZone} is ${new Date(Number(expected)).toISOString().slice(0, 10)} (${why})`, () => {
      assert.equal(syncDate(Date.parse(instant), timeZone), expected);
    });
  }

  test('the sync date is a decimal epoch-ms string', () => {
    assert.equal(syncDate(Date.UTC(2024, 4, 1, 16), 'Asia/Tokyo'), '1714608000000');
  });

  test('an unknown time zone is a RangeError, and is not a valid time zone', () => {
    assert.throws(() => syncDate(0, 'Mars/Olympus_Mons'), RangeError);
    assert.equal(isValidTimeZone('Mars/Olympus_Mons'), false);
    assert.equal(isValidTimeZone('Asia/Tokyo'), true);
    assert.equal(isValidTimeZone('UTC'), true);
  });
});

describe('HubSpot times are read from ms strings, ISO dates and ISO date-times', () => {
  const cases: Array<[string | number | null | undefined, number | undefined]> = [
    ['1714532645678', 1714532645678],
    ['  1714532645678 ', 1714532645678],
    ['0', 0],
    ['1714532645678.9', 1714532645678],
    [1714532645678, 1714532645678],
    ['2024-05-01', Date.UTC(2024, 4, 1)],
    ['2024-02-29', Date.UTC(2024, 1, 29)],
    ['2024-05-01T03:04:05.678Z', Date.UTC(2024, 4, 1, 3, 4, 5, 678)],
    ['2024-05-01T03:04:05Z', Date.UTC(2024, 4, 1, 3, 4, 5)],
    ['2024-05-01T03:04Z', Date.UTC(2024, 4, 1, 3, 4)],
    ['2024-05-01t03:04:05.678z', Date.UTC(2024, 4, 1, 3, 4, 5, 678)],
    ['2024-05-01T03:04:05.6Z', Date.UTC(2024, 4, 1, 3, 4, 5, 600)],
    ['2024-05-01T03:04:05.678901Z', Date.UTC(2024, 4, 1, 3, 4, 5, 678)],
    ['2024-05-01T12:04:05.678+09:00', Date.UTC(2024, 4, 1, 3, 4, 5, 678)],
    ['2024-05-01T12:04:05+0900', Date.UTC(2024, 4, 1, 3, 4, 5)],
    ['2024-04-30T20:04:05-07:00', Date.UTC(2024, 4, 1, 3, 4, 5)],
    ['2024-05-01T03:04:05+00:00', Date.UTC(2024, 4, 1, 3, 4, 5)],
    ['2024-05-01T03:04:05', Date.UTC(2024, 4, 1, 3, 4, 5)], // no zone: UTC, never the machine's
    ['2024-05-01 03:04:05Z', Date.UTC(2024, 4, 1, 3, 4, 5)],
    ['', undefined],
    ['   ', undefined],
    [null, undefined],
    [undefined, undefined],
    [Number.NaN, undefined],
    ['garbage', undefined],
    ['1e12', undefined],
    ['12abc', undefined],
    ['2024-13-01', undefined],
    ['2024-00-10', undefined],
    ['2023-02-29', undefined],
    ['2024-04-31', undefined],
    ['2024-05-01T24:00:00Z', undefined],
    ['2024-05-01T23:60:00Z', undefined],
    ['2024-05-01T23:59:60Z', undefined],
    ['2024-05-01T03:04:05+25:00', undefined],
    ['May 1, 2024', undefined],
    ['2024/05/01', undefined],
    ['99999999999999999999', undefined],
  ];
  for (const [value, expected] of cases) {
    test(`${JSON.stringify(value)} → ${expected === undefined ? 'missing' : new Date(expected).toISOString()}`, () => {
      assert.equal(parseHubspotTime(value), expected);
    });
  }
});
