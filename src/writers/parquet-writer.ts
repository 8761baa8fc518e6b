import { gzipSync } from 'node:zlib';
import type { ColumnChunk, CompressionCodec } from 'hyparquet';
import { ByteWriter, ParquetWriter } from 'hyparquet-writer';
import { writeColumn } from 'hyparquet-writer/src/column.js';
import { compressSync as snappyCompressSync } from 'snappy';
import { describeError, MwiError } from '../errors.js';
import type { FileWriter } from '../hdfs/filesystem.js';
import { avroTypeOf } from '../schemas/avro-type.js';
import { type RowSizeEstimator, rowSizeEstimatorOf } from './parquet-row-size.js';
import { parquetSchemaOf } from './parquet-schema.js';
import { RecordShredder } from './parquet-shredder.js';
import type { RecordFileWriter } from './record-writer.js';

/**
 * Parquet files (Apache Parquet format 2) through hyparquet-writer (docs/parquet.md: why that
 * library, and the measurements):
 *
 *   file      = "PAR1", row group*, page indexes, footer (thrift FileMetaData), footer length, "PAR1"
 *   row group = one column chunk per leaf field: a dictionary page when it pays, DATA_PAGE_V2 pages
 *
 * A row group is column-major, so records cannot be streamed out one by one: each appended record is
 * shredded into its leaf columns (`parquet-shredder.ts`) until the row group is full by row count
 * or estimated size; then every column chunk is encoded and compressed (hyparquet-writer's
 * `writeColumn`, one synchronous step) and the group's bytes go to the sink while the next group
 * fills. `finish()` writes the page indexes and the footer, which lists every row group. Memory is
 * one filling row group, at most two being written, and the footer's metadata; never the hour.
 *
 * The row-group bookkeeping below mirrors `ParquetWriter.write` of hyparquet-writer 0.17 (the
 * version is pinned in package.json): the writer's `row_groups`, `pendingIndexes` and `num_rows`
 * are what its `finish()` turns into the footer.
 */
export type ParquetCodec = 'snappy' | 'gzip' | 'none';

export interface ParquetWriterOptions {
  /** The Avro reader schema of the dataset (JSON value); mapped by `parquetSchemaOf`. */
  schema: object;
  /** @defaultValue "snappy" */
  codec?: ParquetCodec;
  /** A row group is closed once it holds this many records. @defaultValue 100000 */
  rowGroupRows?: number;
  /**
   * A row group is closed once its estimated uncompressed size (PLAIN-encoded leaf values, see
   * `parquet-row-size.ts`) reaches this. Memory follows it: the filling group's columns take about
   * 4× this on the heap, and encoding them briefly as much again (docs/parquet.md has the
   * measurements). @defaultValue 8388608 (8 MiB: ~10,000 CirrusSearchRequestSet records)
   */
  rowGroupBytes?: number;
  /** Extra key-value metadata for the footer. */
  metadata?: Record<string, string>;
}

export const parquetWriterDefaults = {
  codec: 'snappy',
  rowGroupRows: 100_000,
  rowGroupBytes: 8 * 1024 * 1024,
} satisfies Partial<ParquetWriterOptions>;

/** Footer key under which parquet-avro finds the Avro schema a file was written from. */
export const AVRO_SCHEMA_KEY = 'parquet.avro.schema';

const CREATED_BY = 'mwingest version 0.1.0 (build hyparquet-writer 0.17.0)';

const CODECS: Record<ParquetCodec, CompressionCodec> = {
  snappy: 'SNAPPY',
  gzip: 'GZIP',
  none: 'UNCOMPRESSED',
};

// The native snappy binding and zlib: hyparquet-writer's built-in snappy is JavaScript, ~3× slower.
const COMPRESSORS = {
  SNAPPY: (input: Uint8Array) =>
    snappyCompressSync(Buffer.from(input.buffer, input.byteOffset, input.length)),
  GZIP: (input: Uint8Array) => gzipSync(input),
};

/** Target uncompressed size of a data page (hyparquet-writer's default). */
const PAGE_BYTES = 1024 * 1024;

