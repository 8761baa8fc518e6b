/**
 * Guarantees 6 and 7 against the faults the wire throws, on the real stack: a topic deleted and
 * recreated below the committed offset, a partition task whose end offset is past the log end, a
 * record 5 h ahead of the clock, a record whose clock is hours ahead on a partition that is behind,
 * a stray record from 2003 in a topic's first run, and a malformed message whose Kafka timestamp
 * (9e15 ms) is beyond what a Date holds.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { type PlannedMessage, planTraffic } from '../../src/demo/traffic.js';
import type { FileSystem } from '../../src/hdfs/filesystem.js';
import { openFileSystem } from '../../src/hdfs/open.js';
import { hiveQueueName } from '../../src/hive/queue.js';
import { HOUR_MS, hourKey, hourOf } from '../../src/hours/hour.js';
import { newRunId, openRunResources, planRun, runPartitionUnderLease } from '../../src/ingest/run.js';
import type { RunReport } from '../../src/ingest/run-report.js';
import type { KafkaSink } from '../../src/kafka/client.js';
import { openKafkaSink } from '../../src/kafka/open.js';
import { runJob } from '../../src/scheduler/local-run.js';
import { MessageCodec } from '../../src/schemas/codec.js';
import { SchemaRegistry } from '../../src/schemas/registry.js';
import { runMwingest } from '../support/cli.js';
import {
  decodeContainer,
  expectedReaderBytes,
  listFilesRecursively,
  mixedRegistryRoot,
  multiset,
  produceMessages,
  quietLog,
  readErrorRecords,
  writeTestJob,
} from '../support/ingest.js';
import { produceTransactions } from '../support/kafka.js';
import { requireStack, type StackConfig, uniqueName } from '../support/stack.js';

const SCHEMA = 'ApiAction';

describe('faults from the wire against the real stack', () => {
  let stack: StackConfig;
  let sink: KafkaSink;
  let fs: FileSystem;
  let redis: Redis;
  let registry: SchemaRegistry;
  let codec: MessageCodec;
  let registryRoot: string;
  const cleanup: (() => Promise<unknown>)[] = [];
  const H = Math.floor(Date.now() / HOUR_MS) * HOUR_MS;

  before(async () => {
    stack = await requireStack(['kafka', 'webhdfs', 'redis']);
    registryRoot = await mixedRegistryRoot();
    registry = await SchemaRegistry.load(registryRoot);
    codec = new MessageCodec(registry);
    sink = await openKafkaSink({ brokers: stack.kafkaBrokers });
    fs = await openFileSystem({ type: 'hdfs', url: stack.webhdfsUrl, user: 'hdfs' });
    redis = new Redis(stack.redisUrl, { maxRetriesPerRequest: null });
  });

  after(async () => {
    for (const step of cleanup.reverse()) await step().catch(() => undefined);
    await sink?.close();
    await fs?.close();
    redis?.disconnect();
  });

  /** A fresh one-partition topic `<prefix>_ApiAction` (faults-wire in its name) and a job for it. */
  async function scenario(label: string, extra: Record<string, unknown> = {}) {
    const prefix = uniqueName(`fw-${label}`);
    const topic = `${prefix}_${SCHEMA}`;
    const base = `/mwingest-test/${prefix}`;
    await sink.createTopic(topic, 1);
    const job = await writeTestJob({
      name: prefix,
      prefix,
      stack,
      registry: registryRoot,
      hdfsBase: base,
      extra,
    });
    cleanup.push(
      () => sink.deleteTopic(topic),
      () => fs.delete(base, { recursive: true }),
      () => new Queue(hiveQueueName(job.config.name), { connection: redis }).obliterate({ force: true }),
    );
    return { topic, base, job };
  }

  function traffic(topic: string, count: number, fromMs: number, toMs: number, seed = 1): PlannedMessage[] {
    return planTraffic(registry, codec, {
      topics: [{ topic, schemaName: SCHEMA, partitions: 1 }],
      messagesPerTopic: count,
      fromMs,
      toMs,
      badRatio: 0,
      seed,
    });
  }

  /** A good message like `like`, but whose own time is `recordMs`; Kafka's timestamp stays `like`'s. */
  function withRecordTime(like: PlannedMessage, recordMs: number): PlannedMessage {
    const record = { ...like.record!, ts: Math.floor(recordMs / 1000) };
    return { ...like, record, recordMs, value: codec.encode(like.revision!, record) };
  }

  async function flags(base: string): Promise<string[]> {
    return (await listFilesRecursively(fs, `${base}/raw`)).filter((p) => p.endsWith('/_IMPORTED'));
  }

  const run = (job: Awaited<ReturnType<typeof scenario>>['job']) =>
    runJob(job, { log: quietLog, redisUrl: stack.redisUrl });

  /** The hour keys of the hour files' records (`…/hourly/YYYY/MM/DD/HH/…`), with their record counts. */
  async function writtenHours(base: string): Promise<Map<string, number>> {
    const hours = new Map<string, number>();
    for (const path of await listFilesRecursively(fs, `${base}/raw`)) {
      if (!path.endsWith('.avro')) continue;
      const [y, m, d, h] = path.split('/').slice(-5, -1);
      const { records } = await decodeContainer(await fs.readFile(path));
      hours.set(`${y}-${m}-${d}T${h}`, (hours.get(`${y}-${m}-${d}T${h}`) ?? 0) + records.length);
    }
    return hours;
  }

  test('7: a topic deleted and recreated below the committed offset fails its partition, naming the offsets and the way out', async () => {
    const { topic, base, job } = await scenario('recreated');
    await produceMessages(sink, traffic(topic, 20, H - 4 * HOUR_MS, H - 3 * HOUR_MS));
    const first = await run(job);
    assert.equal(first.status, 'succeeded', first.problems.join('\n'));
    const flagged = (await flags(base)).length;

    await sink.deleteTopic(topic);
    await recreate(sink, topic);
    await produceMessages(sink, traffic(topic, 10, H - 2 * HOUR_MS, H - 1.5 * HOUR_MS, 2));
    // As an operator runs it: exit 1, and the report names the offsets and the way out.
    const cli = await runMwingest([
      'run',
      '--job',
      job.path,
      '--redis',
      stack.redisUrl,
      '--json',
      '--no-progress',
    ]);
    assert.equal(cli.code, 1, cli.stderr);
    const second = JSON.parse(cli.stdout) as RunReport;
    assert.equal(second.status, 'failed', 'never "up to date"');
    const partition = second.topics[0]!.partitions[0]!;
    assert.equal(partition.status, 'failed');
    assert.equal(partition.error?.code, 'MWI_OFFSETS_BEYOND_LOG_END');
    for (const part of [
      'committed offset 20',
      'log end 10',
      'log starts at 0',
      `mwingest offsets reset --job <job file> --topic ${topic} --partition 0 --to earliest`,
    ])
      assert.ok(partition.error!.message.includes(part), `${part} in ${partition.error!.message}`);
    assert.ok(
      second.problems.some((p) => p.includes('MWI_OFFSETS_BEYOND_LOG_END') || p.includes('past the log end')),
    );
    assert.deepEqual(second.topics[0]!.announced, [], 'no hour is announced past the partition');
    assert.equal((await flags(base)).length, flagged, 'no new _IMPORTED');
    // It stays failed until someone resets the offsets, and the status says why.
    assert.equal((await run(job)).topics[0]!.partitions[0]!.error?.code, 'MWI_OFFSETS_BEYOND_LOG_END');
    const status = await runMwingest(['status', '--job', job.path, '--redis', stack.redisUrl]);
    assert.match(
      status.stdout,
      /! committed offset 20 is past the log end 10 \(log start 0\)/,
      status.stdout,
    );
  });

  test('7: a partition task whose end offset is past the log end fails with a retryable error and commits nothing', async () => {
    const { topic, base, job } = await scenario('edited');
    await produceMessages(sink, traffic(topic, 30, H - 4 * HOUR_MS, H - 3 * HOUR_MS));
    const resources = await openRunResources(job, quietLog, stack.redisUrl);
    try {
      const runId = newRunId();
      const { topicPlans } = await planRun(resources, runId);
      // As if someone edited the task's end offset in the queue: 35 where the log ends at 30.
      const result = await runPartitionUnderLease(
        resources,
        topicPlans.get(topic)!,
        runId,
        { topic, partition: 0, earliest: 0n, endOffset: 35n },
        {},
      );
      assert.equal(result?.status, 'failed', JSON.stringify(result?.counts));
      assert.equal(result.error?.code, 'MWI_KAFKA_LOG_ENDED_EARLY');
      assert.equal(result.error?.canRetry, true);
      assert.match(result.error!.message, /log ends at offset 30 .*offsets 30–34 were not returned/);
    } finally {
      await resources.close();
    }
    const state = await listFilesRecursively(fs, `${base}/state/${job.config.name}/partitions`);
    assert.deepEqual(
      state.filter((p) => p.includes('/offsets/') || p.includes('/manifests/')),
      [],
      'nothing committed',
    );
    assert.deepEqual(await listFilesRecursively(fs, `${base}/raw`), [], 'no file became visible');
  });

  test('7: only offsets Kafka skipped are absent, each with its reason (transaction markers)', async () => {
    const { topic, job } = await scenario('markers', { limits: { errorRatio: 1 } });
    // offsets 0-4 records, 5 commit marker, 6-8 records, 9 abort marker, 10-13 records, 14 commit marker
    await produceTransactions({ brokers: stack.kafkaBrokers }, topic, 0, [
      { count: 5, end: 'commit' },
      { count: 3, end: 'abort' },
      { count: 4, end: 'commit' },
    ]);
    const report = await run(job);
    const partition = report.topics[0]!.partitions[0]!;
    assert.equal(partition.status, 'committed', JSON.stringify(partition.error));
    assert.equal(partition.counts.absent, 3);
    assert.equal(
      partition.counts.errors,
      12,
      'the records are not Avro: each is an error record, none is absent',
    );
    assert.deepEqual(partition.absentRanges, [
      { from: '5', to: '6', reason: 'between-records' },
      { from: '9', to: '10', reason: 'between-records' },
      { from: '14', to: '15', reason: 'after-last-record' },
    ]);
  });

  test('6: a record 5 h ahead of the clock is written, and no hour that has not ended is announced', async () => {
    const { topic, base, job } = await scenario('ahead');
    const messages = traffic(topic, 50, H - 3 * HOUR_MS, H - 2 * HOUR_MS);
    const ahead = withRecordTime({ ...messages[0]!, timestampMs: Date.now() }, Date.now() + 5 * HOUR_MS);
    await produceMessages(sink, [...messages, ahead]);
    const report = await run(job);
    assert.equal(report.status, 'succeeded', report.problems.join('\n'));
    assert.equal(report.totals.written, 51);
    const now = Date.now();
    const notEnded = report.topics[0]!.announced.filter((key) => Date.parse(`${key}:00:00Z`) + HOUR_MS > now);
    assert.deepEqual(notEnded, [], `announced: ${report.topics[0]!.announced.join(' ')}`);
    for (const flag of await flags(base)) {
      const [y, m, d, h] = flag.split('/').slice(-5, -1);
      assert.ok(Date.UTC(Number(y), Number(m) - 1, Number(d), Number(h)) + HOUR_MS <= now, flag);
    }
    const aheadHour = hourKey(hourOf(ahead.recordMs!));
    assert.equal((await writtenHours(base)).get(aheadHour), 1, 'the record is in its own hour');
  });

  test('6: one record with a clock hours ahead does not move a partition that is behind', async () => {
    // Records over H-9…H-5; the run reads only the first 60 (up to about H-7); one of them says H-1.
    const { topic, job } = await scenario('outlier', { limits: { errorRatio: 0.2, maxRecordsPerRun: 60 } });
    const messages = traffic(topic, 120, H - 9 * HOUR_MS, H - 5 * HOUR_MS);
    messages[10] = withRecordTime(messages[10]!, H - HOUR_MS + 60_000);
    await produceMessages(sink, messages);
    const report = await run(job);
    assert.equal(report.status, 'succeeded', report.problems.join('\n'));
    const partition = report.topics[0]!.partitions[0]!;
    assert.equal(partition.counts.written, 60);
    assert.equal(partition.caughtUp, false);
    const readUpTo = Math.max(...messages.slice(0, 60).map((m) => m.timestampMs));
    const announced = report.topics[0]!.announced;
    assert.ok(announced.length > 0, 'the hours the partition has really passed are announced');
    for (const key of announced)
      assert.ok(
        Date.parse(`${key}:00:00Z`) + HOUR_MS <= readUpTo,
        `${key} announced, read up to ${new Date(readUpTo).toISOString()}`,
      );
  });

  test("6: a stray record from 2003 in a topic's first run is written and counted late, not announced as years of empty hours", {
    timeout: 120_000,
  }, async () => {
    const { topic, base, job } = await scenario('stray');
    const messages = traffic(topic, 50, H - 3 * HOUR_MS, H - 2 * HOUR_MS);
    const stray = withRecordTime(messages[25]!, Date.UTC(2003, 5, 1, 9, 30));
    messages[25] = stray;
    await produceMessages(sink, messages);
    const report = await Promise.race([
      run(job),
      new Promise<RunReport>((_, reject) =>
        setTimeout(
          () => reject(new Error('the run did not end within 60 s (announcing years of empty hours?)')),
          60_000,
        ).unref(),
      ),
    ]);
    assert.equal(report.status, 'succeeded', report.problems.join('\n'));
    assert.equal(report.totals.written, 50);
    const announced = report.topics[0]!.announced;
    assert.equal(announced[0], hourKey(hourOf(H - 3 * HOUR_MS)), 'the first hour is the oldest Kafka time');
    assert.ok(announced.length <= 4, announced.join(' '));
    assert.deepEqual(report.topics[0]!.late, { '2003-06-01T09': 1 });
    assert.equal((await writtenHours(base)).get('2003-06-01T09'), 1, 'written to its own hour');
    assert.equal((await flags(base)).length, announced.length);
  });

  test('6: a malformed message whose Kafka timestamp is 9e15 ms becomes an error record; the 60 good records are written', async () => {
    const { topic, base, job } = await scenario('kafka-time');
    const messages = traffic(topic, 60, H - 3 * HOUR_MS, H - 2 * HOUR_MS);
    await produceMessages(sink, messages.slice(0, 30));
    await sink.produce(topic, [{ value: Buffer.from('{"not":"avro"}'), partition: 0, timestamp: 9e15 }]);
    await produceMessages(sink, messages.slice(30));
    const report = await run(job);
    assert.equal(report.status, 'succeeded', report.problems.join('\n'));
    const partition = report.topics[0]!.partitions[0]!;
    assert.equal(partition.counts.written, 60);
    assert.equal(partition.counts.errors, 1);
    const [error, ...others] = await readErrorRecords(fs, `${base}/state/${job.config.name}/errors`);
    assert.equal(others.length, 0);
    assert.equal(error?.offset, '30');
    assert.equal(error?.code, 'BAD_MAGIC');
    assert.equal(error?.kafkaTimestamp, null);
    assert.equal(error?.kafkaTimestampMs, 9e15, 'the broker kept the value and the error record shows it');
    assert.equal(Buffer.from(error!.raw!, 'base64').toString(), '{"not":"avro"}');
    // The records themselves, as reader-schema bytes read back by avsc.
    const reader = registry.latest(SCHEMA)!;
    const written: string[] = [];
    for (const path of await listFilesRecursively(fs, `${base}/raw`)) {
      if (!path.endsWith('.avro')) continue;
      for (const record of (await decodeContainer(await fs.readFile(path))).records)
        written.push(reader.type.toBuffer(record).toString('hex'));
    }
    assert.deepEqual(
      multiset(written),
      multiset(messages.map((m) => expectedReaderBytes(registry, m, reader.revision))),
    );
  });
});

/** Creates the topic again once Kafka has finished deleting it. */
async function recreate(sink: KafkaSink, topic: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      await sink.createTopic(topic, 1);
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}
