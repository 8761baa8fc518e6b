import type { KafkaRecord } from './kafka-client.js';

/**
 * A batch of Kafka records packed into one ArrayBuffer, so a reader thread can hand it to the
 * ingest thread without copying (the buffer is transferred, not cloned) and the ingest thread
 * only makes views into it.
 *
 *   header   Int32 count, Int32 partition
 *   offsets  BigInt64[count]
 *   times    Float64[count]           Kafka timestamps (ms)
 *   lengths  Int32[2 × count]         value, key byte lengths; -1 for null
 *   bytes    value and key bytes of every record, in order
 */
export function packBatch(records: KafkaRecord[], partition: number): ArrayBuffer {
  const count = records.length;
  let bytes = 0;
  for (const record of records) bytes += (record.value?.length ?? 0) + (record.key?.length ?? 0);
  const fixed = 8 + count * 8 + count * 8 + count * 8;
  const buffer = new ArrayBuffer(fixed + bytes);
  const header = new Int32Array(buffer, 0, 2);
  header[0] = count;
  header[1] = partition;
  const offsets = new BigInt64Array(buffer, 8, count);
  const times = new Float64Array(buffer, 8 + count * 8, count);
  const lengths = new Int32Array(buffer, 8 + count * 16, count * 2);
  const out = new Uint8Array(buffer, fixed);
  let at = 0;
  for (let i = 0; i < count; i++) {
    const record = records[i]!;
    offsets[i] = record.offset;
    times[i] = record.timestamp;
    lengths[2 * i] = record.value === null ? -1 : record.value.length;
    lengths[2 * i + 1] = record.key === null ? -1 : record.key.length;
    if (record.value !== null) {
      out.set(record.value, at);
      at += record.value.length;
    }
    if (record.key !== null) {
      out.set(record.key, at);
      at += record.key.length;
    }
  }
  return buffer;
}

/** The records of a packed batch; values and keys are views into `buffer`. */
export function unpackBatch(buffer: ArrayBuffer): KafkaRecord[] {
  const header = new Int32Array(buffer, 0, 2);
  const count = header[0]!;
  const partition = header[1]!;
  const offsets = new BigInt64Array(buffer, 8, count);
  const times = new Float64Array(buffer, 8 + count * 8, count);
  const lengths = new Int32Array(buffer, 8 + count * 16, count * 2);
  let at = 8 + count * 24;
  const records: KafkaRecord[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const valueLength = lengths[2 * i]!;
    const keyLength = lengths[2 * i + 1]!;
    let value: Buffer | null = null;
    if (valueLength >= 0) {
      value = Buffer.from(buffer, at, valueLength);
      at += valueLength;
    }
    let key: Buffer | null = null;
    if (keyLength >= 0) {
      key = Buffer.from(buffer, at, keyLength);
      at += keyLength;
    }
    records[i] = { partition, offset: offsets[i]!, value, key, timestamp: times[i]! };
  }
  return records;
}
