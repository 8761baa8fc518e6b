/**
 * Kafka Fetch requests on @platformatic/kafka's connection (its sockets, TLS, SASL and request
 * framing; its Fetch v17 request writer), with a response parser of our own that keeps each
 * partition's records as the raw bytes the broker sent instead of an object per record.
 */
import { Admin, Connection, fetchV17, type Reader } from '@platformatic/kafka';

export interface PartitionFetch {
  partition: number;
  /** Offset to fetch from. */
  offset: number;
  maxBytes: number;
}

export interface FetchedPartition {
  partition: number;
  errorCode: number;
  highWatermark: number;
  logStartOffset: number;
  /** The record batches as sent; empty when there were none. */
  records: Buffer<ArrayBufferLike>;
}

const FETCH_API_KEY = 1;
const FETCH_VERSION = 17;
const READ_UNCOMMITTED = 0;
const EMPTY: Buffer<ArrayBufferLike> = Buffer.alloc(0);

/** Fetch v17 response, records kept raw (see the Kafka protocol guide for the field list). */
function parseFetchResponse(_correlationId: number, _apiKey: number, _apiVersion: number, reader: Reader) {
  reader.readInt32(); // throttle_time_ms
  const errorCode = reader.readInt16();
  if (errorCode !== 0) throw new Error(`fetch failed with error code ${errorCode}`);
  reader.readInt32(); // session_id
  const partitions: FetchedPartition[] = [];
  reader.readArray((topic) => {
    topic.readUUID();
    topic.readArray((r) => {
      const partition = r.readInt32();
      const partitionError = r.readInt16();
      const highWatermark = Number(r.readInt64());
      r.readInt64(); // last_stable_offset
      const logStartOffset = Number(r.readInt64());
      r.readNullableArray((a) => {
        a.readInt64();
        a.readInt64();
      });
      r.readInt32(); // preferred_read_replica
      const size = r.readUnsignedVarInt();
      let records = EMPTY;
      if (size > 1) {
        // One contiguous Buffer: a view when the bytes arrived in one socket chunk, else one copy.
        records = r.buffer.slice(r.position, r.position + size - 1);
        r.skip(size - 1);
      }
      partitions.push({ partition, errorCode: partitionError, highWatermark, logStartOffset, records });
    });
  });
  return partitions;
}

export interface TopicLeaders {
  topicId: string;
  /** host:port of each partition's leader. */
  leaders: Map<number, { host: string; port: number }>;
}

export async function topicLeaders(brokers: string[], topic: string): Promise<TopicLeaders> {
  const admin = new Admin({ clientId: 'kbench', bootstrapBrokers: brokers });
  try {
    const metadata = await admin.metadata({ topics: [topic] });
    const found = metadata.topics.get(topic);
    if (found === undefined) throw new Error(`topic ${topic} not found`);
    const leaders = new Map<number, { host: string; port: number }>();
    found.partitions.forEach((p, partition) => {
      const broker = metadata.brokers.get(p.leader);
      if (broker === undefined) throw new Error(`partition ${partition} of ${topic} has no leader`);
      leaders.set(partition, { host: broker.host, port: broker.port });
    });
    return { topicId: found.id, leaders };
  } finally {
    await admin.close();
  }
}

/** One connection to one broker, fetching partitions of one topic. */
export class Fetcher {
  private constructor(
    private readonly connection: Connection,
    private readonly topicId: string,
  ) {}

  static async open(host: string, port: number, topicId: string): Promise<Fetcher> {
    const connection = new Connection('kbench');
    await connection.connect(host, port);
    return new Fetcher(connection, topicId);
  }

  fetch(partitions: PartitionFetch[], maxBytes: number, maxWaitMs = 500): Promise<FetchedPartition[]> {
    return new Promise((resolve, reject) => {
      this.connection.send(
        FETCH_API_KEY,
        FETCH_VERSION,
        () =>
          fetchV17.createRequest(
            maxWaitMs,
            1,
            maxBytes,
            READ_UNCOMMITTED,
            0,
            -1, // no fetch session
            [
              {
                topicId: this.topicId,
                partitions: partitions.map((p) => ({
                  partition: p.partition,
                  currentLeaderEpoch: -1,
                  fetchOffset: BigInt(p.offset),
                  lastFetchedEpoch: -1,
                  partitionMaxBytes: p.maxBytes,
                })),
              },
            ],
            [],
            '',
          ),
        parseFetchResponse,
        true,
        true,
        (error: Error | null, result?: FetchedPartition[]) => (error ? reject(error) : resolve(result!)),
      );
    });
  }

  close(): Promise<void> {
    return this.connection.close();
  }
}
