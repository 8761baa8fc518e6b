/**
 * Walks Kafka record batches (message format v2, the only one since Kafka 0.11) as the broker sent
 * them, without a JavaScript object per record: each batch's records are described by reused typed
 * arrays (offset, timestamp, where the value starts, its length) over the batch's bytes,
 * decompressed when the batch was compressed.
 *
 * Batch layout (bytes from the batch start): baseOffset int64 @0, batchLength int32 @8 (bytes after
 * it), partitionLeaderEpoch @12, magic int8 @16, crc @17, attributes int16 @21, lastOffsetDelta
 * int32 @23, baseTimestamp int64 @27, maxTimestamp int64 @35, producerId @43, producerEpoch @51,
 * baseSequence @53, recordCount int32 @57, records @61. A record: length, attributes int8,
 * timestampDelta, offsetDelta, key length + key, value length + value, header count + headers
 * (lengths are zig-zag varints, -1 = null).
 *
 * Everything from the wire is checked: lengths against the bytes there, offsets inside the batch
 * and ascending. Offsets and timestamps are numbers; an offset beyond 2^53 is refused.
 */
import { decompress, decompressSync, NONE } from './decompress.js';

const BATCH_HEADER = 61;
const LENGTH_END = 12; // baseOffset + batchLength
const COMPRESSION_BITS = 0x07;
const LOG_APPEND_TIME = 0x08;
const CONTROL = 0x20;
const MAX_SAFE_HIGH = 0x1fffff; // high 32 bits of an int64 that still fits in 2^53

/** The records of one batch, valid until the next batch is walked into the same block. */
export class RecordBlock {
  /** The bytes the value positions point into. */
  data: Buffer = Buffer.alloc(0);
  count = 0;
  offsets = new Float64Array(256);
  timestamps = new Float64Array(256);
  valueStarts = new Int32Array(256);
  /** -1 for a null value (tombstone). */
  valueLengths = new Int32Array(256);

  ensure(capacity: number): void {
    if (capacity <= this.offsets.length) return;
    let size = this.offsets.length;
    while (size < capacity) size *= 2;
    this.offsets = new Float64Array(size);
    this.timestamps = new Float64Array(size);
    this.valueStarts = new Int32Array(size);
    this.valueLengths = new Int32Array(size);
  }
}

export class RecordBatchError extends Error {}

function int64(buffer: Buffer, at: number, what: string): number {
  const high = buffer.readInt32BE(at);
  if (high > MAX_SAFE_HIGH || high < -MAX_SAFE_HIGH - 1) throw new RecordBatchError(`${what} beyond 2^53`);
  return high * 0x1_0000_0000 + buffer.readUInt32BE(at + 4);
}

// The position of the varint reader, kept outside so reading a varint allocates nothing.
let at = 0;

/** A zig-zag varint of up to 10 bytes (varlong), as a number (exact up to 2^53). */
function varint(buffer: Buffer, end: number): number {
  let shift = 0;
  let raw = 0;
  for (;;) {
    if (at >= end) throw new RecordBatchError('varint runs past the record');
    const byte = buffer[at++]!;
    raw += (byte & 0x7f) * 2 ** shift;
    if (byte < 0x80) break;
    shift += 7;
    if (shift > 63) throw new RecordBatchError('varint longer than 10 bytes');
  }
  // Zig-zag: even → n/2, odd → -(n+1)/2.
  return raw % 2 === 0 ? raw / 2 : -(raw + 1) / 2;
}

export interface BatchHeader {
  /** Where the batch starts in the records buffer. */
  start: number;
  /** Where it ends (exclusive). */
  end: number;
  baseOffset: number;
  lastOffset: number;
  attributes: number;
  recordCount: number;
}

/**
 * The complete batches in a partition's records bytes; a batch cut short by the fetch size limit
 * (the last one) is left out, to be fetched again from its offset.
 */
