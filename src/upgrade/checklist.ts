import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { isDeepStrictEqual, promisify } from 'node:util';
import { z } from 'zod';
import { describeError, isMwiError } from '../errors.js';
import type { FileSystem } from '../hdfs/filesystem.js';
import { hiveIdentifier } from '../hive/statement.js';
import { parseHourKey } from '../hours/hour.js';
import { compilePathTemplate } from '../hours/path-template.js';
import { StatePaths } from '../ingest/state-store.js';
import { type EffectiveDataset, fileSystemConfigOf, type LoadedJob } from '../job/config.js';
import { countOf } from './check-result.js';
import type { RevisionVerdict } from './checks.js';
import type { HiveSchemaChange, JobPinChange } from './downstream.js';
import { describeType } from './fields.js';
import { displayPath } from './job-diff.js';

/**
 * The ordered upgrade checklist, as Wikimedia's wiki page had it, with each step's state found
 * out where a machine can: `done`, `todo`, `problem` (found, and wrong), or `manual` (nothing
 * here can see it; the detail says what to do).
 */

export const StepStates = ['done', 'todo', 'manual', 'problem'] as const;
export type StepState = (typeof StepStates)[number];

export const StepIds = [
  'commit-schema',
  'bump-registry',
  'alter-hive-table',
  'pin-reader',
  'deploy-producers',
  'verify-run',
  'verify-partitions',
] as const;
export type StepId = (typeof StepIds)[number];

export const STEP_TITLES: Record<StepId, string> = {
  'commit-schema': 'commit the schema',
  'bump-registry': 'bump the ingest registry',
  'alter-hive-table': 'alter the Hive table',
  'pin-reader': 'pin the new reader',
  'deploy-producers': 'deploy the producers',
  'verify-run': 'verify the next run',
  'verify-partitions': 'verify the partition job',
};

export interface ChecklistStep {
  id: StepId;
  title: string;
  state: StepState;
  /** What was found, and what to do: a sentence or two. */
  detail: string;
  /** Verbatim lines to show under the step: a command, a statement preview, a diff. */
  show: string[];
}

/** The job as the checklist needs it. */
export interface ChecklistJob {
  loaded: LoadedJob;
  dataset: EffectiveDataset;
  /** The registry root the job's ingest reads. */
  registryRoot: string;
  /** Does the job's topic filter take `mediawiki_<Name>`? */
  ingestsTopic: boolean;
}

export interface ChecklistInput {
  verdict: RevisionVerdict;
  registryRoot: string;
  job: ChecklistJob | undefined;
  hive: HiveSchemaChange | undefined;
  pin: JobPinChange | undefined;
  /** Where the full ALTER statement was written (--hql), if anywhere. */
  hqlFile: string | undefined;
  /** A HiveServer2 connection, to read the table's avro.schema.literal; without it step 3 is manual. */
  hiveClient?: HiveTableReader;
  /** Opens the job's file system; tests may pass their own. @defaultValue openFileSystem */
  openFs?: (job: LoadedJob) => Promise<FileSystem>;
}

/** What the checklist needs of a Hive client (src/partitions/hive-client.ts is one). */
export interface HiveTableReader {
  /** `host:port`, for messages. */
  readonly address: string;
  execute(statement: string): Promise<{ columns: string[]; rows: Record<string, unknown>[] }>;
}

const PREVIEW_CHARS = 60;

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

function step(id: StepId, state: StepState, detail: string, show: string[] = []): ChecklistStep {
  return { id, title: STEP_TITLES[id], state, detail, show };
}

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

interface LastRun {
  fs?: FileSystem;
  /** Where the report is (or would be). */
  path: string;
  report?: RunReportView;
  topic?: RunReportView['topics'][number];
  /** Why the report could not be read (not "there is none"). */
  error?: string;
}

/** The parts of a run report (src/ingest/run-report.ts) the checklist reads. */
const runReportView = z.object({
  runId: z.string(),
  status: z.string(),
  finishedAt: z.string(),
  topics: z.array(
    z.object({
      topic: z.string(),
      schemaName: z.string(),
      readerRevision: z.string().nullable(),
      status: z.string(),
      revisions: z.record(z.string(), z.number()),
      partitions: z.array(z.object({ counts: z.object({ errors: z.number() }) })),
      announced: z.array(z.string()),
    }),
  ),
});
type RunReportView = z.output<typeof runReportView>;

async function openJobFs(loaded: LoadedJob): Promise<FileSystem> {
  // Loaded on demand: only a run with --job reads the job's file system (WebHDFS client and all).
  const { openFileSystem } = await import('../hdfs/open.js');
  return openFileSystem(fileSystemConfigOf(loaded));
}

async function lastRun(
  job: ChecklistJob,
  verdict: RevisionVerdict,
  open: (job: LoadedJob) => Promise<FileSystem>,
): Promise<LastRun> {
  const config = job.loaded.config;
  const path = `${new StatePaths(config.output.stateDir, config.name).reports()}/latest.json`;
  let fs: FileSystem;
  try {
    fs = await open(job.loaded);
  } catch (error) {
    return { path, error: `cannot open the job's file system: ${describeError(error)}` };
  }
  let text: string;
  try {
    text = (await fs.readFile(path)).toString('utf8');
  } catch (error) {
    if (isMwiError(error, 'MWI_FS_NOT_FOUND')) return { fs, path: `${path} on ${fs.description}` };
    return { fs, path, error: `cannot read ${path}: ${describeError(error)}` };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return { fs, path, error: `${path} is not JSON: ${describeError(error)}` };
  }
  const result = runReportView.safeParse(parsed);
  if (!result.success) {
    return {
      fs,
      path,
      error: `${path} is not a run report this version understands: ${result.error.issues[0]?.message}`,
    };
  }
  const report = result.data;
  return { fs, path, report, topic: report.topics.find((t) => t.schemaName === verdict.name) };
}

