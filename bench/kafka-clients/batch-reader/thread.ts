/**
 * Reads a share of the partitions, in the calling thread or (as a worker thread's entry point,
 * with the share as `workerData`) in a thread of its own, and reports per partition.
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import {
  BATCH_FETCH_MAX_BYTES,
  BATCH_PARTITION_MAX_BYTES,
  type PartitionResult,
  partitionResults,
  type ReadSpec,
  Tally,
} from '../readers/harness.js';
import { readRanges } from './read.js';

export async function readPartitions(spec: ReadSpec): Promise<PartitionResult[]> {
  const tallies = new Map<number, Tally>();
  for (const p of spec.partitions) tallies.set(p.partition, await Tally.create({ ...spec, partitions: [p] }));
  await readRanges(
    {
      brokers: spec.brokers,
      topic: spec.topic,
      ranges: spec.partitions.map((p) => ({
        partition: p.partition,
        from: Number(p.from),
        to: Number(p.to),
      })),
      partitionMaxBytes: BATCH_PARTITION_MAX_BYTES,
      maxBytes: BATCH_FETCH_MAX_BYTES,
      asyncDecompress: process.env.KBENCH_ASYNC_DECOMPRESS === '1',
    },
    (partition, block) => tallies.get(partition)!.addBlock(partition, block),
  );
  return partitionResults(tallies);
}

if (!isMainThread && parentPort !== null) {
  parentPort.postMessage(await readPartitions(workerData as ReadSpec));
}