export function batchHeaders(records: Buffer): BatchHeader[] {
  const headers: BatchHeader[] = [];
  let start = 0;
  while (start + LENGTH_END <= records.length) {
    const batchLength = records.readInt32BE(start + 8);
    const end = start + LENGTH_END + batchLength;
    if (end > records.length) break; // partial batch
    if (batchLength < BATCH_HEADER - LENGTH_END)
      throw new RecordBatchError(
        `record batch at byte ${start}: length ${batchLength} is shorter than its header`,
      );
    const magic = records[start + 16];
    if (magic !== 2)
      throw new RecordBatchError(
        `record batch at byte ${start}: message format v${magic}; only v2 (Kafka ≥ 0.11) is read`,
      );
    const baseOffset = int64(records, start, 'base offset');
    const lastOffsetDelta = records.readInt32BE(start + 23);
    const recordCount = records.readInt32BE(start + 57);
    if (lastOffsetDelta < 0 || recordCount < 0 || recordCount > lastOffsetDelta + 1)
      throw new RecordBatchError(
        `record batch at offset ${baseOffset}: ${recordCount} records for offset delta ${lastOffsetDelta}`,
      );
    headers.push({
      start,
      end,
      baseOffset,
      lastOffset: baseOffset + lastOffsetDelta,
      attributes: records.readInt16BE(start + 21),
      recordCount,
    });
    start = end;
  }
  return headers;
}

export function isControl(header: BatchHeader): boolean {
  return (header.attributes & CONTROL) !== 0;
}

/** The records bytes of a batch, decompressed; synchronous. */
export function batchRecordsSync(records: Buffer, header: BatchHeader): Buffer {
  const body = records.subarray(header.start + BATCH_HEADER, header.end);
  const codec = header.attributes & COMPRESSION_BITS;
  return codec === NONE ? body : decompressSync(codec, body);
}

/** The records bytes of a batch, decompressed on the thread pool where the codec allows it. */
export function batchRecords(records: Buffer, header: BatchHeader): Buffer | Promise<Buffer> {
  const body = records.subarray(header.start + BATCH_HEADER, header.end);
  const codec = header.attributes & COMPRESSION_BITS;
  return codec === NONE ? body : decompress(codec, body);
}

/**
 * Fills `block` with the records of one batch (its bytes `data`, decompressed) whose offsets lie
 * in [from, to). Returns the number of records put in the block.
 */
export function walkBatch(
  records: Buffer,
  header: BatchHeader,
  data: Buffer,
  from: number,
  to: number,
  block: RecordBlock,
): number {
  const baseTimestamp = int64(records, header.start + 27, 'timestamp');
  const logAppendTime = (header.attributes & LOG_APPEND_TIME) !== 0;
  const maxTimestamp = logAppendTime ? int64(records, header.start + 35, 'timestamp') : 0;
  block.ensure(header.recordCount);
  block.data = data;
  const { offsets, timestamps, valueStarts, valueLengths } = block;
  let n = 0;
  let lastDelta = -1;
  at = 0;
  for (let i = 0; i < header.recordCount; i++) {
    const length = varint(data, data.length);
    const recordEnd = at + length;
    if (length < 0 || recordEnd > data.length)
      throw new RecordBatchError(
        `record ${i} of the batch at offset ${header.baseOffset} runs past the batch`,
      );
    at += 1; // attributes
    const timestampDelta = varint(data, recordEnd);
    const offsetDelta = varint(data, recordEnd);
    if (offsetDelta <= lastDelta || offsetDelta > header.lastOffset - header.baseOffset)
      throw new RecordBatchError(
        `record ${i} of the batch at offset ${header.baseOffset}: offset delta ${offsetDelta} out of order or past the batch`,
      );
    lastDelta = offsetDelta;
    const keyLength = varint(data, recordEnd);
    if (keyLength > 0) at += keyLength;
    const valueLength = varint(data, recordEnd);
    const valueStart = at;
    if (valueLength > 0) at += valueLength;
    if (at > recordEnd || keyLength < -1 || valueLength < -1)
      throw new RecordBatchError(
        `record ${i} of the batch at offset ${header.baseOffset}: key or value runs past the record`,
      );
    const offset = header.baseOffset + offsetDelta;
    at = recordEnd; // headers are not read
    if (offset < from || offset >= to) continue;
    offsets[n] = offset;
    timestamps[n] = logAppendTime ? maxTimestamp : baseTimestamp + timestampDelta;
    valueStarts[n] = valueStart;
    valueLengths[n] = valueLength;
    n++;
  }
  block.count = n;
  return n;
}