function producersStep(verdict: RevisionVerdict, run: LastRun | undefined): ChecklistStep {
  if (verdict.type === undefined)
    return step('deploy-producers', 'todo', 'the schema file does not load yet');
  const written = run?.topic?.revisions[verdict.idText] ?? 0;
  if (written > 0) {
    return step(
      'deploy-producers',
      'done',
      `run ${run!.report!.runId} wrote ${written.toLocaleString('en-US')} records of ${verdict.idText}: producers send it`,
    );
  }
  const fields = verdict.added.map(
    (f) => `${f.path.slice(f.path.indexOf('.') + 1)} (${describeType(f.type)})`,
  );
  const must =
    fields.length === 0
      ? 'no new fields to send'
      : `MediaWiki's PHP encoder fails on a missing field even when it has a default, so producers must send: ${fields.join(', ')}`;
  return step(
    'deploy-producers',
    'manual',
    `deploy MediaWiki with the new revision id ${verdict.idText} only after steps 2–4; ${must}`,
  );
}

function runStep(input: ChecklistInput, run: LastRun | undefined): ChecklistStep {
  const { verdict } = input;
  if (run === undefined) return step('verify-run', 'manual', 'pass --job to read the last run report');
  if (run.error !== undefined) return step('verify-run', 'manual', `${run.error}; check by hand`);
  if (run.report === undefined) return step('verify-run', 'todo', `no run report yet (${run.path})`);
  const { report, topic } = run;
  const when = `run ${report.runId} (${report.finishedAt})`;
  if (topic === undefined)
    return step('verify-run', 'todo', `the last ${when} did not read mediawiki_${verdict.name}`);
  const written = topic.revisions[verdict.idText] ?? 0;
  const errors = topic.partitions.reduce((sum, p) => sum + p.counts.errors, 0);
  const others = Object.entries(topic.revisions)
    .filter(([revision]) => revision !== verdict.idText)
    .map(([revision, n]) => `${n.toLocaleString('en-US')} of ${revision}`);
  if (written === 0) {
    return step(
      'verify-run',
      'todo',
      `the last ${when} wrote no records of ${verdict.idText}` +
        `${others.length === 0 ? '' : ` (${others.join(', ')})`}: look again after the producers are deployed`,
    );
  }
  if (errors > 0 || topic.status !== 'succeeded') {
    const errorsDir = `${new StatePaths(input.job!.loaded.config.output.stateDir, input.job!.loaded.config.name).base}/errors/${topic.topic}/`;
    return step(
      'verify-run',
      'problem',
      `the last ${when} ${topic.status} on ${topic.topic}: ${countOf(errors, 'error record')} ` +
        `next to ${written.toLocaleString('en-US')} records of ${verdict.idText}; the reasons are in ${errorsDir}`,
    );
  }
  return step(
    'verify-run',
    'done',
    `the last ${when} wrote ${written.toLocaleString('en-US')} records of ${verdict.idText}` +
      `${others.length === 0 ? '' : ` and ${others.join(', ')}`}, no error records; reader ${topic.readerRevision ?? 'latest'}`,
  );
}

/** `_SUCCESS` in an hour directory means its Hive partition was added (DESIGN.md, output layout). */
async function partitionsStep(input: ChecklistInput, run: LastRun | undefined): Promise<ChecklistStep> {
  const { verdict } = input;
  if (run === undefined)
    return step('verify-partitions', 'manual', "pass --job to look for the hours' _SUCCESS flags");
  if (run.error !== undefined || run.fs === undefined) {
    return step('verify-partitions', 'manual', `${run.error ?? 'no file system'}; check by hand`);
  }
  const topic = run.topic;
  if (topic === undefined || (topic.revisions[verdict.idText] ?? 0) === 0) {
    return step('verify-partitions', 'todo', 'after step 6: no run has written the new revision yet');
  }
  if (topic.announced.length === 0) {
    return step(
      'verify-partitions',
      'todo',
      `run ${run.report!.runId} announced no complete hour yet: look again later`,
    );
  }
  const config = input.job!.loaded.config;
  const template = compilePathTemplate(config.output.pathTemplate);
  const hours = topic.announced.slice(-24);
  const missing: string[] = [];
  for (const hour of hours) {
    const dir = template.hourDir(
      { root: config.output.root, topic: topic.topic, name: verdict.name },
      parseHourKey(hour),
    );
    try {
      if (!(await run.fs.exists(`${dir}/_SUCCESS`))) missing.push(hour);
    } catch (error) {
      return step(
        'verify-partitions',
        'manual',
        `cannot look at ${dir}: ${describeError(error)}; check by hand`,
      );
    }
  }
  const range = hours.length === 1 ? hours[0] : `${hours[0]} … ${hours.at(-1)}`;
  if (missing.length === 0) {
    return step(
      'verify-partitions',
      'done',
      `every hour run ${run.report!.runId} announced (${range}) has _SUCCESS`,
    );
  }
  return step(
    'verify-partitions',
    'todo',
    `${missing.length} of ${hours.length} hours announced by run ${run.report!.runId} (${range}) have no _SUCCESS ` +
      `yet, first ${missing[0]}: the Hive partition-add job has not completed; see queue mwingest-${config.name}-hive`,
  );
}
