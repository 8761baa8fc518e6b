import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { pino } from 'pino';
import { encodeError, isMwiError, MwiError } from '../../src/errors.js';
import { LocalFileSystem } from '../../src/hdfs/local.js';
import type { HiveClient, HiveResult } from '../../src/hive/client.js';
import type { HivePartitionAddJob } from '../../src/hive/queue.js';
import { addPartitionStatement } from '../../src/hive/statement.js';
import { addPartition, partitionJobChecker, reasonOf } from '../../src/hive/worker.js';
import { parseHourKey } from '../../src/hours/hour.js';
import { type LoadedJob, parseJobConfig } from '../../src/job/config.js';

const silent = pino({ level: 'silent' });

function jobOf(fileSystem: unknown): LoadedJob {
  const config = parseJobConfig(
    {
      name: 'analytics',
      kafka: { brokers: ['127.0.0.1:9092'] },
      topics: { include: '^mediawiki_(ApiAction|CirrusSearchRequestSet)$' },
      fileSystem,
      datasets: {
        CirrusSearchRequestSet: { hive: { database: 'wmf_raw', table: 'cirrussearchrequestset' } },
      },
    },
    'unit test job',
  );
  return { config, path: '/jobs/analytics.json', baseDir: '/jobs' };
}

/** What the announcer queues for a topic and hour (src/ingest/announcer.ts). */
function announced(topic: string, hour: string): HivePartitionAddJob {
  const bucket = parseHourKey(hour);
  const name = topic.slice(topic.indexOf('_') + 1);
  const location = `/wmf/data/raw/mediawiki/${topic}/hourly/${hour.slice(0, 4)}/${hour.slice(5, 7)}/${hour.slice(8, 10)}/${hour.slice(11)}`;
  const table = name.toLowerCase();
  return {
    job: 'analytics',
    topic,
    hour,
    database: 'wmf_raw',
    table,
    partition: {
      year: String(bucket.year),
      month: String(bucket.month),
      day: String(bucket.day),
      hour: String(bucket.hour),
    },
    location,
    statement: addPartitionStatement({ database: 'wmf_raw', table, bucket, location }),
  };
}

