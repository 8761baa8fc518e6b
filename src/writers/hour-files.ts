import type { FileSystem, FileWriter } from '../hdfs/filesystem.js';
import type { KafkaRecord } from '../kafka/client.js';
import { kafkaTimeText } from '../kafka/timestamp.js';
import { ErrorFileWriter, type ErrorRecordCode } from './error-file.js';
import type { RecordFileWriter } from './record-writer.js';

/** What the hour files of one partition need to know about the output (a topic plan has all of it). */
export interface HourFileLayout {
  /** Hour files open at once before the least recently used one is finished. */
  maxOpenFiles: number;
  /** File name extension of the format (`avro`, `parquet`). */
  extension: string;
  /** Hour key (`2026-11-22T14`) of an hour index (floor(epoch ms / 3 600 000)). */
  hourKey(hourIndex: number): string;
  /** The directory an hour's files are committed into. */
  hourDir(hourIndex: number): string;
  createWriter(sink: FileWriter): RecordFileWriter;
}

/** Where one partition's files go: its temp directory for this run, its error directory. */
export interface HourFilePlace {
  topic: string;
  partition: number;
  /** This run's temp directory of the partition; every file is written here first. */
  tempDir: string;
  /** The partition's directory of committed error files. */
  errorsDir: string;
}

/**
 * A closed temp file and the final name a commit renames it to: one entry of a commit manifest.
 * Final names carry topic, partition and offsets, so a repeated commit can never make a copy.
 */
export interface FinishedFile {
  kind: 'data' | 'errors';
  temp: string;
  final: string;
  /** Hour key (`2026-11-22T14`) of a data file. */
  hour?: string;
  records: number;
  firstOffset: string;
  lastOffset: string;
  bytes: number;
}

interface OpenHourFile {
  hourIndex: number;
  tempPath: string;
  sink: FileWriter;
  writer: RecordFileWriter;
  first: bigint;
  last: bigint;
  /** Appends so far when a record last went into this file: the least recently used one is finished first. */
  lastUsed: number;
}

/**
 * The files one partition writes during a run, until they are closed: an open hour file per hour
 * index, at most `layout.maxOpenFiles` of them, and the partition's error file.
 *
 * Hour files open at once are bounded because a backlog spread over many hours (a replay, a producer
 * with a bad clock) would otherwise hold a buffer and a connection per hour. Past the bound the least
 * recently used file is finished; a later record for its hour starts a second file (names carry
 * offset ranges, so the two never collide). `finish` closes everything and returns the manifest
 * entries; `abort` discards what is still open. Counting records for the manifest is the caller's.
 */
export class HourFiles {
  private readonly open = new Map<number, OpenHourFile>();
  /** Files already finished to stay under `maxOpenFiles`: complete on the file system. */
  private readonly finished: FinishedFile[] = [];
  private readonly errors: ErrorFileWriter;
  private appends = 0;
  /** Every file is closed: from here on they may be needed by a roll-forward and are never aborted. */
  closed = false;

  constructor(
    private readonly fs: FileSystem,
    private readonly layout: HourFileLayout,
    private readonly place: HourFilePlace,
  ) {
    this.errors = new ErrorFileWriter(fs, `${place.tempDir}/errors.jsonl`);
  }

  /**
   * Appends a record (a reader-schema value, or its encoding when `encoded`) at `offset` to the file
   * of its hour, opening one when needed. Returns a promise only when I/O must happen first (a new
   * file, a full block); the caller awaits it before the next append.
   */
  append(hourIndex: number, offset: bigint, value: unknown, encoded: boolean): Promise<void> | undefined {
    const file = this.open.get(hourIndex);
    if (file === undefined)
      return this.openFile(hourIndex, offset).then((opened) => this.appendTo(opened, offset, value, encoded));
    return this.appendTo(file, offset, value, encoded);
  }

  private appendTo(
    file: OpenHourFile,
    offset: bigint,
    value: unknown,
    encoded: boolean,
  ): Promise<void> | undefined {
    file.last = offset;
    file.lastUsed = ++this.appends;
    const pending = encoded ? file.writer.appendEncoded(value as Buffer) : file.writer.append(value);
    return pending instanceof Promise ? pending : undefined;
  }

