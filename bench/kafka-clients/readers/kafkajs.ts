/**
 * kafkajs 2.2.4. It has no explicit partition assignment: the only public way to read is to join
 * a consumer group (a fresh one per run, deleted afterwards), subscribe, and `seek` each partition
 * to its start offset. It ships only gzip; snappy comes from the project's `snappy` package here
 * (raw and xerial-framed blocks); lz4 and zstd would need more codec packages and are not registered.
 */
import { FETCH_MAX_BYTES, importClient, PARTITION_MAX_BYTES, readSpec, report, Tally } from './harness.js';

interface Batch {
  partition: number;
  messages: { offset: string; value: Buffer | null }[];
}
interface Consumer {
  connect(): Promise<void>;
  subscribe(options: { topics: string[]; fromBeginning: boolean }): Promise<void>;
  run(options: {
    autoCommit: boolean;
    eachBatchAutoResolve: boolean;
    eachBatch(payload: { batch: Batch }): Promise<void>;
  }): Promise<void>;
  seek(options: { topic: string; partition: number; offset: string }): void;
  disconnect(): Promise<void>;
}
interface Kafka {
  consumer(options: Record<string, unknown>): Consumer;
  admin(): {
    connect(): Promise<void>;
    deleteGroups(groups: string[]): Promise<unknown>;
    disconnect(): Promise<void>;
  };
}
type Module = {
  Kafka: new (options: Record<string, unknown>) => Kafka;
  CompressionTypes: { Snappy: number };
  CompressionCodecs: Record<number, () => unknown>;
  logLevel: { ERROR: number };
};

const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);

async function snappyCodec(): Promise<() => unknown> {
  const { uncompressSync, compressSync } = await import('snappy');
  const decompress = (buffer: Buffer): Buffer => {
    if (!buffer.subarray(0, 8).equals(XERIAL_MAGIC)) return uncompressSync(buffer) as Buffer;
    // xerial framing (Java producers): 16-byte header, then [int32 length][raw snappy block]…
    const blocks: Buffer[] = [];
    for (let at = 16; at < buffer.length; ) {
      const length = buffer.readInt32BE(at);
      blocks.push(uncompressSync(buffer.subarray(at + 4, at + 4 + length)) as Buffer);
      at += 4 + length;
    }
    return Buffer.concat(blocks);
  };
  return () => ({
    compress: async (encoder: { buffer: Buffer }) => compressSync(encoder.buffer),
    decompress: async (buffer: Buffer) => decompress(buffer),
  });
}

const spec = readSpec();
const tally = await Tally.create(spec);
const kafkajs = await importClient<Module>('kafkajs');
kafkajs.CompressionCodecs[kafkajs.CompressionTypes.Snappy] = await snappyCodec();
const kafka = new kafkajs.Kafka({
  clientId: 'kbench',
  brokers: spec.brokers,
  logLevel: kafkajs.logLevel.ERROR,
});
const groupId = `kbench-kafkajs-${process.pid}-${Date.now()}`;
const consumer = kafka.consumer({
  groupId,
  maxBytesPerPartition: PARTITION_MAX_BYTES,
  maxBytes: FETCH_MAX_BYTES,
  maxWaitTimeInMs: 500,
});
await consumer.connect();
await consumer.subscribe({ topics: [spec.topic], fromBeginning: true });
const done = new Promise<void>((resolve, reject) => {
  consumer
    .run({
      autoCommit: false,
      eachBatchAutoResolve: true,
      eachBatch: async ({ batch }) => {
        for (const message of batch.messages)
          tally.add(batch.partition, BigInt(message.offset), message.value);
        if (tally.isDone()) resolve();
      },
    })
    .catch(reject);
});
for (const { partition, from } of spec.partitions)
  consumer.seek({ topic: spec.topic, partition, offset: from });
await done;
const result = tally.result('kafkajs');
await consumer.disconnect();
const admin = kafka.admin();
await admin.connect();
await admin.deleteGroups([groupId]);
await admin.disconnect();
report(result);
