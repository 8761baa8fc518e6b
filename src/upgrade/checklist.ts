import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { isDeepStrictEqual, promisify } from 'node:util';
import { describeError } from '../errors.js';
import { hiveIdentifier } from '../hive/statement.js';
import { type ChecklistInput, type ChecklistStep, step } from './checklist-step.js';
import type { RevisionVerdict } from './checks.js';
import type { HiveSchemaChange } from './downstream.js';
import { displayPath } from './job-diff.js';
import { lastRun, openJobFs, partitionsStep, producersStep, runStep } from './run-steps.js';

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

const runGit = promisify(execFile);

/** Is the schema file committed in the git checkout it sits in? Read-only git commands only. */
async function commitStep(verdict: RevisionVerdict): Promise<ChecklistStep> {
  if (verdict.text === undefined)
    return step('commit-schema', 'todo', `${verdict.relativePath} does not load yet`);
  const dir = dirname(verdict.path);
  let out: string;
  try {
    // --no-optional-locks: status must not refresh the index of someone else's checkout.
    const result = await runGit(
      'git',
      [
        '--no-optional-locks',
        '-C',
        dir,
        'status',
        '--porcelain=v1',
        '--ignored',
        '--',
        basename(verdict.path),
      ],
      { timeout: 10_000 },
    );
    out = result.stdout;
  } catch (error) {
    const e = error as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT')
      return step('commit-schema', 'manual', 'git is not installed here: commit the file by hand');
    if (/not a git repository/i.test(e.stderr ?? '')) {
      return step(
        'commit-schema',
        'manual',
        `the registry is not a git checkout: commit ${verdict.relativePath} to event-schemas and get it reviewed`,
      );
    }
    return step(
      'commit-schema',
      'manual',
      `git status failed (${(e.stderr ?? describeError(error)).trim()}): check by hand`,
    );
  }
  const code = out.slice(0, 2);
  if (out.trim() === '') {
    return step('commit-schema', 'done', 'committed, no local changes (pushing and review are up to you)');
  }
  if (code === '??')
    return step('commit-schema', 'todo', 'not committed yet (untracked): git add it and commit');
  if (code === '!!')
    return step('commit-schema', 'problem', 'the file is ignored by git: it would never be committed');
  if (code[0] === 'A') return step('commit-schema', 'todo', 'staged, not committed yet');
  return step(
    'commit-schema',
    'todo',
    `has uncommitted changes (git: ${code.trim()}); a revision that producers may already use must never change`,
  );
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
  const jobName = job.loaded.config.name;
  if (!job.ingestsTopic) {
    return step(
      'bump-registry',
      'problem',
      `job ${jobName} does not ingest mediawiki_${verdict.name} (topics.include/exclude): is it the right job?`,
    );
  }
  if (verdict.text === undefined) return step('bump-registry', 'todo', 'the schema file does not load yet');
  if (resolve(job.registryRoot) === resolve(input.registryRoot)) {
    return step('bump-registry', 'done', `job ${jobName} reads this registry (${job.registryRoot})`);
  }
  const target = join(job.registryRoot, verdict.relativePath);
  let text: string;
  try {
    text = await readFile(target, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      return step('bump-registry', 'manual', `cannot read ${target}: ${describeError(error)}`);
    }
    return step(
      'bump-registry',
      'todo',
      `job ${jobName} reads ${job.registryRoot}, which does not have ${verdict.idText} yet: deploy the ` +
        'event-schemas checkout there before any producer sends it (unknown revisions become error records)',
      [`cp ${shellWord(displayPath(verdict.path))} ${shellWord(`${displayPath(dirname(target))}/`)}`],
    );
  }
  if (text === verdict.text) return step('bump-registry', 'done', `${job.registryRoot} has it, identical`);
  if (sameJson(text, verdict.text)) {
    return step('bump-registry', 'done', `${job.registryRoot} has it (same schema, other formatting)`);
  }
  return step(
    'bump-registry',
    'problem',
    `${target} differs from the file checked here: one revision id must name one schema everywhere`,
  );
}

/** A path as one shell word: quoted when it holds anything but plain path characters. */
function shellWord(path: string): string {
  return /^[\w@%+=:,./-]+$/.test(path) ? path : `'${path.replace(/'/g, "'\\''")}'`;
}

function sameJson(a: string, b: string): boolean {
  try {
    return JSON.stringify(JSON.parse(a)) === JSON.stringify(JSON.parse(b));
  } catch {
    return false; // not JSON: the texts already differ
  }
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
