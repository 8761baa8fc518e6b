/**
 * @platformatic/kafka 2.x, through its public low-level `Consumer.fetch`: one Fetch request per
 * round for all unfinished partitions at their own offsets, no group join (the `groupId` option is
 * mandatory but only used by `consume()`, which this does not call).
 */
import { FETCH_MAX_BYTES, importClient, PARTITION_MAX_BYTES, readSpec, report, Tally } from './harness.js';

interface Batch {
  firstOffset: bigint;
  attributes: number;
  lastOffsetDelta: number;
  records: { offsetDelta: number; value: Buffer | null }[];
}
interface FetchPartition {
  partitionIndex: number;
  errorCode: number;
  records?: Batch[];
}
interface Consumer {
  metadata(options: { topics: string[] }): Promise<{
    topics: Map<string, { id: string; partitions: { leader: number; leaderEpoch: number }[] }>;
  }>;
  fetch(options: object): Promise<{ responses: { partitions: FetchPartition[] }[] }>;
  close(): Promise<void>;
}
type Module = { Consumer: new (options: Record<string, unknown>) => Consumer };

const IS_CONTROL = 0x20;
const spec = readSpec();
const tally = await Tally.create(spec);
const { Consumer } = await importClient<Module>('@platformatic/kafka');
const consumer = new Consumer({
  clientId: 'kbench',
  groupId: 'kbench-unused',
  bootstrapBrokers: spec.brokers,
});
const metadata = await consumer.metadata({ topics: [spec.topic] });
const topic = metadata.topics.get(spec.topic)!;
const next = new Map(spec.partitions.map((p) => [p.partition, BigInt(p.from)]));
while (!tally.isDone()) {
  const open = spec.partitions.filter((p) => !tally.isDone(p.partition));
  const response = await consumer.fetch({
    node: topic.partitions[open[0]!.partition]!.leader, // one broker here; a real reader groups by leader
    maxWaitTime: 500,
    minBytes: 1,
    maxBytes: FETCH_MAX_BYTES,
    topics: [
      {
        topicId: topic.id,
        partitions: open.map((p) => ({
          partition: p.partition,
          currentLeaderEpoch: -1,
          fetchOffset: next.get(p.partition)!,
          lastFetchedEpoch: -1,
          partitionMaxBytes: PARTITION_MAX_BYTES,
        })),
      },
    ],
  });
  for (const partition of response.responses[0]?.partitions ?? []) {
    const from = next.get(partition.partitionIndex)!;
    if (partition.errorCode !== 0)
      throw new Error(`fetch error ${partition.errorCode} on ${partition.partitionIndex}`);
    for (const batch of partition.records ?? []) {
      next.set(partition.partitionIndex, batch.firstOffset + BigInt(batch.lastOffsetDelta) + 1n);
      if ((batch.attributes & IS_CONTROL) !== 0) continue;
      for (const record of batch.records) {
        const offset = batch.firstOffset + BigInt(record.offsetDelta);
        // A fetch starts at the batch holding the asked offset: records before it come along.
        if (offset >= from) tally.add(partition.partitionIndex, offset, record.value);
      }
    }
  }
}
const result = tally.result('platformatic');
await consumer.close();
report(result);
