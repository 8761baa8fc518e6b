/**
 * @confluentinc/kafka-javascript (librdkafka), through its node-rdkafka style API: explicit
 * `assign` with start offsets, no group join, `consume(n)` batches.
 */
import { FETCH_MAX_BYTES, importClient, PARTITION_MAX_BYTES, readSpec, report, Tally } from './harness.js';

interface Message {
  value: Buffer | null;
  partition: number;
  offset: number;
}
interface Consumer {
  connect(options: object, callback: (error: Error | null) => void): void;
  assign(assignments: { topic: string; partition: number; offset: number }[]): void;
  consume(count: number, callback: (error: Error | null, messages: Message[]) => void): void;
  setDefaultIsTimeoutOnlyForFirstMessage(value: boolean): void;
  disconnect(callback: () => void): void;
}
type Module = { KafkaConsumer: new (config: Record<string, unknown>) => Consumer };

const spec = readSpec();
const tally = await Tally.create(spec);
const { KafkaConsumer } = await importClient<Module>('@confluentinc/kafka-javascript');
const consumer = new KafkaConsumer({
  'bootstrap.servers': spec.brokers.join(','),
  'group.id': 'kbench-unused', // required by librdkafka's consumer; no subscribe, so the group is never joined
  'enable.auto.commit': false,
  'enable.auto.offset.store': false,
  'auto.offset.reset': 'error',
  'fetch.max.bytes': FETCH_MAX_BYTES,
  'max.partition.fetch.bytes': PARTITION_MAX_BYTES,
  'queued.max.messages.kbytes': 16 * 1024,
  'fetch.queue.backoff.ms': 10,
});
consumer.setDefaultIsTimeoutOnlyForFirstMessage(true);
await new Promise<void>((resolve, reject) =>
  consumer.connect({}, (error) => (error ? reject(error) : resolve())),
);
consumer.assign(
  spec.partitions.map((p) => ({ topic: spec.topic, partition: p.partition, offset: Number(p.from) })),
);
while (!tally.isDone()) {
  const messages = await new Promise<Message[]>((resolve, reject) =>
    consumer.consume(10_000, (error, batch) => (error ? reject(error) : resolve(batch))),
  );
  for (const message of messages) tally.add(message.partition, BigInt(message.offset), message.value);
}
const result = tally.result('confluent');
await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
report(result);
