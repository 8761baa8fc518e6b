/**
 * From Kafka to a Hive query: a real ingest run announces the complete hours, the partition-add
 * worker adds them to a table created from `mwingest hive ddl`'s statement, and Hive (HiveServer2
 * with its own AvroSerDe) shows exactly those hours, the empty one included, with the records the
 * run wrote; `_SUCCESS` marks each.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { planTraffic } from '../../src/demo/traffic.js';
import type { FileSystem } from '../../src/hdfs/filesystem.js';
import { openFileSystem } from '../../src/hdfs/open.js';
import { createHiveClient, type HiveClient } from '../../src/hive/client.js';
import { datasetTables } from '../../src/hive/ddl.js';
import { hiveQueueName } from '../../src/hive/queue.js';
import { startHivePartitionWorker } from '../../src/hive/worker.js';
import { HOUR_MS, hourKey, hourOf, parseHourKey } from '../../src/hours/hour.js';
import type { LoadedJob } from '../../src/job/config.js';
import type { KafkaSink } from '../../src/kafka/client.js';
import { openKafkaSink } from '../../src/kafka/open.js';
import { runJob } from '../../src/scheduler/local-run.js';
import { MessageCodec } from '../../src/schemas/codec.js';
import { SchemaRegistry } from '../../src/schemas/registry.js';
import { mixedRegistryRoot, produceMessages, quietLog, writeTestJob } from '../support/ingest.js';
import { requireStack, uniqueName } from '../support/stack.js';

describe('ingest to Hive partitions against the real stack', () => {
  const prefix = uniqueName('hiveingest');
  const topic = `${prefix}_EditAttempt`;
  const base = `/mwingest-test/${prefix}`;
  const database = `mwi_${prefix.replace(/[^a-z0-9]/g, '_')}`.slice(0, 60);
  const H = Math.floor(Date.now() / HOUR_MS) * HOUR_MS;
  let sink: KafkaSink;
  let fs: FileSystem;
  let redis: Redis;
  let hive: HiveClient;
  let loaded: LoadedJob;
  let registry: SchemaRegistry;
  let table = '';

  before(async () => {
    const stack = await requireStack(['kafka', 'webhdfs', 'redis']);
    const root = await mixedRegistryRoot();
    registry = await SchemaRegistry.load(root);
    sink = await openKafkaSink({ brokers: stack.kafkaBrokers });
    await sink.createTopic(topic, 2);
    // Data in H-5 … H-3; the watermark sits at H-0.5h, so H-2 is complete with no data.
    await produceMessages(
      sink,
      planTraffic(registry, new MessageCodec(registry), {
        topics: [{ topic, schemaName: 'EditAttempt', partitions: 2 }],
        messagesPerTopic: 600,
        fromMs: H - 5 * HOUR_MS,
        toMs: H - 2 * HOUR_MS,
        badRatio: 0.01,
        disorderMs: 60_000,
        seed: 41,
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
        hive: { database },
      },
    });
    fs = await openFileSystem(loaded.config.fileSystem);
    redis = new Redis(stack.redisUrl, { maxRetriesPerRequest: null });
    hive = createHiveClient({ connectTimeoutMs: 10_000 });
  });

  after(async () => {
    if (table !== '')
      await hive.execute(`DROP TABLE IF EXISTS \`${database}\`.\`${table}\``).catch(() => undefined);
    // The stack's Hive cannot drop databases (a jar missing from its classpath; docs/stack.md): the empty database stays.
    await hive?.execute(`DROP DATABASE IF EXISTS \`${database}\``).catch(() => undefined);
    await hive?.close();
    await sink?.deleteTopic(topic).catch(() => undefined);
    await sink?.close();
    await fs?.delete(base, { recursive: true }).catch(() => undefined);
    await fs?.close();
    if (loaded)
      await new Queue(hiveQueueName(loaded.config.name), { connection: redis }).obliterate({ force: true });
    redis?.disconnect();
  });

  test('the worker adds exactly the announced hours, and Hive counts what the run wrote', async () => {
    const [definition] = datasetTables(loaded, registry, { dataset: 'EditAttempt' });
    assert.ok(definition);
    table = definition.table;
    await hive.execute(`CREATE DATABASE IF NOT EXISTS \`${database}\``);
    await hive.execute(definition.statement);

    const report = await runJob(loaded, { log: quietLog });
    assert.equal(report.status, 'succeeded', report.problems.join('\n'));
    const announced = report.topics[0]!.announced;
    const expectedHours = [-5, -4, -3, -2].map((n) => hourKey(hourOf(H + n * HOUR_MS)));
    assert.deepEqual(announced, expectedHours);
    const written: Record<string, number> = {};
    for (const p of report.topics[0]!.partitions)
      for (const [hour, n] of Object.entries(p.hours)) written[hour] = (written[hour] ?? 0) + n;

    const worker = startHivePartitionWorker({
      loaded,
      fs,
      hive,
      connection: redis,
      log: pino({ level: 'silent' }),
      registry: new Registry(),
    });
    try {
      const queue = new Queue(hiveQueueName(loaded.config.name), { connection: redis });
      for (let waited = 0; (await queue.getCompletedCount()) < announced.length; waited += 250) {
        const failed = await queue.getFailed();
        assert.equal(failed.length, 0, failed.map((j) => j.failedReason).join('\n'));
        assert.ok(waited < 120_000, 'the partition adds finish within two minutes');
        await sleep(250);
      }
      await queue.close();
    } finally {
      await worker.close();
    }

    const partitions = (await hive.execute(`SHOW PARTITIONS \`${database}\`.\`${table}\``)).rows.map((row) =>
      String(Object.values(row)[0]),
    );
    const spec = (key: string) => {
      const b = parseHourKey(key);
      return `year=${b.year}/month=${b.month}/day=${b.day}/hour=${b.hour}`;
    };
    assert.deepEqual(
      partitions.sort(),
      announced.map(spec).sort(),
      'exactly the announced hours, values not zero-padded',
    );

    const counts = await hive.execute(
      `SELECT year, month, day, hour, count(*) AS n FROM \`${database}\`.\`${table}\` GROUP BY year, month, day, hour`,
    );
    const counted = Object.fromEntries(
      counts.rows.map((row) => [
        `year=${row.year}/month=${row.month}/day=${row.day}/hour=${row.hour}`,
        Number(row.n),
      ]),
    );
    for (const hour of announced) {
      assert.equal(counted[spec(hour)] ?? 0, written[hour] ?? 0, `Hive counts the records of ${hour}`);
      const dir = `${base}/raw/${topic}/hourly/${hour.replace(/-/g, '/').replace('T', '/')}`;
      assert.ok(await fs.exists(`${dir}/_SUCCESS`), `${hour} has _SUCCESS`);
    }
    assert.equal(
      written[expectedHours[3]!] ?? 0,
      0,
      'the last announced hour has no data and still got its partition',
    );
  });
});
