import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isMwiError } from '../../src/errors.js';
import { createTimestampExtractor, luxonFormatOf } from '../../src/hours/timestamp.js';

const now = () => Date.UTC(2026, 10, 22, 20);
const extract = (format: string, record: Record<string, unknown>, field = 'ts') =>
  createTimestampExtractor({ field, format }, { now })(record);

describe('timestamp extraction', () => {
  test('unix seconds, the MediaWiki default (int ts)', () => {
    assert.deepEqual(extract('unix_seconds', { ts: 1405382399 }), { ok: true, epochMs: 1405382399000 });
  });

  test('unix seconds as a long that avsc gave as bigint', () => {
    assert.deepEqual(extract('unix_seconds', { ts: 1405382399n }), { ok: true, epochMs: 1405382399000 });
  });

  test('unix milliseconds', () => {
    assert.deepEqual(extract('unix_milliseconds', { ts: 1405382399123 }), {
      ok: true,
      epochMs: 1405382399123,
    });
  });

  test('ISO-8601 with and without an offset; no offset means UTC', () => {
    assert.deepEqual(extract('ISO-8601', { dt: '2014-07-14T23:59:59Z' }, 'dt'), {
      ok: true,
      epochMs: Date.UTC(2014, 6, 14, 23, 59, 59),
    });
    assert.deepEqual(extract('ISO-8601', { dt: '2014-07-15T01:59:59+02:00' }, 'dt'), {
      ok: true,
      epochMs: Date.UTC(2014, 6, 14, 23, 59, 59),
    });
    assert.deepEqual(extract('ISO-8601', { dt: '2014-07-14T23:59:59' }, 'dt'), {
      ok: true,
      epochMs: Date.UTC(2014, 6, 14, 23, 59, 59),
    });
  });

  test('a Java SimpleDateFormat pattern, with quoted literals and an RFC 822 zone', () => {
    assert.deepEqual(extract("yyyy-MM-dd'T'HH:mm:ss", { t: '2014-07-14T23:59:59' }, 't'), {
      ok: true,
      epochMs: Date.UTC(2014, 6, 14, 23, 59, 59),
    });
    assert.deepEqual(extract('dd/MMM/yyyy:HH:mm:ss Z', { t: '14/Jul/2014:16:59:59 -0700' }, 't'), {
      ok: true,
      epochMs: Date.UTC(2014, 6, 14, 23, 59, 59),
    });
    assert.deepEqual(extract('yyyyMMddHHmmssSSS', { t: '20140714235959123' }, 't'), {
      ok: true,
      epochMs: Date.UTC(2014, 6, 14, 23, 59, 59, 123),
    });
  });

  test('a dotted path reaches into nested records', () => {
    assert.deepEqual(extract('unix_seconds', { meta: { ts: 1405382399 } }, 'meta.ts'), {
      ok: true,
      epochMs: 1405382399000,
    });
  });

  test('missing, null and the schema default 0 are missing, not guessed', () => {
    for (const record of [{}, { ts: null }, { ts: 0 }, { ts: 0n }]) {
      const result = extract('unix_seconds', record);
      assert.equal(result.ok, false);
      assert.equal(!result.ok && result.code, 'MISSING_TIMESTAMP');
    }
    const nested = extract('unix_seconds', { meta: null }, 'meta.ts');
    assert.equal(!nested.ok && nested.code, 'MISSING_TIMESTAMP');
  });

  test('out of range: before Wikipedia, more than a day ahead, or milliseconds given as seconds', () => {
    const early = extract('unix_seconds', { ts: 86400 });
    assert.equal(!early.ok && early.code, 'TIMESTAMP_OUT_OF_RANGE');
    const future = extract('unix_seconds', { ts: Math.floor(now() / 1000) + 2 * 86400 });
    assert.equal(!future.ok && future.code, 'TIMESTAMP_OUT_OF_RANGE');
    const millis = extract('unix_seconds', { ts: 1405382399123 });
    assert.equal(!millis.ok && millis.code, 'TIMESTAMP_OUT_OF_RANGE');
    assert.match(!millis.ok ? millis.message : '', /looks like milliseconds/);
    const withinADay = extract('unix_seconds', { ts: Math.floor(now() / 1000) + 3600 });
    assert.equal(withinADay.ok, true);
  });

  test('values of the wrong kind are bad timestamps, with the field named', () => {
    const text = extract('unix_seconds', { ts: 'yesterday' });
    assert.equal(!text.ok && text.code, 'BAD_TIMESTAMP');
    assert.match(!text.ok ? text.message : '', /field "ts"/);
    const iso = extract('ISO-8601', { dt: 'not a date' }, 'dt');
    assert.equal(!iso.ok && iso.code, 'BAD_TIMESTAMP');
    const pattern = extract('yyyy-MM-dd HH:mm', { t: '2014/07/14 23:59' }, 't');
    assert.equal(!pattern.ok && pattern.code, 'BAD_TIMESTAMP');
  });

  test('SimpleDateFormat letters without an equivalent are refused at load, naming the letter', () => {
    assert.throws(
      () => createTimestampExtractor({ field: 't', format: 'yyyy-ww' }),
      (error) => isMwiError(error, 'MWI_CONFIG_INVALID') && /"w"/.test(error.message),
    );
    assert.throws(
      () => luxonFormatOf("yyyy-MM-dd'T"),
      (error) => isMwiError(error, 'MWI_CONFIG_INVALID'),
    );
    assert.equal(luxonFormatOf("yyyy-MM-dd'T'HH:mm:ss.SSSXXX"), "yyyy-MM-dd'T'HH:mm:ss.SSSZZ");
  });
});
