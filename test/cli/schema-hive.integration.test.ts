import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openFileSystem } from '../../src/hdfs/open.js';
import { createHiveClient, type HiveClient } from '../../src/hive/client.js';
import { createTableStatement } from '../../src/hive/ddl.js';
import { SchemaRegistry } from '../../src/schemas/registry.js';
import { CIRRUS, WMF_FIXTURES } from '../schemas/realistic-records.js';
import { runMwingest as mwingest } from '../support/cli.js';
import { requireStack, stackConfig } from '../support/stack.js';

/**
 * `mwingest schema upgrade --hive` against the real HiveServer2 of the local stack: the checklist
 * reads the table's avro.schema.literal, and the ALTER statement it prints is one Hive accepts and
 * reads back as the new schema. Each run makes its own table in `default` (the stack's Hive cannot
 * drop databases), dropped afterwards with its HDFS directory.
 */

const HIVE = `${process.env.MWINGEST_HIVE_HOST || '127.0.0.1'}:${process.env.MWINGEST_HIVE_PORT || '10000'}`;
const database = 'default';
const table = `mwi_schema_${randomBytes(4).toString('hex')}`;
const location = `/tmp/${table}`;
const temp = await mkdtemp(join(tmpdir(), 'mwingest-schema-hive-'));
const registry = await SchemaRegistry.load(WMF_FIXTURES, { strict: true });
let hive: HiveClient;

interface Step {
  id: string;
  state: string;
  detail: string;
}

async function hiveStep(jobFile: string): Promise<{ step: Step; statement: string }> {
  const run = await mwingest([
    'schema',
    'upgrade',
    CIRRUS,
    '121456865906',
    '--job',
    jobFile,
    '--hive',
    HIVE,
    '--json',
  ]);
  assert.equal(run.code, 0, run.stderr);
  const report = JSON.parse(run.stdout) as { checklist: Step[]; downstream: { hive: { statement: string } } };
  return {
    step: report.checklist.find((s) => s.id === 'alter-hive-table')!,
    statement: report.downstream.hive.statement,
  };
}

async function jobFor(tableName: string): Promise<string> {
  const file = join(temp, `${tableName}.json`);
  const job = {
    name: 'schemahive',
    kafka: { brokers: ['127.0.0.1:9092'] },
    registry: WMF_FIXTURES,
    fileSystem: { type: 'local', root: 'data' },
    hive: { database },
    datasets: { [CIRRUS]: { readerRevision: '111448028943', hive: { table: tableName } } },
  };
  await writeFile(file, JSON.stringify(job, null, 2));
  return file;
}

describe('schema upgrade --hive, on the real HiveServer2', { timeout: 300_000 }, () => {
  before(async () => {
    await requireStack(['webhdfs']);
    hive = createHiveClient({ host: HIVE.split(':')[0]!, port: Number(HIVE.split(':')[1]) });
  });
  after(async () => {
    await hive.execute(`DROP TABLE IF EXISTS ${database}.${table}`);
    await hive.close();
    const hdfs = await openFileSystem({ type: 'hdfs', url: stackConfig().webhdfsUrl, user: 'hdfs' });
    await hdfs.delete(location, { recursive: true });
    await hdfs.close();
    await rm(temp, { recursive: true, force: true });
  });

  test('a table on the old schema is todo; after the printed ALTER it is done, with the new columns', async () => {
    const old = registry.get(CIRRUS, 111448028943n)!;
    await hive.execute(
      createTableStatement({
        database,
        table,
        location,
        schema: old.json,
        schemaText: old.text,
        format: 'avro',
      }),
    );
    const jobFile = await jobFor(table);
    const before = await hiveStep(jobFile);
    assert.equal(before.step.state, 'todo');
    assert.match(
      before.step.detail,
      new RegExp(`${database}\\.${table} on Hive at ${HIVE} has the schema of 111448028943`),
    );

    await hive.execute(before.statement);
    const described = await hive.execute(`DESCRIBE ${database}.${table}`);
    const columns = described.rows.map((row) => String(row.col_name).trim());
    for (const column of ['id', 'tookms', 'hits', 'requests'])
      assert.ok(columns.includes(column), `${column} in ${columns}`);

    const afterAlter = await hiveStep(jobFile);
    assert.equal(afterAlter.step.state, 'done');
    assert.match(afterAlter.step.detail, /has the schema of 121456865906/);
  });

  test('a table that does not exist is a problem, naming the table', async () => {
    const { step } = await hiveStep(await jobFor(`${table}_missing`));
    assert.equal(step.state, 'problem');
    assert.match(step.detail, new RegExp(`no table ${database}\\.${table}_missing`));
  });
});
