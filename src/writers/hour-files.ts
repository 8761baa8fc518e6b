import type { FileSystem, FileWriter } from '../hdfs/filesystem.js';
import type { KafkaRecord } from '../kafka/client.js';
import { kafkaTimeText } from '../kafka/timestamp.js';
import { ErrorFileWriter, type ErrorRecordCode } from './error-file.js';
import type { RecordFileWriter } from './record-writer.js';

/** What the hour files of one partition need to know about the output (a topic plan has all of it). */
export interface HourFileLayout {
  /** Hour files open at once before the least recently used one is finished. */
  maxOpenFiles: number;
  /** Appends after which an open file counts as idle and may be finished early. @defaultValue 4096 */
  idleAppends?: number;
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

/** Records of hours that found no open file, held until they are written together. */
interface Overflow {
  offsets: bigint[];
  values: unknown[];
  encoded: boolean[];
}

/**
 * Appends since a file was last used after which it counts as idle: past `maxOpenFiles`, an idle
 * file is finished to make room (a replay moving through the hours); a busy one is not, and the
 * record waits in the overflow instead.
 */
const IDLE_APPENDS = 4096;
/** Bounds of the overflow: past either, every hour in it is written to a file of its own. */
const OVERFLOW_RECORDS = 10_000;
const OVERFLOW_BYTES = 16 * 1024 * 1024;

/**
 * The files one partition writes during a run, until they are closed: an open hour file per hour
 * index, at most `layout.maxOpenFiles` of them, and the partition's error file.
 *
 * Hour files open at once are bounded because a backlog spread over many hours (a replay, a producer
 * with a bad clock) would otherwise hold a buffer and a connection per hour. When every slot is taken
 * and a record comes for another hour:
 * - if the least recently used file has been idle for `idleAppends` records (a replay moving on
 *   through the hours), it is finished and the new hour gets its slot; later records of the finished
 *   hour go to the overflow (names carry offset ranges, so its files never collide);
 * - otherwise (records spread over more hours than slots, all of them busy) the record goes to the
 *   overflow, which is written out as one file per hour once it holds `OVERFLOW_RECORDS` records or
 *   `OVERFLOW_BYTES`, and at `finish`. So records interleaved over many hours make a few files per
 *   hour per 10,000 records, never one file per record.
 * `finish` closes everything and returns the manifest entries; `abort` discards what is still open.
 * Counting records for the manifest is the caller's.
 */
export class HourFiles {
  private readonly open = new Map<number, OpenHourFile>();
  /** Files already finished to stay under `maxOpenFiles`: complete on the file system. */
  private readonly finished: FinishedFile[] = [];
  private readonly errors: ErrorFileWriter;
  private appends = 0;
  private readonly overflow = new Map<number, Overflow>();
  /** Hours whose file was finished to make room. */
  private readonly finishedEarly = new Set<number>();
  private overflowRecords = 0;
  private overflowBytes = 0;
  /** The overflow file being written, for `abort`. */
  private writingOverflow: OpenHourFile | undefined;
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
    if (file !== undefined) return this.appendTo(file, offset, value, encoded);
    const full = this.open.size >= this.layout.maxOpenFiles;
    // An hour whose file was finished early has shown it is sparse: it waits in the overflow.
    if (this.finishedEarly.has(hourIndex) || (full && !this.idle(this.leastRecentlyUsed()))) {
      this.appends += 1;
      return this.addToOverflow(hourIndex, offset, value, encoded);
    }
    return this.openFile(hourIndex, offset).then((opened) => this.appendTo(opened, offset, value, encoded));
  }

  /** Hour files finished so far, open ones and the overflow's not counted (for tests and logs). */
  get finishedFiles(): number {
    return this.finished.length;
  }

  private idle(file: OpenHourFile | undefined): boolean {
    return file !== undefined && this.appends - file.lastUsed >= (this.layout.idleAppends ?? IDLE_APPENDS);
  }

  private addToOverflow(
    hourIndex: number,
    offset: bigint,
    value: unknown,
    encoded: boolean,
  ): Promise<void> | undefined {
    let held = this.overflow.get(hourIndex);
    if (held === undefined) {
      held = { offsets: [], values: [], encoded: [] };
      this.overflow.set(hourIndex, held);
    }
    held.offsets.push(offset);
    held.values.push(value);
    held.encoded.push(encoded);
    this.overflowRecords += 1;
    if (encoded) this.overflowBytes += (value as Uint8Array).length;
    if (this.overflowRecords >= OVERFLOW_RECORDS || this.overflowBytes >= OVERFLOW_BYTES)
      return this.writeOverflow();
    return undefined;
  }

  /** Writes each hour of the overflow to a file of its own, one file open at a time. */
  private async writeOverflow(): Promise<void> {
    const hours = [...this.overflow.keys()].sort((a, b) => a - b);
    for (const hourIndex of hours) {
      const held = this.overflow.get(hourIndex)!;
      const file = await this.createFile(hourIndex, held.offsets[0]!);
      this.writingOverflow = file;
      for (let i = 0; i < held.offsets.length; i++) {
        const pending = this.appendTo(file, held.offsets[i]!, held.values[i], held.encoded[i]!);
        if (pending !== undefined) await pending;
      }
      this.finished.push(await this.finishFile(file));
      this.writingOverflow = undefined;
      this.overflow.delete(hourIndex);
    }
    this.overflowRecords = 0;
    this.overflowBytes = 0;
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
    const file = await this.createFile(hourIndex, first);
    this.open.set(hourIndex, file);
    return file;
  }

  private async createFile(hourIndex: number, first: bigint): Promise<OpenHourFile> {
    const tempPath = `${this.place.tempDir}/${this.layout.hourKey(hourIndex)}.${first}.${this.layout.extension}`;
    const sink = await this.fs.create(tempPath, { overwrite: true });
    return {
      hourIndex,
      tempPath,
      sink,
      writer: this.layout.createWriter(sink),
      first,
      last: first,
      lastUsed: this.appends,
    };
  }

  private leastRecentlyUsed(): OpenHourFile | undefined {
    let oldest: OpenHourFile | undefined;
    for (const file of this.open.values())
      if (oldest === undefined || file.lastUsed < oldest.lastUsed) oldest = file;
    return oldest;
  }

  private async finishLeastRecentlyUsed(): Promise<void> {
    const oldest = this.leastRecentlyUsed();
    if (oldest === undefined) return;
    this.finishedEarly.add(oldest.hourIndex);
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
    const ordered = [...this.open.values()].sort((a, b) => a.hourIndex - b.hourIndex);
    for (const file of ordered) {
      this.finished.push(await this.finishFile(file));
      this.open.delete(file.hourIndex); // only once finished: a failure leaves it for `abort`
    }
    await this.writeOverflow();
    const files: FinishedFile[] = [...this.finished];
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
    this.overflow.clear();
    const open = [...this.open.values(), ...(this.writingOverflow ? [this.writingOverflow] : [])];
    for (const file of open) {
      await file.writer.abort().catch(() => undefined);
      await file.sink.abort();
    }
    await this.errors.abort();
  }
}
