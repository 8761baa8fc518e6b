import avro from 'avsc';
import { describeError } from '../errors.js';
import { hiveTypeOf, PARTITION_COLUMNS } from '../hive/ddl.js';
import { hiveIdentifier, hiveString } from '../hive/statement.js';
import { type CheckFinding, check, skipped, type UpgradeCheck } from './check-result.js';
import { hivePreview } from './checklist.js';
import type { HiveTableReader } from './checklist-step.js';
import { hiveSchemaChange } from './downstream.js';
import type { StepFinding } from './schema-file-state.js';

/**
 * `schema add`'s Hive checks: the dataset's table exists with the columns of the added revision
 * and the partition keys every mwingest table has (`year`, `month`, `day`, `hour`, strings), and,
 * once an hour's partition was added, a query of that partition returns records.
 */

export interface AddHiveInput {
  client: HiveTableReader;
  database: string;
  table: string;
  /** The added revision: its type, and its file's text (for an ALTER of an Avro table). */
  type: avro.Type;
  schemaText: string;
  format: 'avro' | 'parquet';
  /** `mwingest hive ddl`'s CREATE statement for the dataset, or why there is none. */
  create: { statement: string } | { error: string };
  /** The job file, for the `hive ddl` command shown. */
  jobLabel: string;
}

export interface AddHiveResult {
  check: UpgradeCheck;
  step: StepFinding;
  exists: boolean;
}

interface Column {
  name: string;
  type: string;
}

export async function checkAddHiveTable(input: AddHiveInput): Promise<AddHiveResult> {
  const { client } = input;
  const table = `${input.database}.${input.table}`;
  const where = `${table} on Hive at ${client.address}`;
  const createShow =
    'statement' in input.create
      ? [
          ...(input.database === 'default'
            ? []
            : [`CREATE DATABASE IF NOT EXISTS ${hiveIdentifier(input.database, 'database')};`]),
          ...`${input.create.statement};`.split('\n'),
        ]
      : [];
  const createHow =
    'statement' in input.create
      ? `create it: the statement below, or mwingest hive ddl --job ${input.jobLabel} --dataset ${shortName(input.type)} --apply`
      : `the CREATE statement cannot be made yet: ${input.create.error}`;
  let rows: Record<string, unknown>[];
  try {
    rows = (
      await client.execute(
        `DESCRIBE ${hiveIdentifier(input.database, 'database')}.${hiveIdentifier(input.table, 'table')}`,
      )
    ).rows;
  } catch (error) {
    const text = describeError(error);
    if (/table not found|database does not exist/i.test(text)) {
      return {
        check: check('hive-table', 'fail', `no table ${table}`, [
          { message: `Hive at ${client.address} has no table ${table}: ${createHow}` },
        ]),
        step: {
          state: 'todo',
          detail: `no table ${table} on Hive at ${client.address}: ${createHow}`,
          show: createShow,
        },
        exists: false,
      };
    }
    const why = `cannot describe ${table} on Hive at ${client.address}: ${text}`;
    return {
      check: check('hive-table', 'fail', `cannot describe ${table}`, [{ message: why }]),
      step: { state: 'manual', detail: `not checked: ${why}`, show: createShow },
      exists: false,
    };
  }
  const { columns, partitionKeys } = parseDescribe(rows);
  const expected = expectedColumns(input.type);
  const findings: CheckFinding[] = [];
  const actualByName = new Map(columns.map((c) => [c.name, c]));
  for (const column of expected) {
    const actual = actualByName.get(column.name);
    if (actual === undefined)
      findings.push({ path: column.name, message: `missing: expected ${column.type}` });
    else if (normalType(actual.type) !== normalType(column.type)) {
      findings.push({ path: column.name, message: `is ${actual.type}, expected ${column.type}` });
    }
  }
  const expectedNames = new Set(expected.map((c) => c.name));
  for (const column of columns) {
    if (!expectedNames.has(column.name)) {
      findings.push({ path: column.name, message: `not a field of the added revision (${column.type})` });
    }
  }
  const keys = partitionKeys.map((k) => `${k.name} ${k.type}`).join(', ');
  const wantKeys = PARTITION_COLUMNS.map((k) => `${k} string`).join(', ');
  const keysWrong = keys !== wantKeys;
  if (keysWrong) {
    findings.push({
      message: `partitioned by (${keys || 'nothing'}), not (${wantKeys}): drop the table (it is EXTERNAL: the data stays) and create it again`,
    });
  }
  if (findings.length === 0) {
    const summary = `${expected.length} columns of the added revision, partitioned by (${PARTITION_COLUMNS.join(', ')})`;
    return {
      check: check('hive-table', 'pass', summary),
      step: { state: 'done', detail: `${where}: ${summary}`, show: [] },
      exists: true,
    };
  }
  const fix =
    keysWrong || input.format === 'parquet'
      ? {
          how: `drop ${table} (EXTERNAL: its data stays) and create it again`,
          show: [`DROP TABLE ${table};`, ...createShow],
        }
      : {
          how: `give it the added revision's schema with the statement below`,
          show: hivePreview(hiveSchemaChange(input.database, input.table, input.schemaText)),
        };
  return {
    check: check('hive-table', 'fail', `${table} does not match the added revision`, findings),
    step: {
      state: 'problem',
      detail: `${where} does not match the added revision (findings above): ${fix.how}`,
      show: fix.show,
    },
    exists: true,
  };
}

