/**
 * Promise wrappers over librdkafka's admin client, each with a timeout and its errors turned into
 * MwiErrors that name the brokers and the topic. Opening checks that a broker answers, so an
 * unreachable cluster fails at once with MWI_KAFKA_UNAVAILABLE instead of at the first use.
 */
import rdkafka, {
  type DeleteRecordsResult,
  type GroupResults,
  type IAdminClient,
  type LibrdKafkaError,
  type ListOffsetsResult,
  type TopicDescription,
} from '@confluentinc/kafka-javascript';
import { MwiError } from '../errors.js';
import type { KafkaConnection, PartitionOffsets } from './client.js';
import { connectionConfig, connectTimeoutOf } from './config.js';
import { kafkaError } from './errors.js';

type Callback<T> = (error: LibrdKafkaError | null | undefined, result: T) => void;

export class KafkaAdmin {
  private constructor(
    private readonly client: IAdminClient,
    readonly connection: KafkaConnection,
    private readonly timeout: number,
  ) {}

  static async open(connection: KafkaConnection): Promise<KafkaAdmin> {
    const client = rdkafka.AdminClient.create(connectionConfig(connection));
    const admin = new KafkaAdmin(client, connection, connectTimeoutOf(connection));
    try {
      await admin.listTopics();
    } catch (error) {
      client.disconnect();
      throw error;
    }
    return admin;
  }

  /** Topic names, internal ones (`__consumer_offsets`, `__transaction_state`, …) left out. */
  async listTopics(): Promise<string[]> {
    const topics = await this.call<string[]>('listing topics', undefined, (cb) =>
      this.client.listTopics({ timeout: this.timeout }, cb),
    );
    return topics.filter((name) => !name.startsWith('__')).sort();
  }

  /** The partition numbers of a topic, ascending. */
  async partitions(topic: string): Promise<number[]> {
    const [description] = await this.call<TopicDescription[]>(`describing topic ${topic}`, topic, (cb) =>
      this.client.describeTopics([topic], { timeout: this.timeout }, cb),
    );
    if (description?.error)
      throw kafkaError(this.connection, `describing topic ${topic}`, description.error, topic);
    return (description?.partitions ?? []).map((p) => p.partition).sort((a, b) => a - b);
  }

  /** Log start offset and high watermark of every partition of `topic`, ordered by partition. */
  async partitionOffsets(topic: string): Promise<PartitionOffsets[]> {
    const partitions = await this.partitions(topic);
    if (partitions.length === 0) return [];
    const at = async (spec: rdkafka.OffsetSpec, which: string) => {
      const what = `listing the ${which} offsets of topic ${topic}`;
      const results = await this.call<ListOffsetsResult[]>(what, topic, (cb) =>
        this.client.listOffsets(
          partitions.map((partition) => ({ topic, partition, offset: spec })),
          { timeout: this.timeout, isolationLevel: rdkafka.IsolationLevel.READ_UNCOMMITTED },
          cb,
        ),
      );
      const byPartition = new Map<number, bigint>();
      for (const result of results) {
        if (result.error) throw kafkaError(this.connection, what, result.error, topic);
        byPartition.set(result.partition, BigInt(result.offset));
      }
      return byPartition;
    };
    const earliest = await at(rdkafka.OffsetSpec.EARLIEST, 'earliest');
    const latest = await at(rdkafka.OffsetSpec.LATEST, 'latest');
    return partitions.map((partition) => {
      const first = earliest.get(partition);
      const end = latest.get(partition);
      if (first === undefined || end === undefined) {
        throw new MwiError('MWI_KAFKA_PROTOCOL', `Kafka did not return offsets for ${topic}/${partition}`);
      }
      return { partition, earliest: first, latest: end };
    });
  }

  /** Offsets-for-times: per partition, the first offset with a timestamp ≥ `ms`, or null when there is none. */
  async offsetsForTime(topic: string, ms: number): Promise<Map<number, bigint | null>> {
    const partitions = await this.partitions(topic);
    const what = `listing the offsets of topic ${topic} at ${new Date(ms).toISOString()}`;
    const results = await this.call<ListOffsetsResult[]>(what, topic, (cb) =>
      this.client.listOffsets(
        partitions.map((partition) => ({ topic, partition, offset: new rdkafka.OffsetSpec(ms) })),
        { timeout: this.timeout, isolationLevel: rdkafka.IsolationLevel.READ_UNCOMMITTED },
        cb,
      ),
    );
    const offsets = new Map<number, bigint | null>();
    for (const result of results) {
      if (result.error) throw kafkaError(this.connection, what, result.error, topic);
      // -1: no record at or after that time.
      offsets.set(result.partition, result.offset < 0 ? null : BigInt(result.offset));
    }
    return offsets;
  }

