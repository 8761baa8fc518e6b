/**
 * `mwingest schema add` on the real stack: a new schema walked from its file alone to a Hive
 * query, the command run (as a user runs it, `--json`) after each step of its first deployment,
 * and that step seen turning done. The job change is applied with patch(1) from the diff the
 * command prints, the registry bump with the `cp` it prints, the table with the CREATE statement
 * it prints; the ingest run and the partition-add worker are the real ones.
 *
 * Then a topic of one partition carrying traffic (what Kafka's auto-creation gives; the stack's
 * broker auto-creates nothing, so it is created with the one partition auto-creation would give)
 * gets the warning, and a message of another revision fails the Kafka sample check, naming both.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import type { FileSystem } from '../../src/hdfs/filesystem.js';
import { openFileSystem } from '../../src/hdfs/open.js';
import { createHiveClient, type HiveClient } from '../../src/hive/client.js';
import { hiveQueueName } from '../../src/hive/queue.js';
import { startHivePartitionWorker } from '../../src/hive/worker.js';
import { HOUR_MS } from '../../src/hours/hour.js';
import { loadJob } from '../../src/job/config.js';
import type { KafkaSink } from '../../src/kafka/client.js';
import { openKafkaSink } from '../../src/kafka/open.js';
import { runJob } from '../../src/scheduler/local-run.js';
import { runMwingest } from '../support/cli.js';
import { quietLog } from '../support/ingest.js';
import { requireStack, type StackConfig } from '../support/stack.js';

const run = promisify(execFile);
const hex = randomBytes(3).toString('hex');
const NAME = `SchemaaddWalk${hex}`;
const TOPIC = `mediawiki_${NAME}`;
const ONE = `SchemaaddOne${hex}`;
const ONE_TOPIC = `mediawiki_${ONE}`;
const REV = '101765000000';
/** The other schema's first revision: a revision id names one schema only. */
const ONE_REV = '101765000001';
const OTHER_REV = '111765100000';
const JOB = `schemaadd-${hex}`;
const HIVE = `${process.env.MWINGEST_HIVE_HOST || '127.0.0.1'}:${process.env.MWINGEST_HIVE_PORT || '10000'}`;
const BASE = `/mwingest-test/schemaadd-${hex}`;
const H = Math.floor(Date.now() / HOUR_MS) * HOUR_MS;

const schemaOf = (name: string) => ({
  type: 'record',
  name,
  namespace: 'org.wikimedia.mediawiki',
  fields: [
    { name: 'ts', type: 'int' },
    { name: 'pageId', type: 'long' },
    { name: 'action', type: 'string' },
  ],
});

/** A MediaWiki message: magic byte, revision (big-endian int64), the Avro record. */
function message(revision: string, ts: number, pageId: number): Buffer {
  const header = Buffer.alloc(9);
  header.writeBigInt64BE(BigInt(revision), 1);
  const body = Buffer.concat([zigzag(ts), zigzag(pageId), avroString(pageId % 2 === 0 ? 'edit' : 'view')]);
  return Buffer.concat([header, body]);
}

function zigzag(n: number): Buffer {
  let v = (BigInt(n) << 1n) ^ (BigInt(n) >> 63n);
  const bytes: number[] = [];
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) b |= 0x80;
    bytes.push(b);
  } while (v > 0n);
  return Buffer.from(bytes);
}

function avroString(s: string): Buffer {
  const utf8 = Buffer.from(s, 'utf8');
  return Buffer.concat([zigzag(utf8.length), utf8]);
}

interface Step {
  step: number;
  id: string;
  state: string;
  detail: string;
  show: string[];
}
interface Check {
  id: string;
  state: string;
  summary: string;
  findings: { path: string | null; message: string }[];
}
interface AddJson {
  exitCode: number;
  checklist: Step[];
  deployment: Check[];
  downstream: { hive: { statement: string } | null; job: { diff: string } | null };
}

