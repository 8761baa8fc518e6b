/**
 * `npm run bench`: the ingest end to end, from the real Kafka broker to the real HDFS (WebHDFS),
 * against the raw rate at which `kcat` alone reads the same topic, measured in the same run.
 *
 * For each dataset it reports records/s, MB/s (Kafka message bytes) and peak RSS of the ingest
 * process, and where the time goes, stage by stage:
 *   kcat          raw consume (C, librdkafka), the upper bound
 *   read          our Kafka source alone (records handed to JS, nothing else)
 *   read+decode   + header, body check, time field (+ decode and resolve for older revisions)
 *   ingest        the whole `mwingest run`: + bucketing, Avro container + snappy, WebHDFS, commit
 *
 * Topics are produced once and reused by later runs (their names carry the size and a data version).
 * Options: --records N (default 1 000 000), --cirrus N (default 300 000),
 * --only apiaction|cirrus|cirrus-parquet|cirrus-mixed,
 * --codec snappy|deflate|null. Results are printed and saved under bench/results/.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { openFileSystem } from '../src/hdfs/open.js';
import { createTimestampParser } from '../src/hours/timestamp.js';
import type { KafkaSource } from '../src/kafka/client.js';
import { openKafkaSink, openKafkaSource } from '../src/kafka/open.js';
import { MessageCodec } from '../src/schemas/codec.js';
import { SchemaRegistry } from '../src/schemas/registry.js';
import { mixedRegistryRoot } from '../test/support/ingest.js';
import { stackConfig } from '../test/support/stack.js';
import { benchTraffic, topicValueBytes } from './traffic.js';

const execFileAsync = promisify(execFile);
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const DATA_VERSION = 'v2';
const CIRRUS_NEWEST = 121456865906n;
const PARTITIONS = 4;

const { values: args } = parseArgs({
  options: {
    records: { type: 'string', default: '1000000' },
    cirrus: { type: 'string', default: '300000' },
    only: { type: 'string' },
    codec: { type: 'string', default: 'snappy' },
  },
});

interface Stage {
  stage: string;
  seconds: number;
  recordsPerSecond: number;
  megabytesPerSecond: number;
  peakRssMB?: number;
  cpuSeconds?: number;
}

// The ingest runs as deployed: compiled (bin/mwingest.js uses dist/ when it is newer than src/).
await execFileAsync('npx', ['--no-install', 'tsc', '-p', join(root, 'tsconfig.json')], { cwd: root });

const stack = stackConfig();
const registryRoot = await mixedRegistryRoot();
const registry = await SchemaRegistry.load(registryRoot);
const codec = new MessageCodec(registry);
const connection = { brokers: stack.kafkaBrokers, clientId: 'mwingest-bench' };

const datasets = [
  { key: 'apiaction', schemaName: 'ApiAction', count: Number(args.records), revisions: undefined },
  // Producers on the newest revision (the reader): record bodies go into the files as they are.
  {
    key: 'cirrus',
    schemaName: 'CirrusSearchRequestSet',
    count: Number(args.cirrus),
    revisions: [CIRRUS_NEWEST],
  },
  // The same topic written as Parquet (needs every record decoded; no fast path).
  {
    key: 'cirrus-parquet',
    schemaName: 'CirrusSearchRequestSet',
    count: Number(args.cirrus),
    revisions: [CIRRUS_NEWEST],
    format: 'parquet',
    topicOf: 'cirrus',
  },
  // After an upgrade, old producers keep writing older revisions: these are resolved and re-encoded.
  {
    key: 'cirrus-mixed',
    schemaName: 'CirrusSearchRequestSet',
    count: Math.round(Number(args.cirrus) / 3),
    revisions: undefined,
  },
].filter((d) => args.only === undefined || d.key === args.only) as {
  key: string;
  schemaName: string;
  count: number;
  revisions: bigint[] | undefined;
  format?: 'parquet';
  topicOf?: string;
}[];

const results: Record<string, { records: number; bytes: number; stages: Stage[] }> = {};
console.log(
  `mwingest benchmark on ${cpus().length} cores (${cpus()[0]?.model}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}, codec ${args.codec}`,
);

for (const dataset of datasets) {
  const topic = `mwbench-${DATA_VERSION}-${dataset.topicOf ?? dataset.key}-${dataset.count}_${dataset.schemaName}`;
  const bytes = await ensureTopic(topic, dataset.schemaName, dataset.count, dataset.revisions);
  console.log(
    `\n== ${dataset.key}: ${dataset.count.toLocaleString('en-US')} ${dataset.schemaName} records, ${(bytes / 1e6).toFixed(0)} MB in ${topic} (${PARTITIONS} partitions)${dataset.format ? `, written as ${dataset.format}` : ''}`,
  );
  const stages: Stage[] = [];
  const record = (stage: string, seconds: number, extra: Partial<Stage> = {}) => {
    const row = {
      stage,
      seconds,
      recordsPerSecond: Math.round(dataset.count / seconds),
      megabytesPerSecond: Math.round((bytes / 1e6 / seconds) * 10) / 10,
      ...extra,
    };
    stages.push(row);
    console.log(
      `  ${stage.padEnd(12)} ${row.seconds.toFixed(2).padStart(7)} s ${row.recordsPerSecond.toLocaleString('en-US').padStart(11)} rec/s ${String(row.megabytesPerSecond).padStart(7)} MB/s${row.peakRssMB ? `  peak RSS ${row.peakRssMB} MB` : ''}${row.cpuSeconds ? `  CPU ${row.cpuSeconds.toFixed(1)} s` : ''}`,
    );
  };
  record('kcat', await kcatSeconds(topic, dataset.count));
  if (dataset.format === undefined) {
    record('read', await readSeconds(topic, false));
    record('read+decode', await readSeconds(topic, true, dataset.schemaName));
  }
  const ingest = await ingestRun(
    topic,
    dataset.key,
    dataset.format === 'parquet' ? { [dataset.schemaName]: { format: 'parquet' } } : {},
  );
  record('ingest', ingest.seconds, { peakRssMB: ingest.peakRssMB, cpuSeconds: ingest.cpuSeconds });
  const ratio = stages[0]!.seconds / ingest.seconds;
  console.log(`  ingest / kcat = ${(ratio * 100).toFixed(0)}% of the raw consume rate`);
  results[dataset.key] = { records: dataset.count, bytes, stages };
}

await mkdir(join(root, 'bench', 'results'), { recursive: true });
const file = join(root, 'bench', 'results', `run-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
await writeFile(
  file,
  `${JSON.stringify({ at: new Date().toISOString(), cores: cpus().length, node: process.version, codec: args.codec, results }, null, 2)}\n`,
);
console.log(`\nsaved ${file}`);

/** Produces the topic unless it already holds exactly `count` records; returns the message bytes. */
async function ensureTopic(
  topic: string,
  schemaName: string,
  count: number,
  revisions: bigint[] | undefined,
): Promise<number> {
  const source = await openKafkaSource(connection);
  try {
    const existing = await source.partitionOffsets(topic).catch(() => undefined);
    const held = existing?.reduce((sum, p) => sum + Number(p.latest - p.earliest), 0);
    if (held !== count) {
      const sink = await openKafkaSink(connection);
      if (existing !== undefined) await sink.deleteTopic(topic);
      await sink.createTopic(topic, PARTITIONS);
      process.stdout.write(`producing ${count} ${schemaName} records to ${topic} … `);
      const started = Date.now();
      for (const messages of benchTraffic(registry, codec, {
        topic,
        schemaName,
        count,
        partitions: PARTITIONS,
        ...(revisions === undefined ? {} : { revisions }),
      })) {
        for (let i = 0; i < messages.length; i += 5000) {
          await sink.produce(
            topic,
            messages
              .slice(i, i + 5000)
              .map((m) => ({ value: m.value, partition: m.partition, timestamp: m.timestampMs })),
          );
        }
      }
      await sink.close();
      console.log(`${((Date.now() - started) / 1000).toFixed(0)} s`);
    }
    return await topicValueBytes(source, topic);
  } finally {
    await source.close();
  }
}

