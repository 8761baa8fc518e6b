import { z } from 'zod';
import { describeError, isMwiError } from '../errors.js';
import type { FileSystem } from '../hdfs/filesystem.js';
import { parseHourKey } from '../hours/hour.js';
import { compilePathTemplate } from '../hours/path-template.js';
import { StatePaths } from '../ingest/state-store.js';
import { fileSystemConfigOf, type LoadedJob } from '../job/config.js';
import { countOf } from './check-result.js';
import { type ChecklistInput, type ChecklistJob, type ChecklistStep, step } from './checklist-step.js';
import type { RevisionVerdict } from './checks.js';
import { describeType } from './fields.js';

/** The checklist steps that read the job's last run: producers, the run itself, the Hive partitions. */

export interface LastRun {
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

export async function openJobFs(loaded: LoadedJob): Promise<FileSystem> {
  // Loaded on demand: only a run with --job reads the job's file system (WebHDFS client and all).
  const { openFileSystem } = await import('../hdfs/open.js');
  return openFileSystem(fileSystemConfigOf(loaded));
}

export async function lastRun(
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

export function producersStep(verdict: RevisionVerdict, run: LastRun | undefined): ChecklistStep {
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

export function runStep(input: ChecklistInput, run: LastRun | undefined): ChecklistStep {
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
export async function partitionsStep(
  input: ChecklistInput,
  run: LastRun | undefined,
): Promise<ChecklistStep> {
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
