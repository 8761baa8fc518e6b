import type { LoadedJob } from '../job/config.js';
import { type CheckFinding, check, type UpgradeCheck } from './check-result.js';
import { displayPath, setJsonValue, unifiedDiff, valueText } from './job-diff.js';
import type { StepFinding } from './schema-file-state.js';

/**
 * `schema add`'s job check: does the job ingest `mediawiki_<Name>` (topics.include and exclude),
 * with the dataset's Hive table and reader revision set or defaulted? When it does not, the job
 * change as a unified diff of the job file: the topic added to `topics.include`, and the reader
 * pinned to the added revision.
 */

export interface JobEditLine {
  key: string;
  /** The value as the file had it, or null when the key was not there. */
  before: string | null;
  after: string;
}

/** Edits of a job file, with their diff. */
export interface JobChange {
  /** The job file, absolute. */
  path: string;
  edits: JobEditLine[];
  /** Unified diff of the job file; empty when nothing changes. */
  diff: string;
  /** False when the file had to be re-serialized to make the edits (the diff then shows more). */
  minimal: boolean;
}

export interface AddJobInput {
  loaded: LoadedJob;
  /** The job file's text. */
  text: string;
  name: string;
  /** The revision being added. */
  idText: string;
  /** Does the registry the job reads have the added revision? */
  jobRegistryHas: boolean;
  cwd?: string;
}

export interface AddJobResult {
  check: UpgradeCheck;
  /** Step 3, the Hive partition adds: the table they go to. */
  partitionAdds: StepFinding;
  /** Step 4, the ingest's configuration. */
  ingest: StepFinding;
  change: JobChange | undefined;
  ingestsTopic: boolean;
  /** The dataset's table, and whether the job names it or it is the default. */
  table: { database: string; table: string; source: 'job' | 'default' };
}

export function checkAddJob(input: AddJobInput): AddJobResult {
  const { loaded, name, idText } = input;
  const { config } = loaded;
  const jobName = config.name;
  const topic = `mediawiki_${name}`;
  const include = new RegExp(config.topics.include);
  const exclude = config.topics.exclude === undefined ? undefined : new RegExp(config.topics.exclude);
  const included = include.test(topic);
  const excluded = exclude?.test(topic) ?? false;
  const dataset = config.datasets[name];
  const pinned = dataset?.readerRevision;
  const table = {
    database: dataset?.hive?.database ?? config.hive.database,
    table: dataset?.hive?.table ?? name.toLowerCase(),
    source: dataset?.hive?.table === undefined ? ('default' as const) : ('job' as const),
  };

  const findings: CheckFinding[] = [];
  let text = input.text;
  let minimal = true;
  const edits: JobEditLine[] = [];
  const edit = (path: string[], value: unknown) => {
    const result = setJsonValue(text, path, value);
    edits.push({ key: path.join('.'), before: result.before, after: JSON.stringify(value) });
    text = result.text;
    minimal &&= result.minimal;
  };
  if (!included) {
    const widened = includeWith(config.topics.include, name);
    findings.push({
      path: 'topics.include',
      message: `${JSON.stringify(config.topics.include)} does not take ${topic}: add it (the diff below)`,
    });
    edit(['topics', 'include'], widened);
  }
  if (excluded) {
    findings.push({
      path: 'topics.exclude',
      message: `${JSON.stringify(config.topics.exclude)} excludes ${topic}: change it by hand so that it does not`,
    });
  }
  let readerNote: string;
  if (pinned === undefined) {
    readerNote = input.jobRegistryHas
      ? `reader defaulted: the latest of its registry, ${idText}`
      : `reader defaulted: the latest of its registry, ${idText} once step 2 is done`;
    // A job that needs editing anyway gets the pin as well: a later registry bump then cannot switch its reader.
    if (!included) edit(['datasets', name, 'readerRevision'], idText);
  } else if (pinned === idText) {
    readerNote = `reader pinned: ${idText}`;
  } else {
    findings.push({
      path: `datasets.${name}.readerRevision`,
      message: `pins ${pinned}, not ${idText}, the revision added: every record would be resolved to a revision that is not in the registry; pin ${idText}`,
    });
    readerNote = `reader pinned to ${pinned}`;
    const asNumber = !(valueText(input.text, ['datasets', name, 'readerRevision']) ?? '"').startsWith('"');
    edit(['datasets', name, 'readerRevision'], asNumber ? Number(idText) : idText);
  }
  const label = displayPath(loaded.path, input.cwd);
  const change: JobChange | undefined =
    edits.length === 0
      ? undefined
      : { path: loaded.path, edits, diff: unifiedDiff(input.text, text, label, label), minimal };
  const tableText = `${table.database}.${table.table}${table.source === 'default' ? ' (the default table)' : ''}`;
  const ingestsTopic = included && !excluded;
  const summary = `${ingestsTopic ? `ingests ${topic}` : `does not ingest ${topic}`}; ${readerNote}; Hive table ${table.database}.${table.table}${table.source === 'default' ? ' (the default)' : ''}`;
  const jobCheck = check('job', findings.length === 0 ? 'pass' : 'fail', `${jobName} ${summary}`, findings);

  const diffLines = change === undefined ? [] : change.diff.trimEnd().split('\n');
  const ingest: StepFinding =
    findings.length === 0
      ? {
          state: 'done',
          detail: `job ${jobName} ingests ${topic}; ${readerNote}`,
          show: [],
        }
      : {
          state: excluded || (pinned !== undefined && pinned !== idText) ? 'problem' : 'todo',
          detail: `job ${jobName}: ${findings.map((f) => `${f.path} ${f.message}`).join('; ')}`,
          show: diffLines,
        };
  const partitionAdds: StepFinding = ingestsTopic
    ? {
        state: 'done',
        detail:
          `every complete hour of ${topic} is queued on mwingest-${jobName}-hive for ${tableText}; ` +
          `\`mwingest hive worker --job ${label}\` adds them (step 12 sees whether it does)`,
        show: [],
      }
    : {
        state: 'todo',
        detail: `after step 4: job ${jobName} queues partition adds only for the topics it ingests (to ${table.database}.${table.table})`,
        show: [],
      };
  return { check: jobCheck, partitionAdds, ingest, change, ingestsTopic, table };
}

/**
 * `include` widened to take `mediawiki_<name>` as well: the name joins the alternation of the
 * usual `^mediawiki_(A|B)$` form, else the pattern becomes `(?:include)|^mediawiki_<name>$`.
 */
export function includeWith(include: string, name: string): string {
  const listed = /^\^mediawiki_\(((?:[A-Za-z0-9_]+\|)*[A-Za-z0-9_]+)\)\$$/.exec(include);
  if (listed !== null) return `^mediawiki_(${listed[1]}|${name})$`;
  return `(?:${include})|^mediawiki_${name}$`;
}
