/**
 * The Kafka seam (client.ts) implemented with @confluentinc/kafka-javascript, the librdkafka
 * binding: chosen by measurement and because it alone reads snappy, gzip, lz4 and zstd batches on
 * Node 20 (docs/kafka-clients.md).
 *
 * Reads use one consumer per range, assigned explicitly (read.ts); offsets and metadata come
 * from the admin client (admin.ts); consumer-group offsets are committed by a consumer that
 * names the group but never joins it.
 */
import rdkafka, {
  type KafkaConsumer,
  type LibrdKafkaError,
  type Producer,
} from '@confluentinc/kafka-javascript';
import { MwiError } from '../errors.js';
import { KafkaAdmin } from './admin.js';
import type {
  KafkaConnection,
  KafkaRecord,
  KafkaSink,
  KafkaSource,
  PartitionOffsets,
  ProduceRecord,
  ReadRange,
} from './client.js';
import { committerConfig, connectTimeoutOf, producerConfig } from './config.js';
import { ClientErrorCodes, kafkaError } from './errors.js';
import { disconnect, readPartitionRange } from './read.js';

/** Opens a source; fails with MWI_KAFKA_UNAVAILABLE (canRetry) when no broker answers within `connectTimeoutMs`. */
export async function openKafkaSource(connection: KafkaConnection): Promise<KafkaSource> {
  return new LibrdkafkaSource(connection, await KafkaAdmin.open(connection));
}

/** Opens a sink (demo, tests, benchmarks); fails like {@link openKafkaSource} when no broker answers. */
export async function openKafkaSink(connection: KafkaConnection): Promise<KafkaSink> {
  const admin = await KafkaAdmin.open(connection);
  try {
    const producer = new rdkafka.Producer(producerConfig(connection));
    await new Promise<void>((resolve, reject) =>
      producer.connect({ allTopics: false, timeout: connectTimeoutOf(connection) }, (error) =>
        error ? reject(kafkaError(connection, 'connecting a producer', error)) : resolve(),
      ),
    );
    // Delivery reports are served by librdkafka's background thread, no JS timer needed.
    producer.setPollInBackground(true);
    return new LibrdkafkaSink(connection, admin, producer);
  } catch (error) {
    admin.close();
    throw error;
  }
}

class LibrdkafkaSource implements KafkaSource {
  /** Closers of the readers still running, so `close` can stop them. */
  private readonly readers = new Set<() => Promise<void>>();
  private closed = false;

  constructor(
    private readonly connection: KafkaConnection,
    private readonly admin: KafkaAdmin,
  ) {}

  listTopics(): Promise<string[]> {
    this.assertOpen();
    return this.admin.listTopics();
  }

  async partitionOffsets(topic: string): Promise<PartitionOffsets[]> {
    this.assertOpen();
    const offsets = await this.admin.partitionOffsets(topic);
    if (offsets.length === 0) {
      throw new MwiError(
        'MWI_KAFKA_UNKNOWN_TOPIC',
        `Kafka (${this.connection.brokers.join(',')}) has no topic ${topic}: check the topic name in the job, or create the topic.`,
        { details: { topic } },
      );
    }
    return offsets;
  }

  offsetsForTime(topic: string, ms: number): Promise<Map<number, bigint | null>> {
    this.assertOpen();
    return this.admin.offsetsForTime(topic, ms);
  }

  read(range: ReadRange, signal?: AbortSignal): AsyncIterable<KafkaRecord[]> {
    this.assertOpen();
    return readPartitionRange(this.connection, range, {
      ...(signal === undefined ? {} : { signal }),
      track: (close) => {
        this.readers.add(close);
        return () => this.readers.delete(close);
      },
    });
  }

