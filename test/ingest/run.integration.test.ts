/**
 * The ingest run end to end against the real Kafka, HDFS (WebHDFS) and Redis: what was produced
 * is exactly what the hour files hold (guarantee 1), bad messages are error records with their
 * reason and bytes (5), hours are announced once and only when complete, including an hour with
 * no data (6), and late records are written, counted and reported (6).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { type PlannedMessage, planTraffic } from '../../src/demo/traffic.js';
import type { FileSystem } from '../../src/hdfs/filesystem.js';
import { openFileSystem } from '../../src/hdfs/open.js';
import { hiveQueueName } from '../../src/hive/queue.js';
import { HOUR_MS, hourKey, hourOf } from '../../src/hours/hour.js';
import type { RunReport } from '../../src/ingest/run-report.js';
import type { LoadedJob } from '../../src/job/config.js';
import type { KafkaSink } from '../../src/kafka/client.js';
import { openKafkaSink } from '../../src/kafka/open.js';
import { runJob } from '../../src/scheduler/local-run.js';
import { MessageCodec } from '../../src/schemas/codec.js';
import { SchemaRegistry, schemaNameOfTopic } from '../../src/schemas/registry.js';
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
  readErrorRecords,
  writeTestJob,
} from '../support/ingest.js';
import { requireStack, type StackConfig, uniqueName } from '../support/stack.js';

const execFileAsync = promisify(execFile);
const SCHEMAS = ['EditAttempt', 'SearchSatisfaction', 'CirrusSearchRequestSet', 'ApiAction'];
const PARTITIONS = 3;

describe('ingest run against the real stack', () => {
  let stack: StackConfig;
  let sink: KafkaSink;
  let fs: FileSystem;
  let redis: Redis;
  let registry: SchemaRegistry;
  let codec: MessageCodec;
  let loaded: LoadedJob;
  let prefix: string;
  let topics: string[];
  let hdfsBase: string;
  let produced: PlannedMessage[] = [];
  let firstReport: RunReport;
  // Hours are counted from H, the start of the current hour.
  const H = Math.floor(Date.now() / HOUR_MS) * HOUR_MS;
  const hour = (n: number) => hourKey(hourOf(H + n * HOUR_MS));

  before(async () => {
    stack = await requireStack(['kafka', 'webhdfs', 'redis', 'tools']);
    prefix = uniqueName('ing');
    hdfsBase = `/mwingest-test/${prefix}`;
    topics = SCHEMAS.map((name) => `${prefix}_${name}`);
    sink = await openKafkaSink({ brokers: stack.kafkaBrokers });
    for (const topic of topics) await sink.createTopic(topic, PARTITIONS);
    const root = await mixedRegistryRoot();
    registry = await SchemaRegistry.load(root);
    codec = new MessageCodec(registry);
    // Hours H-7 … H-5 and H-3 … H-2 have data; H-4 has none. The grace puts the completeness
    // watermark at H-0.5h whatever minute the test runs at: hours ending by then (up to H-2) are
    // complete, H-1 is not.
    const graceSeconds = Math.ceil((Date.now() - (H - 0.5 * HOUR_MS)) / 1000);
    loaded = await writeTestJob({
      name: prefix,
      prefix,
      stack,
      registry: root,
      hdfsBase,
      extra: { completeness: { idleGraceSeconds: graceSeconds } },
    });
    fs = await openFileSystem(loaded.config.fileSystem);
    redis = new Redis(stack.redisUrl, { maxRetriesPerRequest: null });
    const spec = topics.map((topic) => ({
      topic,
      schemaName: schemaNameOfTopic(topic),
      partitions: PARTITIONS,
    }));
    const early = planTraffic(registry, codec, {
      topics: spec,
      messagesPerTopic: 900,
      fromMs: H - 7 * HOUR_MS,
      toMs: H - 4 * HOUR_MS,
      badRatio: 0.01,
      disorderMs: 20 * 60_000,
      seed: 11,
    });
    const later = planTraffic(registry, codec, {
      topics: spec,
      messagesPerTopic: 600,
      fromMs: H - 3 * HOUR_MS,
      toMs: H - 1 * HOUR_MS,
      badRatio: 0.01,
      disorderMs: 20 * 60_000,
      seed: 12,
    });
    produced = [...early, ...later];
    await produceMessages(sink, produced);
  });

  after(async () => {
    for (const topic of topics ?? []) await sink?.deleteTopic(topic).catch(() => undefined);
    await sink?.close();
    await fs?.delete(hdfsBase, { recursive: true }).catch(() => undefined);
    await fs?.close();
    if (redis) {
      await forgetJobInRedis(redis, loaded.config.name);
      redis.disconnect();
    }
  });

  test('the first run commits every partition and the accounting equation holds for each', async () => {
    firstReport = await runJob(loaded, { log: quietLog, redisUrl: stack.redisUrl });
    assert.equal(firstReport.status, 'succeeded', firstReport.problems.join('\n'));
    assert.equal(firstReport.topics.length, topics.length);
    const bad = produced.filter((m) => m.bad).length;
    assert.ok(bad > 10, 'the traffic has malformed messages');
    assert.equal(firstReport.totals.read, produced.length);
    assert.equal(firstReport.totals.written, produced.length - bad);
    assert.equal(firstReport.totals.errors, bad);
    for (const topic of firstReport.topics) {
      const byRevision: Record<string, number> = {};
      for (const m of produced) {
        if (m.topic === topic.topic && !m.bad)
          byRevision[String(m.revision)] = (byRevision[String(m.revision)] ?? 0) + 1;
      }
      assert.deepEqual(topic.revisions, byRevision, `${topic.topic}: records per writer revision`);
      assert.equal(topic.partitions.length, PARTITIONS);
      for (const p of topic.partitions) {
        assert.equal(p.status, 'committed');
        const span = BigInt(p.endOffset) - BigInt(p.startOffset);
        assert.equal(span, BigInt(p.counts.written + p.counts.errors + p.counts.absent), p.equation);
        assert.equal(p.endOffset, p.highWatermark);
      }
    }
    const saved = JSON.parse(
      (await fs.readFile(`${hdfsBase}/state/${loaded.config.name}/reports/latest.json`)).toString(),
    );
    assert.equal(saved.runId, firstReport.runId, 'the report is saved beside the state');
  });

  test('the hour files hold exactly the produced records, each in the hour of its own timestamp', async () => {
    for (const topic of topics) {
      const reader = registry.latest(schemaNameOfTopic(topic))!;
      const expected = multiset(
        produced
          .filter((m) => m.topic === topic && !m.bad)
          .map((m) => `${hourKey(hourOf(m.recordMs!))} ${expectedReaderBytes(registry, m, reader.revision)}`),
      );
      const actual: string[] = [];
      const root = `${hdfsBase}/raw/${topic}/hourly`;
      for (const path of await listFilesRecursively(fs, root)) {
        if (!path.endsWith('.avro')) continue;
        const match = /\/(\d{4})\/(\d{2})\/(\d{2})\/(\d{2})\/([^/]+)$/.exec(path);
        assert.ok(match, `${path} is in a <year>/<month>/<day>/<hour> directory`);
        assert.match(match[5]!, new RegExp(`^${topic.replace(/[.-]/g, '\\$&')}\\.\\d+\\.\\d+-\\d+\\.avro$`));
        const file = await decodeContainer(await fs.readFile(path));
        assert.equal(file.codec, 'snappy');
        assert.deepEqual(file.schema, reader.json, 'files are written with the reader schema');
        for (const record of file.records)
          actual.push(
            `${match[1]}-${match[2]}-${match[3]}T${match[4]} ${reader.type.toBuffer(record).toString('hex')}`,
          );
      }
      assert.deepEqual(multiset(actual), expected, `${topic}: records in hour files = records produced`);
    }
  });

  test('avro-tools, an independent reader, reads every file and counts the same records', async () => {
    const local = await localTemp('mwingest-avro-tools');
    for (const topic of topics) {
      const files = (await listFilesRecursively(fs, `${hdfsBase}/raw/${topic}/hourly`)).filter((p) =>
        p.endsWith('.avro'),
      );
      const paths: string[] = [];
      for (const [i, path] of files.entries()) {
        const target = join(local, `${i}.avro`);
        await writeFile(target, await fs.readFile(path));
        paths.push(target);
      }
      const { stdout } = await execFileAsync(
        'java',
        ['-Xmx256m', '-jar', stack.avroToolsJar, 'count', ...paths],
        { maxBuffer: 1 << 20 },
      );
      const written = produced.filter((m) => m.topic === topic && !m.bad).length;
      assert.equal(Number(stdout.trim().split('\n').at(-1)), written, `${topic}: avro-tools count`);
    }
  });

  test('every malformed message is an error record with its reason, offset and raw bytes', async () => {
    const errors = await readErrorRecords(fs, `${hdfsBase}/state/${loaded.config.name}/errors`);
    // Offsets follow the production order within each partition.
    const expected: string[] = [];
    for (const topic of topics) {
      for (let partition = 0; partition < PARTITIONS; partition++) {
        produced
          .filter((m) => m.topic === topic && m.partition === partition)
          .forEach((m, offset) => {
            if (m.bad)
              expected.push(`${topic}/${partition}@${offset} ${m.bad} ${m.value.toString('base64')}`);
          });
      }
    }
    const actual = errors.map((e) => `${e.topic}/${e.partition}@${e.offset} ${e.code} ${e.raw}`);
    assert.deepEqual(actual.sort(), expected.sort());
    for (const error of errors)
      assert.ok(error.message.length > 20, `a sentence for ${error.code}: ${error.message}`);
  });

  test('_IMPORTED and partition-add jobs exist exactly for the complete hours, the empty one included', async () => {
    const complete = [-7, -6, -5, -4, -3, -2].map(hour);
    const queue = new Queue(hiveQueueName(loaded.config.name), { connection: redis });
    const jobIds = (await queue.getJobs(['waiting', 'active', 'delayed', 'completed', 'failed']))
      .map((j) => j.id)
      .sort();
    await queue.close();
    const expectedIds: string[] = [];
    for (const topic of topics) {
      const flagged: string[] = [];
      const root = `${hdfsBase}/raw/${topic}/hourly`;
      for (const path of await listFilesRecursively(fs, root)) {
        if (!path.endsWith('/_IMPORTED')) continue;
        const flag = JSON.parse((await fs.readFile(path)).toString());
        flagged.push(flag.hour);
        const records = produced.filter(
          (m) => m.topic === topic && !m.bad && hourKey(hourOf(m.recordMs!)) === flag.hour,
        ).length;
        assert.equal(flag.records, records, `${topic} ${flag.hour}: the flag counts the hour's records`);
      }
      assert.deepEqual(flagged.sort(), complete, `${topic}: flags for H-7 … H-2, not for the incomplete H-1`);
      const emptyHour = (await fs.list(`${root}/${hour(-4).replace(/-/g, '/').replace('T', '/')}`)).map(
        (e) => e.name,
      );
      assert.deepEqual(emptyHour, ['_IMPORTED'], 'the hour with no data has its flag and nothing else');
      for (const h of complete) expectedIds.push(`${topic}__${h}`);
      const report = firstReport.topics.find((t) => t.topic === topic)!;
      assert.deepEqual(report.announced, complete);
    }
    assert.deepEqual(jobIds, expectedIds.sort());
  });

  test('records for an announced hour are written, counted as late and reported; nothing is announced twice', async () => {
    const spec = topics.map((topic) => ({
      topic,
      schemaName: schemaNameOfTopic(topic),
      partitions: PARTITIONS,
    }));
    const late = planTraffic(registry, codec, {
      topics: spec,
      messagesPerTopic: 40,
      fromMs: H - 6 * HOUR_MS,
      toMs: H - 5.5 * HOUR_MS,
      badRatio: 0,
      disorderMs: 0,
      seed: 13,
    });
    await produceMessages(sink, late);
    const report = await runJob(loaded, { log: quietLog, redisUrl: stack.redisUrl });
    assert.equal(report.status, 'succeeded', report.problems.join('\n'));
    assert.equal(report.totals.written, late.length);
    assert.equal(report.totals.late, late.length);
    for (const topic of report.topics) {
      assert.deepEqual(topic.late, { [hour(-6)]: 40 });
      assert.deepEqual(topic.announced, [], 'no hour is announced again');
    }
    const queue = new Queue(hiveQueueName(loaded.config.name), { connection: redis });
    assert.equal(
      (await queue.getJobs(['waiting', 'active', 'delayed', 'completed', 'failed'])).length,
      topics.length * 6,
    );
    await queue.close();
    for (const topic of topics) {
      const dir = `${hdfsBase}/raw/${topic}/hourly/${hour(-6).replace(/-/g, '/').replace('T', '/')}`;
      const files = (await fs.list(dir)).filter((e) => e.name.endsWith('.avro'));
      let records = 0;
      for (const file of files)
        records += (await decodeContainer(await fs.readFile(file.path))).records.length;
      const expected = [...produced, ...late].filter(
        (m) => m.topic === topic && !m.bad && hourKey(hourOf(m.recordMs!)) === hour(-6),
      ).length;
      assert.equal(records, expected, `${topic}: late records are in their hour's directory`);
    }
  });

  test('a run with nothing new reads nothing and writes nothing', async () => {
    const before = (await listFilesRecursively(fs, `${hdfsBase}/raw`)).sort();
    const report = await runJob(loaded, { log: quietLog, redisUrl: stack.redisUrl });
    assert.equal(report.status, 'succeeded');
    assert.equal(report.totals.read, 0);
    for (const topic of report.topics) for (const p of topic.partitions) assert.equal(p.status, 'up-to-date');
    assert.deepEqual((await listFilesRecursively(fs, `${hdfsBase}/raw`)).sort(), before);
  });
});
