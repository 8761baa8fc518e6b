import { MwiError } from '../errors.js';
import { type BodyChecker, createBodyChecker } from './body-check.js';
import { bodyFailure, type DecodeErrorCode, type DecodeFailure, invalidPaths } from './decode-error.js';
import { HEADER_LENGTH, MAGIC_BYTE, parseHeader, writeHeader } from './header.js';
import type { SchemaEntry, SchemaRegistry } from './registry.js';
import { createResolution, type Resolution, type Resolver } from './resolution.js';
import { describeRevision, type RevisionParts, tryParseRevisionId } from './revision.js';

export { type DecodeErrorCode, DecodeErrorCodes, type DecodeFailure } from './decode-error.js';

/**
 * MediaWiki Kafka messages ↔ records: the 9-byte header (./header.ts), the writer schema looked
 * up by the header's revision, the Avro body checked (./body-check.ts) and decoded with avsc,
 * then resolved to a reader schema when one is asked for.
 *
 * `decode` is the ingest's hot path: it never throws for any bytes (a bad message is data, with
 * a code and a sentence), never loops or allocates beyond what the bytes can hold, caches one
 * resolver per (writer, reader) pair, and skips resolution when the writer is the reader (then
 * `body` already is the reader's encoding and can be copied into a container file as it is).
 * `inspect` is the slow, thorough form for `mwingest validate`: it reports every problem it can
 * find instead of the first.
 */

export interface DecodeOptions {
  /** The topic's schema name (`schemaNameOfTopic`): a revision of another schema is `WRONG_SCHEMA`. */
  schemaName?: string;
  /** Resolve the record to this revision. @defaultValue the writer's revision (no resolution) */
  readerRevision?: bigint;
  /** Any other revision in the header is `UNEXPECTED_REVISION`. */
  expectRevision?: bigint;
  /** Also require strings and map keys to be valid UTF-8 (a few % slower). @defaultValue the codec's `checkUtf8` */
  checkUtf8?: boolean;
}

export interface IngestDecodeOptions extends DecodeOptions {
  /** The record's time field: a top-level name, or a dotted path into nested records. */
  timestampField: string;
}

/**
 * What the ingest needs of a message: its body, checked, in the reader's encoding when possible,
 * and its time field. `record` is built only when the body must be re-encoded (`bodyIsReaderEncoding`
 * false) or the time field is nested; otherwise it is `undefined`.
 */
export type IngestDecodeResult = (DecodedMessage & { timestamp: unknown }) | FailedMessage;

export interface CodecOptions {
  /** Default for `DecodeOptions.checkUtf8`. @defaultValue false (avsc and Java replace bad bytes with U+FFFD) */
  checkUtf8?: boolean;
}

export interface DecodedMessage {
  ok: true;
  revision: bigint;
  writer: SchemaEntry;
  reader: SchemaEntry;
  /** The record in the reader's schema: avsc values, longs beyond 2^53 as bigint. */
  record: unknown;
  /** The Avro body bytes (a view into the message). */
  body: Buffer;
  /**
   * `body` already is the reader's encoding of `record`: the writer is the reader, or a revision
   * with the same binary encoding (only docs or defaults changed). It can be copied as it is.
   */
  bodyIsReaderEncoding: boolean;
}

export interface FailedMessage extends DecodeFailure {
  ok: false;
  /** The header's revision, when the header could be read. */
  revision?: bigint;
  /** The writer schema, when the revision is in the registry. */
  writer?: SchemaEntry;
}

export type DecodeResult = DecodedMessage | FailedMessage;

/** Everything `inspect` found out about one message. */
export interface MessageInspection {
  /** Total bytes, header included. */
  size: number;
  /** Byte 0, when there is one. */
  magic?: number;
  revision?: bigint;
  /** Version and creation time, when the revision is a well-formed revision id. */
  revisionParts?: RevisionParts;
  writer?: SchemaEntry;
  reader?: SchemaEntry;
  bodyLength?: number;
  /** The decoded record in the reader's schema, when the body decoded. */
  record?: unknown;
  /** Every problem found, in the order the checks ran; empty for a valid message. */
  problems: DecodeFailure[];
}

const NO_OPTIONS: DecodeOptions = {};

