/**
 * Redis loses the Hive partition-add queue after the ingest announced its hours (a restart without
 * persistence, a failover, an eviction, a FLUSHALL): nothing announced is lost. Against the real
 * Kafka, HDFS, Redis and HiveServer2, with the real `mwingest` command:
 *
 *   - `mwingest hive status` shows the announced hours as missing, "announced, no partition add queued";
 *   - `mwingest hive retry --reconcile` queues them again, once (a second call queues nothing);
 *   - after a second loss, a `mwingest hive worker` started with no other command adds every
 *     announced hour's partition and writes its `_SUCCESS`; Hive's SHOW PARTITIONS lists them all.
 *
 * Redis is shared with other tests, so "losing" it is deleting every key of this test's job (its
 * name is unique and in every key the job has in Redis) rather than FLUSHALL; from the job's point
 * of view that is the same.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { planTraffic } from '../../src/demo/traffic.js';
import type { FileSystem } from '../../src/hdfs/filesystem.js';
import { openFileSystem } from '../../src/hdfs/open.js';
import { createHiveClient, type HiveClient } from '../../src/hive/client.js';
import { datasetTables } from '../../src/hive/ddl.js';
import { hiveQueueName } from '../../src/hive/queue.js';
import { HOUR_MS, hourKey, hourOf, parseHourKey } from '../../src/hours/hour.js';
import { UNQUEUED_REASON } from '../../src/ingest/hive-reconcile.js';
import type { LoadedJob } from '../../src/job/config.js';
import type { KafkaSink } from '../../src/kafka/client.js';
import { openKafkaSink } from '../../src/kafka/open.js';
import { runJob } from '../../src/scheduler/local-run.js';
import { MessageCodec } from '../../src/schemas/codec.js';
import { SchemaRegistry } from '../../src/schemas/registry.js';
import { runMwingest } from '../support/cli.js';
import { mixedRegistryRoot, produceMessages, quietLog, writeTestJob } from '../support/ingest.js';
import { requireStack, type StackConfig, uniqueName } from '../support/stack.js';

const BIN = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'mwingest.js');
const HIVE = `${process.env.MWINGEST_HIVE_HOST || '127.0.0.1'}:${process.env.MWINGEST_HIVE_PORT || 10000}`;
const FROM_SOURCE = { MWINGEST_FROM_SOURCE: '1' };

describe('Redis loses the Hive queue after hours were announced', () => {
  const prefix = uniqueName('redisloss');
  const topic = `${prefix}_EditAttempt`;
  const base = `/mwingest-test/${prefix}`;
  const database = `mwi_${prefix.replace(/[^a-z0-9]/g, '_')}`.slice(0, 60);
  const H = Math.floor(Date.now() / HOUR_MS) * HOUR_MS;
  let stack: StackConfig;
  let sink: KafkaSink;
  let fs: FileSystem;
  let redis: Redis;
  let hive: HiveClient;
  let loaded: LoadedJob;
  let registry: SchemaRegistry;
  let table = '';
  let worker: ChildProcess | undefined;

  before(async () => {
    stack = await requireStack(['kafka', 'webhdfs', 'redis']);
    const root = await mixedRegistryRoot();
    registry = await SchemaRegistry.load(root);
    sink = await openKafkaSink({ brokers: stack.kafkaBrokers });
    await sink.createTopic(topic, 2);
    // Data in H-5 … H-3; the watermark sits at H-0.5h, so H-2 is complete with no data.
    await produceMessages(
      sink,
      planTraffic(registry, new MessageCodec(registry), {
        topics: [{ topic, schemaName: 'EditAttempt', partitions: 2 }],
        messagesPerTopic: 300,
        fromMs: H - 5 * HOUR_MS,
        toMs: H - 2 * HOUR_MS,
        badRatio: 0,
        seed: 18,
      }),
    );
    loaded = await writeTestJob({
      name: prefix,
      prefix,
      stack,
      registry: root,
      hdfsBase: base,
      extra: {
        completeness: { idleGraceSeconds: Math.ceil((Date.now() - (H - 0.5 * HOUR_MS)) / 1000) },
        hive: { database, server: HIVE, reconcile: { intervalSeconds: 5, lookbackHours: 12 } },
      },
    });
    fs = await openFileSystem(loaded.config.fileSystem);
    redis = new Redis(stack.redisUrl, { maxRetriesPerRequest: null });
    hive = createHiveClient({ connectTimeoutMs: 10_000 });
  });

  after(async () => {
    if (worker !== undefined && worker.exitCode === null) worker.kill('SIGKILL');
    if (table !== '')
      await hive.execute(`DROP TABLE IF EXISTS \`${database}\`.\`${table}\``).catch(() => undefined);
    await hive?.execute(`DROP DATABASE IF EXISTS \`${database}\``).catch(() => undefined);
    await hive?.close();
    await sink?.deleteTopic(topic).catch(() => undefined);
    await sink?.close();
    await fs?.delete(base, { recursive: true }).catch(() => undefined);
    await fs?.close();
    if (loaded) await loseRedis();
    redis?.disconnect();
  });

  /** Every key of this job in Redis, deleted: the job's view of a FLUSHALL. */
  async function loseRedis(): Promise<void> {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, found] = await redis.scan(cursor, 'MATCH', `*${prefix}*`, 'COUNT', 1000);
      cursor = next;
      keys.push(...found);
    } while (cursor !== '0');
    if (keys.length > 0) await redis.del(...keys);
    const [, left] = await redis.scan('0', 'MATCH', `*${prefix}*`, 'COUNT', 100_000);
    assert.deepEqual(left, [], 'nothing of the job is left in Redis');
  }

  const hiveArgs = (command: string, ...more: string[]) => [
    'hive',
    command,
    '--job',
    loaded.path,
    '--redis',
    stack.redisUrl,
    ...more,
  ];
  const hourDir = (hour: string) =>
    `${base}/raw/${topic}/hourly/${hour.replace(/-/g, '/').replace('T', '/')}`;
  const spec = (key: string) => {
    const b = parseHourKey(key);
    return `year=${b.year}/month=${b.month}/day=${b.day}/hour=${b.hour}`;
  };
  const expectedHours = [-5, -4, -3, -2].map((n) => hourKey(hourOf(H + n * HOUR_MS)));

  test('hive status shows the gap, hive retry --reconcile closes it once, and a hive worker closes it by itself', {
    timeout: 300_000,
  }, async () => {
    const [definition] = datasetTables(loaded, registry, { dataset: 'EditAttempt' });
    assert.ok(definition);
    table = definition.table;
    await hive.execute(`CREATE DATABASE IF NOT EXISTS \`${database}\``);
    await hive.execute(definition.statement);

    // 1. ingest and announce
    const report = await runJob(loaded, { log: quietLog });
    assert.equal(report.status, 'succeeded', report.problems.join('\n'));
    assert.deepEqual(report.topics[0]!.announced, expectedHours);
    const queue = new Queue(hiveQueueName(loaded.config.name), { connection: redis });
    assert.equal(await queue.getWaitingCount(), expectedHours.length, 'the announcer queued every hour');

    // 2. Redis loses everything
    await loseRedis();

    // 3. hive status shows the gap
    const gap = await runMwingest(hiveArgs('status', '--json'), { env: FROM_SOURCE });
    assert.equal(gap.code, 3, gap.stderr);
    const status = JSON.parse(gap.stdout) as { missing: { hour: string; topic: string; reason: string }[] };
    assert.deepEqual(
      status.missing.map((m) => [m.hour, m.topic, m.reason]),
      expectedHours.map((hour) => [hour, topic, UNQUEUED_REASON]),
    );
    const human = await runMwingest(hiveArgs('status'), { env: FROM_SOURCE });
    assert.equal(human.code, 3, human.stderr);
    for (const hour of expectedHours)
      assert.match(
        human.stdout,
        new RegExp(`${hour}  ${topic}  missing: announced, no partition add queued`),
      );

    // 4. on demand: queued again, once
    const retry = await runMwingest(hiveArgs('retry', '--reconcile', '--json'), { env: FROM_SOURCE });
    assert.equal(retry.code, 0, retry.stderr);
    assert.deepEqual(
      (JSON.parse(retry.stdout) as { reconciled: { hour: string }[] }).reconciled.map((r) => r.hour),
      expectedHours,
    );
    const again = await runMwingest(hiveArgs('retry', '--reconcile', '--json'), { env: FROM_SOURCE });
    assert.deepEqual((JSON.parse(again.stdout) as { reconciled: unknown[] }).reconciled, [], 'queued once');
    assert.equal(await queue.getWaitingCount(), expectedHours.length);
    const queuedStatus = await runMwingest(hiveArgs('status', '--json'), { env: FROM_SOURCE });
    assert.equal(queuedStatus.code, 0, queuedStatus.stdout);
    assert.deepEqual((JSON.parse(queuedStatus.stdout) as { missing: unknown[] }).missing, []);

    // 5. lost again; a hive worker, and no other command, adds every announced hour
    await loseRedis();
    for (const hour of expectedHours) assert.ok(!(await fs.exists(`${hourDir(hour)}/_SUCCESS`)));
    const lines: Record<string, unknown>[] = [];
    worker = spawn(process.execPath, [BIN, ...hiveArgs('worker')], {
      env: { ...process.env, ...FROM_SOURCE, MWINGEST_LOG_LEVEL: 'info' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let buffered = '';
    worker.stderr!.setEncoding('utf8');
    worker.stderr!.on('data', (chunk: string) => {
      buffered += chunk;
      const parts = buffered.split('\n');
      buffered = parts.pop() ?? '';
      for (const part of parts) {
        try {
          lines.push(JSON.parse(part) as Record<string, unknown>);
        } catch {
          lines.push({ msg: part });
        }
      }
    });
    const deadline = Date.now() + 120_000;
    for (;;) {
      const done = await Promise.all(expectedHours.map((hour) => fs.exists(`${hourDir(hour)}/_SUCCESS`)));
      if (done.every(Boolean)) break;
      assert.ok(
        Date.now() < deadline,
        `every hour has _SUCCESS within 2 minutes; worker log:\n${lines.map((l) => JSON.stringify(l)).join('\n')}`,
      );
      assert.equal(worker.exitCode, null, 'the hive worker keeps running');
      await sleep(500);
    }
    const reconciled = lines.find((l) => String(l.msg).startsWith('hive queue reconciled: announced hours'));
    assert.ok(reconciled, 'the worker says it queued the lost hours again');
    assert.equal(reconciled.count, expectedHours.length);

    const partitions = (await hive.execute(`SHOW PARTITIONS \`${database}\`.\`${table}\``)).rows.map((row) =>
      String(Object.values(row)[0]),
    );
    assert.deepEqual(partitions.sort(), expectedHours.map(spec).sort(), 'Hive lists every announced hour');

    const final = await runMwingest(hiveArgs('status', '--json'), { env: FROM_SOURCE });
    assert.equal(final.code, 0, final.stdout);
    const closed = JSON.parse(final.stdout) as { missing: unknown[]; counts: { completed: number } };
    assert.deepEqual(closed.missing, []);
    assert.equal(closed.counts.completed, expectedHours.length);

    worker.kill('SIGTERM');
    const [code] = await once(worker, 'exit');
    assert.equal(code, 0);
    await queue.close();
  });

  test('hive status still shows the queue when the hour directories cannot be read, and says so (exit 4)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mwingest-job-'));
    const path = join(dir, 'nofs.json');
    await writeFile(
      path,
      JSON.stringify({
        name: `${prefix}-nofs`,
        kafka: { brokers: stack.kafkaBrokers },
        fileSystem: { type: 'hdfs', url: 'http://127.0.0.1:1' },
      }),
    );
    const run = await runMwingest(['hive', 'status', '--job', path, '--redis', stack.redisUrl, '--json'], {
      env: FROM_SOURCE,
    });
    assert.equal(run.code, 4, run.stderr);
    const status = JSON.parse(run.stdout) as { missing: unknown; missingError: string; counts: object };
    assert.equal(status.missing, null);
    assert.match(status.missingError, /MWI_HDFS_UNAVAILABLE/);
    assert.ok(status.counts, 'the queue is shown');
  });
});
