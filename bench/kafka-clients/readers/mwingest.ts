/**
 * The project's own seam (src/kafka/open.ts, librdkafka underneath): `KafkaSource.read` of each
 * partition's range, all partitions at once, exactly as the ingest calls it.
 */
import { openKafkaSource } from '../../../src/kafka/open.js';
import { readSpec, report, Tally } from './harness.js';

const spec = readSpec();
const tally = await Tally.create(spec);
const source = await openKafkaSource({ brokers: spec.brokers, clientId: 'kbench' });
await Promise.all(
  spec.partitions.map(async ({ partition, from, to }) => {
    for await (const batch of source.read({
      topic: spec.topic,
      partition,
      from: BigInt(from),
      to: BigInt(to),
    })) {
      for (const record of batch) tally.add(partition, record.offset, record.value);
    }
  }),
);
const result = tally.result('mwingest');
await source.close();
report(result);