export class MessageCodec {
  readonly registry: SchemaRegistry;
  private readonly checkUtf8: boolean;
  private readonly checkers = new Map<SchemaEntry, BodyChecker>();
  private readonly resolutions = new Map<SchemaEntry, Map<SchemaEntry, Resolution>>();
  // One-entry caches in front of the maps: consecutive messages nearly always share them.
  private lastRevision: bigint | undefined;
  private lastWriter: SchemaEntry | undefined;
  private lastChecker: BodyChecker | undefined;
  private lastCheckerOf: SchemaEntry | undefined;
  private readonly capturingCheckers = new Map<SchemaEntry, Map<string, BodyChecker>>();
  private lastCapturing: BodyChecker | undefined;
  private lastCapturingOf: SchemaEntry | undefined;
  private lastCapturingField: string | undefined;
  private lastResolution: Resolution | undefined;
  private lastResolutionKey: [SchemaEntry, SchemaEntry] | undefined;
  private scratch = Buffer.allocUnsafe(64 * 1024);

  constructor(registry: SchemaRegistry, options: CodecOptions = {}) {
    this.registry = registry;
    this.checkUtf8 = options.checkUtf8 ?? false;
  }

  /** Decodes one Kafka message value. Never throws. */
  decode(message: Buffer, options: DecodeOptions = NO_OPTIONS): DecodeResult {
    return this.decodeMessage(message, options, undefined) as DecodeResult;
  }

  /**
   * The ingest's hot path: like `decode`, but when the body already is the reader's encoding the
   * record is not built at all — the body check notes where the top-level time field starts and
   * only that value is read. Never throws.
   */
  decodeForIngest(message: Buffer, options: IngestDecodeOptions): IngestDecodeResult {
    return this.decodeMessage(message, options, options.timestampField) as IngestDecodeResult;
  }

  private decodeMessage(
    message: Buffer,
    options: DecodeOptions,
    timestampField: string | undefined,
  ): DecodeResult | IngestDecodeResult {
    if (message.length < HEADER_LENGTH || message[0] !== MAGIC_BYTE) {
      const header = parseHeader(message);
      return header.ok
        ? this.internalFailure('header')
        : { ok: false, code: header.code, message: header.message };
    }
    const revision = message.readBigInt64BE(1);
    let writer: SchemaEntry | undefined;
    if (revision === this.lastRevision) writer = this.lastWriter;
    else {
      writer = this.registry.byRevision(revision);
      this.lastRevision = revision;
      this.lastWriter = writer;
    }
    if (writer === undefined) {
      return this.fail(
        'UNKNOWN_REVISION',
        this.unknownRevisionMessage(revision, options.schemaName),
        revision,
      );
    }
    if (options.schemaName !== undefined && writer.name !== options.schemaName) {
      return this.fail('WRONG_SCHEMA', this.wrongSchemaMessage(writer, options.schemaName), revision, writer);
    }
    if (options.expectRevision !== undefined && options.expectRevision !== revision) {
      return this.fail(
        'UNEXPECTED_REVISION',
        this.unexpectedRevisionMessage(writer, options.expectRevision),
        revision,
        writer,
      );
    }
    const body = message.subarray(HEADER_LENGTH);
    const checker =
      timestampField === undefined ? this.checkerOf(writer) : this.capturingCheckerOf(writer, timestampField);
    const checked = checker.check(body, options.checkUtf8 ?? this.checkUtf8);
    if (!checked.ok) {
      const failure = bodyFailure(checked, writer, body.length);
      return this.fail(failure.code, failure.message, revision, writer);
    }
    let reader = writer;
    if (options.readerRevision !== undefined && options.readerRevision !== revision) {
      const found = this.registry.byRevision(options.readerRevision);
      if (found === undefined) {
        return this.fail(
          'UNKNOWN_READER',
          this.unknownReaderMessage(options.readerRevision, writer),
          revision,
          writer,
        );
      }
      reader = found;
    }
    try {
      let sameEncoding = reader === writer;
      let resolver: Resolver | undefined;
      if (!sameEncoding) {
        const resolution = this.resolutionOf(writer, reader);
        if ('failure' in resolution) return this.fail('UNRESOLVABLE', resolution.failure, revision, writer);
        if ('sameEncoding' in resolution) sameEncoding = true;
        else resolver = resolution.resolver;
      }
      if (timestampField === undefined) {
        const record = sameEncoding
          ? reader.type.fromBuffer(body, undefined, true)
          : reader.type.fromBuffer(body, resolver, true);
        return { ok: true, revision, writer, reader, record, body, bodyIsReaderEncoding: sameEncoding };
      }
      if (sameEncoding && checker.capturedAt >= 0) {
        const timestamp = checker.capturedType!.decode(body, checker.capturedAt).value;
        return {
          ok: true,
          revision,
          writer,
          reader,
          record: undefined,
          timestamp,
          body,
          bodyIsReaderEncoding: true,
        };
      }
      // Re-encoding needs the record anyway; a nested time field is read from it.
      const record = sameEncoding
        ? reader.type.fromBuffer(body, undefined, true)
        : reader.type.fromBuffer(body, resolver, true);
      const timestamp = fieldAt(record, timestampField);
      return {
        ok: true,
        revision,
        writer,
        reader,
        record,
        timestamp,
        body,
        bodyIsReaderEncoding: sameEncoding,
      };
    } catch (error) {
      // The body check makes this unreachable; if it ever is reached, it is still a bad message, not a crash.
      return this.fail(
        'INVALID_VALUE',
        `the body passed the structure check but avsc could not decode it as ${writer.name} revision ${writer.revision} ` +
          `(${(error as Error).message}); please report this message`,
        revision,
        writer,
      );
    }
  }

