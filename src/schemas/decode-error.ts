import type avro from 'avsc';
import type { BodyCheckResult } from './body-check.js';
import type { SchemaEntry } from './registry.js';

/**
 * Why a message could not be turned into a record. Each code is stable (error files, run reports
 * and `mwingest validate --json` carry it); the sentence that comes with it says what to do.
 */
export const DecodeErrorCodes = [
  /** The message has no bytes at all (or is a Kafka tombstone). */
  'EMPTY_MESSAGE',
  /** Fewer than the 9 header bytes. */
  'SHORT_MESSAGE',
  /** Byte 0 is not 0x00: not a MediaWiki Avro message (JSON, another framing, shifted bytes). */
  'BAD_MAGIC',
  /** The header's revision id is not in the registry (or is not a revision id at all). */
  'UNKNOWN_REVISION',
  /** The revision is in the registry, but under another schema name than the topic's. */
  'WRONG_SCHEMA',
  /** The revision differs from the one the caller expected (`expectRevision`). */
  'UNEXPECTED_REVISION',
  /** The Avro body ends before the record does. */
  'BODY_TRUNCATED',
  /** Bytes are left over after the record. */
  'TRAILING_BYTES',
  /**
   * A value the writer schema forbids: enum index or union branch out of range, negative length,
   * an int or long that does not fit, a boolean byte other than 0/1, invalid UTF-8 (when checked),
   * an array or map count the remaining bytes cannot hold.
   */
  'INVALID_VALUE',
  /** The requested reader revision is not in the registry. */
  'UNKNOWN_READER',
  /** Data written with the writer schema cannot be read with the reader schema. */
  'UNRESOLVABLE',
] as const;

export type DecodeErrorCode = (typeof DecodeErrorCodes)[number];

export interface DecodeFailure {
  code: DecodeErrorCode;
  /** One sentence: what is wrong with the message and what to do. */
  message: string;
}

/** The failure of a body that did not pass the body check, in words that say what to do. */
export function bodyFailure(
  result: Exclude<BodyCheckResult, { ok: true }>,
  writer: SchemaEntry,
  length: number,
): DecodeFailure {
  const schema = `${writer.name} revision ${writer.revision}`;
  if (result.kind === 'trailing') {
    return {
      code: 'TRAILING_BYTES',
      message:
        `${result.trailing} byte${result.trailing === 1 ? ' is' : 's are'} left over after the ${schema} record ` +
        `(it ends at byte ${result.position} of the ${length}-byte body): the message was written with a different ` +
        'schema than its revision says, or more than one message was joined',
    };
  }
  const where = result.path === '' ? '' : ` in ${result.path}`;
  if (result.kind === 'truncated') {
    return {
      code: 'BODY_TRUNCATED',
      message:
        `the ${length}-byte Avro body ends early${where} (byte ${result.position}): ${result.reason}; the message was ` +
        `cut short, or it was not written with ${schema}`,
    };
  }
  return {
    code: 'INVALID_VALUE',
    message:
      `the Avro body holds a value ${schema} forbids${where} (byte ${result.position}): ${result.reason}; the message ` +
      'is corrupt or was not written with this schema',
  };
}

/** "requests[0].tookMs: expected int, got "fast"" for each bad value, via avsc's error hook. */
export function invalidPaths(type: avro.Type, record: unknown): string {
  const found: string[] = [];
  type.isValid(record, {
    errorHook: (path, value, t) => {
      if (found.length < 5) {
        const shown = typeof value === 'bigint' ? `${value}n` : (JSON.stringify(value) ?? String(value));
        found.push(`${path.join('.') || '(top level)'}: expected ${t.typeName}, got ${shown}`);
      }
    },
  });
  return found.length > 0 ? found.join('; ') : 'avsc refused it (check field types)';
}