  async commitGroupOffsets(
    group: string,
    topic: string,
    offsets: { partition: number; offset: bigint }[],
  ): Promise<void> {
    this.assertOpen();
    if (offsets.length === 0) return;
    const what = `committing offsets of consumer group ${group} for topic ${topic}`;
    const committer = new rdkafka.KafkaConsumer(committerConfig(this.connection, group));
    try {
      await new Promise<void>((resolve, reject) =>
        committer.connect({ topic, allTopics: false, timeout: connectTimeoutOf(this.connection) }, (error) =>
          error ? reject(kafkaError(this.connection, what, error, topic)) : resolve(),
        ),
      );
      const list = offsets.map(({ partition, offset }) => ({ topic, partition, offset: Number(offset) }));
      // commitCb commits on a worker thread (commitSync would block the event loop); a group with
      // active members refuses a commit from a non-member (ILLEGAL_GENERATION / UNKNOWN_MEMBER_ID).
      await new Promise<void>((resolve, reject) =>
        (committer as KafkaConsumer & Committer).commitCb(list, (error) =>
          error ? reject(kafkaError(this.connection, what, error, topic)) : resolve(),
        ),
      );
    } finally {
      await disconnect(committer);
    }
  }

  groupOffsets(group: string, topic: string): Promise<Map<number, bigint>> {
    this.assertOpen();
    return this.admin.groupOffsets(group, topic);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.readers].map((close) => close()));
    this.admin.close();
  }

  private assertOpen(): void {
    if (this.closed) throw new MwiError('MWI_USAGE', 'this Kafka source was closed');
  }
}

/** commitCb exists in the binding (lib/kafka-consumer.js) but not in its type declarations. */
interface Committer {
  commitCb(
    offsets: { topic: string; partition: number; offset: number }[],
    callback: (error: LibrdKafkaError | null) => void,
  ): void;
}

class LibrdkafkaSink implements KafkaSink {
  constructor(
    private readonly connection: KafkaConnection,
    private readonly admin: KafkaAdmin,
    private readonly producer: Producer,
  ) {}

  createTopic(topic: string, partitions: number): Promise<void> {
    return this.admin.createTopic(topic, partitions);
  }

  deleteTopic(topic: string): Promise<void> {
    return this.admin.deleteTopic(topic);
  }

  /** Produces every record and resolves once the broker acknowledged all of them (acks=all). */
  async produce(topic: string, records: ProduceRecord[]): Promise<void> {
    if (records.length === 0) return;
    const what = `producing ${records.length} records to ${topic}`;
    let pending = records.length;
    let failure: unknown;
    let settle: () => void = () => {};
    const settled = new Promise<void>((resolve) => {
      settle = resolve;
    });
    // Delivery reports carry the opaque token, so concurrent produce calls count only their own.
    const token = {};
    const onReport = (error: LibrdKafkaError | null, report: { opaque?: unknown }) => {
      if (report?.opaque !== token) return;
      if (error && failure === undefined) failure = error;
      pending -= 1;
      if (pending === 0) settle();
    };
    this.producer.on('delivery-report', onReport);
    try {
      for (const record of records) {
        for (;;) {
          try {
            this.producer.produce(
              topic,
              record.partition ?? null,
              record.value,
              record.key ?? null,
              record.timestamp ?? null,
              token,
            );
            break;
          } catch (error) {
            // The local queue is full: let deliveries drain it, then try the same record again.
            if ((error as LibrdKafkaError).code !== ClientErrorCodes.ERR__QUEUE_FULL) throw error;
            await new Promise((resolve) => setTimeout(resolve, 20));
          }
        }
      }
      await new Promise<void>((resolve, reject) =>
        this.producer.flush(producerConfig(this.connection)['message.timeout.ms'] as number, (error) =>
          error ? reject(error) : resolve(),
        ),
      );
      await settled;
    } catch (error) {
      throw kafkaError(this.connection, what, error, topic);
    } finally {
      this.producer.removeListener('delivery-report', onReport);
    }
    if (failure !== undefined) throw kafkaError(this.connection, what, failure, topic);
  }

  async close(): Promise<void> {
    await disconnect(this.producer);
    this.admin.close();
  }
}
