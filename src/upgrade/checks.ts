import { access, readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type avro from 'avsc';
import { describeError } from '../errors.js';
import { avroTypeOf, shortName } from '../schemas/avro-type.js';
import type { SchemaEntry, SchemaRegistry } from '../schemas/registry.js';
import { type RevisionParts, tryParseRevisionId } from '../schemas/revision.js';
import { type CheckFinding, check, countOf, skipped, type UpgradeCheck } from './check-result.js';
import { diffFields, type FieldInfo } from './fields.js';
import {
  addedDefaultsCheck,
  backwardCheck,
  FIRST_REVISION,
  type ForwardReader,
  fieldNamesCheck,
  forwardCheck,
  producerFieldsCheck,
  removedFieldsCheck,
  type TimestampSetting,
  timestampCheck,
} from './schema-checks.js';

/**
 * The automatic checks of one schema revision against the revisions before it: each a named step
 * that passes, warns or fails with findings (a field or file path and a sentence), or is skipped
 * when what it needs is missing (no earlier revision, a file that does not load).
 *
 * Decisions (docs/schema-upgrade.md explains them):
 * - "earlier" means a lower revision id of the same name, so checking an old revision judges the
 *   upgrade as it was made; a higher id made *before* the new revision fails (the new one needed a
 *   higher version).
 * - a version gap (12 after 10) is a warning: nothing reads the version, but it usually means an
 *   abandoned or unmerged revision. A version used twice fails.
 * - a field name that is not camelCase fails when the revision introduces it, and warns when an
 *   earlier revision already had it (renaming it now would break readers).
 */

export interface RevisionCheckInput {
  registry: SchemaRegistry;
  name: string;
  /** The revision as given (a file name without `.avsc`, or the command-line argument). */
  idText: string;
  /** The reader revision the job pins, if any. */
  pinnedReader?: bigint;
  timestamp: TimestampSetting;
  /** Unix milliseconds. @defaultValue Date.now() */
  now?: number;
}

/** What was checked, with the context a report needs. */
export interface RevisionVerdict {
  name: string;
  idText: string;
  /** Absolute path of the schema file (where it is, or should be). */
  path: string;
  /** The path relative to the registry root, for messages. */
  relativePath: string;
  parts: RevisionParts | undefined;
  text: string | undefined;
  json: unknown;
  type: avro.Type | undefined;
  /** Valid revisions of the name with lower ids, oldest first. */
  earlier: SchemaEntry[];
  /** Valid revisions of the name with higher ids. */
  later: SchemaEntry[];
  /** The revision the forward check used as reader, and why that one. */
  reader: ForwardReader;
  /** Fields added since the previous revision: what producers must now send. */
  added: FieldInfo[];
  checks: UpgradeCheck[];
  ok: boolean;
}

const DAY_S = 86_400;

export function schemaFilePath(root: string, name: string, idText: string): string {
  return join(root, 'avro', 'mediawiki', name, `${idText}.avsc`);
}

export async function checkRevision(input: RevisionCheckInput): Promise<RevisionVerdict> {
  const { registry, name, idText } = input;
  const path = schemaFilePath(registry.root, name, idText);
  const relativePath = relative(registry.root, path);
  const parts = tryParseRevisionId(idText);
  const id = /^\d+$/.test(idText) ? BigInt(idText) : undefined;
  const all = registry.revisions(name).filter((e) => e.path !== path);
  const earlier = id === undefined ? [] : all.filter((e) => e.revision < id);
  const later = id === undefined ? [] : all.filter((e) => e.revision > id);
  const previous = earlier.at(-1);

  const file = await loadSchemaFile(path, relativePath, name, registry.latest(name));
  const checks: UpgradeCheck[] = [file.check];
  checks.push(revisionIdCheck(idText, parts, earlier, later, input.now ?? Date.now()));
  checks.push(versionCheck(parts, earlier, later));
  checks.push(await uniqueIdCheck(registry.root, name, idText));

  const type = file.type;
  let reader: RevisionVerdict['reader'];
  let added: FieldInfo[] = [];
  if (type === undefined) {
    const why = `not run: ${relativePath} did not load`;
    for (const id of [
      'timestamp',
      'field-names',
      'backward',
      'forward',
      'added-defaults',
      'removed-fields',
      'producer-fields',
    ] as const) {
      checks.push(skipped(id, why));
    }
  } else {
    checks.push(timestampCheck(type, input.timestamp, previous));
    checks.push(fieldNamesCheck(type, previous));
    checks.push(backwardCheck(type, idText, earlier));
    const forward = forwardCheck(type, idText, name, registry, earlier, input.pinnedReader, id);
    reader = forward.reader;
    checks.push(forward.check);
    if (previous === undefined) {
      const why = FIRST_REVISION;
      checks.push(
        skipped('added-defaults', why),
        skipped('removed-fields', why),
        skipped('producer-fields', why),
      );
    } else {
      const diff = diffFields(previous.type, type);
      added = diff.added;
      checks.push(addedDefaultsCheck(diff.added, previous));
      checks.push(removedFieldsCheck(diff.removed, diff.added, previous));
      checks.push(producerFieldsCheck(diff.added));
    }
  }
  return {
    name,
    idText,
    path,
    relativePath,
    parts,
    text: file.text,
    json: file.json,
    type,
    earlier,
    later,
    reader,
    added,
    checks,
    ok: checks.every((c) => c.state !== 'fail'),
  };
}

/** "version 12, made 2016-03-01T21:11:46Z" */
export function describeParts(parts: RevisionParts): string {
  return `version ${parts.version}, made ${isoSeconds(parts.createdAt)}`;
}

export function isoSeconds(unixSeconds: number): string {
  return new Date(unixSeconds * 1000).toISOString().replace('.000Z', 'Z');
}

interface LoadedFile {
  check: UpgradeCheck;
  text?: string;
  json?: unknown;
  type?: avro.Type;
}

/** The file exists, is JSON, is an Avro record schema, and the record is named like its folder. */
async function loadSchemaFile(
  path: string,
  relativePath: string,
  folder: string,
  latest: SchemaEntry | undefined,
): Promise<LoadedFile> {
  const fail = (summary: string, message: string): LoadedFile => ({
    check: check('file', 'fail', summary, [{ path: relativePath, message }]),
  });
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      const hint =
        latest === undefined
          ? 'write the first revision of the schema there'
          : `copy the newest revision (${latest.revision}.avsc) there and make the change`;
      return fail('no such file', `no such file: ${hint}`);
    }
    return fail('cannot read the file', `cannot read the file: ${describeError(error)}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return fail('not valid JSON', `not valid JSON: ${describeError(error)}; fix the file`);
  }
  let type: avro.Type;
  try {
    type = avroTypeOf(json);
  } catch (error) {
    return fail('not a valid Avro schema', `not a valid Avro schema: ${describeError(error)}`);
  }
  if (type.typeName !== 'record') {
    return fail(
      `a ${type.typeName}, not a record`,
      `the schema is a ${type.typeName}, and a MediaWiki event schema must be a record`,
    );
  }
  const recordName = shortName(type.name ?? '');
  if (recordName !== folder) {
    return {
      check: check('file', 'fail', `record name ${recordName} does not match the folder ${folder}`, [
        {
          path: relativePath,
          message:
            `the record is named ${recordName} but sits in the folder ${folder}: the folder is the record's name and ` +
            `the topic suffix (mediawiki_${folder}); rename the record, or move the file to avro/mediawiki/${recordName}/`,
        },
      ]),
      text,
      json,
    };
  }
  return { check: check('file', 'pass', `loads: an Avro record named ${recordName}`), text, json, type };
}

