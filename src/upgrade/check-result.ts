/**
 * The vocabulary of the automatic checks of `schema upgrade`, `schema check` (checks.ts,
 * schema-checks.ts) and `schema add` (add-*.ts): ids, states, findings.
 */

export const CheckStates = ['pass', 'warn', 'fail', 'skip'] as const;
export type CheckState = (typeof CheckStates)[number];

export const CheckIds = [
  'file',
  'revision-id',
  'version',
  'unique-id',
  'timestamp',
  'field-names',
  'backward',
  'forward',
  'added-defaults',
  'removed-fields',
  'producer-fields',
] as const;

/** The checks only `schema add` runs: one more of the schema file, then those of the deployment. */
export const AddCheckIds = [
  'first-revision',
  'registry',
  'job',
  'kafka-topic',
  'kafka-sample',
  'hive-table',
  'hours-imported',
  'hive-partitions',
  'query',
] as const;
export type CheckId = (typeof CheckIds)[number] | (typeof AddCheckIds)[number];

export const CHECK_TITLES: Record<CheckId, string> = {
  file: 'schema file',
  'revision-id': 'revision id',
  version: 'version',
  'unique-id': 'unique id',
  timestamp: 'timestamp',
  'field-names': 'field names',
  backward: 'backward',
  forward: 'forward',
  'added-defaults': 'added fields',
  'removed-fields': 'removed fields',
  'producer-fields': 'producer fields',
  'first-revision': 'first revision',
  registry: 'job registry',
  job: 'job',
  'kafka-topic': 'Kafka topic',
  'kafka-sample': 'Kafka sample',
  'hive-table': 'Hive table',
  'hours-imported': 'hours imported',
  'hive-partitions': 'Hive partitions',
  query: 'query',
};

export interface CheckFinding {
  /** A field path (`CirrusSearchRequestSet.requests[].hits`) or a file path, when there is one. */
  path?: string;
  /** One sentence: what is wrong and what to do. */
  message: string;
  /** For compatibility findings: the writer revisions that hit it. */
  revisions?: string[];
}

export interface UpgradeCheck {
  id: CheckId;
  title: string;
  state: CheckState;
  /** One line. */
  summary: string;
  findings: CheckFinding[];
}

export function check(
  id: CheckId,
  state: CheckState,
  summary: string,
  findings: CheckFinding[] = [],
): UpgradeCheck {
  return { id, title: CHECK_TITLES[id], state, summary, findings };
}

export function skipped(id: CheckId, why: string): UpgradeCheck {
  return check(id, 'skip', why);
}

export function countOf(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
