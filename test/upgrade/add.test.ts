import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { LocalFileSystem } from '../../src/hdfs/local.js';
import type { TopicCompleteness } from '../../src/ingest/completeness-state.js';
import { AddStepIds } from '../../src/upgrade/add-checklist.js';
import { parseDescribe } from '../../src/upgrade/add-hive.js';
import { includeWith } from '../../src/upgrade/add-job.js';
import { runAdd } from '../../src/upgrade/add-report.js';
import { formatSchemaReport, PLAIN } from '../../src/upgrade/format.js';
import { reportJson, type SchemaReport } from '../../src/upgrade/report.js';

/**
 * `schema add` without the stack: the schema file checks, the job check and its diff, the data
 * flags read through the local-directory file system, and the checklist's order and shape. Kafka
 * and Hive are checked against the real stack in test/cli/schema-add.integration.test.ts.
 */

const git = promisify(execFile);
const temp = await mkdtemp(join(tmpdir(), 'mwingest-schemaadd-'));
after(() => rm(temp, { recursive: true, force: true }));

const NAME = 'SchemaaddThing';
const TOPIC = `mediawiki_${NAME}`;
const REV = '101765000000';
const SCHEMA = {
  type: 'record',
  name: NAME,
  namespace: 'org.wikimedia.mediawiki',
  fields: [
    { name: 'ts', type: 'int' },
    { name: 'pageId', type: 'long' },
    { name: 'action', type: 'string' },
  ],
};
let dirs = 0;

/** A registry holding `files` (name → schema) of NAME, as a fresh directory. */
async function registryWith(files: Record<string, unknown> = { [REV]: SCHEMA }): Promise<string> {
  const root = join(temp, `registry${dirs++}`);
  await mkdir(join(root, 'avro', 'mediawiki', NAME), { recursive: true });
  for (const [id, schema] of Object.entries(files)) {
    await writeFile(
      join(root, 'avro', 'mediawiki', NAME, `${id}.avsc`),
      `${JSON.stringify(schema, null, 2)}\n`,
    );
  }
  return root;
}

async function jobWith(
  registry: string,
  extra: Record<string, unknown> = {},
): Promise<{ file: string; fs: LocalFileSystem }> {
  const dir = join(temp, `job${dirs++}`);
  await mkdir(join(dir, 'data'), { recursive: true });
  const file = join(dir, 'job.json');
  const job = {
    name: 'schemaadd',
    // Nothing listens on port 9: the Kafka checks fail fast, as "cannot reach".
    kafka: { brokers: ['127.0.0.1:9'], connectTimeoutMs: 1000 },
    topics: { include: '^mediawiki_(ApiAction|CirrusSearchRequestSet)$' },
    registry,
    fileSystem: { type: 'local', root: 'data' },
    ...extra,
  };
  await writeFile(file, `${JSON.stringify(job, null, 2)}\n`);
  return { file, fs: new LocalFileSystem(join(dir, 'data')) };
}

function stateOf(report: SchemaReport, id: string): string {
  const step = report.checklist!.find((s) => s.id === id);
  assert.ok(step, id);
  return step.state;
}

function checkOf(report: SchemaReport, id: string) {
  const found = [...report.revisions[0]!.checks, ...(report.deployment ?? [])].find((c) => c.id === id);
  assert.ok(found, id);
  return found;
}

