import { describeError } from '../errors.js';
import { hivePartitionValues } from '../hive/statement.js';
import { parseHourKey } from '../hours/hour.js';
import { compilePathTemplate } from '../hours/path-template.js';
import { loadCompletenessState, type TopicCompleteness } from '../ingest/completeness-state.js';
import { StatePaths } from '../ingest/state-store.js';
import type { LoadedJob } from '../job/config.js';
import { check, countOf, skipped, type UpgradeCheck } from './check-result.js';
import type { LastRun } from './run-steps.js';
import type { StepFinding } from './schema-file-state.js';

/**
 * `schema add`'s data checks, on the job's file system: the first hours of `mediawiki_<Name>`
 * that hold records were announced and flagged `_IMPORTED`, and their Hive partitions were added
 * (`_SUCCESS`, written by the partition-add worker); and whether the deployed ingest reads the
 * topic at all (its last run report).
 */

/** How many of the first hours with records are looked at. */
export const FIRST_HOURS = 3;

export interface AddDataInput {
  loaded: LoadedJob;
  name: string;
  idText: string;
  /** The job's last run report, with its file system (run-steps.ts `lastRun`). */
  run: LastRun;
}

export interface AddDataResult {
  /** Step 5: the deployed ingest reads the topic. */
  deployStep: StepFinding;
  importedCheck: UpgradeCheck;
  /** Step 10. */
  importedStep: StepFinding;
  partitionsCheck: UpgradeCheck;
  /** Step 12. */
  partitionsStep: StepFinding;
  /** The first hour with records whose partition was added, for the query of step 14. */
  queryHour: { key: string; partition: ReturnType<typeof hivePartitionValues> } | undefined;
}

interface HourFlags {
  key: string;
  records: number;
  imported: boolean;
  success: boolean;
}

export async function checkAddData(input: AddDataInput): Promise<AddDataResult> {
  const { loaded, name, run } = input;
  const config = loaded.config;
  const topic = `mediawiki_${name}`;
  const deployStep = deployStepOf(run, topic, config.name);
  const notRun = (why: string, state: StepFinding['state']): AddDataResult => ({
    deployStep,
    importedCheck: skipped('hours-imported', `not run: ${why}`),
    importedStep: { state, detail: why, show: [] },
    partitionsCheck: skipped('hive-partitions', `not run: ${why}`),
    partitionsStep: { state, detail: why, show: [] },
    queryHour: undefined,
  });
  if (run.fs === undefined) return notRun(run.error ?? 'the job file system did not open', 'manual');
  const fs = run.fs;
  let state: TopicCompleteness;
  try {
    state = await loadCompletenessState(fs, new StatePaths(config.output.stateDir, config.name), topic);
  } catch (error) {
    return notRun(`cannot read the completeness state of ${topic}: ${describeError(error)}`, 'manual');
  }
  const withRecords = state.announced.filter((a) => a.records > 0).slice(0, FIRST_HOURS);
  if (withRecords.length === 0) {
    const why =
      state.announced.length === 0
        ? `no hour of ${topic} announced yet on ${fs.description}: an hour is flagged once every partition has moved past it, after the hourly run that follows`
        : `the ${countOf(state.announced.length, 'hour')} of ${topic} announced so far hold no records`;
    return {
      deployStep,
      importedCheck: check('hours-imported', 'fail', `no hour of ${topic} with records announced yet`, [
        { message: why },
      ]),
      importedStep: { state: 'todo', detail: why, show: [] },
      partitionsCheck: skipped('hive-partitions', 'not run: no hour with records announced yet (step 10)'),
      partitionsStep: {
        state: 'todo',
        detail: 'after step 10: no hour with records announced yet',
        show: [],
      },
      queryHour: undefined,
    };
  }
  const template = compilePathTemplate(config.output.pathTemplate);
  const hours: HourFlags[] = [];
  try {
    for (const announced of withRecords) {
      const dir = template.hourDir({ root: config.output.root, topic, name }, parseHourKey(announced.hour));
      hours.push({
        key: announced.hour,
        records: announced.records,
        imported: await fs.exists(`${dir}/_IMPORTED`),
        success: await fs.exists(`${dir}/_SUCCESS`),
      });
    }
  } catch (error) {
    return notRun(`cannot look at the hour directories of ${topic}: ${describeError(error)}`, 'manual');
  }
  const list = (flags: HourFlags[]) =>
    flags.map((h) => `${h.key} (${countOf(h.records, 'record')})`).join(', ');
  const first = `the first ${countOf(hours.length, 'hour')} with records`;
  const unflagged = hours.filter((h) => !h.imported);
  const importedCheck =
    unflagged.length === 0
      ? check('hours-imported', 'pass', `${first} have _IMPORTED: ${list(hours)}`)
      : check('hours-imported', 'fail', `${unflagged.length} announced hours have no _IMPORTED`, [
          {
            message: `announced in the completeness state, yet without _IMPORTED on ${fs.description}: ${list(unflagged)}; something removed the flag`,
          },
        ]);
  const importedStep: StepFinding =
    unflagged.length === 0
      ? {
          state: 'done',
          detail: `${first} reached ${fs.description} and are flagged _IMPORTED: ${list(hours)}`,
          show: [],
        }
      : { state: 'problem', detail: importedCheck.findings[0]!.message, show: [] };
  const pending = hours.filter((h) => !h.success);
  const queue = `mwingest-${config.name}-hive`;
  const partitionsCheck =
    pending.length === 0
      ? check('hive-partitions', 'pass', `${first} have _SUCCESS (partition added)`)
      : check('hive-partitions', 'fail', `${pending.length} of ${first} have no _SUCCESS yet`, [
          {
            message:
              `no _SUCCESS in ${list(pending)}: their partition adds wait on ${queue}; is ` +
              `\`mwingest hive worker\` running for job ${config.name}? (mwingest hive status shows the queue)`,
          },
        ]);
  const partitionsStep: StepFinding =
    pending.length === 0
      ? { state: 'done', detail: `${first} have their Hive partition and _SUCCESS: ${list(hours)}`, show: [] }
      : { state: 'todo', detail: partitionsCheck.findings[0]!.message, show: [] };
  const added = hours.find((h) => h.success);
  return {
    deployStep,
    importedCheck,
    importedStep,
    partitionsCheck,
    partitionsStep,
    queryHour:
      added === undefined
        ? undefined
        : { key: added.key, partition: hivePartitionValues(parseHourKey(added.key)) },
  };
}

function deployStepOf(run: LastRun, topic: string, jobName: string): StepFinding {
  if (run.error !== undefined) return { state: 'manual', detail: `${run.error}; check by hand`, show: [] };
  if (run.report === undefined) {
    return {
      state: 'manual',
      detail: `job ${jobName} has no run report yet (${run.path}): nothing here sees what is deployed; deploy the job file of step 4 where the ingest runs`,
      show: [],
    };
  }
  if (run.topic !== undefined) {
    return {
      state: 'done',
      detail: `the last run, ${run.report.runId} (${run.report.finishedAt}), read ${topic}`,
      show: [],
    };
  }
  return {
    state: 'manual',
    detail:
      `the last run, ${run.report.runId} (${run.report.finishedAt}), did not read ${topic}: deploy the job file of ` +
      'step 4 where the ingest runs (runs read only topics that exist: after step 6 this turns done)',
    show: [],
  };
}
