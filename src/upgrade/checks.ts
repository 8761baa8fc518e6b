import { access, readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type avro from 'avsc';
import { describeError } from '../errors.js';
import { avroTypeOf, shortName } from '../schemas/avro-type.js';
import { checkCompatibility } from '../schemas/compatibility.js';
import type { SchemaEntry, SchemaRegistry } from '../schemas/registry.js';
import { type RevisionParts, tryParseRevisionId } from '../schemas/revision.js';
import {
  camelCaseOf,
  describeType,
  diffFields,
  type FieldInfo,
  fieldTypeAt,
  isCamelCase,
  kindsOf,
  listFields,
  recordsWithin,
} from './fields.js';

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

/** Where the timestamp of this schema's records is read, and whether a job said so. */
export interface TimestampSetting {
  field: string;
  format: string;
  source: 'job' | 'default';
}

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
  reader: { entry: SchemaEntry; source: 'job' | 'previous' } | undefined;
  /** Fields added since the previous revision: what producers must now send. */
  added: FieldInfo[];
  checks: UpgradeCheck[];
  ok: boolean;
}

const DAY_S = 86_400;
const FIRST_REVISION = 'the first revision: nothing earlier to compare with';

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

function check(id: CheckId, state: CheckState, summary: string, findings: CheckFinding[] = []): UpgradeCheck {
  return { id, title: CHECK_TITLES[id], state, summary, findings };
}