describe('schema add: the schema file', () => {
  test('a good first revision passes the file checks; the checklist has the 14 steps in order', async () => {
    const report = await runAdd(NAME, { registry: await registryWith() });
    assert.deepEqual(
      report.checklist!.map((s) => s.id),
      [...AddStepIds],
    );
    assert.equal(report.checklist!.length, 14);
    assert.deepEqual(
      report.revisions[0]!.checks.map((c) => [c.id, c.state]),
      [
        ['file', 'pass'],
        ['revision-id', 'pass'],
        ['version', 'pass'],
        ['unique-id', 'pass'],
        ['timestamp', 'pass'],
        ['field-names', 'pass'],
        ['first-revision', 'pass'],
      ],
    );
    // Without --job, --brokers, --hive: nothing of the deployment is checked, and nothing fails.
    assert.ok(report.deployment!.every((c) => c.state === 'skip'));
    assert.equal(report.exitCode, 0);
    assert.equal(stateOf(report, 'create-topic'), 'manual');
    assert.match(report.checklist!.find((s) => s.id === 'create-topic')!.detail, /--brokers/);
  });

  test('a second revision is not a first deployment: the check names the earlier one and schema upgrade', async () => {
    const report = await runAdd(NAME, {
      registry: await registryWith({
        [REV]: SCHEMA,
        '111765100000': { ...SCHEMA, fields: [...SCHEMA.fields, { name: 'extra', type: 'int', default: 0 }] },
      }),
    });
    const first = checkOf(report, 'first-revision');
    assert.equal(first.state, 'fail');
    assert.match(
      first.findings[0]!.message,
      new RegExp(`registry has ${REV}.*schema upgrade ${NAME} 111765100000`),
    );
    assert.equal(report.exitCode, 1);
    assert.equal(stateOf(report, 'commit-schema'), 'problem');
  });

  test('a snake_case field and a missing timestamp fail, and step 1 is a problem', async () => {
    const report = await runAdd(NAME, {
      registry: await registryWith({
        [REV]: { ...SCHEMA, fields: [{ name: 'page_id', type: 'long' }] },
      }),
    });
    assert.equal(checkOf(report, 'field-names').state, 'fail');
    assert.match(checkOf(report, 'field-names').findings[0]!.message, /name it "pageId"/);
    assert.equal(checkOf(report, 'timestamp').state, 'fail');
    assert.equal(stateOf(report, 'commit-schema'), 'problem');
    assert.equal(report.exitCode, 1);
  });

  test('the timestamp type the job expects: unix_milliseconds needs a long', async () => {
    const registry = await registryWith();
    const { file } = await jobWith(registry, { timestamp: { field: 'ts', format: 'unix_milliseconds' } });
    const report = await runAdd(NAME, { job: file });
    assert.equal(checkOf(report, 'timestamp').state, 'fail');
    assert.match(checkOf(report, 'timestamp').summary, /ts is int, not long/);
  });

  test('step 1 follows git: untracked is todo, committed is done', async () => {
    const registry = await registryWith();
    await git('git', ['init', '-q', registry]);
    assert.equal(stateOf(await runAdd(NAME, { registry }), 'commit-schema'), 'todo');
    await git('git', ['-C', registry, 'add', '.']);
    await git('git', ['-C', registry, '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', 'add']);
    assert.equal(stateOf(await runAdd(NAME, { registry }), 'commit-schema'), 'done');
  });
});

