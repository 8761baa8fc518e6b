import { type ChecklistStep, type StepState, stepMaker } from './checklist-step.js';
import type { StepFinding } from './schema-file-state.js';

/**
 * The first-deployment checklist of a new schema, in Wikimedia's order. Each step's state comes
 * from what `schema add` could find out (add-report.ts gathers it); a step nothing here can see
 * is `manual`, with why and what to do.
 */
export const AddStepIds = [
  'commit-schema',
  'bump-registry',
  'partition-adds',
  'configure-ingest',
  'deploy-ingest',
  'create-topic',
  'point-mediawiki',
  'deploy-sampled',
  'check-kafka',
  'check-hdfs',
  'create-table',
  'add-partitions',
  'raise-sampling',
  'query',
] as const;
export type AddStepId = (typeof AddStepIds)[number];

export const ADD_STEP_TITLES: Record<AddStepId, string> = {
  'commit-schema': 'commit the schema to event-schemas',
  'bump-registry': 'bump the registry the ingest reads',
  'partition-adds': 'get the Hive partition adds ready',
  'configure-ingest': 'configure the ingest',
  'deploy-ingest': 'deploy',
  'create-topic': 'create the Kafka topic with the right number of partitions',
  'point-mediawiki': "point MediaWiki's config at the revision",
  'deploy-sampled': 'deploy to production with a low sampling rate',
  'check-kafka': 'check the events in Kafka',
  'check-hdfs': 'check that they reach HDFS after the next hourly run',
  'create-table': 'create the Hive table',
  'add-partitions': 'let partitions be added automatically',
  'raise-sampling': 'raise the sampling rate',
  query: 'query the data',
};

const addStep = stepMaker(ADD_STEP_TITLES);

/** What each step was found to be; steps left out are filled in by {@link buildAddChecklist}. */
export type AddFindings = Partial<Record<AddStepId, StepFinding>>;

/** Why a step could not be looked at, per what was missing. */
export interface AddInputs {
  name: string;
  idText: string;
  hasJob: boolean;
  hasKafka: boolean;
  hasHive: boolean;
  /** Messages of the added revision seen in the Kafka sample. */
  ofRevision: number;
}

export function buildAddChecklist(found: AddFindings, inputs: AddInputs): ChecklistStep<AddStepId>[] {
  const { name, idText } = inputs;
  const topic = `mediawiki_${name}`;
  const manual = (detail: string): StepFinding => ({ state: 'manual', detail, show: [] });
  const needJob = 'pass --job to check it';
  const sent = inputs.ofRevision > 0;
  const defaults: Record<AddStepId, StepFinding> = {
    'commit-schema': manual('not checked'),
    'bump-registry': manual(`${needJob}: the registry the ingest reads must have ${idText}`),
    'partition-adds': manual(`${needJob}: the dataset's Hive table is where partition adds go`),
    'configure-ingest': manual(`${needJob}: its topics must take ${topic}`),
    'deploy-ingest': manual(
      `${needJob}: its last run report shows whether the deployed ingest reads ${topic}`,
    ),
    'create-topic': manual(`pass --brokers (or --job) to look for ${topic}`),
    'point-mediawiki': sent
      ? done(`producers send ${idText}: ${inputs.ofRevision} of the sampled messages have it`)
      : manual(
          `not visible from here: add ${name} with revision ${idText} to MediaWiki's Avro schema configuration ` +
            '(mediawiki-config); this turns done once messages of the revision are in Kafka',
        ),
    'deploy-sampled': sent
      ? done(`messages of ${idText} arrive in ${topic} (the sampling rate itself is not visible here)`)
      : manual(
          `not visible from here: deploy with a low sampling rate, then run this again (step 9 samples ${topic})`,
        ),
    'check-kafka': manual(`pass --brokers (or --job) to sample ${topic}`),
    'check-hdfs': manual(`${needJob}: its state shows which hours were announced`),
    'create-table': inputs.hasJob
      ? manual(`pass --hive host:port (or set hive.server in the job) to look for the table`)
      : manual(`${needJob} and --hive: the dataset's table and its DDL come from the job`),
    'add-partitions': manual(`${needJob}: _SUCCESS in the hour directories shows the adds`),
    'raise-sampling': manual(
      inputs.hasKafka && sent
        ? 'not visible from here: once the steps above are done, raise the sampling rate in mediawiki-config'
        : 'not visible from here: after the steps above, raise the sampling rate in mediawiki-config',
    ),
    query: inputs.hasHive
      ? manual('not checked')
      : manual(`pass --hive (or set hive.server in the job) and --job to query the first hour with records`),
  };
  return AddStepIds.map((id) => {
    const f = found[id] ?? defaults[id];
    return addStep(id, f.state, f.detail, f.show);
  });
}

function done(detail: string): StepFinding {
  return { state: 'done' as StepState, detail, show: [] };
}