/** kcat reading every partition from the beginning to the end, output discarded. */
async function kcatSeconds(topic: string, expected: number): Promise<number> {
  const started = performance.now();
  const { stdout } = await execFileAsync(
    'sh',
    [
      '-c',
      `${stack.kcat} -C -b ${stack.kafkaBrokers.join(',')} -t '${topic}' -o beginning -e -q -f '%o\\n' | wc -l`,
    ],
    { maxBuffer: 1 << 20 },
  );
  const seconds = (performance.now() - started) / 1000;
  if (Number(stdout.trim()) !== expected)
    throw new Error(`kcat read ${stdout.trim()} records of ${topic}, expected ${expected}`);
  return seconds;
}

/** Our Kafka source over every partition at once (as the ingest does), optionally decoding each record. */
async function readSeconds(topic: string, decode: boolean, schemaName?: string): Promise<number> {
  const source: KafkaSource = await openKafkaSource(connection);
  try {
    const reader = schemaName === undefined ? undefined : registry.latest(schemaName);
    const parse = createTimestampParser({ field: 'ts', format: 'unix_seconds' });
    const offsets = await source.partitionOffsets(topic);
    const started = performance.now();
    let errors = 0;
    await Promise.all(
      offsets.map(async (p) => {
        for await (const batch of source.read({
          topic,
          partition: p.partition,
          from: p.earliest,
          to: p.latest,
        })) {
          if (!decode) continue;
          for (const r of batch) {
            const result = codec.decodeForIngest(r.value!, {
              schemaName: schemaName!,
              readerRevision: reader!.revision,
              timestampField: 'ts',
            });
            if (!result.ok || !parse(result.timestamp).ok) errors += 1;
          }
        }
      }),
    );
    if (errors > 0) throw new Error(`${errors} records did not decode`);
    return (performance.now() - started) / 1000;
  } finally {
    await source.close();
  }
}

