import assert from 'node:assert/strict';
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { LocalFileSystem } from '../../src/hdfs/local.js';
import type { PartitionResult } from '../../src/ingest/partition-result.js';
import type { RunReport, TopicReport } from '../../src/ingest/run-report.js';
import { defaultRegistryRoot } from '../../src/schemas/registry.js';
import type { ChecklistStep, StepId } from '../../src/upgrade/checklist-step.js';
import { runUpgrade, type SchemaReport } from '../../src/upgrade/report.js';
import { CIRRUS, WMF_FIXTURES } from '../schemas/realistic-records.js';

/**
 * The checklist's detection, against real files: job definitions, registries, and run reports
 * and hour flags written through the local-directory file system in the layout the ingest uses.
 */

const temp = await mkdtemp(join(tmpdir(), 'mwingest-checklist-'));
after(() => rm(temp, { recursive: true, force: true }));

const NEW = '121456865906';
const OLD = '111448028943';
const TOPIC = `mediawiki_${CIRRUS}`;
let jobs = 0;

interface JobSetup {
  dir: string;
  jobFile: string;
  fs: LocalFileSystem;
}

async function jobWith(extra: Record<string, unknown> = {}): Promise<JobSetup> {
  const name = `job${jobs++}`;
  const dir = join(temp, name);
  await mkdir(join(dir, 'data'), { recursive: true });
  const jobFile = join(dir, 'job.json');
  const job = {
    name,
    kafka: { brokers: ['127.0.0.1:9092'] },
    registry: WMF_FIXTURES,
    fileSystem: { type: 'local', root: 'data' },
    datasets: { [CIRRUS]: { readerRevision: OLD } },
    ...extra,
  };
  await writeFile(jobFile, `${JSON.stringify(job, null, 2)}\n`);
  return { dir, jobFile, fs: new LocalFileSystem(join(dir, 'data')) };
}

function partition(errors: number): PartitionResult {
  return {
    topic: TOPIC,
    partition: 0,
    status: 'committed',
    startOffset: '0',
    endOffset: String(10 + errors),
    highWatermark: String(10 + errors),
    counts: { read: 10 + errors, written: 10, errors, absent: 0, expired: 0, late: 0 },
    equation: `${10 + errors} = 10 written + ${errors} errors`,
    files: 2,
    hours: { '2026-01-01T12': 5, '2026-01-01T13': 5 },
    lateHours: {},
    revisions: { [OLD]: 7, [NEW]: 3 },
    bytesRead: 1000,
    bytesWritten: 800,
    reachedMs: null,
    caughtUp: true,
    token: 1,
  };
}

async function saveReport(
  setup: JobSetup,
  job: string,
  topic: Partial<TopicReport>,
  errors = 0,
): Promise<void> {
  const report: RunReport = {
    job,
    runId: 'run-1',
    status: errors === 0 ? 'succeeded' : 'failed',
    startedAt: '2026-01-01T14:15:00Z',
    finishedAt: '2026-01-01T14:16:00Z',
    durationMs: 60_000,
    problems: [],
    totals: {
      read: 10,
      written: 10,
      errors,
      late: 0,
      absent: 0,
      expired: 0,
      imported: 0,
      bytesRead: 1000,
      files: 2,
      recordsPerSecond: 1,
    },
    topics: [
      {
        topic: TOPIC,
        schemaName: CIRRUS,
        readerRevision: OLD,
        status: errors === 0 ? 'succeeded' : 'failed',
        revisions: { [OLD]: 7, [NEW]: 3 },
        partitions: [partition(errors)],
        announced: ['2026-01-01T12', '2026-01-01T13'],
        late: {},
        announcedThrough: '2026-01-01T13',
        ...topic,
      },
    ],
  };
  await setup.fs.writeFile(`/wmf/camus/mwingest/${job}/reports/latest.json`, JSON.stringify(report), {
    overwrite: true,
  });
}