  /**
   * Every check `decode` makes, continuing past a failed one where the next can still run (a
   * wrong revision does not stop the body from being checked against its own schema). Never throws.
   */
  inspect(message: Buffer, options: DecodeOptions = NO_OPTIONS): MessageInspection {
    const inspection: MessageInspection = { size: message.length, problems: [] };
    const problems = inspection.problems;
    if (message.length > 0) inspection.magic = message[0]!;
    const header = parseHeader(message);
    if (!header.ok) {
      problems.push({ code: header.code, message: header.message });
      return inspection;
    }
    const revision = header.revision;
    inspection.revision = revision;
    const parts = tryParseRevisionId(revision);
    if (parts !== undefined) inspection.revisionParts = parts;
    const writer = this.registry.byRevision(revision);
    if (writer === undefined) {
      problems.push({
        code: 'UNKNOWN_REVISION',
        message: this.unknownRevisionMessage(revision, options.schemaName),
      });
      return inspection;
    }
    inspection.writer = writer;
    if (options.schemaName !== undefined && writer.name !== options.schemaName) {
      problems.push({ code: 'WRONG_SCHEMA', message: this.wrongSchemaMessage(writer, options.schemaName) });
    }
    if (options.expectRevision !== undefined && options.expectRevision !== revision) {
      problems.push({
        code: 'UNEXPECTED_REVISION',
        message: this.unexpectedRevisionMessage(writer, options.expectRevision),
      });
    }
    const body = message.subarray(HEADER_LENGTH);
    inspection.bodyLength = body.length;
    const decoded = this.decode(message, { ...options, schemaName: writer.name, expectRevision: revision });
    if (decoded.ok) {
      inspection.reader = decoded.reader;
      inspection.record = decoded.record;
    } else {
      problems.push({ code: decoded.code, message: decoded.message });
      if (decoded.code === 'UNRESOLVABLE' || decoded.code === 'UNKNOWN_READER') {
        // The body itself is fine: show it in the writer's schema.
        const asWritten = this.decode(message, { ...options, readerRevision: revision });
        if (asWritten.ok) inspection.record = asWritten.record;
      }
    }
    return inspection;
  }

  /** Header + Avro body of `record` written with `revision`'s schema. Throws `MwiError` on a bad record. */
  encode(revision: bigint, record: unknown): Buffer {
    const entry = this.registry.byRevision(revision);
    if (entry === undefined) {
      throw new MwiError(
        'MWI_UNKNOWN_REVISION',
        `cannot encode with revision ${revision}: ${this.unknownRevisionMessage(revision)}`,
      );
    }
    return this.encodeWith(entry, record, true);
  }

  /** The Avro body alone (no header) of `record` in `entry`'s schema. Throws `MwiError` on a bad record. */
  encodeBody(entry: SchemaEntry, record: unknown): Buffer {
    return this.encodeWith(entry, record, false);
  }

  /** The body checker of a writer schema that notes where the top-level `field` starts (cached). */
  private capturingCheckerOf(writer: SchemaEntry, field: string): BodyChecker {
    if (writer === this.lastCapturingOf && field === this.lastCapturingField) return this.lastCapturing!;
    let byField = this.capturingCheckers.get(writer);
    if (byField === undefined) {
      byField = new Map();
      this.capturingCheckers.set(writer, byField);
    }
    let checker = byField.get(field);
    if (checker === undefined) {
      checker = createBodyChecker(writer.type, field.includes('.') ? undefined : field);
      byField.set(field, checker);
    }
    this.lastCapturingOf = writer;
    this.lastCapturingField = field;
    this.lastCapturing = checker;
    return checker;
  }

