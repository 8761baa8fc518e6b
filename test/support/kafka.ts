/**
 * Helpers for tests against the real Kafka of `scripts/stack up`: fresh topics that are deleted
 * afterwards, records written by independent real producers (kcat with a chosen codec, a
 * transactional librdkafka producer), and a look at the broker's own segment files to see how a
 * batch was stored.
 */
import { spawn } from 'node:child_process';
import { open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import rdkafka from '@confluentinc/kafka-javascript';
import { KafkaAdmin } from '../../src/kafka/admin.js';
import type {
  KafkaConnection,
  KafkaRecord,
  KafkaSink,
  KafkaSource,
  ReadRange,
} from '../../src/kafka/client.js';
import { openKafkaSink } from '../../src/kafka/open.js';
import { requireStack, type StackConfig, uniqueName } from './stack.js';

export interface KafkaKit {
  stack: StackConfig;
  connection: KafkaConnection;
  sink: KafkaSink;
  admin: KafkaAdmin;
  /** Creates a topic named `ktest_<label>-…` that {@link KafkaKit.close} deletes. */
  freshTopic(label: string, partitions: number): Promise<string>;
  /** Deletes the topics made here and closes the clients. */
  close(): Promise<void>;
}

export async function kafkaKit(): Promise<KafkaKit> {
  const stack = await requireStack(['kafka']);
  const connection: KafkaConnection = {
    brokers: stack.kafkaBrokers,
    clientId: 'mwingest-test',
    connectTimeoutMs: 10_000,
  };
  const sink = await openKafkaSink(connection);
  const admin = await KafkaAdmin.open(connection);
  const topics: string[] = [];
  return {
    stack,
    connection,
    sink,
    admin,
    async freshTopic(label, partitions) {
      const topic = uniqueName(`ktest_${label}`);
      await sink.createTopic(topic, partitions);
      topics.push(topic);
      return topic;
    },
    async close() {
      try {
        for (const topic of topics) await sink.deleteTopic(topic);
      } finally {
        admin.close();
        await sink.close();
      }
    },
  };
}

/** Everything `read` yields for `range`, flattened, plus how many batches it came in. */
export async function readAll(
  source: KafkaSource,
  range: ReadRange,
  signal?: AbortSignal,
): Promise<{ records: KafkaRecord[]; batches: number }> {
  const records: KafkaRecord[] = [];
  let batches = 0;
  for await (const batch of source.read(range, signal)) {
    batches += 1;
    records.push(...batch);
  }
  return { records, batches };
}

export type Codec = 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';

/** Produces one record per line to one partition with `kcat -P -z codec`, in one compressed batch where they fit. */
export async function kcatProduce(
  stack: StackConfig,
  topic: string,
  partition: number,
  lines: string[],
  codec: Codec,
): Promise<void> {
  const args = ['-P', '-b', stack.kafkaBrokers.join(','), '-t', topic, '-p', String(partition), '-z', codec];
  args.push('-X', 'linger.ms=200', '-X', 'message.timeout.ms=20000');
  const child = spawn(stack.kcat, args, { stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  const exited = new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  child.stdin.end(`${lines.join('\n')}\n`);
  const code = await exited;
  if (code !== 0)
    throw new Error(`kcat -P -z ${codec} to ${topic}/${partition} exited ${code}: ${stderr.trim()}`);
}

/**
 * Writes transactions to one partition with librdkafka's transactional producer, so the log holds
 * real commit/abort markers: each step is `count` records, then a commit or abort marker.
 * Record values are `<step>-<i>`.
 */
export async function produceTransactions(
  connection: KafkaConnection,
  topic: string,
  partition: number,
  steps: { count: number; end: 'commit' | 'abort' }[],
): Promise<void> {
  const producer = new rdkafka.Producer({
    'bootstrap.servers': connection.brokers.join(','),
    'transactional.id': uniqueName('ktest-txn'),
    'enable.idempotence': true,
  });
  const call = (run: (cb: (error: unknown) => void) => void) =>
    new Promise<void>((resolve, reject) => run((error) => (error ? reject(error) : resolve())));
  await call((cb) => producer.connect({ allTopics: false, timeout: 10_000 }, cb));
  try {
    await call((cb) => producer.initTransactions(20_000, cb));
    for (const [step, { count, end }] of steps.entries()) {
      await call((cb) => producer.beginTransaction(cb));
      for (let i = 0; i < count; i++) {
        producer.produce(topic, partition, Buffer.from(`${step}-${i}`), null, Date.now());
      }
      // Send the records before the marker (librdkafka drops unsent records of an aborted transaction).
      await call((cb) => producer.flush(20_000, cb));
      if (end === 'commit') await call((cb) => producer.commitTransaction(20_000, cb));
      else await call((cb) => producer.abortTransaction(20_000, cb));
    }
  } finally {
    await call((cb) => producer.disconnect(cb));
  }
}

const COMPRESSION = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;

/**
 * The codec of the first record batch the broker stored for `topic/partition`, read from its
 * first segment file (batch header: baseOffset int64, length int32, leaderEpoch int32, magic int8,
 * crc int32, attributes int16 whose low 3 bits are the codec). Undefined when the files are not
 * on this machine.
 */
export async function storedCodec(
  stack: StackConfig,
  topic: string,
  partition: number,
): Promise<Codec | undefined> {
  const dir = join(stack.stackHome, 'run', 'kafka', 'data', `${topic}-${partition}`);
  let segment: string | undefined;
  try {
    segment = (await readdir(dir)).filter((name) => name.endsWith('.log')).sort()[0];
  } catch {
    return undefined;
  }
  if (segment === undefined) return undefined;
  const file = await open(join(dir, segment));
  try {
    const header = Buffer.alloc(23);
    const { bytesRead } = await file.read(header, 0, 23, 0);
    if (bytesRead < 23) return undefined;
    return COMPRESSION[header.readInt16BE(21) & 0x07];
  } finally {
    await file.close();
  }
}
