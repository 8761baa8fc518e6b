/**
 * Reads bounded offset ranges [from, to) of partitions of one topic as record blocks: one Fetch
 * request per round for every unfinished partition, and the next request sent as soon as a
 * response has arrived (its batch headers give the next offsets), so the broker prepares the next
 * response while this thread decompresses and walks the current one. At most two responses are
 * held: memory is bounded by 2 × maxBytes plus one decompressed batch.
 */
import { type FetchedPartition, Fetcher, topicLeaders } from './fetch.js';
import {
  batchHeaders,
  batchRecords,
  batchRecordsSync,
  isControl,
  RecordBlock,
  walkBatch,
} from './record-batches.js';

export interface RangeRead {
  brokers: string[];
  topic: string;
  ranges: { partition: number; from: number; to: number }[];
  /** Bytes per partition per fetch. */
  partitionMaxBytes: number;
  /** Bytes per fetch. */
  maxBytes: number;
  /** Decompress on libuv's pool (await per batch) instead of on this thread. */
  asyncDecompress?: boolean;
}

const OFFSET_OUT_OF_RANGE = 1;

export async function readRanges(
  read: RangeRead,
  onBlock: (partition: number, block: RecordBlock) => void,
): Promise<void> {
  const { topicId, leaders } = await topicLeaders(read.brokers, read.topic);
  const byBroker = new Map<string, RangeRead['ranges']>();
  for (const range of read.ranges) {
    const leader = leaders.get(range.partition);
    if (leader === undefined) throw new Error(`${read.topic} has no partition ${range.partition}`);
    const key = `${leader.host}:${leader.port}`;
    byBroker.set(key, [...(byBroker.get(key) ?? []), range]);
  }
  await Promise.all(
    [...byBroker].map(async ([key, ranges]) => {
      const [host, port] = [key.slice(0, key.lastIndexOf(':')), Number(key.slice(key.lastIndexOf(':') + 1))];
      const fetcher = await Fetcher.open(host, port, topicId);
      try {
        await readFromBroker(fetcher, read, ranges, onBlock);
      } finally {
        await fetcher.close();
      }
    }),
  );
}

async function readFromBroker(
  fetcher: Fetcher,
  read: RangeRead,
  ranges: RangeRead['ranges'],
  onBlock: (partition: number, block: RecordBlock) => void,
): Promise<void> {
  const next = new Map(ranges.map((r) => [r.partition, r.from]));
  const end = new Map(ranges.map((r) => [r.partition, r.to]));
  const open = () => ranges.filter((r) => next.get(r.partition)! < r.to);
  const request = () =>
    fetcher.fetch(
      open().map((r) => ({
        partition: r.partition,
        offset: next.get(r.partition)!,
        maxBytes: read.partitionMaxBytes,
      })),
      read.maxBytes,
    );
  const block = new RecordBlock();
  let pending: Promise<FetchedPartition[]> | undefined = open().length > 0 ? request() : undefined;
  try {
    await walkResponses();
  } finally {
    // A failure while the next request is out: its answer is no longer wanted.
    pending?.catch(() => {});
  }

  async function walkResponses(): Promise<void> {
    while (pending !== undefined) {
      const response = await pending;
      const walks: { partition: FetchedPartition; headers: ReturnType<typeof batchHeaders>; from: number }[] =
        [];
      for (const partition of response) {
        const from = next.get(partition.partition)!;
        if (partition.errorCode === OFFSET_OUT_OF_RANGE)
          throw new Error(
            `partition ${partition.partition}: offset ${from} is no longer in the log (log start ${partition.logStartOffset})`,
          );
        if (partition.errorCode !== 0)
          throw new Error(`partition ${partition.partition}: fetch error code ${partition.errorCode}`);
        const headers = batchHeaders(partition.records);
        const last = headers.at(-1);
        if (last !== undefined) next.set(partition.partition, Math.max(from, last.lastOffset + 1));
        else if (partition.highWatermark <= from)
          next.set(partition.partition, end.get(partition.partition)!); // the log ends before `to`
        walks.push({ partition, headers, from });
      }
      pending = open().length > 0 ? request() : undefined;
      for (const { partition, headers, from } of walks) {
        const to = end.get(partition.partition)!;
        for (const header of headers) {
          if (isControl(header) || header.lastOffset < from || header.baseOffset >= to) continue;
          const data = read.asyncDecompress
            ? await batchRecords(partition.records, header)
            : batchRecordsSync(partition.records, header);
          if (walkBatch(partition.records, header, data, from, to, block) > 0)
            onBlock(partition.partition, block);
        }
      }
    }
  }
}
