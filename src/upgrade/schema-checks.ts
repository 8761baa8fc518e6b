import type avro from 'avsc';
import { shortName } from '../schemas/avro-type.js';
import { checkCompatibility } from '../schemas/compatibility.js';
import type { SchemaEntry, SchemaRegistry } from '../schemas/registry.js';
import { type CheckFinding, check, countOf, skipped, type UpgradeCheck } from './check-result.js';
import {
  camelCaseOf,
  describeType,
  type FieldInfo,
  fieldTypeAt,
  isCamelCase,
  kindsOf,
  listFields,
  recordsWithin,
} from './fields.js';

/** The revision the forward check used as reader, and why that one. */
export type ForwardReader = { entry: SchemaEntry; source: 'job' | 'previous' } | undefined;

export const FIRST_REVISION = 'the first revision: nothing earlier to compare with';

/** The checks of a schema's content against the revisions before it: timestamp, field names, compatibility both ways, added and removed fields. */

/** Where the timestamp of this schema's records is read, and whether a job said so. */
export interface TimestampSetting {
  field: string;
  format: string;
  source: 'job' | 'default';
}

/** The timestamp field exists with a type its format can be read from. */
export function timestampCheck(
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
export function fieldNamesCheck(type: avro.Type, previous: SchemaEntry | undefined): UpgradeCheck {
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
export function backwardCheck(type: avro.Type, idText: string, earlier: SchemaEntry[]): UpgradeCheck {
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

export function forwardCheck(
  type: avro.Type,
  idText: string,
  name: string,
  registry: SchemaRegistry,
  earlier: SchemaEntry[],
  pinned: bigint | undefined,
  id: bigint | undefined,
): { check: UpgradeCheck; reader: ForwardReader } {
  let reader: ForwardReader;
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

export function addedDefaultsCheck(added: FieldInfo[], previous: SchemaEntry): UpgradeCheck {
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

export function removedFieldsCheck(
  removed: FieldInfo[],
  added: FieldInfo[],
  previous: SchemaEntry,
): UpgradeCheck {
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
export function producerFieldsCheck(added: FieldInfo[]): UpgradeCheck {
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
