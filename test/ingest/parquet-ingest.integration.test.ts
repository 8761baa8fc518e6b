/**
 * A dataset written as Parquet holds the same records as the same dataset written as Avro (read by
 * hyparquet and by avsc, both independent of the writers), and Hive's own Parquet reader counts
 * them in a partition of a table made from `mwingest hive ddl`'s statement.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { planTraffic } from '../../src/demo/traffic.js';
import type { FileSystem } from '../../src/hdfs/filesystem.js';
import { openFileSystem } from '../../src/hdfs/open.js';
import { createHiveClient, type HiveClient } from '../../src/hive/client.js';
import { datasetTables } from '../../src/hive/ddl.js';
import { hiveQueueName } from '../../src/hive/queue.js';
import { HOUR_MS } from '../../src/hours/hour.js';
import type { LoadedJob } from '../../src/job/config.js';
import type { KafkaSink } from '../../src/kafka/client.js';
import { openKafkaSink } from '../../src/kafka/open.js';
import { runJob } from '../../src/scheduler/local-run.js';
import { MessageCodec } from '../../src/schemas/codec.js';
import { SchemaRegistry } from '../../src/schemas/registry.js';
import {
  decodeContainer,
  listFilesRecursively,
  mixedRegistryRoot,
  multiset,
  produceMessages,
  quietLog,
  writeTestJob,
} from '../support/ingest.js';
import { normalize, readParquet } from '../support/parquet.js';
import { requireStack, type StackConfig, uniqueName } from '../support/stack.js';

/** Records per hour directory, in a comparable form. */
async function recordsByHour(fs: FileSystem, root: string, read: (bytes: Buffer) => Promise<unknown[]>) {
  const byHour = new Map<string, string[]>();
  for (const path of await listFilesRecursively(fs, root)) {
    if (!/\.(avro|parquet)$/.test(path)) continue;
    const hour = path.split('/').slice(-5, -1).join('/');
    const records = (await read(await fs.readFile(path))).map((r) => JSON.stringify(normalize(r)));
    byHour.set(hour, [...(byHour.get(hour) ?? []), ...records]);
  }
  return new Map([...byHour].map(([hour, records]) => [hour, multiset(records)]));
}