function revisionIdCheck(
  idText: string,
  parts: RevisionParts | undefined,
  earlier: SchemaEntry[],
  later: SchemaEntry[],
  nowMs: number,
): UpgradeCheck {
  if (parts === undefined) {
    return check('revision-id', 'fail', `${idText} is not a revision id`, [
      {
        message:
          `"${idText}" is not a revision id: expected a version of at least 10 followed by a 10-digit unix time; ` +
          `name the file <version><unix time>.avsc, e.g. ${nextIdExample(earlier)}`,
      },
    ]);
  }
  const findings: CheckFinding[] = [];
  for (const e of earlier) {
    if (e.createdAt >= parts.createdAt) {
      findings.push({
        message:
          `made at ${isoSeconds(parts.createdAt)}, not after ${e.revision} (made at ${isoSeconds(e.createdAt)}): the ` +
          "time part of a new revision must be later than every earlier revision's; use the time you made it",
      });
    }
  }
  for (const e of later) {
    if (e.createdAt < parts.createdAt) {
      findings.push({
        message:
          `${e.revision} (version ${e.version}) already existed when this revision was made: a new revision must ` +
          `have a higher version than every existing one; rename it to ${e.version + 1}${parts.createdAt}.avsc`,
      });
    }
  }
  if (findings.length > 0)
    return check('revision-id', 'fail', 'not newer than the revisions before it', findings);
  const order =
    earlier.length === 0
      ? 'the first of its name'
      : `made after the ${earlier.length === 1 ? 'earlier revision' : `${earlier.length} earlier revisions`}`;
  const base = `well formed, ${order}`;
  if (parts.createdAt > nowMs / 1000 + DAY_S) {
    return check('revision-id', 'warn', base, [
      {
        message: `its time, ${isoSeconds(parts.createdAt)}, is in the future: use the time you made the revision`,
      },
    ]);
  }
  return check('revision-id', 'pass', base);
}

