/**
 * The topics the client comparison reads: real MediaWiki Avro messages (the project's record
 * generator, as `npm run bench` produces them), ApiAction (~150 B) and CirrusSearchRequestSet
 * (~890 B) at the newest revision, in 4 partitions, each written with one compression codec by
 * librdkafka with MediaWiki's producer settings (linger.ms 5). A topic is kept between runs and
 * produced again only when it does not hold exactly the records asked for (its name carries the
 * dataset, the count and the codec).
 */
import rdkafka from '@confluentinc/kafka-javascript';
import { openKafkaSink, openKafkaSource } from '../../src/kafka/open.js';
import { MessageCodec } from '../../src/schemas/codec.js';
import { SchemaRegistry } from '../../src/schemas/registry.js';
import { mixedRegistryRoot } from '../../test/support/ingest.js';
import { benchTraffic, topicValueBytes } from '../traffic.js';

export const CODECS = ['snappy', 'gzip', 'lz4', 'zstd'] as const;
export type Codec = (typeof CODECS)[number];
export const PARTITIONS = 4;
const DATA_VERSION = 'v1';
const CIRRUS_NEWEST = 121456865906n;

export const DATASETS = {
  apiaction: { schemaName: 'ApiAction', revisions: undefined },
  cirrus: { schemaName: 'CirrusSearchRequestSet', revisions: [CIRRUS_NEWEST] },
} as const;
export type DatasetKey = keyof typeof DATASETS;

export interface BenchTopic {
  topic: string;
  dataset: DatasetKey;
  codec: Codec;
  records: number;
  /** Sum of the message values. */
  valueBytes: number;
  /** Log start and end offset of each partition when the topic was made or checked. */
  partitions: { partition: number; from: bigint; to: bigint }[];
}

export function topicName(dataset: DatasetKey, records: number, codec: Codec): string {
  return `kbench-${DATA_VERSION}-${dataset}-${records}-${codec}`;
}

/** Makes sure the topic holds exactly `records` messages of `dataset` written with `codec`. */
export async function ensureTopic(
  brokers: string[],
  dataset: DatasetKey,
  records: number,
  codec: Codec,
): Promise<BenchTopic> {
  const topic = topicName(dataset, records, codec);
  const connection = { brokers, clientId: 'kbench' };
  const source = await openKafkaSource(connection);
  try {
    let offsets = await source.partitionOffsets(topic).catch(() => undefined);
    const held = offsets?.reduce((sum, p) => sum + Number(p.latest - p.earliest), 0);
    if (held !== records) {
      const sink = await openKafkaSink(connection);
      try {
        if (offsets !== undefined) await sink.deleteTopic(topic);
        await sink.createTopic(topic, PARTITIONS);
      } finally {
        await sink.close();
      }
      const started = Date.now();
      process.stderr.write(
        `producing ${records} ${DATASETS[dataset].schemaName} records (${codec}) to ${topic} … `,
      );
      await produce(brokers, topic, dataset, records, codec);
      process.stderr.write(`${((Date.now() - started) / 1000).toFixed(0)} s\n`);
      offsets = await source.partitionOffsets(topic);
    }
    const valueBytes = await topicValueBytes(source, topic);
    return {
      topic,
      dataset,
      codec,
      records,
      valueBytes,
      partitions: offsets!.map((p) => ({ partition: p.partition, from: p.earliest, to: p.latest })),
    };
  } finally {
    await source.close();
  }
}

export async function deleteTopics(brokers: string[], topics: string[]): Promise<void> {
  const sink = await openKafkaSink({ brokers, clientId: 'kbench' });
  try {
    for (const topic of topics) await sink.deleteTopic(topic);
  } finally {
    await sink.close();
  }
}

async function produce(
  brokers: string[],
  topic: string,
  dataset: DatasetKey,
  records: number,
  codec: Codec,
): Promise<void> {
  const registry = await SchemaRegistry.load(await mixedRegistryRoot());
  const messageCodec = new MessageCodec(registry);
  const { schemaName, revisions } = DATASETS[dataset];
  const producer = new rdkafka.Producer({
    'metadata.broker.list': brokers.join(','),
    'client.id': 'kbench-producer',
    'compression.codec': codec,
    'linger.ms': 5,
    acks: -1,
    dr_cb: true,
    'queue.buffering.max.kbytes': 256 * 1024,
  });
  await new Promise<void>((resolve, reject) =>
    producer.connect({}, (error) => (error ? reject(error) : resolve())),
  );
  producer.setPollInBackground(true);
  let failed: { message: string } | undefined;
  let pending = 0;
  producer.on('delivery-report', (error) => {
    pending -= 1;
    if (error) failed ??= error;
  });
  for (const messages of benchTraffic(registry, messageCodec, {
    topic,
    schemaName,
    count: records,
    partitions: PARTITIONS,
    ...(revisions === undefined ? {} : { revisions: [...revisions] }),
  })) {
    for (const m of messages) {
      for (;;) {
        try {
          producer.produce(topic, m.partition, m.value, null, m.timestampMs);
          pending += 1;
          break;
        } catch (error) {
          // Queue full: let librdkafka send, then try again.
          if ((error as { code?: number }).code !== rdkafka.CODES.ERRORS.ERR__QUEUE_FULL) throw error;
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      }
    }
  }
  await new Promise<void>((resolve, reject) =>
    producer.flush(120_000, (error) => (error ? reject(error) : resolve())),
  );
  while (pending > 0 && failed === undefined) await new Promise((resolve) => setTimeout(resolve, 20));
  await new Promise<void>((resolve) => producer.disconnect(() => resolve()));
  if (failed !== undefined) throw new Error(`producing to ${topic} failed: ${failed.message}`);
}
