/**
 * Worker thread of the split reader (readers/batches-split.ts): receives raw record-batch bytes of
 * its partitions from the fetching thread (transferred, not copied), decompresses and walks them,
 * and acknowledges each so the fetching thread can bound what is in flight.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { ReadSpec } from '../readers/harness.js';
import { partitionResults, Tally } from '../readers/harness.js';
import { batchHeaders, batchRecordsSync, isControl, RecordBlock, walkBatch } from './record-batches.js';

export type ToWalker =
  | { type: 'records'; partition: number; from: number; records: Uint8Array }
  | { type: 'end' };

const spec = workerData as ReadSpec;
const tallies = new Map<number, Tally>();
for (const p of spec.partitions) tallies.set(p.partition, await Tally.create({ ...spec, partitions: [p] }));
const end = new Map(spec.partitions.map((p) => [p.partition, Number(p.to)]));
const block = new RecordBlock();

parentPort!.on('message', (message: ToWalker) => {
  if (message.type === 'end') {
    parentPort!.postMessage({
      type: 'done',
      results: partitionResults(tallies),
    });
    parentPort!.close();
    return;
  }
  const records = Buffer.from(message.records.buffer, message.records.byteOffset, message.records.byteLength);
  const to = end.get(message.partition)!;
  for (const header of batchHeaders(records)) {
    if (isControl(header) || header.lastOffset < message.from || header.baseOffset >= to) continue;
    const data = batchRecordsSync(records, header);
    if (walkBatch(records, header, data, message.from, to, block) > 0)
      tallies.get(message.partition)!.addBlock(message.partition, block);
  }
  parentPort!.postMessage({ type: 'ack' });
});