/** Every record's size is estimated for the first batch, then one record in this many. */
const SIZE_SAMPLE_EVERY = 16;

export function createParquetRecordWriter(sink: FileWriter, options: ParquetWriterOptions): RecordFileWriter {
  return new ParquetRecordWriter(sink, options);
}

/**
 * hyparquet-writer's ByteWriter, handing what it holds to mwingest's sink on `flush` (after each
 * row group) and `finish` (after the footer). The filled buffer goes as it is (no copy); a fresh
 * one of the same capacity takes its place.
 */
class SinkByteWriter extends ByteWriter {
  constructor(private readonly handOver: (bytes: Uint8Array) => void) {
    super(256 * 1024);
  }

  flush(): void {
    if (this.index === 0) return;
    const bytes = new Uint8Array(this.buffer, 0, this.index);
    this.buffer = new ArrayBuffer(this.buffer.byteLength);
    this.view = new DataView(this.buffer);
    this.index = 0;
    this.handOver(bytes);
  }

  override finish(): void {
    this.flush();
  }
}

class ParquetRecordWriter implements RecordFileWriter {
  readonly acceptsEncoded = false;
  records = 0;
  private readonly shredder: RecordShredder;
  private readonly estimateSize: RowSizeEstimator;
  private readonly codec: CompressionCodec;
  private readonly rowGroupRows: number;
  private readonly rowGroupBytes: number;
  private readonly byteWriter: SinkByteWriter;
  private readonly parquet: ParquetWriter;
  private groupRows = 0;
  private sampledBytes = 0;
  private sampledRows = 0;
  private bytes = 0;
  /** The tail of the ordered chain of sink writes. */
  private chain: Promise<void> = Promise.resolve();
  private writesInFlight = 0;
  private failure: unknown;
  private done = false;

  constructor(
    private readonly sink: FileWriter,
    options: ParquetWriterOptions,
  ) {
    const plan = parquetSchemaOf(options.schema);
    this.shredder = new RecordShredder(plan);
    this.estimateSize = rowSizeEstimatorOf(avroTypeOf(options.schema));
    const codec = options.codec ?? parquetWriterDefaults.codec;
    if (!Object.hasOwn(CODECS, codec)) {
      throw new MwiError(
        'MWI_CONFIG_INVALID',
        `Parquet codec "${codec}" is not one of ${Object.keys(CODECS).join(', ')}`,
      );
    }
    this.codec = CODECS[codec];
    this.rowGroupRows = positive('rowGroupRows', options.rowGroupRows ?? parquetWriterDefaults.rowGroupRows);
    this.rowGroupBytes = positive(
      'rowGroupBytes',
      options.rowGroupBytes ?? parquetWriterDefaults.rowGroupBytes,
    );
    this.byteWriter = new SinkByteWriter((bytes) => this.handOver(bytes));
    const metadata = { ...options.metadata, [AVRO_SCHEMA_KEY]: JSON.stringify(options.schema) };
    // Writes "PAR1" into the byte writer; handed over with the first row group or the footer.
    this.parquet = new ParquetWriter({
      writer: this.byteWriter,
      schema: plan.elements,
      codec: this.codec,
      compressors: COMPRESSORS,
      kvMetadata: Object.entries(metadata).map(([key, value]) => ({ key, value })),
      createdBy: CREATED_BY,
    });
  }

  append(record: unknown): Promise<void> | undefined {
    this.checkOpen();
    try {
      this.shredder.add(record);
    } catch (error) {
      throw this.withPath(error, `record ${this.records}`);
    }
    if (this.records < SIZE_SAMPLE_EVERY || this.records % SIZE_SAMPLE_EVERY === 0) {
      this.sampledBytes += this.estimateSize(record);
      this.sampledRows += 1;
    }
    this.records += 1;
    this.groupRows += 1;
    if (
      this.groupRows < this.rowGroupRows &&
      this.groupRows * (this.sampledBytes / this.sampledRows) < this.rowGroupBytes
    ) {
      return undefined;
    }
    this.writeRowGroup();
    // One row group may be written while the next fills; a second makes the caller wait.
    return this.writesInFlight > 1 ? this.chain : undefined;
  }

