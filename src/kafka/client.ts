/**
 * The Kafka seam. The ingest never talks to a client library directly: it reads bounded offset
 * ranges of single partitions and, for monitoring only, commits consumer-group offsets.
 * The implementation is chosen by measurement (docs/kafka-clients.md).
 */

export interface KafkaConnection {
  /** `host:port` list. */
  brokers: string[];
  clientId?: string;
  ssl?: boolean | { ca?: string; cert?: string; key?: string; rejectUnauthorized?: boolean };
  sasl?:
    | { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string }
    | { mechanism: 'gssapi'; principal: string; keytab: string; serviceName: string }
    | {
        mechanism: 'oauthbearer';
        tokenEndpointUrl: string;
        clientId: string;
        clientSecret: string;
        scope?: string;
      };
  /** More librdkafka properties, applied last (the job's `kafka.properties`, validated there). */
  properties?: Record<string, string | number | boolean>;
  /** Milliseconds to wait for a connection before failing with `MWI_KAFKA_UNAVAILABLE`. @defaultValue 10000 */
  connectTimeoutMs?: number;
}

export interface PartitionOffsets {
  partition: number;
  /** The first offset still in the log (log start offset). */
  earliest: bigint;
  /** The high watermark: the offset the next produced record will get. */
  latest: bigint;
}

export interface KafkaRecord {
  partition: number;
  offset: bigint;
  /** The message value; `null` for a tombstone. */
  value: Buffer | null;
  key: Buffer | null;
  /**
   * Broker or producer timestamp, milliseconds since the epoch, as the broker sent it: hostile, it
   * may be −1 (none) or outside what a Date holds. Read it through `kafkaTimeMs`.
   */
  timestamp: number;
}

export interface ReadRange {
  topic: string;
  partition: number;
  /** First offset to read (inclusive). */
  from: bigint;
  /** Offset to stop before (exclusive), normally the high watermark snapshotted when the run started. */
  to: bigint;
}

export interface KafkaSource {
  /** Topic names, internal topics excluded. */
  listTopics(): Promise<string[]>;
  /** Earliest and latest offsets of every partition of a topic, ordered by partition. */
  partitionOffsets(topic: string): Promise<PartitionOffsets[]>;
  /**
   * Kafka's offsets-for-times: per partition of `topic`, the first offset whose record timestamp is at
   * or after `ms`; `null` for a partition with no such record (every record is older).
   */
  offsetsForTime(topic: string, ms: number): Promise<Map<number, bigint | null>>;
  /**
   * Reads the records of one partition with offsets in `[from, to)`, in offset order, in batches.
   * Offsets absent from the log (compaction, transaction markers) are simply not yielded; the
   * iteration ends normally only once the whole range is covered: a record at or beyond `to - 1` was
   * seen, or Kafka's fetch position passed `to - 1`. A log that ends before `to` throws
   * `MWI_KAFKA_LOG_ENDED_EARLY` (retryable): the unread offsets are never absent.
   * Does not join a consumer group and commits nothing. Aborting `signal` ends the iteration.
   */
  read(range: ReadRange, signal?: AbortSignal): AsyncIterable<KafkaRecord[]>;
  /** Commits consumer-group offsets, for lag monitoring only (never the source of truth). */
  commitGroupOffsets(
    group: string,
    topic: string,
    offsets: { partition: number; offset: bigint }[],
  ): Promise<void>;
  /** Committed consumer-group offsets of a topic (missing partitions are absent). */
  groupOffsets(group: string, topic: string): Promise<Map<number, bigint>>;
  close(): Promise<void>;
}

export interface ProduceRecord {
  value: Buffer;
  key?: Buffer | null;
  partition?: number;
  /** Milliseconds since the epoch. */
  timestamp?: number;
}

/** For the demo, tests and benchmarks. */
export interface KafkaSink {
  createTopic(topic: string, partitions: number): Promise<void>;
  deleteTopic(topic: string): Promise<void>;
  produce(topic: string, records: ProduceRecord[]): Promise<void>;
  close(): Promise<void>;
}
