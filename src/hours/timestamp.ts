import { DateTime } from 'luxon';
import { MwiError } from '../errors.js';

/**
 * Reads a record's own time, the way Camus's timestamp settings allowed: a field (dotted paths
 * reach into nested records) in `unix_seconds`, `unix_milliseconds`, `ISO-8601`, or a Java
 * SimpleDateFormat pattern. Times without a zone are UTC.
 *
 * A missing, null, unparsable or out-of-range time is an error record, never a guess (Camus used
 * the wall clock). `0` is the schema default of `ts`: the producer never set it, so it counts as
 * missing.
 */
export interface TimestampSpec {
  /** @defaultValue "ts" */
  field: string;
  /** @defaultValue "unix_seconds" */
  format: string;
}

export type TimestampResult =
  | { ok: true; epochMs: number }
  | { ok: false; code: TimestampErrorCode; message: string };

export const TimestampErrorCodes = ['MISSING_TIMESTAMP', 'BAD_TIMESTAMP', 'TIMESTAMP_OUT_OF_RANGE'] as const;
export type TimestampErrorCode = (typeof TimestampErrorCodes)[number];

export interface TimestampRange {
  /** Earliest accepted time. @defaultValue 2001-01-15T00:00:00Z (Wikipedia's first day) */
  minMs?: number;
  /** How far past the clock a record may be. @defaultValue 86 400 000 (one day) */
  maxFutureMs?: number;
  /** The clock. @defaultValue Date.now */
  now?: () => number;
}

const WIKIPEDIA_EPOCH_MS = Date.UTC(2001, 0, 15);

export type TimestampExtractor = (record: Record<string, unknown>) => TimestampResult;
/** Turns the value of the time field (already read from the record) into a time. */
export type TimestampParser = (value: unknown) => TimestampResult;

export function createTimestampExtractor(
  spec: TimestampSpec,
  range: TimestampRange = {},
): TimestampExtractor {
  const path = spec.field.split('.');
  const parse = createTimestampParser(spec, range);
  return (record) => {
    let value: unknown = record;
    for (const part of path) {
      if (value === null || typeof value !== 'object') {
        value = undefined;
        break;
      }
      value = (value as Record<string, unknown>)[part];
    }
    return parse(value);
  };
}

export function createTimestampParser(spec: TimestampSpec, range: TimestampRange = {}): TimestampParser {
  if (spec.field.split('.').some((part) => part === '')) {
    throw new MwiError(
      'MWI_CONFIG_INVALID',
      `timestamp.field "${spec.field}" is not a field name or dotted path`,
    );
  }
  const parse = parserFor(spec.format);
  const minMs = range.minMs ?? WIKIPEDIA_EPOCH_MS;
  const maxFutureMs = range.maxFutureMs ?? 86_400_000;
  const now = range.now ?? Date.now;
  const field = spec.field;

  return (value) => {
    if (value === undefined || value === null || value === 0 || value === 0n || value === '') {
      return {
        ok: false,
        code: 'MISSING_TIMESTAMP',
        message: `the record has no time in field "${field}" (${value === undefined ? 'absent' : JSON.stringify(String(value))}); the producer must set it`,
      };
    }
    const parsed = parse(value);
    if (typeof parsed === 'string') {
      return { ok: false, code: 'BAD_TIMESTAMP', message: `field "${field}": ${parsed}` };
    }
    if (!Number.isFinite(parsed) || parsed < minMs || parsed > now() + maxFutureMs) {
      // A Date holds ±8.64e15 ms; anything beyond is shown as the number it is.
      const shown = Math.abs(parsed) <= 8.64e15 ? new Date(parsed).toISOString() : `${parsed} ms`;
      return {
        ok: false,
        code: 'TIMESTAMP_OUT_OF_RANGE',
        message: `field "${field}" = ${printable(value)} is ${shown}, outside ${new Date(minMs).toISOString()} … now + ${maxFutureMs / 3_600_000} h${hintFor(spec.format, parsed)}`,
      };
    }
    return { ok: true, epochMs: parsed };
  };
}

