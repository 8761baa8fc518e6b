import { isDeepStrictEqual } from 'node:util';
import { describeError } from '../errors.js';
import { hiveIdentifier } from '../hive/statement.js';
import { type ChecklistInput, type ChecklistStep, step } from './checklist-step.js';
import type { RevisionVerdict } from './checks.js';
import type { HiveSchemaChange } from './downstream.js';
import { lastRun, openJobFs, partitionsStep, producersStep, runStep } from './run-steps.js';
import { commitState, registryCopyState } from './schema-file-state.js';

/**
 * The ordered upgrade checklist, as Wikimedia's wiki page had it, with each step's state found
 * out where a machine can: `done`, `todo`, `problem` (found, and wrong), or `manual` (nothing
 * here can see it; the detail says what to do).
 */
export async function buildChecklist(input: ChecklistInput): Promise<ChecklistStep[]> {
  const { verdict } = input;
  const run =
    input.job === undefined ? undefined : await lastRun(input.job, verdict, input.openFs ?? openJobFs);
  try {
    return [
      await commitStep(verdict),
      await registryStep(input),
      await hiveStep(input),
      pinStep(input),
      producersStep(verdict, run),
      runStep(input, run),
      await partitionsStep(input, run),
    ];
  } finally {
    await run?.fs?.close();
  }
}

const PREVIEW_CHARS = 60;

/** Is the schema file committed in the git checkout it sits in? */
async function commitStep(verdict: RevisionVerdict): Promise<ChecklistStep> {
  const found = await commitState(verdict);
  return step('commit-schema', found.state, found.detail, found.show);
}

async function registryStep(input: ChecklistInput): Promise<ChecklistStep> {
  const { verdict, job } = input;
  if (job === undefined) {
    return step(
      'bump-registry',
      'manual',
      'pass --job to check that the registry the ingest reads has the revision',
    );
  }
  if (!job.ingestsTopic) {
    return step(
      'bump-registry',
      'problem',
      `job ${job.loaded.config.name} does not ingest mediawiki_${verdict.name} (topics.include/exclude): is it the right job?`,
    );
  }
  const found = await registryCopyState(
    verdict,
    job.loaded.config.name,
    job.registryRoot,
    input.registryRoot,
  );
  return step('bump-registry', found.state, found.detail, found.show);
}

async function hiveStep(input: ChecklistInput): Promise<ChecklistStep> {
  const { hive, job, verdict } = input;
  if (hive === undefined) return step('alter-hive-table', 'todo', 'the schema file does not load yet');
  const table = `${hive.database}.${hive.table}`;
  if (job?.dataset.format === 'parquet') {
    return step(
      'alter-hive-table',
      'manual',
      `the dataset is written as Parquet, so avro.schema.literal does not apply: add the new columns to ` +
        `${table} with ALTER TABLE … ADD COLUMNS`,
    );
  }
  const where = job === undefined ? " (the default table; pass --job for the dataset's)" : '';
  const full =
    input.hqlFile === undefined
      ? 'the full statement: --hql FILE, or .downstream.hive.statement in --json'
      : `the full statement is in ${input.hqlFile}: beeline -f ${input.hqlFile}`;
  const run = `run this on ${table}${where}; ${full}`;
  const client = input.hiveClient;
  if (client === undefined) {
    return step(
      'alter-hive-table',
      'manual',
      `not checked (--hive host:port reads the table): ${run}`,
      hivePreview(hive),
    );
  }
  let current: unknown;
  try {
    const result = await client.execute(
      `SHOW TBLPROPERTIES ${hiveIdentifier(hive.database, 'database')}.${hiveIdentifier(hive.table, 'table')}` +
        "('avro.schema.literal')",
    );
    // Hive 2+ answers (prpt_name, prpt_value), with a null value when the property is not set.
    const column = result.columns.includes('prpt_value') ? 'prpt_value' : result.columns.at(-1);
    current = column === undefined ? undefined : result.rows[0]?.[column];
  } catch (error) {
    if (/table not found/i.test(describeError(error))) {
      return step(
        'alter-hive-table',
        'problem',
        `Hive at ${client.address} has no table ${table}: create it first (mwingest hive ddl --job … --apply)`,
      );
    }
    return step(
      'alter-hive-table',
      'manual',
      `could not read ${table} from Hive at ${client.address} (${describeError(error)}): ${run}`,
      hivePreview(hive),
    );
  }
  if (typeof current !== 'string') {
    return step(
      'alter-hive-table',
      'todo',
      `${table} has no avro.schema.literal on Hive at ${client.address}: ${run}`,
      hivePreview(hive),
    );
  }
  const schema = parseOrUndefined(current);
  if (isDeepStrictEqual(schema, verdict.json)) {
    return step(
      'alter-hive-table',
      'done',
      `${table} on Hive at ${client.address} has the schema of ${verdict.idText}`,
    );
  }
  const other = [...verdict.earlier, ...verdict.later].find((e) => isDeepStrictEqual(schema, e.json));
  const has =
    other === undefined
      ? `a schema that is no revision of ${verdict.name}`
      : `the schema of ${other.revision}`;
  return step(
    'alter-hive-table',
    'todo',
    `${table} on Hive at ${client.address} has ${has}: ${run}`,
    hivePreview(hive),
  );
}

function parseOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined; // not JSON: matches no schema, which the step reports
  }
}

/** The statement, cut to fit a terminal: table, property, and the schema's first characters. */
export function hivePreview(hive: HiveSchemaChange): string[] {
  const head = hive.statement.slice(0, hive.statement.indexOf('('));
  const literal = hive.statement.slice(head.length + 1, -1);
  const cut = literal.length > PREVIEW_CHARS ? `${literal.slice(0, PREVIEW_CHARS)}…` : literal;
  return [
    head.trimEnd(),
    `  (${cut})`,
    `  -- ${hive.statement.length.toLocaleString('en-US')} characters in all`,
  ];
}

function pinStep(input: ChecklistInput): ChecklistStep {
  const { verdict, job, pin } = input;
  if (job === undefined || pin === undefined) {
    return step(
      'pin-reader',
      'manual',
      `in the job file, set datasets.${verdict.name}.readerRevision to "${verdict.idText}" (pass --job to see the diff)`,
    );
  }
  if (pin.diff === '') return step('pin-reader', 'done', `the job already pins ${verdict.idText}`);
  const before =
    pin.before === null
      ? 'pins no reader: it reads with the newest revision of its registry, so the registry bump (step 2) ' +
        'also switches the reader, ahead of the Hive table (step 3); pin it'
      : `pins ${pin.before.replace(/"/g, '')}`;
  return step(
    'pin-reader',
    'todo',
    `job ${job.loaded.config.name} ${before}:`,
    pin.diff.trimEnd().split('\n'),
  );
}
