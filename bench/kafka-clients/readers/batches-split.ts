/**
 * The batch reader split over threads by work rather than by partition: this thread only fetches
 * (one connection, the next request sent as soon as a response arrives) and hands each partition's
 * raw record-batch bytes to the worker thread that owns the partition (partition mod threads),
 * transferring the memory instead of copying it; the workers decompress, walk and count (and with
 * `check` do the ingest's per-record check). At most 2 responses per worker are in flight.
 * Workers import only the walker and the codecs, not the Kafka client.
 */
import { createHash } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { Fetcher, topicLeaders } from '../batch-reader/fetch.js';
import { batchHeaders } from '../batch-reader/record-batches.js';
import type { ToWalker } from '../batch-reader/walker-thread.js';
import {
  BATCH_FETCH_MAX_BYTES,
  BATCH_PARTITION_MAX_BYTES,
  type PartitionResult,
  type ReadSpec,
  readSpec,
  report,
} from './harness.js';

const spec = readSpec();
const threads = Math.max(1, spec.threads ?? 2);
const started = performance.now();
const ext = import.meta.url.endsWith('.ts') ? 'ts' : 'js';
const partitionMaxBytes = BATCH_PARTITION_MAX_BYTES;
const maxBytes = BATCH_FETCH_MAX_BYTES;

const shares: ReadSpec[] = Array.from({ length: threads }, () => ({ ...spec, partitions: [] }));
for (const p of spec.partitions) shares[p.partition % threads]!.partitions.push(p);
let inFlight = 0;
let wake: (() => void) | undefined;
const walkers = shares.map((share) => {
  const worker = new Worker(new URL(`../batch-reader/walker-thread.${ext}`, import.meta.url), {
    workerData: share,
  });
  const done = new Promise<PartitionResult[]>((resolve, reject) => {
    worker.on('message', (m: { type: 'ack' } | { type: 'done'; results: PartitionResult[] }) => {
      if (m.type === 'ack') {
        inFlight -= 1;
        wake?.();
      } else resolve(m.results);
    });
    worker.once('error', reject);
    worker.once('exit', (code) => code !== 0 && reject(new Error(`walker thread exited with ${code}`)));
  });
  return { worker, done };
});
const walkerOf = (partition: number) => walkers[partition % threads]!.worker;

const { topicId, leaders } = await topicLeaders(spec.brokers, spec.topic);
const leader = leaders.get(spec.partitions[0]!.partition)!; // one broker here; a real reader groups by leader
const fetcher = await Fetcher.open(leader.host, leader.port, topicId);
const next = new Map(spec.partitions.map((p) => [p.partition, Number(p.from)]));
const end = new Map(spec.partitions.map((p) => [p.partition, Number(p.to)]));
const open = () => spec.partitions.filter((p) => next.get(p.partition)! < end.get(p.partition)!);
const request = () =>
  fetcher.fetch(
    open().map((p) => ({
      partition: p.partition,
      offset: next.get(p.partition)!,
      maxBytes: partitionMaxBytes,
    })),
    maxBytes,
  );
let pending = open().length > 0 ? request() : undefined;
while (pending !== undefined) {
  const response = await pending;
  const sends: ToWalker[] = [];
  for (const partition of response) {
    if (partition.errorCode !== 0)
      throw new Error(`partition ${partition.partition}: fetch error code ${partition.errorCode}`);
    const from = next.get(partition.partition)!;
    const headers = batchHeaders(partition.records);
    const last = headers.at(-1);
    if (last === undefined) {
      if (partition.highWatermark <= from) next.set(partition.partition, end.get(partition.partition)!);
      continue;
    }
    next.set(partition.partition, Math.max(from, last.lastOffset + 1));
    // Transfer needs memory of its own: a view into a socket chunk is copied once.
    const r = partition.records;
    let own = r;
    if (r.byteOffset !== 0 || r.byteLength !== r.buffer.byteLength) {
      own = Buffer.allocUnsafeSlow(r.length); // never from the shared pool, whose memory cannot move
      r.copy(own);
    }
    sends.push({ type: 'records', partition: partition.partition, from, records: own });
  }
  while (inFlight >= 2 * threads) await new Promise<void>((resolve) => (wake = resolve));
  pending = open().length > 0 ? request() : undefined;
  for (const message of sends) {
    if (message.type !== 'records') continue;
    inFlight += 1;
    walkerOf(message.partition).postMessage(message, [message.records.buffer as ArrayBuffer]);
  }
}
await fetcher.close();
for (const { worker } of walkers) worker.postMessage({ type: 'end' } satisfies ToWalker);
const results = (await Promise.all(walkers.map((w) => w.done))).flat();
const readMs = performance.now() - started;
const all = createHash('sha256');
for (const r of results.sort((a, b) => a.partition - b.partition))
  if (r.digest) all.update(Buffer.from(r.digest, 'hex'));
report({
  client: `batches-split-${threads}`,
  records: results.reduce((sum, r) => sum + r.records, 0),
  valueBytes: results.reduce((sum, r) => sum + r.valueBytes, 0),
  readMs,
  ...(spec.verify ? { digest: all.digest('hex') } : {}),
});