describe('schema add: the job', () => {
  test('a job that does not take the topic fails, and step 4 shows the job change as a diff', async () => {
    const registry = await registryWith();
    const { file } = await jobWith(registry);
    const report = await runAdd(NAME, { job: file });
    const job = checkOf(report, 'job');
    assert.equal(job.state, 'fail');
    assert.equal(job.findings[0]!.path, 'topics.include');
    assert.equal(stateOf(report, 'configure-ingest'), 'todo');
    assert.equal(stateOf(report, 'partition-adds'), 'todo');
    const diff = report.checklist!.find((s) => s.id === 'configure-ingest')!.show.join('\n');
    assert.match(diff, /^- {4}"include": "\^mediawiki_\(ApiAction\|CirrusSearchRequestSet\)\$"$/m);
    assert.match(
      diff,
      /^\+ {4}"include": "\^mediawiki_\(ApiAction\|CirrusSearchRequestSet\|SchemaaddThing\)\$"/m,
    );
    assert.match(diff, new RegExp(`^\\+ {6}"readerRevision": "${REV}"`, 'm'));
    const json = reportJson(report) as { downstream: { job: { edits: { key: string }[] } } };
    assert.deepEqual(
      json.downstream.job.edits.map((e) => e.key),
      ['topics.include', `datasets.${NAME}.readerRevision`],
    );
    // The registry the job reads is the one checked.
    assert.equal(stateOf(report, 'bump-registry'), 'done');
  });

  test('the edited job (the diff applied) passes the job check', async () => {
    const registry = await registryWith();
    const { file } = await jobWith(registry, {
      topics: { include: includeWith('^mediawiki_(ApiAction|CirrusSearchRequestSet)$', NAME) },
    });
    const report = await runAdd(NAME, { job: file });
    assert.equal(checkOf(report, 'job').state, 'pass', checkOf(report, 'job').summary);
    assert.match(
      checkOf(report, 'job').summary,
      new RegExp(`reader defaulted: the latest of its registry, ${REV}`),
    );
    assert.equal(stateOf(report, 'configure-ingest'), 'done');
    assert.equal(stateOf(report, 'partition-adds'), 'done');
    assert.match(report.checklist!.find((s) => s.id === 'partition-adds')!.detail, /wmf_raw\.schemaaddthing/);
  });

  test('a job that pins another reader revision is a problem, with the fix as a diff', async () => {
    const registry = await registryWith();
    const { file } = await jobWith(registry, {
      topics: { include: '^mediawiki_.+' },
      datasets: { [NAME]: { readerRevision: 101700000000 } },
    });
    const report = await runAdd(NAME, { job: file });
    assert.equal(checkOf(report, 'job').state, 'fail');
    assert.match(checkOf(report, 'job').findings[0]!.message, new RegExp(`pins 101700000000, not ${REV}`));
    assert.equal(stateOf(report, 'configure-ingest'), 'problem');
    const diff = report.checklist!.find((s) => s.id === 'configure-ingest')!.show.join('\n');
    assert.match(diff, /^- {6}"readerRevision": 101700000000$/m);
    assert.match(diff, new RegExp(`^\\+ {6}"readerRevision": ${REV}$`, 'm'));
  });

  test('a job reading another registry without the file: the registry check fails with the copy command', async () => {
    const { file } = await jobWith(await registryWith({}), { topics: { include: '^mediawiki_.+' } });
    const report = await runAdd(NAME, { job: file, registry: await registryWith() });
    assert.equal(checkOf(report, 'registry').state, 'fail');
    assert.equal(stateOf(report, 'bump-registry'), 'todo');
    assert.match(
      report.checklist!.find((s) => s.id === 'bump-registry')!.show.at(-1)!,
      /^cp .*101765000000\.avsc /,
    );
  });

  test('includeWith joins the usual alternation, else wraps the pattern', () => {
    assert.equal(includeWith('^mediawiki_(A|B)$', 'C'), '^mediawiki_(A|B|C)$');
    assert.equal(includeWith('^mediawiki_Api.*', 'C'), '(?:^mediawiki_Api.*)|^mediawiki_C$');
    assert.ok(new RegExp(includeWith('^mediawiki_Api.*', 'C')).test('mediawiki_C'));
    assert.ok(new RegExp(includeWith('^mediawiki_Api.*', 'C')).test('mediawiki_ApiAction'));
  });
});

describe('schema add: the data', () => {
  async function announce(fs: LocalFileSystem, hours: { hour: string; records: number }[]): Promise<void> {
    const state: TopicCompleteness = {
      topic: TOPIC,
      sequence: 1,
      engine: { announcedThrough: hours.at(-1)!.hour } as TopicCompleteness['engine'],
      announcedThrough: hours.at(-1)!.hour,
      countedThrough: {},
      pendingCounts: {},
      late: {},
      announced: hours.map((h) => ({ ...h, at: '2026-12-07T12:00:00Z' })),
      updatedAt: '2026-12-07T12:00:00Z',
    };
    await fs.writeFile(
      `/wmf/camus/mwingest/schemaadd/completeness/${TOPIC}/00000000000000000001.json`,
      JSON.stringify(state),
    );
  }
  const hourDir = (hour: string) =>
    `/wmf/data/raw/mediawiki/${TOPIC}/hourly/${hour.replace(/-/g, '/').replace('T', '/')}`;

  test('no announced hour: steps 10 and 12 are todo; _IMPORTED, then _SUCCESS, turn them done', async () => {
    const registry = await registryWith();
    const { file, fs } = await jobWith(registry, { topics: { include: '^mediawiki_.+' } });
    let report = await runAdd(NAME, { job: file });
    assert.equal(checkOf(report, 'hours-imported').state, 'fail');
    assert.equal(stateOf(report, 'check-hdfs'), 'todo');
    assert.equal(stateOf(report, 'add-partitions'), 'todo');

    // An empty first hour is not data; the first two with records are what the checks look at.
    const hours = [
      { hour: '2026-12-07T08', records: 0 },
      { hour: '2026-12-07T09', records: 12 },
      { hour: '2026-12-07T10', records: 7 },
    ];
    await announce(fs, hours);
    for (const h of hours) await fs.writeFile(`${hourDir(h.hour)}/_IMPORTED`, '{}');
    report = await runAdd(NAME, { job: file });
    assert.equal(checkOf(report, 'hours-imported').state, 'pass');
    assert.match(
      checkOf(report, 'hours-imported').summary,
      /2026-12-07T09 \(12 records\), 2026-12-07T10 \(7 records\)/,
    );
    assert.equal(stateOf(report, 'check-hdfs'), 'done');
    assert.equal(checkOf(report, 'hive-partitions').state, 'fail');
    assert.match(checkOf(report, 'hive-partitions').findings[0]!.message, /mwingest-schemaadd-hive/);
    assert.equal(stateOf(report, 'add-partitions'), 'todo');

    for (const h of hours) await fs.writeFile(`${hourDir(h.hour)}/_SUCCESS`, '');
    report = await runAdd(NAME, { job: file });
    assert.equal(checkOf(report, 'hive-partitions').state, 'pass');
    assert.equal(stateOf(report, 'add-partitions'), 'done');
    // Kafka at the job's brokers does not answer: a failed check, and steps 6 and 9 not checkable.
    assert.equal(checkOf(report, 'kafka-topic').state, 'fail');
    assert.match(
      checkOf(report, 'kafka-topic').findings[0]!.message,
      /cannot reach Kafka at 127\.0\.0\.1:9 \(job schemaadd\)/,
    );
    assert.equal(stateOf(report, 'create-topic'), 'manual');
    assert.equal(report.exitCode, 1);
  });
});