/** `mwingest run` in its own process, writing to the real HDFS; wall time, peak RSS, CPU. */
async function ingestRun(
  topic: string,
  key: string,
  datasets: Record<string, unknown>,
): Promise<{ seconds: number; peakRssMB: number; cpuSeconds: number }> {
  const name = `bench-${key}-${Date.now().toString(36)}`;
  const base = `/mwingest-bench/${name}`;
  const dir = await mkdtemp(join(tmpdir(), 'mwingest-bench-'));
  const jobPath = join(dir, `${name}.json`);
  await writeFile(
    jobPath,
    JSON.stringify({
      name,
      kafka: { brokers: stack.kafkaBrokers },
      topics: { include: `^${topic.replace(/[.-]/g, '\\$&')}$` },
      registry: registryRoot,
      fileSystem: { type: 'hdfs', url: stack.webhdfsUrl, user: 'hdfs' },
      output: { root: `${base}/raw`, stateDir: `${base}/state`, codec: args.codec },
      datasets,
    }),
  );
  const started = performance.now();
  const { stderr, code } = await new Promise<{ stderr: string; code: number | null }>((resolve, reject) => {
    const child = spawn(
      '/usr/bin/time',
      [
        '-f',
        'MWBENCH %M %U %S',
        process.execPath,
        join(root, 'bin', 'mwingest.js'),
        'run',
        '--job',
        jobPath,
        '--json',
        '--no-progress',
      ],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
        env: { ...process.env, MWINGEST_LOG_LEVEL: 'error' },
      },
    );
    let text = '';
    child.stderr.on('data', (chunk: Buffer) => {
      text += chunk.toString();
    });
    child.on('error', reject);
    child.on('exit', (exitCode) => resolve({ stderr: text, code: exitCode }));
  });
  const seconds = (performance.now() - started) / 1000;
  const match = /MWBENCH (\d+) ([\d.]+) ([\d.]+)/.exec(stderr);
  if (code !== 0 || match === null)
    throw new Error(`the ingest run failed (exit ${code}):\n${stderr.slice(-2000)}`);
  const fs = await openFileSystem({ type: 'hdfs', url: stack.webhdfsUrl, user: 'hdfs' });
  await fs.delete(base, { recursive: true });
  await fs.close();
  return {
    seconds,
    peakRssMB: Math.round(Number(match[1]) / 1024),
    cpuSeconds: Number(match[2]) + Number(match[3]),
  };
}