/** Returns epoch ms, or a sentence saying why the value is not a time in this format. */
function parserFor(format: string): (value: unknown) => number | string {
  switch (format) {
    case 'unix_seconds':
      return (value) => {
        const n = numberOf(value);
        return typeof n === 'string' ? n : n * 1000;
      };
    case 'unix_milliseconds':
      return numberOf;
    case 'ISO-8601':
      return (value) => {
        if (typeof value !== 'string')
          return `expected an ISO-8601 string, got ${typeof value} ${printable(value)}`;
        const time = DateTime.fromISO(value, { zone: 'utc' });
        return time.isValid
          ? time.toMillis()
          : `"${value}" is not ISO-8601 (${time.invalidExplanation ?? time.invalidReason})`;
      };
    default: {
      const luxonFormat = luxonFormatOf(format);
      return (value) => {
        if (typeof value !== 'string')
          return `expected a string like "${format}", got ${typeof value} ${printable(value)}`;
        const time = DateTime.fromFormat(value, luxonFormat, { zone: 'utc', locale: 'en-US' });
        return time.isValid ? time.toMillis() : `"${value}" does not match the pattern "${format}"`;
      };
    }
  }
}

function numberOf(value: unknown): number | string {
  if (typeof value === 'number') return Number.isInteger(value) ? value : Math.floor(value);
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'string' && /^-?\d+$/.test(value)) return Number(value);
  return `expected a number, got ${typeof value} ${printable(value)}`;
}

function hintFor(format: string, parsedMs: number): string {
  if (format === 'unix_seconds' && parsedMs > Date.UTC(3000, 0, 1))
    return '; it looks like milliseconds: set timestamp.format to "unix_milliseconds"';
  if (format === 'unix_milliseconds' && parsedMs < WIKIPEDIA_EPOCH_MS && parsedMs > 0)
    return '; it looks like seconds: set timestamp.format to "unix_seconds"';
  return '';
}

function printable(value: unknown): string {
  if (typeof value === 'bigint' || (typeof value === 'number' && !Number.isFinite(value)))
    return String(value);
  // A record or array may hold longs (bigints) and Buffers; the text is for a person, so keep it short.
  const text =
    JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) ?? String(value);
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

/**
 * Translates a Java SimpleDateFormat pattern into a luxon format. Letters without a luxon
 * equivalent are refused with the letter named, at config load rather than on the first record.
 */
export function luxonFormatOf(pattern: string, key = 'timestamp.format'): string {
  let out = '';
  let i = 0;
  while (i < pattern.length) {
    const char = pattern[i]!;
    if (char === "'") {
      // 'text' is literal; '' is a quote. luxon quotes literals the same way.
      const end = pattern.indexOf("'", i + 1);
      if (end === i + 1) {
        out += "''";
        i += 2;
        continue;
      }
      if (end < 0) throw bad(`unterminated quote at position ${i}`);
      out += pattern.slice(i, end + 1);
      i = end + 1;
      continue;
    }
    if (!/[A-Za-z]/.test(char)) {
      out += char;
      i += 1;
      continue;
    }
    let run = 1;
    while (pattern[i + run] === char) run += 1;
    out += translate(char, run);
    i += run;
  }
  return out;

  function translate(letter: string, count: number): string {
    switch (letter) {
      case 'y':
        return count === 2 ? 'yy' : 'yyyy';
      case 'M':
        return count >= 4 ? 'MMMM' : count === 3 ? 'MMM' : count === 2 ? 'MM' : 'M';
      case 'd':
      case 'H':
      case 'h':
      case 'm':
      case 's':
        return letter.repeat(Math.min(count, 2));
      case 'S':
        return count >= 3 ? 'SSS' : 'S';
      case 'a':
        return 'a';
      case 'E':
        return count >= 4 ? 'cccc' : 'ccc';
      case 'Z':
        return 'ZZZ'; // -0800
      case 'X':
        return count === 1 ? 'Z' : count === 2 ? 'ZZZ' : 'ZZ'; // -08, -0800, -08:00
      default:
        throw bad(
          `the letter "${letter}" has no equivalent here; use y M d H h m s S a E Z X and quoted text`,
        );
    }
  }
  function bad(reason: string): MwiError {
    return new MwiError(
      'MWI_CONFIG_INVALID',
      `${key} "${pattern}" is not a usable SimpleDateFormat pattern: ${reason}`,
      {
        details: { key, value: pattern },
      },
    );
  }
}

/** Checks a format at config load; throws `MWI_CONFIG_INVALID` naming `key`. */
export function checkTimestampFormat(format: string, key: string): void {
  if (format === 'unix_seconds' || format === 'unix_milliseconds' || format === 'ISO-8601') return;
  luxonFormatOf(format, key);
}