/** Data columns and partition keys from `DESCRIBE <table>` rows (col_name, data_type, comment). */
export function parseDescribe(rows: Record<string, unknown>[]): {
  columns: Column[];
  partitionKeys: Column[];
} {
  const all: Column[] = [];
  const partitionKeys: Column[] = [];
  let section: 'columns' | 'gap' | 'partitions' = 'columns';
  for (const row of rows) {
    const name = String(row.col_name ?? '').trim();
    const type = String(row.data_type ?? '').trim();
    if (name === '') {
      section = 'gap';
      continue;
    }
    if (name.startsWith('#')) {
      if (/partition information/i.test(name)) section = 'partitions';
      continue;
    }
    if (section === 'columns') all.push({ name: name.toLowerCase(), type });
    else if (section === 'partitions') partitionKeys.push({ name: name.toLowerCase(), type });
  }
  const keyNames = new Set(partitionKeys.map((k) => k.name));
  return { columns: all.filter((c) => !keyNames.has(c.name)), partitionKeys };
}

/** The columns Hive derives from a record schema (the AvroSerDe's mapping, as `hive ddl` writes Parquet columns). */
function expectedColumns(type: avro.Type): Column[] {
  if (!(type instanceof avro.types.RecordType)) return [];
  return type.fields.map((field) => {
    let hiveType: string;
    try {
      hiveType = hiveTypeOf(field.type, field.name);
    } catch (error) {
      hiveType = `(none: ${describeError(error)})`;
    }
    return { name: field.name.toLowerCase(), type: hiveType };
  });
}

/** Hive prints struct field names lower-cased and unquoted. */
function normalType(type: string): string {
  return type.replace(/`/g, '').replace(/\s+/g, '').toLowerCase();
}

function shortName(type: avro.Type): string {
  const name = type.name ?? '';
  return name.slice(name.lastIndexOf('.') + 1);
}

export interface AddQueryInput {
  client: HiveTableReader;
  database: string;
  table: string;
  /** An hour whose partition was added and that holds records: `2026-12-07T20`. */
  hour: { key: string; partition: { year: string; month: string; day: string; hour: string } } | undefined;
}

/** Step 14: a query of the first added hour with records returns one (a fetch, no MapReduce job). */
export async function checkAddQuery(
  input: AddQueryInput,
): Promise<{ check: UpgradeCheck; step: StepFinding }> {
  const table = `${input.database}.${input.table}`;
  if (input.hour === undefined) {
    const why = 'not run: no hour with records has its Hive partition yet (step 12)';
    return {
      check: skipped('query', why),
      step: { state: 'todo', detail: `after step 12: ${why.slice(9)}`, show: [] },
    };
  }
  const p = input.hour.partition;
  const statement =
    `SELECT * FROM ${hiveIdentifier(input.database, 'database')}.${hiveIdentifier(input.table, 'table')} ` +
    `WHERE year=${hiveString(p.year)} AND month=${hiveString(p.month)} AND day=${hiveString(p.day)} ` +
    `AND hour=${hiveString(p.hour)} LIMIT 1`;
  try {
    const result = await input.client.execute(statement);
    if (result.rows.length > 0) {
      const summary = `${table} returns records of hour ${input.hour.key}`;
      return {
        check: check('query', 'pass', summary),
        step: { state: 'done', detail: summary, show: [statement] },
      };
    }
    const message = `${table} returns no record of hour ${input.hour.key}, which has records and a partition: is the table's LOCATION the dataset's directory?`;
    return {
      check: check('query', 'fail', `no records in hour ${input.hour.key}`, [{ message }]),
      step: { state: 'problem', detail: message, show: [statement] },
    };
  } catch (error) {
    const message = `querying ${table} on Hive at ${input.client.address} failed: ${describeError(error)}`;
    return {
      check: check('query', 'fail', `cannot query ${table}`, [{ message }]),
      step: { state: 'problem', detail: message, show: [statement] },
    };
  }
}