async function flagHour(setup: JobSetup, hourDir: string): Promise<void> {
  await setup.fs.writeFile(`/wmf/data/raw/mediawiki/${TOPIC}/hourly/${hourDir}/_SUCCESS`, '');
}

function stepOf(report: SchemaReport, id: StepId): ChecklistStep {
  const step = report.checklist!.find((s) => s.id === id);
  assert.ok(step, id);
  return step;
}

describe('checklist detection with a job', () => {
  test('the order is the upgrade order', async () => {
    const report = await runUpgrade(CIRRUS, NEW, { registry: WMF_FIXTURES });
    assert.deepEqual(
      report.checklist!.map((s) => s.id),
      [
        'commit-schema',
        'bump-registry',
        'alter-hive-table',
        'pin-reader',
        'deploy-producers',
        'verify-run',
        'verify-partitions',
      ],
    );
  });

  test('a run that wrote the new revision with no errors, every hour flagged: the last three steps are done', async () => {
    const setup = await jobWith();
    const job = `job${jobs - 1}`;
    await saveReport(setup, job, {});
    await flagHour(setup, '2026/01/01/12');
    await flagHour(setup, '2026/01/01/13');
    const report = await runUpgrade(CIRRUS, NEW, { job: setup.jobFile });
    assert.equal(report.exitCode, 0);
    assert.equal(stepOf(report, 'bump-registry').state, 'done');
    assert.equal(stepOf(report, 'pin-reader').state, 'todo');
    assert.equal(stepOf(report, 'deploy-producers').state, 'done');
    assert.match(stepOf(report, 'deploy-producers').detail, /wrote 3 records of 121456865906/);
    assert.equal(stepOf(report, 'verify-run').state, 'done');
    assert.match(
      stepOf(report, 'verify-run').detail,
      /3 records of 121456865906 and 7 of 111448028943, no error records/,
    );
    assert.equal(stepOf(report, 'verify-partitions').state, 'done');
  });

  test('an hour without _SUCCESS: the partition job is not verified, and the hour is named', async () => {
    const setup = await jobWith();
    await saveReport(setup, `job${jobs - 1}`, {});
    await flagHour(setup, '2026/01/01/12');
    const report = await runUpgrade(CIRRUS, NEW, { job: setup.jobFile });
    const step = stepOf(report, 'verify-partitions');
    assert.equal(step.state, 'todo');
    assert.match(step.detail, /1 of 2 hours .* no _SUCCESS yet, first 2026-01-01T13/);
  });

  test('error records next to the new revision are a problem, with where to find them', async () => {
    const setup = await jobWith();
    const job = `job${jobs - 1}`;
    await saveReport(setup, job, {}, 4);
    const report = await runUpgrade(CIRRUS, NEW, { job: setup.jobFile });
    const step = stepOf(report, 'verify-run');
    assert.equal(step.state, 'problem');
    assert.match(step.detail, /4 error records/);
    assert.match(step.detail, new RegExp(`/wmf/camus/mwingest/${job}/errors/${TOPIC}/`));
  });

  test('a run without the new revision: producers not deployed yet, run still to verify', async () => {
    const setup = await jobWith();
    await saveReport(setup, `job${jobs - 1}`, { revisions: { [OLD]: 10 } });
    const report = await runUpgrade(CIRRUS, NEW, { job: setup.jobFile });
    assert.equal(stepOf(report, 'deploy-producers').state, 'manual');
    assert.match(stepOf(report, 'deploy-producers').detail, /must send: id \(string\), tookMs \(float\)/);
    assert.equal(stepOf(report, 'verify-run').state, 'todo');
    assert.match(stepOf(report, 'verify-run').detail, /no records of 121456865906 \(10 of 111448028943\)/);
    assert.equal(stepOf(report, 'verify-partitions').state, 'todo');
  });

  test('no run report yet', async () => {
    const setup = await jobWith();
    const report = await runUpgrade(CIRRUS, NEW, { job: setup.jobFile });
    assert.equal(stepOf(report, 'verify-run').state, 'todo');
    assert.match(
      stepOf(report, 'verify-run').detail,
      /no run report yet \(\/wmf\/camus\/mwingest\/job\d+\/reports\/latest\.json on local directory/,
    );
  });

  test('a job that already pins the new revision', async () => {
    const setup = await jobWith({ datasets: { [CIRRUS]: { readerRevision: NEW } } });
    const report = await runUpgrade(CIRRUS, NEW, { job: setup.jobFile });
    assert.equal(stepOf(report, 'pin-reader').state, 'done');
    assert.equal(report.downstream?.job?.diff, '');
  });

  test('the job reads another registry: missing there, different there, or the same file', async () => {
    const jobRegistry = join(temp, 'job-registry');
    const setup = await jobWith({ registry: jobRegistry });
    const folder = join(jobRegistry, 'avro', 'mediawiki', CIRRUS);
    await mkdir(folder, { recursive: true });
    await cp(join(WMF_FIXTURES, 'avro', 'mediawiki', CIRRUS, `${OLD}.avsc`), join(folder, `${OLD}.avsc`));

    const missing = await runUpgrade(CIRRUS, NEW, { job: setup.jobFile, registry: WMF_FIXTURES });
    assert.equal(stepOf(missing, 'bump-registry').state, 'todo');
    assert.match(
      stepOf(missing, 'bump-registry').show[0]!,
      /^cp .*121456865906\.avsc .*job-registry\/avro\/mediawiki\/CirrusSearchRequestSet\/$/,
    );

    await writeFile(
      join(folder, `${NEW}.avsc`),
      '{"type": "record", "name": "CirrusSearchRequestSet", "fields": []}',
    );
    const different = await runUpgrade(CIRRUS, NEW, { job: setup.jobFile, registry: WMF_FIXTURES });
    assert.equal(stepOf(different, 'bump-registry').state, 'problem');

    await cp(join(WMF_FIXTURES, 'avro', 'mediawiki', CIRRUS, `${NEW}.avsc`), join(folder, `${NEW}.avsc`));
    const same = await runUpgrade(CIRRUS, NEW, { job: setup.jobFile, registry: WMF_FIXTURES });
    assert.equal(stepOf(same, 'bump-registry').state, 'done');
  });

  test('a job whose topics leave the schema out is a problem', async () => {
    const setup = await jobWith({ topics: { include: '^mediawiki_ApiAction$' } });
    const report = await runUpgrade(CIRRUS, NEW, { job: setup.jobFile });
    assert.equal(stepOf(report, 'bump-registry').state, 'problem');
  });

  test('a Parquet dataset has no avro.schema.literal to set', async () => {
    const setup = await jobWith({ datasets: { [CIRRUS]: { readerRevision: OLD, format: 'parquet' } } });
    const report = await runUpgrade(CIRRUS, NEW, { job: setup.jobFile });
    assert.equal(stepOf(report, 'alter-hive-table').state, 'manual');
    assert.match(stepOf(report, 'alter-hive-table').detail, /Parquet.*ADD COLUMNS/);
  });
});

describe('commit detection', () => {
  test("a revision tracked in the project's git checkout is committed", async () => {
    const report = await runUpgrade('EditAttempt', '121725201754', { registry: defaultRegistryRoot() });
    assert.equal(stepOf(report, 'commit-schema').state, 'done');
  });

  test('a registry outside any git checkout is manual', async () => {
    const root = join(temp, 'plain-registry');
    await cp(WMF_FIXTURES, root, { recursive: true });
    const report = await runUpgrade(CIRRUS, NEW, { registry: root });
    assert.equal(stepOf(report, 'commit-schema').state, 'manual');
    assert.match(stepOf(report, 'commit-schema').detail, /not a git checkout/);
  });
});
