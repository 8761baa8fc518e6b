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