describe('partitionJobChecker', () => {
  const check = partitionJobChecker(jobOf({ type: 'hdfs', url: 'http://namenode:9870' }));

  test('a job as announced passes, and the statement is rebuilt from its fields', () => {
    const job = announced('mediawiki_CirrusSearchRequestSet', '2026-03-01T08');
    const checked = check({ ...job, statement: 'DROP DATABASE wmf_raw CASCADE' });
    assert.equal(
      checked.statement,
      "ALTER TABLE `wmf_raw`.`cirrussearchrequestset` ADD IF NOT EXISTS PARTITION (year='2026',month='3',day='1',hour='8') " +
        "LOCATION '/wmf/data/raw/mediawiki/mediawiki_CirrusSearchRequestSet/hourly/2026/03/01/08'",
    );
    assert.equal(checked.directory, job.location);
  });

  const good = announced('mediawiki_ApiAction', '2026-11-22T14');
  const refused: [string, Record<string, unknown>, RegExp][] = [
    ['another job', { job: 'other' }, /field job: "other" is not this worker's job "analytics"/],
    ['a topic the job does not ingest', { topic: 'mediawiki_Other' }, /field topic/],
    ['a topic with HQL in it', { topic: "mediawiki_ApiAction'; DROP TABLE x; --" }, /field topic/],
    ['an hour that does not exist', { hour: '2026-02-30T10' }, /field hour/],
    [
      'a zero-padded partition value',
      { partition: { ...good.partition, hour: '14 ' } },
      /field partition\.hour/,
    ],
    ['a partition of another hour', { partition: { ...good.partition, day: '23' } }, /field partition\.day/],
    ['no partition', { partition: undefined }, /field partition\.year/],
    [
      'a table name with HQL',
      { table: 'apiaction`; DROP TABLE x; --' },
      /table "apiaction`; DROP TABLE x; --" is not a Hive identifier/,
    ],
    [
      'another table',
      { table: 'editattempt' },
      /field table: wmf_raw\.editattempt is not wmf_raw\.apiaction/,
    ],
    ['another database', { database: 'default' }, /field table: default\.apiaction/],
    [
      'another hour directory',
      { location: '/wmf/data/raw/mediawiki/mediawiki_ApiAction/hourly/2026/11/22/15' },
      /field location/,
    ],
    ['a location escaping the hour', { location: `${good.location}/../../../../..` }, /field location/],
    ['a location that is not a string', { location: 42 }, /field location: expected a string, got 42/],
  ];
  for (const [what, change, message] of refused) {
    test(`refuses ${what}`, () => {
      assert.throws(
        () => check({ ...good, ...change }),
        (error) => isMwiError(error, 'MWI_CONFIG_INVALID') && message.test(error.message),
      );
    });
  }

  test('refuses job data that is not an object', () => {
    for (const data of [null, 'x', 42]) {
      assert.throws(
        () => check(data),
        (error) => isMwiError(error, 'MWI_CONFIG_INVALID'),
      );
    }
  });
});

/** Records what it is asked to run; refuses everything while `down` is set (as Hive does when it is gone). */
class RecordingClient implements HiveClient {
  readonly address = 'recording';
  statements: string[] = [];
  down = false;
  async execute(statement: string): Promise<HiveResult> {
    if (this.down)
      throw new MwiError('MWI_HIVE', 'cannot open a HiveServer2 session at recording', { canRetry: true });
    this.statements.push(statement);
    return { columns: [], rows: [] };
  }
  async close(): Promise<void> {}
}

describe('addPartition (local directory)', () => {
  const roots: string[] = [];
  after(async () => Promise.all(roots.map((root) => rm(root, { recursive: true, force: true }))));

  async function setUp() {
    const root = await mkdtemp(join(tmpdir(), 'mwingest-hive-worker-'));
    roots.push(root);
    const loaded = jobOf({ type: 'local', root });
    const fs = new LocalFileSystem(root);
    const hive = new RecordingClient();
    const job = partitionJobChecker(loaded)(announced('mediawiki_ApiAction', '2026-11-22T14'));
    const hourDir = join(root, job.directory);
    return { root, loaded, fs, hive, job, hourDir, deps: { loaded, fs, hive, log: silent } };
  }

  test('adds the partition at the file:// location of the hour, then writes an empty _SUCCESS', async () => {
    const { fs, hive, job, hourDir, deps } = await setUp();
    await fs.writeFile(`${job.directory}/_IMPORTED`, '{}');
    const result = await addPartition(job, deps);
    assert.deepEqual(hive.statements, [
      "ALTER TABLE `wmf_raw`.`apiaction` ADD IF NOT EXISTS PARTITION (year='2026',month='11',day='22',hour='14') " +
        `LOCATION 'file://${hourDir}'`,
    ]);
    assert.equal((await readFile(join(hourDir, '_SUCCESS'))).length, 0);
    assert.deepEqual(result, {
      hour: '2026-11-22T14',
      table: 'wmf_raw.apiaction',
      location: `file://${hourDir}`,
      successWritten: true,
    });
  });

  test('the same job again runs the idempotent add and keeps the existing _SUCCESS', async () => {
    const { fs, hive, job, hourDir, deps } = await setUp();
    await fs.writeFile(`${job.directory}/_IMPORTED`, '{}');
    await addPartition(job, deps);
    await writeFile(join(hourDir, '_SUCCESS'), 'first');
    const again = await addPartition(job, deps);
    assert.equal(again.successWritten, false);
    assert.equal(hive.statements.length, 2);
    assert.equal(await readFile(join(hourDir, '_SUCCESS'), 'utf8'), 'first');
  });

  test('an hour without _IMPORTED is not added and gets no _SUCCESS', async () => {
    const { hive, job, hourDir, deps } = await setUp();
    await assert.rejects(
      addPartition(job, deps),
      (error) =>
        isMwiError(error, 'MWI_FS_NOT_FOUND') &&
        error.canRetry &&
        /never announced complete/.test(error.message),
    );
    assert.deepEqual(hive.statements, []);
    await assert.rejects(stat(join(hourDir, '_SUCCESS')), { code: 'ENOENT' });
  });

  test('when Hive fails, the error is the retryable Hive error and no _SUCCESS is written', async () => {
    const { fs, hive, job, hourDir, deps } = await setUp();
    await fs.writeFile(`${job.directory}/_IMPORTED`, '{}');
    hive.down = true;
    await assert.rejects(addPartition(job, deps), (error) => isMwiError(error, 'MWI_HIVE') && error.canRetry);
    await assert.rejects(stat(join(hourDir, '_SUCCESS')), { code: 'ENOENT' });
  });
});

describe('a failed partition add as hive status shows it', () => {
  test('the code and the sentence come back from the structured reason BullMQ keeps', () => {
    const failure = new MwiError(
      'MWI_HIVE',
      'Table not found wmf_raw.apiaction: create it (mwingest hive ddl)',
    );
    assert.equal(
      reasonOf(encodeError(failure)),
      'MWI_HIVE: Table not found wmf_raw.apiaction: create it (mwingest hive ddl)',
    );
  });

  test('a reason BullMQ wrote itself is shown as it is', () => {
    assert.equal(reasonOf('job stalled more than allowable limit'), 'job stalled more than allowable limit');
  });
});