function skipped(id: CheckId, why: string): UpgradeCheck {
  return check(id, 'skip', why);
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

/** The timestamp field exists with a type its format can be read from. */
function timestampCheck(
  type: avro.Type,
  setting: TimestampSetting,
  previous: SchemaEntry | undefined,
): UpgradeCheck {
  const { field, format } = setting;
  const path = `${shortName(type.name ?? '')}.${field}`;
  const source = setting.source === 'job' ? "the job's" : 'the default, no --job';
  const fieldType = fieldTypeAt(type, field);
  if (fieldType === undefined) {
    const had = previous !== undefined && fieldTypeAt(previous.type, field) !== undefined;
    return check('timestamp', 'fail', `${field} is missing`, [
      {
        path,
        message:
          `the timestamp field ${field} (${format}; ${source}) is not in the schema` +
          `${had ? ` (${previous!.revision} had it)` : ''}: every record would become an error record; keep the field, ` +
          "or point the job's timestamp.field at the new one",
      },
    ]);
  }
  const allowed =
    format === 'unix_seconds' ? ['int', 'long'] : format === 'unix_milliseconds' ? ['long'] : ['string'];
  const kinds = kindsOf(fieldType);
  const nonNull = kinds.filter((k) => k !== 'null');
  const described = describeType(fieldType);
  if (nonNull.length === 1 && allowed.includes(nonNull[0]!)) {
    if (kinds.length > 1) {
      return check('timestamp', 'warn', `${field} is ${described} (${format}): nullable`, [
        {
          path,
          message:
            'the timestamp can be null: such records become error records (MISSING_TIMESTAMP); make it non-null',
        },
      ]);
    }
    return check('timestamp', 'pass', `${field} is ${described} (${format}, ${source})`);
  }
  const why =
    format === 'unix_milliseconds' && nonNull.includes('int')
      ? 'an int holds at most 2,147,483,647 ms (25 days after 1970): milliseconds need a long'
      : `the ${format} format reads ${allowed.join(' or ')}`;
  return check('timestamp', 'fail', `${field} is ${described}, not ${allowed.join(' or ')}`, [
    {
      path,
      message: `the timestamp field is ${described}, and ${why}; change the field back, or the job's timestamp.format`,
    },
  ]);
}

/** Field names are camelCase, and no two in a record differ only by case (Hive folds case). */
function fieldNamesCheck(type: avro.Type, previous: SchemaEntry | undefined): UpgradeCheck {
  const fields = listFields(type);
  const before = new Set(previous === undefined ? [] : listFields(previous.type).map((f) => f.path));
  const findings: CheckFinding[] = [];
  let fails = 0;
  const seenPaths = new Set<string>();
  for (const field of fields) {
    if (seenPaths.has(field.path) || isCamelCase(field.name)) continue;
    seenPaths.add(field.path);
    const inherited = before.has(field.path);
    if (!inherited) fails++;
    findings.push({
      path: field.path,
      message: inherited
        ? `"${field.name}" is not camelCase; it was already in ${previous!.revision}, and renaming it now would need an alias`
        : `"${field.name}" is not camelCase: name it "${camelCaseOf(field.name)}"`,
    });
  }
  const byRecord = new Map<string, FieldInfo[]>();
  for (const field of fields) {
    const list = byRecord.get(field.recordPath) ?? [];
    list.push(field);
    byRecord.set(field.recordPath, list);
  }
  for (const [recordPath, list] of byRecord) {
    const byLower = new Map<string, string[]>();
    for (const f of list)
      byLower.set(f.name.toLowerCase(), [...(byLower.get(f.name.toLowerCase()) ?? []), f.name]);
    for (const names of byLower.values()) {
      if (names.length < 2) continue;
      fails++;
      findings.push({
        path: `${recordPath}.${names[1]}`,
        message: `${names.join(' and ')} differ only by case: Hive column names ignore case, so they collide; rename one`,
      });
    }
  }
  const count = new Set(fields.map((f) => f.path)).size;
  if (findings.length === 0) return check('field-names', 'pass', `all ${count} field names are camelCase`);
  if (fails === 0) {
    return check(
      'field-names',
      'warn',
      `${countOf(findings.length, 'older field name')} not camelCase`,
      findings,
    );
  }
  return check('field-names', 'fail', `${countOf(fails, 'field name')} to fix`, findings);
}

/** Data written with every earlier revision resolves to the new one, the ingest's reader after the upgrade. */
function backwardCheck(type: avro.Type, idText: string, earlier: SchemaEntry[]): UpgradeCheck {
  if (earlier.length === 0) return skipped('backward', FIRST_REVISION);
  const grouped = new Map<string, CheckFinding>();
  const failing = new Set<string>();
  for (const writer of earlier) {
    for (const problem of checkCompatibility(writer.type, type).problems) {
      const key = `${problem.path}\u0000${problem.kind}\u0000${stripPath(problem.message, problem.path)}`;
      const revision = writer.revision.toString();
      failing.add(revision);
      const finding = grouped.get(key);
      if (finding === undefined) {
        grouped.set(key, {
          path: problem.path,
          message: stripPath(problem.message, problem.path),
          revisions: [revision],
        });
      } else {
        finding.revisions!.push(revision);
      }
    }
  }
  const writers = earlier.map((e) => e.revision).join(', ');
  if (grouped.size === 0) return check('backward', 'pass', `${writers} → ${idText}: all resolve`);
  return check(
    'backward',
    'fail',
    `${countOf(failing.size, 'earlier revision')} cannot be read as ${idText}`,
    [...grouped.values()],
  );
}

function forwardCheck(
  type: avro.Type,
  idText: string,
  name: string,
  registry: SchemaRegistry,
  earlier: SchemaEntry[],
  pinned: bigint | undefined,
  id: bigint | undefined,
): { check: UpgradeCheck; reader: RevisionVerdict['reader'] } {
  let reader: RevisionVerdict['reader'];
  let note = '';
  if (pinned !== undefined && id !== undefined && pinned < id) {
    const entry = registry.get(name, pinned);
    if (entry === undefined) {
      return {
        reader: undefined,
        check: check('forward', 'fail', `the pinned reader ${pinned} is not in the registry`, [
          {
            message:
              `the job pins readerRevision ${pinned}, which is not a revision of ${name} in ${registry.root} ` +
              `(it has ${registry.describeRevisions(name)}): fix the pin or the registry`,
          },
        ]),
      };
    }
    reader = { entry, source: 'job' };
  } else {
    const previous = earlier.at(-1);
    if (previous === undefined) {
      return { reader: undefined, check: skipped('forward', FIRST_REVISION) };
    }
    reader = { entry: previous, source: 'previous' };
    if (pinned !== undefined && id !== undefined) {
      note = pinned === id ? ' (the job already pins this revision)' : ` (the job pins the later ${pinned})`;
    }
  }
  const problems = checkCompatibility(type, reader.entry.type).problems;
  const label = `${idText} → ${reader.source === 'job' ? 'pinned reader' : 'previous reader'} ${reader.entry.revision}`;
  if (problems.length === 0) return { reader, check: check('forward', 'pass', `${label}: resolves${note}`) };
  return {
    reader,
    check: check(
      'forward',
      'fail',
      `${label}: ${countOf(problems.length, 'problem')}`,
      problems.map((p) => ({
        path: p.path,
        // The resolver's hint (an alias on the reader) does not apply: the reader is published.
        message:
          p.kind === 'MISSING_DEFAULT'
            ? `${idText} does not write this field and the reader ${reader.entry.revision} has no default for it: ` +
              `while ${reader.entry.revision} is the reader, every new message becomes an error record; keep the field`
            : stripPath(p.message, p.path),
      })),
    ),
  };
}

function addedDefaultsCheck(added: FieldInfo[], previous: SchemaEntry): UpgradeCheck {
  if (added.length === 0)
    return check('added-defaults', 'pass', `no fields added since ${previous.revision}`);
  const missing = added.filter((f) => !f.hasDefault);
  if (missing.length === 0) {
    const all =
      added.length === 1
        ? '1 field added, with a default'
        : `${added.length} fields added, all with defaults`;
    return check('added-defaults', 'pass', all);
  }
  return check(
    'added-defaults',
    'fail',
    `${countOf(missing.length, 'added field')} without a default`,
    missing.map((f) => ({
      path: f.path,
      message:
        `added without a default: messages written with ${previous.revision} and before have no value for it; ` +
        `add "default" (e.g. ${exampleDefault(f)})`,
    })),
  );
}

function removedFieldsCheck(removed: FieldInfo[], added: FieldInfo[], previous: SchemaEntry): UpgradeCheck {
  if (removed.length === 0)
    return check('removed-fields', 'pass', `none removed or renamed since ${previous.revision}`);
  const findings = removed.map((f): CheckFinding => {
    const twin = added.find(
      (a) => a.recordPath === f.recordPath && describeType(a.type) === describeType(f.type),
    );
    if (twin !== undefined) {
      return {
        path: f.path,
        message:
          `looks renamed to ${twin.name}: without "aliases": ["${f.name}"] on ${twin.name}, older data loses its ` +
          `values (they read as the default); add the alias`,
      };
    }
    return {
      path: f.path,
      message:
        `removed: new messages no longer carry it, readers still pinned to ${previous.revision} read ` +
        `${f.hasDefault ? 'its default' : 'nothing (no default: see forward)'}, and the Hive table loses the column`,
    };
  });
  return check('removed-fields', 'warn', `${countOf(removed.length, 'field')} removed or renamed`, findings);
}

/**
 * MediaWiki's PHP Avro encoder fails on a record that lacks a field its schema has, default or
 * not, and ignores fields it does not know: once producers use the new revision, they must send
 * every added field.
 */
function producerFieldsCheck(added: FieldInfo[]): UpgradeCheck {
  if (added.length === 0) return check('producer-fields', 'pass', 'no new fields for producers to send');
  return check(
    'producer-fields',
    'pass',
    `producers must now send ${countOf(added.length, 'new field')} (PHP encoder)`,
    added.map((f) => {
      const records = recordsWithin(f.type).map((r) => `${r.name}: ${r.fields.join(', ')}`);
      return {
        path: f.path,
        message: `${describeType(f.type)}${records.length === 0 ? '' : ` (${records.join('; ')})`}`,
      };
    }),
  );
}

function exampleDefault(field: FieldInfo): string {
  const kinds = kindsOf(field.type);
  const first = kinds[0];
  if (kinds.length > 1)
    return first === 'null' ? 'null, with "null" first in the union' : 'a value of the first branch';
  switch (first) {
    case 'string':
    case 'bytes':
      return '""';
    case 'int':
    case 'long':
    case 'float':
    case 'double':
      return '0 or -1';
    case 'boolean':
      return 'false';
    case 'array':
      return '[]';
    case 'map':
    case 'record':
      return '{}';
    default:
      return 'a value of its type';
  }
}

/** Compatibility messages start with their path; findings show the path separately. */
function stripPath(message: string, path: string): string {
  const prefix = `${path === '' ? '(top level)' : path}: `;
  return message.startsWith(prefix) ? message.slice(prefix.length) : message;
}

export function countOf(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