describe('schema add walks a new schema from its file to a query, on the real stack', {
  timeout: 900_000,
}, () => {
  let stack: StackConfig;
  let temp: string;
  let checkout: string;
  let ingestRegistry: string;
  let jobFile: string;
  let sink: KafkaSink;
  let fs: FileSystem;
  let redis: Redis;
  let hive: HiveClient;
  let table = '';

  before(async () => {
    stack = await requireStack(['kafka', 'webhdfs', 'redis']);
    temp = await mkdtemp(join(tmpdir(), 'mwingest-schemaadd-'));
    // The event-schemas checkout the schema is written in, and the registry the ingest reads.
    checkout = join(temp, 'event-schemas');
    ingestRegistry = join(temp, 'ingest-registry');
    await mkdir(join(checkout, 'avro', 'mediawiki', ONE), { recursive: true });
    await mkdir(join(ingestRegistry, 'avro', 'mediawiki'), { recursive: true });
    await writeFile(
      join(checkout, 'avro', 'mediawiki', ONE, `${ONE_REV}.avsc`),
      JSON.stringify(schemaOf(ONE), null, 2),
    );
    await run('git', ['init', '-q', checkout]);
    await git('add', '.');
    await git('commit', '-qm', 'an older schema');
    jobFile = join(temp, 'job.json');
    const job = {
      name: JOB,
      kafka: { brokers: stack.kafkaBrokers },
      topics: { include: '^mediawiki_(ApiAction|CirrusSearchRequestSet)$' },
      registry: ingestRegistry,
      fileSystem: { type: 'hdfs', url: stack.webhdfsUrl, user: 'hdfs' },
      output: { root: `${BASE}/raw`, stateDir: `${BASE}/state` },
      // Data in H-5 … H-3; a caught-up partition counts as having reached H-0.5h.
      completeness: { idleGraceSeconds: Math.ceil((Date.now() - (H - 0.5 * HOUR_MS)) / 1000) },
      hive: { database: 'default', server: HIVE },
    };
    await writeFile(jobFile, `${JSON.stringify(job, null, 2)}\n`);
    sink = await openKafkaSink({ brokers: stack.kafkaBrokers });
    fs = await openFileSystem({ type: 'hdfs', url: stack.webhdfsUrl, user: 'hdfs' });
    redis = new Redis(stack.redisUrl, { maxRetriesPerRequest: null });
    hive = createHiveClient({ host: HIVE.split(':')[0]!, port: Number(HIVE.split(':')[1]) });
  });

  after(async () => {
    if (table !== '') await hive?.execute(`DROP TABLE IF EXISTS default.${table}`).catch(() => undefined);
    await hive?.close();
    for (const topic of [TOPIC, ONE_TOPIC]) await sink?.deleteTopic(topic).catch(() => undefined);
    await sink?.close();
    await fs?.delete(BASE, { recursive: true }).catch(() => undefined);
    await fs?.close();
    if (redis) await new Queue(hiveQueueName(JOB), { connection: redis }).obliterate({ force: true });
    redis?.disconnect();
    if (temp) await rm(temp, { recursive: true, force: true });
  });

  function git(...args: string[]) {
    return run('git', ['-C', checkout, '-c', 'user.name=t', '-c', 'user.email=t@t', ...args]);
  }

  async function add(...extra: string[]): Promise<AddJson> {
    const result = await runMwingest([
      'schema',
      'add',
      NAME,
      '--registry',
      checkout,
      '--job',
      jobFile,
      '--json',
      ...extra,
    ]);
    assert.ok(result.code === 0 || result.code === 1, `exit ${result.code}: ${result.stderr}`);
    const report = JSON.parse(result.stdout) as AddJson;
    assert.equal(report.exitCode, result.code);
    return report;
  }

  const stepOf = (report: AddJson, id: string) => report.checklist.find((s) => s.id === id)!;
  const done = (report: AddJson) => report.checklist.filter((s) => s.state === 'done').map((s) => s.id);

  /** The steps done now are those done before plus `turned`, and each of `turned` was not done before. */
  function assertTurned(before: AddJson, now: AddJson, turned: string[]): void {
    for (const id of turned) {
      assert.notEqual(stepOf(before, id).state, 'done', `${id} was not done before`);
      assert.equal(stepOf(now, id).state, 'done', `${id}: ${stepOf(now, id).detail}`);
    }
    assert.deepEqual(done(now).sort(), [...done(before), ...turned].sort());
  }

  test('each step of the first deployment turns done, and at the end every check passes', async () => {
    // File only: written in the checkout, not committed.
    await mkdir(join(checkout, 'avro', 'mediawiki', NAME));
    await writeFile(
      join(checkout, 'avro', 'mediawiki', NAME, `${REV}.avsc`),
      `${JSON.stringify(schemaOf(NAME), null, 2)}\n`,
    );
    const fileOnly = await add();
    assert.equal(fileOnly.exitCode, 1);
    assert.deepEqual(done(fileOnly), []);
    assert.equal(stepOf(fileOnly, 'commit-schema').state, 'todo');
    assert.equal(stepOf(fileOnly, 'bump-registry').state, 'todo');
    assert.equal(stepOf(fileOnly, 'configure-ingest').state, 'todo');
    assert.equal(stepOf(fileOnly, 'create-topic').state, 'todo');
    assert.match(
      stepOf(fileOnly, 'create-table').detail,
      new RegExp(`no table default\\.${NAME.toLowerCase()}`),
    );

    // File added: committed to the checkout.
    await git('add', '.');
    await git('commit', '-qm', `add ${NAME}`);
    const fileAdded = await add();
    assertTurned(fileOnly, fileAdded, ['commit-schema']);

    // Job updated: the registry bump with the printed cp, the job change with the printed diff.
    const bump = stepOf(fileAdded, 'bump-registry').show;
    assert.match(bump.at(-1)!, /^cp /);
    await run('sh', ['-c', bump.join(' && ')]);
    const diff = fileAdded.downstream.job!.diff;
    const patchFile = join(temp, 'job.diff');
    await writeFile(patchFile, diff);
    await run('patch', [jobFile, patchFile]);
    const jobUpdated = await add();
    assertTurned(fileAdded, jobUpdated, ['bump-registry', 'partition-adds', 'configure-ingest']);
    assert.equal(jobUpdated.downstream.job, null, 'no job change left');

    // Topic created, with 3 partitions.
    await sink.createTopic(TOPIC, 3);
    const topicCreated = await add();
    assertTurned(jobUpdated, topicCreated, ['create-topic']);
    assert.match(stepOf(topicCreated, 'create-topic').detail, /3 partitions, 0 messages/);
    assert.equal(stepOf(topicCreated, 'check-kafka').state, 'todo');

    // Messages produced: 90 over H-5 … H-3, with their Kafka timestamps.
    const records = Array.from({ length: 90 }, (_, i) => {
      const ms = H - 5 * HOUR_MS + Math.floor((i * 3 * HOUR_MS) / 90);
      return { value: message(REV, Math.floor(ms / 1000), i), partition: i % 3, timestamp: ms };
    });
    await sink.produce(TOPIC, records);
    const produced = await add();
    assertTurned(topicCreated, produced, ['point-mediawiki', 'deploy-sampled', 'check-kafka']);
    const sample = produced.deployment.find((c) => c.id === 'kafka-sample')!;
    assert.match(
      sample.summary,
      new RegExp(`the latest 30 messages of 3 partitions \\(30 of ${REV}\\): all valid`),
    );

    // Run: the real ingest, which announces the complete hours.
    const report = await runJob(await loadJob(jobFile), { log: quietLog, redisUrl: stack.redisUrl });
    assert.equal(report.status, 'succeeded', report.problems.join('\n'));
    const ran = await add();
    assertTurned(produced, ran, ['deploy-ingest', 'check-hdfs']);
    assert.equal(stepOf(ran, 'add-partitions').state, 'todo');

    // Table created, with the statement the command printed.
    const statement = ran.downstream.hive!.statement;
    assert.match(statement, /^CREATE EXTERNAL TABLE IF NOT EXISTS `default`\./);
    table = NAME.toLowerCase();
    await hive.execute(statement);
    const tableCreated = await add();
    assertTurned(ran, tableCreated, ['create-table']);
    assert.equal(tableCreated.downstream.hive, null);

    // Partitions added: the partition-add worker drains the job's queue.
    const loaded = await loadJob(jobFile);
    const worker = startHivePartitionWorker({
      loaded,
      fs,
      hive,
      connection: redis,
      log: quietLog,
      registry: new Registry(),
    });
    try {
      const queue = new Queue(hiveQueueName(JOB), { connection: redis });
      const queued = report.topics[0]!.announced.length;
      assert.ok(queued >= 3, `the run announced ${queued} hours`);
      for (let waited = 0; (await queue.getCompletedCount()) < queued; waited += 500) {
        const failed = await queue.getFailed();
        assert.equal(failed.length, 0, failed.map((j) => j.failedReason).join('\n'));
        assert.ok(waited < 180_000, 'the partition adds finish within three minutes');
        await sleep(500);
      }
      await queue.close();
    } finally {
      await worker.close();
    }
    const querying = await add();
    assertTurned(tableCreated, querying, ['add-partitions', 'query']);
    assert.match(stepOf(querying, 'query').detail, /returns records of hour/);
    assert.equal(querying.exitCode, 0, JSON.stringify(querying.deployment.filter((c) => c.state !== 'pass')));
    assert.deepEqual(
      querying.checklist.filter((s) => s.state !== 'done').map((s) => s.id),
      ['raise-sampling'],
    );
  });

  test('one partition carrying traffic gets the warning; a message of another revision fails the sample, naming both', async () => {
    const addOne = async () => {
      const result = await runMwingest([
        'schema',
        'add',
        ONE,
        '--registry',
        checkout,
        '--brokers',
        stack.kafkaBrokers.join(','),
        '--json',
      ]);
      return { code: result.code, report: JSON.parse(result.stdout) as AddJson };
    };
    await sink.createTopic(ONE_TOPIC, 1);
    const now = Date.now();
    await sink.produce(
      ONE_TOPIC,
      Array.from({ length: 5 }, (_, i) => ({
        value: message(ONE_REV, Math.floor(now / 1000), i),
        partition: 0,
      })),
    );
    const warned = await addOne();
    const topicCheck = warned.report.deployment.find((c) => c.id === 'kafka-topic')!;
    assert.equal(topicCheck.state, 'warn');
    assert.match(
      topicCheck.findings[0]!.message,
      /one partition, and it carries traffic: that is what Kafka gives a topic it auto-creates/,
    );
    assert.equal(stepOf(warned.report, 'create-topic').state, 'problem');
    assert.equal(warned.report.deployment.find((c) => c.id === 'kafka-sample')!.state, 'pass');
    assert.equal(warned.code, 0, 'a warning does not fail');

    await sink.produce(ONE_TOPIC, [{ value: message(OTHER_REV, Math.floor(now / 1000), 9), partition: 0 }]);
    const failed = await addOne();
    const sampleCheck = failed.report.deployment.find((c) => c.id === 'kafka-sample')!;
    assert.equal(sampleCheck.state, 'fail');
    assert.equal(sampleCheck.findings.length, 1);
    assert.equal(sampleCheck.findings[0]!.path, `${ONE_TOPIC}/0@5`);
    assert.match(
      sampleCheck.findings[0]!.message,
      new RegExp(`revision ${OTHER_REV}, not ${ONE_REV} \\(the revision added\\)`),
    );
    assert.equal(stepOf(failed.report, 'check-kafka').state, 'problem');
    assert.equal(failed.code, 1);
  });
});