  private async openFile(hourIndex: number, first: bigint): Promise<OpenHourFile> {
    if (this.open.size >= this.layout.maxOpenFiles) await this.finishLeastRecentlyUsed();
    const tempPath = `${this.place.tempDir}/${this.layout.hourKey(hourIndex)}.${first}.${this.layout.extension}`;
    const sink = await this.fs.create(tempPath, { overwrite: true });
    const file: OpenHourFile = {
      hourIndex,
      tempPath,
      sink,
      writer: this.layout.createWriter(sink),
      first,
      last: first,
      lastUsed: this.appends,
    };
    this.open.set(hourIndex, file);
    return file;
  }

  private async finishLeastRecentlyUsed(): Promise<void> {
    let oldest: OpenHourFile | undefined;
    for (const file of this.open.values())
      if (oldest === undefined || file.lastUsed < oldest.lastUsed) oldest = file;
    if (oldest === undefined) return;
    this.open.delete(oldest.hourIndex);
    this.finished.push(await this.finishFile(oldest));
  }

  private async finishFile(file: OpenHourFile): Promise<FinishedFile> {
    const { records, bytes } = await file.writer.finish();
    await file.sink.close();
    const { topic, partition } = this.place;
    return {
      kind: 'data',
      temp: file.tempPath,
      final: `${this.layout.hourDir(file.hourIndex)}/${topic}.${partition}.${file.first}-${file.last}.${this.layout.extension}`,
      hour: this.layout.hourKey(file.hourIndex),
      records,
      firstOffset: file.first.toString(),
      lastOffset: file.last.toString(),
      bytes,
    };
  }

  /** Records why a message was not written: an error record that keeps its raw bytes. */
  addError(record: KafkaRecord, code: ErrorRecordCode, message: string, revision?: bigint): void {
    this.errors.add(record.offset, {
      topic: this.place.topic,
      partition: this.place.partition,
      offset: record.offset.toString(),
      kafkaTimestamp: kafkaTimeText(record.timestamp),
      kafkaTimestampMs: Number.isFinite(record.timestamp) ? record.timestamp : String(record.timestamp),
      code,
      message,
      ...(revision === undefined ? {} : { revision: revision.toString() }),
      raw: record.value === null ? null : record.value.toString('base64'),
    });
  }

  /** Writes buffered error records once there are enough of them (after each batch). */
  flushErrors(): Promise<void> {
    return this.errors.flush();
  }

  /**
   * Closes every file: the data files by hour, then by first offset, then the error file if any
   * message was bad. Returns the manifest entries; a failure leaves the unclosed files for `abort`.
   */
  async finish(): Promise<FinishedFile[]> {
    const files: FinishedFile[] = [...this.finished];
    const ordered = [...this.open.values()].sort((a, b) => a.hourIndex - b.hourIndex);
    for (const file of ordered) {
      files.push(await this.finishFile(file));
      this.open.delete(file.hourIndex); // only once finished: a failure leaves it for `abort`
    }
    files.sort((a, b) =>
      a.hour! < b.hour! ? -1 : a.hour! > b.hour! ? 1 : Number(BigInt(a.firstOffset) - BigInt(b.firstOffset)),
    );
    const errorBytes = await this.errors.finish();
    if (errorBytes !== undefined) {
      const { firstOffset, lastOffset, records, tempPath } = this.errors;
      const { topic, partition } = this.place;
      files.push({
        kind: 'errors',
        temp: tempPath,
        final: `${this.place.errorsDir}/${topic}.${partition}.${firstOffset}-${lastOffset}.errors.jsonl`,
        records,
        firstOffset: String(firstOffset),
        lastOffset: String(lastOffset),
        bytes: errorBytes,
      });
    }
    this.closed = true;
    return files;
  }

  /** Discards the files still open (never those of a finished `finish`: a claimed commit may need them). */
  async abort(): Promise<void> {
    if (this.closed) return;
    for (const file of this.open.values()) {
      await file.writer.abort().catch(() => undefined);
      await file.sink.abort();
    }
    await this.errors.abort();
  }
}
