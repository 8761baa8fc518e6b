/**
 * The batch reader prototype (bench/kafka-clients/batch-reader/): Fetch on @platformatic/kafka's
 * connection, record batches walked without an object per record. With `threads` > 1 the
 * partitions are spread round-robin over that many worker threads, each with its own connection;
 * the main thread only waits and merges their counts.
 */
import { createHash } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { readPartitions } from '../batch-reader/thread.js';
import { type PartitionResult, type ReadSpec, readSpec, report } from './harness.js';

const spec = readSpec();
const threads = Math.max(1, spec.threads ?? 1);
const started = performance.now();
let results: PartitionResult[];
if (threads === 1) {
  results = await readPartitions(spec);
} else {
  const shares: ReadSpec[] = Array.from({ length: threads }, () => ({ ...spec, partitions: [] }));
  spec.partitions.forEach((p, i) => {
    shares[i % threads]!.partitions.push(p);
  });
  results = (
    await Promise.all(
      shares
        .filter((share) => share.partitions.length > 0)
        .map(
          (share) =>
            new Promise<PartitionResult[]>((resolve, reject) => {
              const worker = new Worker(
                new URL(
                  `../batch-reader/thread.${import.meta.url.endsWith('.ts') ? 'ts' : 'js'}`,
                  import.meta.url,
                ),
                {
                  workerData: share,
                },
              );
              worker.once('message', resolve);
              worker.once('error', reject);
              worker.once('exit', (code) => {
                if (code !== 0) reject(new Error(`reader thread exited with ${code}`));
              });
            }),
        ),
    )
  ).flat();
}
const readMs = performance.now() - started;
const all = createHash('sha256');
for (const r of results.sort((a, b) => a.partition - b.partition))
  if (r.digest) all.update(Buffer.from(r.digest, 'hex'));
report({
  client: threads === 1 ? 'batches' : `batches-${threads}t`,
  records: results.reduce((sum, r) => sum + r.records, 0),
  valueBytes: results.reduce((sum, r) => sum + r.valueBytes, 0),
  readMs,
  ...(spec.verify ? { digest: all.digest('hex') } : {}),
});