  /** The body checker of a writer schema (cached). */
  checkerOf(writer: SchemaEntry): BodyChecker {
    if (writer === this.lastCheckerOf) return this.lastChecker!;
    let checker = this.checkers.get(writer);
    if (checker === undefined) {
      checker = createBodyChecker(writer.type);
      this.checkers.set(writer, checker);
    }
    this.lastCheckerOf = writer;
    this.lastChecker = checker;
    return checker;
  }

  private encodeWith(entry: SchemaEntry, record: unknown, header: boolean): Buffer {
    const start = header ? HEADER_LENGTH : 0;
    let end: number;
    try {
      end = entry.type.encode(record, this.scratch, start);
      while (end < 0) {
        this.scratch = Buffer.allocUnsafe(
          Math.max(this.scratch.length * 2, this.scratch.length - end + start),
        );
        end = entry.type.encode(record, this.scratch, start);
      }
    } catch (error) {
      throw new MwiError(
        'MWI_MESSAGE_INVALID',
        `the record does not fit ${entry.name} revision ${entry.revision}: ${invalidPaths(entry.type, record)}`,
        {
          cause: error,
        },
      );
    }
    if (header) writeHeader(this.scratch, entry.revision, 0);
    return Buffer.from(this.scratch.subarray(0, end));
  }

  private resolutionOf(writer: SchemaEntry, reader: SchemaEntry): Resolution {
    const key = this.lastResolutionKey;
    if (key !== undefined && key[0] === writer && key[1] === reader) return this.lastResolution!;
    let byReader = this.resolutions.get(writer);
    if (byReader === undefined) {
      byReader = new Map();
      this.resolutions.set(writer, byReader);
    }
    let resolution = byReader.get(reader);
    if (resolution === undefined) {
      resolution = createResolution(writer, reader);
      byReader.set(reader, resolution);
    }
    this.lastResolutionKey = [writer, reader];
    this.lastResolution = resolution;
    return resolution;
  }

  private fail(
    code: DecodeErrorCode,
    message: string,
    revision: bigint,
    writer?: SchemaEntry,
  ): FailedMessage {
    return writer === undefined
      ? { ok: false, code, message, revision }
      : { ok: false, code, message, revision, writer };
  }

  private internalFailure(step: string): FailedMessage {
    return {
      ok: false,
      code: 'INVALID_VALUE',
      message: `the message could not be read (${step}); please report it`,
    };
  }

  private unknownRevisionMessage(revision: bigint, schemaName?: string): string {
    const root = this.registry.root;
    if (tryParseRevisionId(revision) === undefined) {
      return (
        `the header's revision field holds ${revision}, which is not a schema revision id (a version of at least 10 ` +
        'followed by a 10-digit unix time): the producer did not write a MediaWiki header, or the bytes are shifted'
      );
    }
    if (schemaName !== undefined) {
      return (
        `revision ${revision} is not in the registry at ${root}; known revisions of ${schemaName}: ` +
        `${this.registry.describeRevisions(schemaName)}; add avro/mediawiki/${schemaName}/${revision}.avsc or fix the producer`
      );
    }
    const names = this.registry.names();
    return (
      `revision ${revision} is not in the registry at ${root} (schemas there: ${names.join(', ') || 'none'}); ` +
      `add avro/mediawiki/<Name>/${revision}.avsc or fix the producer`
    );
  }

  private wrongSchemaMessage(writer: SchemaEntry, schemaName: string): string {
    return (
      `revision ${writer.revision} is a revision of ${writer.name} (${writer.path}), not of ${schemaName}, the schema ` +
      `of this topic (known revisions of ${schemaName}: ${this.registry.describeRevisions(schemaName)}); the producer ` +
      'wrote to the wrong topic or with the wrong schema'
    );
  }

  private unexpectedRevisionMessage(writer: SchemaEntry, expected: bigint): string {
    const expectedEntry = this.registry.byRevision(expected);
    const expectedText =
      expectedEntry === undefined
        ? `${expected} (not in the registry)`
        : `${expected} (${expectedEntry.name})`;
    return (
      `the message has revision ${writer.revision} (${writer.name}, ${describeRevision(writer)}), not the expected ` +
      `${expectedText}: some producers still run another revision, or the expectation is out of date`
    );
  }

  private unknownReaderMessage(readerRevision: bigint, writer: SchemaEntry): string {
    return (
      `the reader revision ${readerRevision} is not in the registry at ${this.registry.root}; known revisions of ` +
      `${writer.name}: ${this.registry.describeRevisions(writer.name)}`
    );
  }
}

/** The value at a dotted path of a record, or undefined. */
function fieldAt(record: unknown, path: string): unknown {
  let value = record;
  for (const part of path.split('.')) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}
