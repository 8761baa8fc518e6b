/**
 * The benchmarks' topic contents: `count` messages of one schema (no malformed ones), record times
 * spread over five hours ending an hour ago, planned in chunks of 100,000 so memory stays flat.
 * Deterministic for a given count: the same seeds as every earlier benchmark run.
 */
import { type PlannedMessage, planTraffic } from '../src/demo/traffic.js';
import { HOUR_MS } from '../src/hours/hour.js';
import type { KafkaSource } from '../src/kafka/client.js';
import type { MessageCodec } from '../src/schemas/codec.js';
import type { SchemaRegistry } from '../src/schemas/registry.js';

const CHUNK = 100_000;

export function* benchTraffic(
  registry: SchemaRegistry,
  codec: MessageCodec,
  options: { topic: string; schemaName: string; count: number; partitions: number; revisions?: bigint[] },
): Generator<PlannedMessage[]> {
  const { topic, schemaName, count, partitions, revisions } = options;
  const now = Date.now();
  for (let done = 0; done < count; done += CHUNK) {
    const n = Math.min(CHUNK, count - done);
    yield planTraffic(registry, codec, {
      topics: [{ topic, schemaName, partitions }],
      messagesPerTopic: n,
      fromMs: now - 6 * HOUR_MS + (done / count) * 5 * HOUR_MS,
      toMs: now - 6 * HOUR_MS + ((done + n) / count) * 5 * HOUR_MS,
      badRatio: 0,
      seed: 1 + done,
      ...(revisions === undefined ? {} : { revisions: { [schemaName]: revisions } }),
    });
  }
}

/** The bytes of every message value in the topic, read through the project's Kafka source. */
export async function topicValueBytes(source: KafkaSource, topic: string): Promise<number> {
  let bytes = 0;
  for (const p of await source.partitionOffsets(topic)) {
    for await (const batch of source.read({ topic, partition: p.partition, from: p.earliest, to: p.latest }))
      for (const r of batch) bytes += r.value?.length ?? 0;
  }
  return bytes;
}
