import type { FileSystem, FileWriter } from '../hdfs/filesystem.js';
import type { TimestampErrorCode } from '../hours/timestamp.js';
import type { DecodeErrorCode } from '../schemas/decode-error.js';

/**
 * Why a message became an error record: the closed set of reasons, each stable for scripts and
 * `jq` (the decoder's, the timestamp's, and a tombstone).
 */
export type ErrorRecordCode = DecodeErrorCode | TimestampErrorCode | 'TOMBSTONE';

/**
 * Error records: one JSON object per line, so `jq` and `grep` work on them. Nothing is dropped:
 * the raw message bytes are kept (base64) with the reason, so a record can be re-ingested once the
 * cause (say, a missing schema revision) is fixed.
 */
export interface ErrorRecord {
  topic: string;
  partition: number;
  offset: string;
  /** Kafka timestamp of the message, ISO-8601; `null` when Kafka's value is not a time (−1, or beyond a Date's range). */
  kafkaTimestamp: string | null;
  /** Kafka timestamp exactly as the broker sent it (ms), whatever it is. */
  kafkaTimestampMs: number | string;
  code: ErrorRecordCode;
  message: string;
  revision?: string;
  /** The message value as it was in Kafka, base64; `null` for a tombstone. */
  raw: string | null;
}

/** Buffers error lines and streams them into one temp file, opened on the first error. */
export class ErrorFileWriter {
  private writer: FileWriter | undefined;
  private pending: string[] = [];
  private pendingBytes = 0;
  records = 0;
  firstOffset: bigint | undefined;
  lastOffset: bigint | undefined;

  constructor(
    private readonly fs: FileSystem,
    readonly tempPath: string,
  ) {}

  add(offset: bigint, error: ErrorRecord): void {
    this.records += 1;
    this.firstOffset ??= offset;
    this.lastOffset = offset;
    const line = `${JSON.stringify(error)}\n`;
    this.pending.push(line);
    this.pendingBytes += line.length;
  }

  /** Writes buffered lines once they pass `thresholdBytes` (0: always). */
  async flush(thresholdBytes = 256 * 1024): Promise<void> {
    if (this.pending.length === 0 || this.pendingBytes < thresholdBytes) return;
    this.writer ??= await this.fs.create(this.tempPath);
    const chunk = Buffer.from(this.pending.join(''), 'utf8');
    this.pending = [];
    this.pendingBytes = 0;
    await this.writer.write(chunk);
  }

  /** Closes the file; returns its size, or `undefined` when there were no errors. */
  async finish(): Promise<number | undefined> {
    await this.flush(0);
    if (this.writer === undefined) return undefined;
    await this.writer.close();
    return this.writer.bytesWritten;
  }

  async abort(): Promise<void> {
    await this.writer?.abort();
  }
}
