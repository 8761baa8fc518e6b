import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { access, readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import type { FileSystem } from '../../src/hdfs/filesystem.js';
import { openFileSystem } from '../../src/hdfs/open.js';
import { createHiveClient, type HiveClient } from '../../src/hive/client.js';
import { type DatasetTable, datasetTables } from '../../src/hive/ddl.js';
import { type HivePartitionAddJob, partitionJobId } from '../../src/hive/queue.js';
import { addPartitionStatement, hivePartitionValues } from '../../src/hive/statement.js';
import {
  hivePartitionQueueStatus,
  partitionMetrics,
  startHivePartitionWorker,
} from '../../src/hive/worker.js';
import { hourStartMs, parseHourKey } from '../../src/hours/hour.js';
import { compilePathTemplate } from '../../src/hours/path-template.js';
import { type LoadedJob, parseJobConfig } from '../../src/job/config.js';
import { registerCommonMetrics } from '../../src/ops/metrics.js';
import { SchemaRegistry } from '../../src/schemas/registry.js';
import { createAvroContainerWriter } from '../../src/writers/avro-container.js';
import { cirrusRecord, seededRandom, WMF_FIXTURES } from '../schemas/realistic-records.js';
import { parseExposition, sampleValue } from '../support/prometheus.js';
import { requireStack, stackConfig, uniqueName } from '../support/stack.js';

/**
 * Against the real stack: HiveServer2 4.1.0 (embedded Derby metastore, warehouse on HDFS), HDFS
 * through WebHDFS, Redis for BullMQ. Each test has its own HDFS directory, Hive database and
 * queue, and removes them afterwards. Real CirrusSearchRequestSet records (nested arrays and
 * maps) are written as snappy Avro container files with mwingest's writer; Hive reads them with
 * its own AvroSerDe.
 *
 * The second test stops HiveServer2 (SIGKILL to the pid in the stack's pid file) and brings it back
 * with `scripts/stack up`: the integration suite runs one file at a time.
 */
const TOPIC = 'mediawiki_CirrusSearchRequestSet';
const HIVE_PORT = Number(process.env.MWINGEST_HIVE_PORT || 10000);
const HIVE_HOST = process.env.MWINGEST_HIVE_HOST || '127.0.0.1';
const STACK_SCRIPT = join(import.meta.dirname, '..', '..', 'scripts', 'stack');
const silent = pino({ level: 'silent' });
const execFileAsync = promisify(execFile);

interface Fixture {
  loaded: LoadedJob;
  table: DatasetTable;
  fs: FileSystem;
  hive: HiveClient;
  redis: Redis;
  queue: Queue<HivePartitionAddJob>;
  registry: Registry;
  root: string;
  hourDir(hour: string): string;
  /** `db`.`table` */
  name: string;
}

const open: Fixture[] = [];
let readerRegistry: SchemaRegistry;

before(async () => {
  await requireStack(['webhdfs', 'redis']);
  await requireHive();
  readerRegistry = await SchemaRegistry.load(WMF_FIXTURES);
});

after(async () => {
  // never leave the shared stack without its Hive, whatever failed
  if (!(await portOpen(HIVE_PORT))) await startHive();
  const problems: unknown[] = [];
  const attempt = async (step: () => Promise<unknown>) => {
    try {
      await step();
    } catch (error) {
      problems.push(error);
    }
  };
  for (const fixture of open) {
    await attempt(() => fixture.queue.obliterate({ force: true }));
    await attempt(() => fixture.queue.close());
    await attempt(() =>
      fixture.hive.execute(`DROP DATABASE IF EXISTS \`${fixture.table.database}\` CASCADE`),
    );
    await attempt(() => fixture.hive.close());
    await attempt(() => fixture.fs.delete(fixture.root, { recursive: true }));
    await attempt(() => fixture.fs.close());
    fixture.redis.disconnect();
  }
  if (problems.length > 0) throw new AggregateError(problems, 'cleaning up after the Hive tests failed');
});

async function requireHive(): Promise<void> {
  const client = createHiveClient({ host: HIVE_HOST, port: HIVE_PORT, connectTimeoutMs: 5000 });
  try {
    await client.execute('SHOW DATABASES');
  } catch (error) {
    throw new Error(
      `HiveServer2 is not serving on ${HIVE_HOST}:${HIVE_PORT} (${(error as Error).message}); run scripts/stack up`,
    );
  } finally {
    await client.close();
  }
}

/** A job on the stack's HDFS with its own output root and Hive database, the table created from the DDL. */
async function setUp(): Promise<Fixture> {
  const stack = stackConfig();
  const id = uniqueName('hive');
  const root = `/tmp/mwingest-test/${id}`;
  const database = `mwi_${id.replace(/[^A-Za-z0-9]/g, '_')}`;
  const config = parseJobConfig(
    {
      name: 'hivetest',
      kafka: { brokers: ['127.0.0.1:9092'] },
      topics: { include: `^${TOPIC}$` },
      registry: WMF_FIXTURES,
      fileSystem: { type: 'hdfs', url: stack.webhdfsUrl, user: 'hdfs' },
      output: { root: `${root}/raw`, stateDir: `${root}/state` },
      hive: { database },
    },
    'integration test job',
  );
  const loaded: LoadedJob = { config, path: '<inline>', baseDir: process.cwd() };
  const [table] = datasetTables(loaded, readerRegistry);
  assert.ok(table);
  const fs = await openFileSystem(config.fileSystem);
  const hive = createHiveClient({ host: HIVE_HOST, port: HIVE_PORT, log: silent });
  const redis = new Redis(stack.redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue<HivePartitionAddJob>(uniqueName('mwingest-test-hive'), { connection: redis });
  const template = compilePathTemplate(config.output.pathTemplate);
  const vars = { root: config.output.root, topic: TOPIC, name: 'CirrusSearchRequestSet' };
  const fixture: Fixture = {
    loaded,
    table,
    fs,
    hive,
    redis,
    queue,
    registry: new Registry(),
    root,
    hourDir: (hour) => template.hourDir(vars, parseHourKey(hour)),
    name: `\`${table.database}\`.\`${table.table}\``,
  };
  open.push(fixture);
  await hive.execute(`CREATE DATABASE IF NOT EXISTS \`${database}\``);
  await hive.execute(table.statement);
  return fixture;
}

/** Writes `records` CirrusSearchRequestSet records of `hour` as one snappy Avro file; `complete` adds `_IMPORTED`. */
async function writeHour(fixture: Fixture, hour: string, records: number, complete: boolean): Promise<void> {
  const dir = fixture.hourDir(hour);
  const sink = await fixture.fs.create(`${dir}/${TOPIC}.0.${records}-${records * 2 - 1}.avro`);
  const writer = createAvroContainerWriter(sink, {
    schema: fixture.table.reader.json as object,
    type: fixture.table.reader.type,
    codec: 'snappy',
  });
  const random = seededRandom(records);
  const start = hourStartMs(parseHourKey(hour)) / 1000;
  for (let i = 0; i < records; i++) await writer.append(cirrusRecord(random, start + i * 97));
  await writer.finish();
  await sink.close();
  if (complete) await markComplete(fixture, hour, records);
}

async function markComplete(fixture: Fixture, hour: string, records: number): Promise<void> {
  await fixture.fs.writeFile(
    `${fixture.hourDir(hour)}/_IMPORTED`,
    `${JSON.stringify({ topic: TOPIC, hour, records })}\n`,
  );
}

/** Queues an hour's partition add as the announcer does, with a short fixed backoff for the test. */
async function announce(fixture: Fixture, hour: string, jobId = partitionJobId(TOPIC, hour)): Promise<void> {
  const bucket = parseHourKey(hour);
  const location = fixture.hourDir(hour);
  const { database, table } = fixture.table;
  await fixture.queue.add(
    'add-partition',
    {
      job: fixture.loaded.config.name,
      topic: TOPIC,
      hour,
      database,
      table,
      partition: hivePartitionValues(bucket),
      location,
      statement: addPartitionStatement({ database, table, bucket, location }),
    },
    { jobId, attempts: 60, backoff: { type: 'fixed', delay: 2000 }, removeOnFail: false },
  );
}

function startWorker(fixture: Fixture) {
  return startHivePartitionWorker({
    loaded: fixture.loaded,
    fs: fixture.fs,
    hive: fixture.hive,
    connection: fixture.redis,
    log: silent,
    registry: fixture.registry,
    queueName: fixture.queue.name,
  });
}

async function waitFor(
  what: string,
  fixture: Fixture,
  done: () => Promise<boolean>,
  timeoutMs = 120_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > deadline) {
      const status = await hivePartitionQueueStatus(fixture.queue);
      assert.fail(`timed out waiting for ${what}; queue: ${JSON.stringify(status)}`);
    }
    await sleep(250);
  }
}