  appendEncoded(): Promise<void> | undefined {
    throw new MwiError(
      'MWI_USAGE',
      `${this.sink.path}: the Parquet writer takes decoded records (append), not Avro bodies (acceptsEncoded is false)`,
    );
  }

  async finish(): Promise<{ records: number; bytes: number }> {
    this.checkOpen();
    if (this.groupRows > 0) this.writeRowGroup();
    this.done = true;
    // Page indexes and the footer go into the byte writer, whose finish() hands them over.
    this.parquet.finish();
    await this.chain;
    if (this.failure !== undefined) throw this.failure;
    return { records: this.records, bytes: this.bytes };
  }

  async abort(): Promise<void> {
    this.done = true;
    this.shredder.reset();
    await this.chain.catch(() => undefined);
  }

  /** Encodes and compresses every column chunk of the filled row group, then hands the bytes over. */
  private writeRowGroup(): void {
    const rows = this.groupRows;
    const start = this.byteWriter.offset;
    const columns: ColumnChunk[] = [];
    let uncompressed = 0n;
    try {
      for (const leaf of this.shredder.leaves) {
        const result = writeColumn({
          writer: this.byteWriter,
          column: {
            columnName: leaf.name,
            element: leaf.element,
            schemaPath: leaf.schemaPath,
            codec: this.codec,
            compressors: COMPRESSORS,
            stats: true,
            pageSize: PAGE_BYTES,
            columnIndex: false,
            offsetIndex: true,
          },
          pageData: leaf.pageData(),
        });
        columns.push(result.chunk);
        this.parquet.pendingIndexes.push(result);
        uncompressed += result.chunk.meta_data?.total_uncompressed_size ?? 0n;
      }
    } catch (error) {
      // The byte writer holds part of a row group: the file cannot be finished.
      this.failure = new MwiError(
        'MWI_PARQUET_ENCODE',
        `${this.sink.path}: row group of records ${this.records - rows}–${this.records - 1} could not be encoded: ${describeError(error)}`,
        { cause: error },
      );
      throw this.failure;
    } finally {
      this.shredder.reset();
      this.groupRows = 0;
    }
    this.parquet.num_rows += BigInt(rows);
    this.parquet.row_groups.push({
      columns,
      total_byte_size: uncompressed,
      num_rows: BigInt(rows),
      total_compressed_size: BigInt(this.byteWriter.offset - start),
    });
    this.byteWriter.flush();
  }

  private handOver(bytes: Uint8Array): void {
    this.writesInFlight += 1;
    this.chain = this.chain
      .then(async () => {
        if (this.failure !== undefined) return;
        await this.sink.write(bytes);
        this.bytes += bytes.length;
      })
      .catch((error: unknown) => {
        this.failure ??= error;
      })
      .finally(() => {
        this.writesInFlight -= 1;
      });
  }

  private withPath(error: unknown, what: string): unknown {
    if (error instanceof MwiError && error.code === 'MWI_PARQUET_ENCODE') {
      return new MwiError('MWI_PARQUET_ENCODE', `${this.sink.path}: ${what}: ${error.message}`, {
        cause: error.cause,
      });
    }
    return error;
  }

  private checkOpen(): void {
    if (this.failure instanceof MwiError && this.failure.code === 'MWI_PARQUET_ENCODE') throw this.failure;
    if (this.failure !== undefined) {
      throw new MwiError('MWI_FS_IO', `writing ${this.sink.path} failed: ${describeError(this.failure)}`, {
        cause: this.failure,
        canRetry: true,
      });
    }
    if (this.done)
      throw new MwiError('MWI_USAGE', `${this.sink.path}: the Parquet file was already finished`);
  }
}

function positive(key: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new MwiError('MWI_CONFIG_INVALID', `Parquet ${key} must be a positive integer, got ${value}`);
  }
  return value;
}