  /** Committed offsets of `group` for `topic`; partitions without a commit are absent. */
  async groupOffsets(group: string, topic: string): Promise<Map<number, bigint>> {
    const partitions = await this.partitions(topic);
    const what = `reading the offsets of consumer group ${group} for topic ${topic}`;
    const results = await this.call<GroupResults[]>(what, topic, (cb) =>
      this.client.listConsumerGroupOffsets(
        [{ groupId: group, partitions: partitions.map((partition) => ({ topic, partition })) }],
        { timeout: this.timeout },
        cb,
      ),
    );
    const offsets = new Map<number, bigint>();
    for (const result of results) {
      if (result.error) throw kafkaError(this.connection, what, result.error, topic);
      for (const p of result.partitions) {
        const error = (p as { error?: LibrdKafkaError }).error;
        if (error) throw kafkaError(this.connection, what, error, topic);
        // -1 (librdkafka's OFFSET_INVALID): no commit for that partition.
        if (p.topic === topic && p.offset >= 0) offsets.set(p.partition, BigInt(p.offset));
      }
    }
    return offsets;
  }

  async createTopic(topic: string, partitions: number): Promise<void> {
    await this.call<void>(`creating topic ${topic} with ${partitions} partitions`, topic, (cb) =>
      // replication_factor -1: the broker's default.replication.factor
      this.client.createTopic(
        { topic, num_partitions: partitions, replication_factor: -1 },
        this.timeout,
        (error) => cb(error, undefined),
      ),
    );
  }

  /** Deletes `topic`; a topic that does not exist counts as deleted. */
  async deleteTopic(topic: string): Promise<void> {
    try {
      await this.call<void>(`deleting topic ${topic}`, topic, (cb) =>
        this.client.deleteTopic(topic, this.timeout, (error) => cb(error, undefined)),
      );
    } catch (error) {
      if (error instanceof MwiError && error.code === 'MWI_KAFKA_UNKNOWN_TOPIC') return;
      throw error;
    }
  }

  /** Removes every record of `topic/partition` below `before` (Kafka's DeleteRecords); returns the new log start. */
  async deleteRecords(topic: string, partition: number, before: bigint): Promise<bigint> {
    const what = `deleting the records of ${topic}/${partition} below offset ${before}`;
    const [result] = await this.call<DeleteRecordsResult[]>(what, topic, (cb) =>
      this.client.deleteRecords(
        [{ topic, partition, offset: Number(before) }],
        { timeout: this.timeout },
        cb,
      ),
    );
    if (result?.error) throw kafkaError(this.connection, what, result.error, topic);
    return BigInt(result?.lowWatermark ?? -1);
  }

  /** Ids of the consumer groups the cluster knows (members or committed offsets). */
  async listGroups(): Promise<string[]> {
    const result = await this.call<{ groups: { groupId: string }[] }>(
      'listing consumer groups',
      undefined,
      (cb) => this.client.listGroups({ timeout: this.timeout }, cb),
    );
    return result.groups.map((group) => group.groupId).sort();
  }

  /** Deletes a consumer group that has no active members (and its committed offsets). */
  async deleteGroup(group: string): Promise<void> {
    const what = `deleting consumer group ${group}`;
    const [result] = await this.call<{ errorCode?: number; error?: LibrdKafkaError }[]>(
      what,
      undefined,
      (cb) => this.client.deleteGroups([group], { timeout: this.timeout }, cb),
    );
    if (result?.error) throw kafkaError(this.connection, what, result.error);
  }

  close(): void {
    this.client.disconnect();
  }

  private call<T>(what: string, topic: string | undefined, run: (callback: Callback<T>) => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      try {
        run((error, result) =>
          error ? reject(kafkaError(this.connection, what, error, topic)) : resolve(result),
        );
      } catch (error) {
        reject(kafkaError(this.connection, what, error, topic));
      }
    });
  }
}