const completed = (fixture: Fixture, n: number) => async () =>
  (await fixture.queue.getJobCounts('completed')).completed === n;

async function partitions(fixture: Fixture): Promise<string[]> {
  const result = await fixture.hive.execute(`SHOW PARTITIONS ${fixture.name}`);
  return result.rows.map((row) => String(row.partition)).sort();
}

const spec = (hour: string) => {
  const values = hivePartitionValues(parseHourKey(hour));
  return `year='${values.year}',month='${values.month}',day='${values.day}',hour='${values.hour}'`;
};
const partitionName = (hour: string) => spec(hour).replace(/'/g, '').replace(/,/g, '/');

async function successFlags(fixture: Fixture, hours: string[]): Promise<Record<string, boolean>> {
  const flags: Record<string, boolean> = {};
  for (const hour of hours) flags[hour] = await fixture.fs.exists(`${fixture.hourDir(hour)}/_SUCCESS`);
  return flags;
}

async function metric(fixture: Fixture, which: 'failures' | 'added'): Promise<number> {
  const values = (await partitionMetrics(fixture.registry)[which].get()).values;
  return values.reduce((sum, value) => sum + value.value, 0);
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: HIVE_HOST, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function stopHive(): Promise<void> {
  const pidFile = join(stackConfig().stackHome, 'pids', 'hive.pid');
  const [pid] = (await readFile(pidFile, 'utf8')).trim().split(/\s+/);
  process.kill(Number(pid), 'SIGKILL');
  // gone means the process, not only its port: `scripts/stack up` refuses a pid it sees alive without a port
  const deadline = Date.now() + 30_000;
  while ((await portOpen(HIVE_PORT)) || (await processExists(Number(pid)))) {
    assert.ok(Date.now() < deadline, 'HiveServer2 is still there 30 s after SIGKILL');
    await sleep(200);
  }
}

/** Until its parent reaps it, a killed process stays as a zombie, which `scripts/stack` still counts as running. */
async function processExists(pid: number): Promise<boolean> {
  try {
    await access(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
}

async function startHive(): Promise<void> {
  await execFileAsync(STACK_SCRIPT, ['up'], { timeout: 300_000 });
}

describe('Hive partition adds against the real HiveServer2', () => {
  test('the DDL table gets every complete hour at its location and no other; Hive counts the records written', async () => {
    const fixture = await setUp();
    const written = { '2016-03-01T20': 3, '2016-03-01T21': 5, '2016-03-01T22': 4 };
    const complete = Object.keys(written);
    for (const [hour, records] of Object.entries(written)) await writeHour(fixture, hour, records, true);
    // an hour with data that was never announced complete: no job, no partition, no _SUCCESS
    await writeHour(fixture, '2016-03-01T23', 2, false);
    for (const hour of complete) await announce(fixture, hour);

    const timings = new Registry();
    const stopTimings = registerCommonMetrics(timings, { processMetrics: false });
    const worker = startWorker(fixture);
    try {
      await waitFor('three partition adds', fixture, completed(fixture, 3));
    } finally {
      await worker.close();
      stopTimings();
    }
    const samples = parseExposition(await timings.metrics());
    assert.equal(
      sampleValue(samples, 'mwingest_hive_request_duration_seconds_count', {
        op: 'ALTER TABLE',
        outcome: 'success',
      }),
      3,
      'each partition add is one timed ALTER TABLE',
    );

    assert.deepEqual(await partitions(fixture), complete.map(partitionName));
    for (const hour of complete) {
      const described = await fixture.hive.execute(
        `DESCRIBE FORMATTED ${fixture.name} PARTITION (${spec(hour)})`,
      );
      const location = described.rows.find((row) => String(row.col_name).trim() === 'Location:');
      assert.equal(String(location?.data_type).trim(), `hdfs://127.0.0.1:8020${fixture.hourDir(hour)}`);
    }
    // Hive's own Avro reader, through a MapReduce job (hive.compute.query.using.stats is off)
    const one = await fixture.hive.execute(
      `SELECT count(*) AS n FROM ${fixture.name} WHERE year='2016' AND month='3' AND day='1' AND hour='21'`,
    );
    assert.equal(Number(one.rows[0]?.n), written['2016-03-01T21']);
    const all = await fixture.hive.execute(
      `SELECT hour, count(*) AS n, count(DISTINCT id) AS ids, sum(size(hits)) AS hits FROM ${fixture.name} GROUP BY hour`,
    );
    const byHour = Object.fromEntries(
      all.rows.map((row) => [String(row.hour), [Number(row.n), Number(row.ids), Number(row.hits)]]),
    );
    assert.deepEqual(byHour, { '20': [3, 3, 15], '21': [5, 5, 25], '22': [4, 4, 20] });

    assert.deepEqual(await successFlags(fixture, [...complete, '2016-03-01T23']), {
      '2016-03-01T20': true,
      '2016-03-01T21': true,
      '2016-03-01T22': true,
      '2016-03-01T23': false,
    });
    assert.equal(await metric(fixture, 'added'), 3);
    assert.equal(await metric(fixture, 'failures'), 0);

    // an independent client: Hive's own JDBC driver (tools/hive-query from scripts/stack)
    const hiveQuery = process.env.MWINGEST_HIVE_QUERY || join(stackConfig().stackHome, 'tools', 'hive-query');
    await access(hiveQuery);
    const { stdout } = await execFileAsync(hiveQuery, [`SHOW PARTITIONS ${fixture.name}`], {
      timeout: 60_000,
    });
    assert.deepEqual(stdout.trim().split('\n').sort(), complete.map(partitionName));

    // the same partition job again (a rerun, a redelivery): one partition, no error
    await announce(fixture, '2016-03-01T21', `${partitionJobId(TOPIC, '2016-03-01T21')}__again`);
    const again = startWorker(fixture);
    try {
      await waitFor('the repeated add', fixture, completed(fixture, 4));
    } finally {
      await again.close();
    }
    const repeated = await fixture.queue.getJob(`${partitionJobId(TOPIC, '2016-03-01T21')}__again`);
    assert.equal(repeated?.returnvalue.successWritten, false, '_SUCCESS was already there');
    assert.deepEqual(await partitions(fixture), complete.map(partitionName));
    assert.equal(await metric(fixture, 'failures'), 0);
  });

  test('Hive stopped during the adds: jobs fail visibly, then succeed when it is back; no hour is skipped', async () => {
    const fixture = await setUp();
    const hours = ['2016-03-02T00', '2016-03-02T01', '2016-03-02T02', '2016-03-02T03', '2016-03-02T04'];
    const [first, second, third, fourth, fifth] = hours as [string, string, string, string, string];
    for (const hour of [first, second, third, fifth]) await writeHour(fixture, hour, 2, true);
    await writeHour(fixture, fourth, 2, false); // not complete yet

    const worker = startWorker(fixture);
    try {
      await announce(fixture, first);
      await waitFor('the first hour', fixture, completed(fixture, 1));

      await stopHive();
      await announce(fixture, second);
      await announce(fixture, third);
      await waitFor('both adds to fail at least once', fixture, async () => {
        const jobs = await Promise.all(
          [second, third].map((hour) => fixture.queue.getJob(partitionJobId(TOPIC, hour))),
        );
        return jobs.every((job) => (job?.attemptsMade ?? 0) >= 1);
      });
      const down = await hivePartitionQueueStatus(fixture.queue);
      assert.deepEqual(
        down.pending.map((item) => item.hour),
        [second, third],
      );
      for (const item of down.pending) {
        assert.match(
          item.reason ?? '',
          /HiveServer2 .*at 127\.0\.0\.1:\d+/,
          'the reason names the unreachable server',
        );
      }
      assert.ok((await metric(fixture, 'failures')) >= 2);
      assert.deepEqual(await successFlags(fixture, [second, third]), { [second]: false, [third]: false });

      await startHive();
      await waitFor('the adds after Hive came back', fixture, completed(fixture, 3));
      assert.deepEqual(await partitions(fixture), [first, second, third].map(partitionName));
      assert.deepEqual(await successFlags(fixture, [first, second, third]), {
        [first]: true,
        [second]: true,
        [third]: true,
      });

      // a later hour succeeding leaves an earlier failing one failing, visibly, until it can be added
      await announce(fixture, fourth);
      await announce(fixture, fifth);
      await waitFor('the fifth hour', fixture, completed(fixture, 4));
      const gap = await hivePartitionQueueStatus(fixture.queue);
      assert.deepEqual(
        gap.pending.map((item) => [item.hour, /never announced complete/.test(item.reason ?? '')]),
        [[fourth, true]],
      );
      assert.deepEqual(await successFlags(fixture, [fourth, fifth]), { [fourth]: false, [fifth]: true });
      assert.ok(!(await partitions(fixture)).includes(partitionName(fourth)));

      await markComplete(fixture, fourth, 2);
      await waitFor('the fourth hour once complete', fixture, completed(fixture, 5));
      assert.deepEqual(await partitions(fixture), hours.map(partitionName));
      assert.ok(Object.values(await successFlags(fixture, hours)).every(Boolean));
    } finally {
      await worker.close();
    }
  });
});