describe('Parquet output against the real stack', () => {
  let stack: StackConfig;
  let sink: KafkaSink;
  let fs: FileSystem;
  let redis: Redis;
  let avroJob: LoadedJob;
  let parquetJob: LoadedJob;
  let registry: SchemaRegistry;
  const prefix = uniqueName('parquet');
  const topic = `${prefix}_EditAttempt`;
  const base = `/mwingest-test/${prefix}`;

  before(async () => {
    stack = await requireStack(['kafka', 'webhdfs', 'redis']);
    const root = await mixedRegistryRoot();
    registry = await SchemaRegistry.load(root);
    sink = await openKafkaSink({ brokers: stack.kafkaBrokers });
    await sink.createTopic(topic, 2);
    const H = Math.floor(Date.now() / HOUR_MS) * HOUR_MS;
    await produceMessages(
      sink,
      planTraffic(registry, new MessageCodec(registry), {
        topics: [{ topic, schemaName: 'EditAttempt', partitions: 2 }],
        messagesPerTopic: 3000,
        fromMs: H - 5 * HOUR_MS,
        toMs: H - 2 * HOUR_MS,
        badRatio: 0.01,
        seed: 31,
      }),
    );
    avroJob = await writeTestJob({
      name: `${prefix}-avro`,
      prefix,
      stack,
      registry: root,
      hdfsBase: `${base}/avro`,
    });
    parquetJob = await writeTestJob({
      name: `${prefix}-parquet`,
      prefix,
      stack,
      registry: root,
      hdfsBase: `${base}/parquet`,
      extra: { datasets: { EditAttempt: { format: 'parquet', parquet: { rowGroupRows: 500 } } } },
    });
    fs = await openFileSystem({ type: 'hdfs', url: stack.webhdfsUrl, user: 'hdfs' });
    redis = new Redis(stack.redisUrl, { maxRetriesPerRequest: null });
  });

  after(async () => {
    await sink?.deleteTopic(topic).catch(() => undefined);
    await sink?.close();
    await fs?.delete(base, { recursive: true }).catch(() => undefined);
    await fs?.close();
    for (const job of [avroJob, parquetJob]) {
      if (job)
        await new Queue(hiveQueueName(job.config.name), { connection: redis })
          .obliterate({ force: true })
          .catch(() => undefined);
    }
    redis?.disconnect();
  });

  test('the Parquet files hold the same records, hour by hour, as the Avro files', async () => {
    const [avroReport, parquetReport] = [
      await runJob(avroJob, { log: quietLog, redisUrl: stack.redisUrl }),
      await runJob(parquetJob, { log: quietLog, redisUrl: stack.redisUrl }),
    ];
    assert.equal(avroReport.status, 'succeeded', avroReport.problems.join('\n'));
    assert.equal(parquetReport.status, 'succeeded', parquetReport.problems.join('\n'));
    assert.equal(parquetReport.totals.written, avroReport.totals.written);
    assert.equal(parquetReport.totals.errors, avroReport.totals.errors);

    const parquetFiles = (await listFilesRecursively(fs, `${base}/parquet/raw`)).filter((p) =>
      p.endsWith('.parquet'),
    );
    assert.ok(parquetFiles.length >= 6, 'one Parquet file per partition and hour');
    const fromAvro = await recordsByHour(
      fs,
      `${base}/avro/raw/${topic}/hourly`,
      async (bytes) => (await decodeContainer(bytes)).records,
    );
    const fromParquet = await recordsByHour(fs, `${base}/parquet/raw/${topic}/hourly`, readParquet);
    assert.deepEqual([...fromParquet.keys()].sort(), [...fromAvro.keys()].sort());
    for (const [hour, records] of fromAvro) assert.deepEqual(fromParquet.get(hour), records, `hour ${hour}`);
  });

  test("Hive's Parquet reader counts the records of a partition", async () => {
    const hive: HiveClient = createHiveClient({ connectTimeoutMs: 10_000 });
    const database = `mwi_${prefix.replace(/[^a-z0-9]/g, '_')}`.slice(0, 60);
    const [table] = datasetTables(
      { ...parquetJob, config: { ...parquetJob.config, hive: { ...parquetJob.config.hive, database } } },
      registry,
      {
        dataset: 'EditAttempt',
      },
    );
    assert.ok(
      table && table.format === 'parquet' && /STORED AS PARQUET/.test(table.statement),
      table?.statement,
    );
    try {
      await hive.execute(`CREATE DATABASE IF NOT EXISTS \`${database}\``);
      await hive.execute(table.statement);
      const files = (await listFilesRecursively(fs, `${base}/parquet/raw`)).filter((p) =>
        p.endsWith('.parquet'),
      );
      const dir = files[0]!.slice(0, files[0]!.lastIndexOf('/'));
      const [year, month, day, hour] = dir.split('/').slice(-4).map(Number);
      let expected = 0;
      for (const file of files.filter((f) => f.startsWith(`${dir}/`)))
        expected += (await readParquet(await fs.readFile(file))).length;
      const spec = `year='${year}',month='${month}',day='${day}',hour='${hour}'`;
      await hive.execute(
        `ALTER TABLE \`${database}\`.\`${table.table}\` ADD IF NOT EXISTS PARTITION (${spec}) LOCATION '${dir}'`,
      );
      const result = await hive.execute(
        `SELECT count(*) AS n FROM \`${database}\`.\`${table.table}\` WHERE year='${year}' AND month='${month}' AND day='${day}' AND hour='${hour}'`,
      );
      assert.equal(Number(result.rows[0]?.n), expected);
    } finally {
      await hive.execute(`DROP TABLE IF EXISTS \`${database}\`.\`${table.table}\``).catch(() => undefined);
      await hive.execute(`DROP DATABASE IF EXISTS \`${database}\``).catch(() => undefined);
      await hive.close();
    }
  });
});
