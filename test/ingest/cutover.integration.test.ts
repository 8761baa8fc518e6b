/**
 * Cut-over from Camus into the same directories (`startPosition: "after-imported"`), on the real
 * stack: a topic already imported up to some hour — its hour files and `_IMPORTED` flags written
 * before mwingest's first run, here by another job standing in for Camus — is started after the
 * imported hours. Records of imported hours that Kafka still holds are skipped and counted, and every
 * hour holds each produced record exactly once (read back with avsc and counted by avro-tools).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { type PlannedMessage, planTraffic } from '../../src/demo/traffic.js';
import type { FileSystem } from '../../src/hdfs/filesystem.js';
import { openFileSystem } from '../../src/hdfs/open.js';
import { HOUR_MS, hourKey, hourOf } from '../../src/hours/hour.js';
import type { LoadedJob } from '../../src/job/config.js';
import type { KafkaSink } from '../../src/kafka/client.js';
import { openKafkaSink } from '../../src/kafka/open.js';
import { runJob } from '../../src/scheduler/local-run.js';
import { MessageCodec } from '../../src/schemas/codec.js';
import { SchemaRegistry, schemaNameOfTopic } from '../../src/schemas/registry.js';
import { runMwingest } from '../support/cli.js';
import {
  decodeContainer,
  expectedReaderBytes,
  forgetJobInRedis,
  listFilesRecursively,
  localTemp,
  mixedRegistryRoot,
  multiset,
  produceMessages,
  quietLog,
  writeTestJob,
} from '../support/ingest.js';
import { requireStack, type StackConfig, uniqueName } from '../support/stack.js';

const execFileAsync = promisify(execFile);
const PARTITIONS = 2;

describe('cut-over from an importer that wrote the same directories (after-imported)', () => {
  let stack: StackConfig;
  let sink: KafkaSink;
  let fs: FileSystem;
  let redis: Redis;
  let registry: SchemaRegistry;
  let camus: LoadedJob;
  let mwingest: LoadedJob;
  let prefix: string;
  let topic: string;
  let hdfsBase: string;
  let early: PlannedMessage[] = [];
  let later: PlannedMessage[] = [];
  const H = Math.floor(Date.now() / HOUR_MS) * HOUR_MS;
  const hour = (n: number) => hourKey(hourOf(H + n * HOUR_MS));

  before(async () => {
    stack = await requireStack(['kafka', 'webhdfs', 'redis', 'tools']);
    prefix = uniqueName('cutover');
    hdfsBase = `/mwingest-test/${prefix}`;
    topic = `${prefix}_SearchSatisfaction`;
    sink = await openKafkaSink({ brokers: stack.kafkaBrokers });
    await sink.createTopic(topic, PARTITIONS);
    const root = await mixedRegistryRoot();
    registry = await SchemaRegistry.load(root);
    const codec = new MessageCodec(registry);
    const spec = [{ topic, schemaName: schemaNameOfTopic(topic), partitions: PARTITIONS }];
    // "Camus" imports hours H-6 … H-4 and flags them; then traffic of H-3 … H-2 arrives.
    early = planTraffic(registry, codec, {
      topics: spec,
      messagesPerTopic: 600,
      fromMs: H - 6 * HOUR_MS,
      toMs: H - 3 * HOUR_MS,
      badRatio: 0,
      disorderMs: 20 * 60_000,
      seed: 161,
    });
    later = planTraffic(registry, codec, {
      topics: spec,
      messagesPerTopic: 400,
      fromMs: H - 3 * HOUR_MS,
      toMs: H - 1 * HOUR_MS,
      badRatio: 0,
      disorderMs: 20 * 60_000,
      seed: 162,
    });
    const output = { root: `${hdfsBase}/raw`, codec: 'snappy' };
    // The stand-in importer's watermark is the end of H-4: it flags H-6 … H-4 and nothing later.
    const grace = Math.ceil((Date.now() - (H - 3 * HOUR_MS)) / 1000) - 60;
    camus = await writeTestJob({
      name: `${prefix}-camus`,
      prefix,
      stack,
      registry: root,
      hdfsBase,
      extra: {
        output: { ...output, stateDir: `${hdfsBase}/camus-state` },
        completeness: { idleGraceSeconds: grace },
      },
    });
    mwingest = await writeTestJob({
      name: prefix,
      prefix,
      stack,
      registry: root,
      hdfsBase,
      extra: { output: { ...output, stateDir: `${hdfsBase}/state` }, startPosition: 'after-imported' },
    });
    fs = await openFileSystem(mwingest.config.fileSystem);
    redis = new Redis(stack.redisUrl, { maxRetriesPerRequest: null });
    await produceMessages(sink, early);
    const imported = await runJob(camus, { log: quietLog, redisUrl: stack.redisUrl });
    assert.equal(imported.status, 'succeeded', imported.problems.join('\n'));
    assert.deepEqual(imported.topics[0]!.announced, [hour(-6), hour(-5), hour(-4)]);
    await produceMessages(sink, later);
  });

  after(async () => {
    await sink?.deleteTopic(topic).catch(() => undefined);
    await sink?.close();
    await fs?.delete(hdfsBase, { recursive: true }).catch(() => undefined);
    await fs?.close();
    if (redis) {
      for (const job of [camus, mwingest]) {
        if (job === undefined) continue;
        await forgetJobInRedis(redis, job.config.name);
      }
      redis.disconnect();
    }
  });

  test('--dry-run prints where each partition would start: an hour before the first hour not imported', async () => {
    const out = await runMwingest(['run', '--job', mwingest.path, '--dry-run', '--no-progress'], {
      env: { MWINGEST_REDIS_URL: stack.redisUrl, MWINGEST_LOG_LEVEL: 'silent' },
    });
    assert.equal(out.code, 0, out.stderr);
    for (let partition = 0; partition < PARTITIONS; partition++) {
      // The first offset whose Kafka timestamp is at or after H-4 (an hour before H-3).
      const offset = early
        .filter((m) => m.partition === partition)
        .findIndex((m) => m.timestampMs >= H - 4 * HOUR_MS);
      assert.ok(offset > 0);
      assert.match(
        out.stdout,
        new RegExp(
          `partition ${partition}: log 0–\\d+, starts at ${offset} \\(start position after-imported \\(first hour not imported: ${hour(-3)}\\)\\)`,
        ),
      );
    }
    assert.equal(
      await fs.exists(`${hdfsBase}/state/${mwingest.config.name}/partitions`),
      false,
      'a dry run writes nothing',
    );
  });

  test('the first run skips and counts the records of imported hours, and writes the rest', async () => {
    const report = await runJob(mwingest, { log: quietLog, redisUrl: stack.redisUrl });
    assert.equal(report.status, 'succeeded', report.problems.join('\n'));
    const overlap = early.filter((m) => m.timestampMs >= H - 4 * HOUR_MS).length;
    assert.equal(report.totals.imported, overlap, 'every record read again from an imported hour is counted');
    assert.equal(report.totals.written, later.length);
    assert.equal(report.totals.read, overlap + later.length);
    for (const p of report.topics[0]!.partitions) assert.match(p.equation, /already imported/);

    const again = await runJob(mwingest, { log: quietLog, redisUrl: stack.redisUrl });
    assert.equal(again.totals.read, 0, 'the next run continues after the first');
  });

  test('each hour holds every produced record exactly once (avsc), and avro-tools counts them all', async () => {
    const reader = registry.latest(schemaNameOfTopic(topic))!;
    const byHour = (messages: PlannedMessage[]) =>
      multiset(
        messages.map(
          (m) => `${hourKey(hourOf(m.recordMs!))} ${expectedReaderBytes(registry, m, reader.revision)}`,
        ),
      );
    const actual: string[] = [];
    const files = (await listFilesRecursively(fs, `${hdfsBase}/raw/${topic}/hourly`)).filter((p) =>
      p.endsWith('.avro'),
    );
    for (const path of files) {
      const match = /\/(\d{4})\/(\d{2})\/(\d{2})\/(\d{2})\/[^/]+$/.exec(path)!;
      for (const record of (await decodeContainer(await fs.readFile(path))).records)
        actual.push(
          `${match[1]}-${match[2]}-${match[3]}T${match[4]} ${reader.type.toBuffer(record).toString('hex')}`,
        );
    }
    assert.deepEqual(multiset(actual), byHour([...early, ...later]), 'no record twice, none missing');

    const local = await localTemp('mwingest-cutover');
    const paths: string[] = [];
    for (const [i, path] of files.entries()) {
      const target = join(local, `${i}.avro`);
      await writeFile(target, await fs.readFile(path));
      paths.push(target);
    }
    const { stdout } = await execFileAsync(
      'java',
      ['-Xmx256m', '-jar', stack.avroToolsJar, 'count', ...paths],
      {
        maxBuffer: 1 << 20,
      },
    );
    assert.equal(Number(stdout.trim().split('\n').at(-1)), early.length + later.length, 'avro-tools count');
  });
});
