/**
 * Guarantees 2–5 on the real stack: Kafka group offsets follow the committed ones, one owner per job run (a second run
 * is skipped; a stale partition owner is test/faults/stale-owner.fault.integration.test.ts), no silent skip of expired offsets, and a run whose
 * error ratio passes the job's threshold fails loudly and commits nothing for that partition.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { planTraffic } from '../../src/demo/traffic.js';
import { isMwiError } from '../../src/errors.js';
import type { FileSystem } from '../../src/hdfs/filesystem.js';
import { openFileSystem } from '../../src/hdfs/open.js';
import { hiveQueueName } from '../../src/hive/queue.js';
import { HOUR_MS } from '../../src/hours/hour.js';
import { LeaseManager } from '../../src/job/lease.js';
import { KafkaAdmin } from '../../src/kafka/admin.js';
import type { KafkaSink } from '../../src/kafka/client.js';
import { openKafkaSink } from '../../src/kafka/open.js';
import { runJob } from '../../src/scheduler/local-run.js';
import { MessageCodec } from '../../src/schemas/codec.js';
import { SchemaRegistry, schemaNameOfTopic } from '../../src/schemas/registry.js';
import {
  listFilesRecursively,
  mixedRegistryRoot,
  produceMessages,
  quietLog,
  writeTestJob,
} from '../support/ingest.js';
import { requireStack, type StackConfig, uniqueName } from '../support/stack.js';

describe('guarantees 2–5 against the real stack', () => {
  let stack: StackConfig;
  let sink: KafkaSink;
  let admin: KafkaAdmin;
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
    admin = await KafkaAdmin.open({ brokers: stack.kafkaBrokers });
    fs = await openFileSystem({ type: 'hdfs', url: stack.webhdfsUrl, user: 'hdfs' });
    redis = new Redis(stack.redisUrl, { maxRetriesPerRequest: null });
  });

  after(async () => {
    for (const step of cleanup.reverse()) await step().catch(() => undefined);
    await sink?.close();
    admin?.close();
    await fs?.close();
    redis?.disconnect();
  });

  /** A fresh topic `<prefix>_ApiAction` with `count` messages, and a job for it. */
  async function scenario(
    label: string,
    count: number,
    badRatio: number,
    extra: Record<string, unknown> = {},
  ) {
    const prefix = uniqueName(label);
    const topic = `${prefix}_ApiAction`;
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
    const produce = (n: number, seed: number) =>
      produceMessages(
        sink,
        planTraffic(registry, codec, {
          topics: [{ topic, schemaName: schemaNameOfTopic(topic), partitions: 1 }],
          messagesPerTopic: n,
          fromMs: H - 3 * HOUR_MS,
          toMs: H - 2 * HOUR_MS,
          badRatio,
          seed,
        }),
      );
    await produce(count, 1);
    return { topic, base, job, produce };
  }

  test('2: consumer-group offsets follow the committed offsets, for lag monitoring only', async () => {
    const { topic, base, job } = await scenario('group', 200, 0);
    const report = await runJob(job, { log: quietLog, redisUrl: stack.redisUrl });
    assert.equal(report.status, 'succeeded');
    const group = `mwingest-${job.config.name}`;
    cleanup.push(() => admin.deleteGroup(group));
    assert.deepEqual(await admin.groupOffsets(group, topic), new Map([[0, 200n]]));
    const offsets = (
      await listFilesRecursively(fs, `${base}/state/${job.config.name}/partitions/${topic}/0/offsets`)
    ).map((p) => p.split('/').at(-1));
    assert.deepEqual(
      offsets,
      ['00000000000000000200.json'],
      'the source of truth is the offsets document beside the data',
    );
  });

  test('1: a run aborted while reading commits nothing, and the rerun reads the whole range once', async () => {
    const { base, job } = await scenario('abort', 20_000, 0);
    const controller = new AbortController();
    const aborted = await runJob(job, {
      log: quietLog,
      redisUrl: stack.redisUrl,
      signal: controller.signal,
      onProgress: () => controller.abort(new Error('shutting down')),
    });
    const partition = aborted.topics[0]!.partitions[0]!;
    assert.equal(partition.status, 'failed');
    assert.equal(partition.error?.code, 'MWI_TASK_ABORTED');
    assert.equal(partition.error?.canRetry, true);
    const offsetsDir = `${base}/state/${job.config.name}/partitions`;
    assert.deepEqual(
      (await listFilesRecursively(fs, offsetsDir)).filter((p) => p.includes('/offsets/')),
      [],
      'no offsets moved',
    );
    assert.deepEqual(await listFilesRecursively(fs, `${base}/raw`), [], 'no file became visible');

    const rerun = await runJob(job, { log: quietLog, redisUrl: stack.redisUrl });
    assert.equal(rerun.status, 'succeeded', rerun.problems.join('\n'));
    assert.equal(rerun.totals.written, 20_000);
    assert.equal(rerun.totals.absent, 0);
  });

  test('3: a run of a job while another run of it is in progress (on any host) is skipped, not queued', async () => {
    const { job } = await scenario('own', 100, 0);
    // Another host's run holds the job's run lease.
    const other = new LeaseManager(redis, `mwingest:${job.config.name}`, {
      ttlMs: 30_000,
      owner: 'an-worker1001/4242/run',
    });
    const held = await other.tryAcquire('run');
    assert.ok(held);
    try {
      await assert.rejects(
        runJob(job, { log: quietLog, redisUrl: stack.redisUrl }),
        (error) =>
          isMwiError(error, 'MWI_RUN_IN_PROGRESS') && error.message.includes('an-worker1001/4242/run'),
      );
    } finally {
      await held.release();
    }
    const report = await runJob(job, { log: quietLog, redisUrl: stack.redisUrl });
    assert.equal(report.status, 'succeeded', 'once the other run is over, the next one runs');
    assert.equal(report.totals.written, 100);
  });

  test('4: offsets that expired before they were read fail the run, naming the lost range', async () => {
    const { topic, job, produce } = await scenario('expired', 100, 0);
    const first = await runJob(job, { log: quietLog, redisUrl: stack.redisUrl });
    assert.equal(first.status, 'succeeded');
    await produce(100, 2); // offsets 100…199
    await admin.deleteRecords(topic, 0, 150n); // retention took 100…149 before the next run
    const second = await runJob(job, { log: quietLog, redisUrl: stack.redisUrl });
    assert.equal(second.status, 'failed');
    const partition = second.topics[0]!.partitions[0]!;
    assert.equal(partition.error?.code, 'MWI_OFFSETS_EXPIRED');
    assert.match(partition.error!.message, /offsets 100–149 \(50 messages\) expired/);
    assert.deepEqual(partition.expiredRange, { from: '100', to: '150' });
    assert.ok(
      second.problems.some((p) => p.includes('expired')),
      'the report says so',
    );
    // Nothing moved: a rerun still fails until someone decides.
    assert.equal((await runJob(job, { log: quietLog, redisUrl: stack.redisUrl })).status, 'failed');
  });

  test('4: with expiredOffsets "report", the loss is counted in the equation and the run continues', async () => {
    const { topic, job, produce } = await scenario('report', 100, 0, { expiredOffsets: 'report' });
    assert.equal((await runJob(job, { log: quietLog, redisUrl: stack.redisUrl })).status, 'succeeded');
    await produce(100, 3);
    await admin.deleteRecords(topic, 0, 130n);
    const report = await runJob(job, { log: quietLog, redisUrl: stack.redisUrl });
    assert.equal(report.status, 'succeeded', report.problems.join('\n'));
    const partition = report.topics[0]!.partitions[0]!;
    assert.deepEqual(partition.expiredRange, { from: '100', to: '130' });
    assert.equal(partition.counts.expired, 30);
    assert.equal(partition.counts.written, 70);
    assert.match(
      partition.equation,
      /200 − 100 = 100; 70 written \+ 0 errors \+ 0 absent \+ 30 expired = 100/,
    );
  });

  test('5: a partition whose bad messages pass the threshold fails loudly and commits nothing', async () => {
    const { base, job } = await scenario('ratio', 500, 0.3, { limits: { errorRatio: 0.05 } });
    const report = await runJob(job, { log: quietLog, redisUrl: stack.redisUrl });
    assert.equal(report.status, 'failed');
    const partition = report.topics[0]!.partitions[0]!;
    assert.equal(partition.error?.code, 'MWI_RUN_ERROR_RATIO');
    assert.match(
      partition.error!.message,
      /of 500 messages .* are bad \(\d+\.\d+% > limits\.errorRatio 5%\)/,
    );
    assert.deepEqual(await listFilesRecursively(fs, `${base}/raw`), [], 'no hour file became visible');
    assert.deepEqual(
      (await listFilesRecursively(fs, `${base}/state/${job.config.name}/partitions`)).filter((p) =>
        p.includes('/offsets/'),
      ),
      [],
      'the offsets did not move',
    );
  });
});