function nextIdExample(earlier: SchemaEntry[]): string {
  const version = (earlier.at(-1)?.version ?? 9) + 1;
  return `${version}${Math.floor(Date.now() / 1000)}`;
}

function versionCheck(
  parts: RevisionParts | undefined,
  earlier: SchemaEntry[],
  later: SchemaEntry[],
): UpgradeCheck {
  if (parts === undefined) return skipped('version', 'not run: not a revision id');
  const same = [...earlier, ...later].filter((e) => e.version === parts.version);
  if (same.length > 0) {
    return check(
      'version',
      'fail',
      `version ${parts.version} is already used`,
      same.map((e) => ({
        message: `${e.revision} also has version ${parts.version}: give this revision version ${Math.max(parts.version, ...earlier.map((x) => x.version)) + 1}`,
      })),
    );
  }
  const previous = earlier.at(-1);
  if (previous === undefined) {
    if (parts.version === 10) return check('version', 'pass', 'the first revision, version 10');
    return check('version', 'warn', `the first revision has version ${parts.version}`, [
      {
        message: `first revisions start at version 10; ${parts.version} suggests earlier revisions are missing from the registry`,
      },
    ]);
  }
  if (parts.version === previous.version + 1) {
    return check('version', 'pass', `${parts.version} follows ${previous.version}`);
  }
  const missing = Array.from(
    { length: parts.version - previous.version - 1 },
    (_, i) => previous.version + 1 + i,
  );
  return check(
    'version',
    'warn',
    `${parts.version} follows ${previous.version}: ${missing.join(', ')} skipped`,
    [
      {
        message:
          `versions go up by one; ${missing.length === 1 ? `version ${missing[0]} is` : `versions ${missing.join(', ')} are`} ` +
          'not in the registry: an unmerged or abandoned revision? If none exists, use ' +
          `${previous.version + 1}${parts.createdAt}.avsc`,
      },
    ],
  );
}

/** No other schema folder holds a file with the same revision id (producers put only the id on the wire). */
async function uniqueIdCheck(root: string, name: string, idText: string): Promise<UpgradeCheck> {
  const base = join(root, 'avro', 'mediawiki');
  const folders = (await readdir(base, { withFileTypes: true })).filter(
    (d) => d.isDirectory() && d.name !== name,
  );
  const clashes: string[] = [];
  await Promise.all(
    folders.map(async (folder) => {
      const other = join(base, folder.name, `${idText}.avsc`);
      if (await exists(other)) clashes.push(relative(root, other));
    }),
  );
  if (clashes.length === 0) return check('unique-id', 'pass', `no other schema uses ${idText}`);
  return check(
    'unique-id',
    'fail',
    `${idText} is also used by ${countOf(clashes.length, 'other schema')}`,
    clashes.sort().map((path) => ({
      path,
      message:
        'the same revision id names another schema: a message header carries only the id, so readers cannot ' +
        'tell the two apart; give this revision its own id (another unix time)',
    })),
  );
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}
