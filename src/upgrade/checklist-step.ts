import type { FileSystem } from '../hdfs/filesystem.js';
import type { EffectiveDataset, LoadedJob } from '../job/config.js';
import type { RevisionVerdict } from './checks.js';
import type { HiveSchemaChange, JobPinChange } from './downstream.js';

/**
 * The checklist model shared by `schema upgrade` (checklist.ts, run-steps.ts) and `schema add`
 * (add-checklist.ts): a step's states and shape, and the upgrade checklist's own steps.
 *
 * done: found done; todo: found not done yet; problem: found, and wrong; manual: nothing here can
 * see it (the detail says why, and what to do).
 */
export const StepStates = ['done', 'todo', 'manual', 'problem'] as const;
export type StepState = (typeof StepStates)[number];

/** One step of a checklist, as both checklists print it and put it in `--json`. */
export interface ChecklistStep<Id extends string = string> {
  id: Id;
  title: string;
  state: StepState;
  /** What was found, and what to do: a sentence or two. */
  detail: string;
  /** Verbatim lines to show under the step: a command, a statement, a diff. */
  show: string[];
}

/** The step maker of a checklist whose titles are `titles`. */
export function stepMaker<Id extends string>(
  titles: Record<Id, string>,
): (id: Id, state: StepState, detail: string, show?: string[]) => ChecklistStep<Id> {
  return (id, state, detail, show = []) => ({ id, title: titles[id], state, detail, show });
}

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

/** What the checklist needs of a Hive client (src/hive/client.ts is one). */
export interface HiveTableReader {
  /** `host:port`, for messages. */
  readonly address: string;
  execute(statement: string): Promise<{ columns: string[]; rows: Record<string, unknown>[] }>;
}

/** A step of the upgrade checklist. */
export const step = stepMaker(STEP_TITLES);
