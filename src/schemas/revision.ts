import { MwiError } from '../errors.js';

/**
 * Schema revision ids, as MediaWiki's event-schemas repository names its files and as producers
 * write them into the message header: a version number (at least 10) followed by the 10-digit
 * unix time the revision was made. `111448028943` is version 11, made at 1448028943
 * (2015-11-20T14:15:43Z). Being decimal concatenations, ids sort by version first.
 */
export interface RevisionParts {
  version: number;
  /** Unix seconds. */
  createdAt: number;
}

const REVISION_TEXT = /^([1-9]\d+)([1-9]\d{9})$/;
const INT64_MAX = 9_223_372_036_854_775_807n;

/** The parts of a revision id, or `undefined` when the value is not one. */
export function tryParseRevisionId(value: bigint | string | number): RevisionParts | undefined {
  const text =
    typeof value === 'string'
      ? value.trim()
      : typeof value === 'number' && !Number.isSafeInteger(value)
        ? ''
        : String(value);
  const match = REVISION_TEXT.exec(text);
  if (match === null || BigInt(text) > INT64_MAX) return undefined;
  const version = Number(match[1]);
  if (!Number.isSafeInteger(version) || version < 10) return undefined;
  return { version, createdAt: Number(match[2]) };
}

/** The parts of a revision id; throws `MWI_USAGE` naming the value when it is not one. */
export function parseRevisionId(value: bigint | string | number, what = 'revision id'): RevisionParts {
  const parts = tryParseRevisionId(value);
  if (parts === undefined) {
    throw new MwiError(
      'MWI_USAGE',
      `${what} "${value}" is not a schema revision id: expected a version number of at least 10 followed by ` +
        'a 10-digit unix time, e.g. 111448028943 (version 11, made at 1448028943)',
    );
  }
  return parts;
}

/** The revision id for a version and creation time. */
export function revisionIdOf(parts: RevisionParts): bigint {
  if (
    !Number.isSafeInteger(parts.version) ||
    parts.version < 10 ||
    parts.createdAt < 1e9 ||
    parts.createdAt >= 1e10
  ) {
    throw new MwiError(
      'MWI_USAGE',
      `version ${parts.version} at ${parts.createdAt} cannot form a revision id: the version must be at least 10 and ` +
        'the time a 10-digit unix time',
    );
  }
  return BigInt(`${parts.version}${parts.createdAt}`);
}

/** "version 11, made 2015-11-20T14:15:43Z" */
export function describeRevision(parts: RevisionParts): string {
  return `version ${parts.version}, made ${new Date(parts.createdAt * 1000).toISOString().replace('.000Z', 'Z')}`;
}
