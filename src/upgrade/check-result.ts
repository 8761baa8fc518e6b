/** The vocabulary of the schema upgrade checks (checks.ts, schema-checks.ts): ids, states, findings. */

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
export type CheckId = (typeof CheckIds)[number];

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
