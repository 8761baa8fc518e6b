import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { HOUR_MS, hourIndexOf, hourKey, hourOf, hourStartMs, parseHourKey } from '../../src/hours/hour.js';

describe('hour buckets (UTC)', () => {
  test('a record from 2014-07-14 23:59:59 lands in hour 23 of that day, not the next', () => {
    const bucket = hourOf(Date.UTC(2014, 6, 14, 23, 59, 59, 999));
    assert.deepEqual(bucket, { year: 2014, month: 7, day: 14, hour: 23 });
    assert.equal(hourKey(bucket), '2014-07-14T23');
  });

  test('the first millisecond of an hour belongs to that hour', () => {
    assert.deepEqual(hourOf(Date.UTC(2026, 10, 22, 14)), { year: 2026, month: 11, day: 22, hour: 14 });
  });

  for (const [name, ms, expected] of [
    ['end of a year', Date.UTC(2025, 11, 31, 23, 59, 59), '2025-12-31T23'],
    ['start of a year', Date.UTC(2026, 0, 1, 0, 0, 0), '2026-01-01T00'],
    ['29 February of a leap year', Date.UTC(2024, 1, 29, 12), '2024-02-29T12'],
    ['end of a 30-day month', Date.UTC(2026, 3, 30, 23, 30), '2026-04-30T23'],
    // 2016-12-31 had a leap second; Unix time has none, so 23:59:59.999 is still hour 23.
    ['the last second of 2016', Date.UTC(2016, 11, 31, 23, 59, 59, 999), '2016-12-31T23'],
  ] as const) {
    test(`boundaries: ${name}`, () => {
      const bucket = hourOf(ms);
      assert.equal(hourKey(bucket), expected);
      assert.equal(hourStartMs(bucket) <= ms && ms < hourStartMs(bucket) + HOUR_MS, true);
      assert.equal(hourIndexOf(ms), hourStartMs(bucket) / HOUR_MS);
    });
  }

  test('does not depend on the machine time zone', () => {
    const saved = process.env.TZ;
    try {
      process.env.TZ = 'America/Los_Angeles';
      assert.equal(hourKey(hourOf(Date.UTC(2026, 2, 8, 10, 30))), '2026-03-08T10'); // a US DST change day
    } finally {
      if (saved === undefined) delete process.env.TZ;
      else process.env.TZ = saved;
    }
  });

  test('hour keys round-trip and impossible hours are refused', () => {
    assert.deepEqual(parseHourKey('2026-11-22T14'), { year: 2026, month: 11, day: 22, hour: 14 });
    for (const bad of ['2026-02-30T10', '2026-11-22T24', '2026-11-22 14', '26-11-22T14', '']) {
      assert.throws(() => parseHourKey(bad), RangeError, bad);
    }
  });
});