describe('schema add: Hive DESCRIBE', () => {
  test('data columns and partition keys, as HiveServer2 4 lists them', () => {
    const row = (col_name: string, data_type: string | null) => ({ col_name, data_type, comment: '' });
    const { columns, partitionKeys } = parseDescribe([
      row('ts', 'int'),
      row('pageid', 'bigint'),
      row('year', 'string'),
      row('hour', 'string'),
      row('', null),
      row('# Partition Information', null),
      row('# col_name', 'data_type'),
      row('year', 'string'),
      row('hour', 'string'),
    ]);
    assert.deepEqual(columns, [
      { name: 'ts', type: 'int' },
      { name: 'pageid', type: 'bigint' },
    ]);
    assert.deepEqual(
      partitionKeys.map((k) => k.name),
      ['year', 'hour'],
    );
  });
});

describe('schema add: output', () => {
  test('the text report has the file checks, the deployment checks and the numbered checklist', async () => {
    const registry = await registryWith();
    const { file } = await jobWith(registry);
    const text = formatSchemaReport(await runAdd(NAME, { job: file }), PLAIN);
    assert.match(
      text,
      new RegExp(
        `^Schema add: ${NAME} ${REV} \\(version 10, made 2025-12-06T05:46:40Z\\), first deployment$`,
        'm',
      ),
    );
    assert.match(text, /^Schema file checks$/m);
    assert.match(text, /^Deployment checks$/m);
    assert.match(text, /^ {2}FAIL job /m);
    assert.match(text, /^ {3}4 \[ \] todo {4}configure the ingest$/m);
    assert.match(text, /^ {2}14 \[ \] todo {4}query the data$|^ {2}14 \[-\] manual {2}query the data$/m);
    assert.match(
      text.replace(/\n {8}/g, ' '),
      /^Result: .*a step is not done yet, or is wrong: see the checklist \(exit 1\)$/m,
    );
  });

  test('--json: the same shape rules as schema upgrade, plus the deployment checks', async () => {
    const json = reportJson(await runAdd(NAME, { registry: await registryWith() })) as Record<
      string,
      unknown
    >;
    assert.equal(json.command, 'add');
    assert.equal(json.format, 1);
    const revisions = json.revisions as { revision: string; checks: unknown[] }[];
    assert.equal(revisions[0]!.revision, REV);
    const deployment = json.deployment as { id: string; state: string; findings: unknown[] }[];
    assert.deepEqual(
      deployment.map((c) => c.id),
      [
        'registry',
        'job',
        'kafka-topic',
        'kafka-sample',
        'hive-table',
        'hours-imported',
        'hive-partitions',
        'query',
      ],
    );
    const checklist = json.checklist as { step: number; id: string; show: string[] }[];
    assert.deepEqual(
      checklist.map((s) => s.step),
      Array.from({ length: 14 }, (_, i) => i + 1),
    );
    assert.deepEqual(json.downstream, { hive: null, job: null });
  });
});
