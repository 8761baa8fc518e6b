/**
 * Helpers for ingest tests against the real stack: a registry mixing the project's schemas with
 * the real MediaWiki ones, job files on fresh HDFS paths and topics, producing planned traffic,
 * and reading back what a run wrote (hour files decoded by avsc, error files, flags, state).
 */
import { cp, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';
import avro from 'avsc';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { pino } from 'pino';
import { uncompressSync } from 'snappy';
import type { PlannedMessage } from '../../src/demo/traffic.js';
import type { FileSystem } from '../../src/hdfs/filesystem.js';
import { hiveQueueName } from '../../src/hive/queue.js';
import { type LoadedJob, loadJob } from '../../src/job/config.js';
import type { KafkaSink } from '../../src/kafka/client.js';
import { avroTypeOf } from '../../src/schemas/avro-type.js';
import type { SchemaRegistry } from '../../src/schemas/registry.js';
import type { ErrorRecord } from '../../src/writers/error-file.js';
import { WMF_FIXTURES } from './fixtures.js';
import type { StackConfig } from './stack.js';

const projectRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** A registry root with the project's schemas and the real MediaWiki ones (read from the fixtures). */
export async function mixedRegistryRoot(): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'mwingest-registry-'));
  await cp(join(projectRoot, 'event-schemas', 'avro'), join(root, 'avro'), { recursive: true });
  await cp(join(WMF_FIXTURES, 'avro'), join(root, 'avro'), { recursive: true });
  return root;
}

export interface TestJobOptions {
  name: string;
  prefix: string;
  stack: StackConfig;
  registry: string;
  /** HDFS directory under which the job writes output and state. */
  hdfsBase: string;
  extra?: Record<string, unknown>;
}

/** Writes a job file for fresh topics `<prefix>_<Schema>` on the real stack and loads it. */
export async function writeTestJob(options: TestJobOptions): Promise<LoadedJob> {
  const dir = await mkdtemp(join(tmpdir(), 'mwingest-job-'));
  const job = {
    name: options.name,
    kafka: { brokers: options.stack.kafkaBrokers },
    topics: { include: `^${options.prefix.replace(/[.-]/g, '\\$&')}_` },
    registry: options.registry,
    fileSystem: { type: 'hdfs', url: options.stack.webhdfsUrl, user: 'hdfs' },
    output: { root: `${options.hdfsBase}/raw`, stateDir: `${options.hdfsBase}/state`, codec: 'snappy' },
    limits: { errorRatio: 0.2 },
    ...options.extra,
  };
  const path = join(dir, `${options.name}.json`);
  await writeFile(path, JSON.stringify(job, null, 2));
  return loadJob(path);
}

export async function produceMessages(sink: KafkaSink, messages: PlannedMessage[]): Promise<void> {
  const byTopic = new Map<string, PlannedMessage[]>();
  for (const message of messages)
    byTopic.set(message.topic, [...(byTopic.get(message.topic) ?? []), message]);
  for (const [topic, list] of byTopic) {
    for (let i = 0; i < list.length; i += 2000) {
      await sink.produce(
        topic,
        list
          .slice(i, i + 2000)
          .map((m) => ({ value: m.value, partition: m.partition, timestamp: m.timestampMs })),
      );
    }
  }
}

export const quietLog = pino({ level: process.env.MWINGEST_TEST_LOG ?? 'silent' });

/** Every file under `dir`, recursively (absolute paths), or [] when it does not exist. */
export async function listFilesRecursively(fs: FileSystem, dir: string): Promise<string[]> {
  if (!(await fs.exists(dir))) return [];
  const files: string[] = [];
  for (const entry of await fs.list(dir)) {
    if (entry.type === 'directory') files.push(...(await listFilesRecursively(fs, entry.path)));
    else files.push(entry.path);
  }
  return files;
}

/** Decodes an Avro container file with avsc (its own reader, with the Avro codecs). */
export async function decodeContainer(
  bytes: Buffer,
): Promise<{ schema: unknown; codec: string; records: unknown[] }> {
  const records: unknown[] = [];
  let meta: Record<string, Buffer> = {};
  const decoder = new avro.streams.BlockDecoder({
    codecs: {
      null: (buffer: Buffer, callback: (error: Error | null, data?: Buffer) => void) =>
        callback(null, buffer),
      deflate: zlib.inflateRaw,
      snappy: (buffer: Buffer, callback: (error: Error | null, data?: Buffer) => void) => {
        try {
          const data = uncompressSync(buffer.subarray(0, buffer.length - 4)) as Buffer;
          if (zlib.crc32(data) !== buffer.readUInt32BE(buffer.length - 4))
            throw new Error('snappy block CRC mismatch');
          callback(null, data);
        } catch (error) {
          callback(error as Error);
        }
      },
    },
    parseHook: (schema: unknown) => avroTypeOf(schema),
  });
  await new Promise<void>((resolve, reject) => {
    decoder.on('metadata', (_type: unknown, _codec: string, header: { meta: Record<string, Buffer> }) => {
      meta = header.meta;
    });
    decoder.on('data', (record: unknown) => records.push(record));
    decoder.on('end', resolve);
    decoder.on('error', reject);
    Readable.from([bytes]).pipe(decoder);
  });
  return {
    schema: JSON.parse(meta['avro.schema']!.toString()),
    codec: meta['avro.codec']!.toString(),
    records,
  };
}

/** The reader-schema encoding of a produced record: the canonical form compared byte for byte. */
export function expectedReaderBytes(
  registry: SchemaRegistry,
  message: PlannedMessage,
  readerRevision: bigint,
): string {
  const writer = registry.byRevision(message.revision!)!;
  const reader = registry.byRevision(readerRevision)!;
  const body = writer.type.toBuffer(message.record);
  const value =
    writer === reader
      ? writer.type.fromBuffer(body)
      : reader.type.fromBuffer(body, reader.type.createResolver(writer.type));
  return reader.type.toBuffer(value).toString('hex');
}

export async function readErrorRecords(fs: FileSystem, dir: string): Promise<ErrorRecord[]> {
  const records: ErrorRecord[] = [];
  for (const path of await listFilesRecursively(fs, dir)) {
    if (!path.endsWith('.errors.jsonl')) continue;
    const text = (await fs.readFile(path)).toString('utf8');
    for (const line of text.split('\n')) if (line !== '') records.push(JSON.parse(line) as ErrorRecord);
  }
  return records;
}

export async function localTemp(prefix: string): Promise<string> {
  const dir = join(tmpdir(), `${prefix}-${process.pid}-${Date.now().toString(36)}`);
  await mkdir(dir, { recursive: true });
  return dir;
}

/** Counts how many times each item occurs. */
export function multiset(items: Iterable<string>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(item, (counts.get(item) ?? 0) + 1);
  return counts;
}

/** After a test: the job's Hive partition-add queue and every other Redis key of the job are gone. */
export async function forgetJobInRedis(redis: Redis, jobName: string): Promise<void> {
  await new Queue(hiveQueueName(jobName), { connection: redis })
    .obliterate({ force: true })
    .catch(() => undefined);
  const keys = await redis.keys(`mwingest:${jobName}:*`);
  if (keys.length > 0) await redis.del(...keys);
}
