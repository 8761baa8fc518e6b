import type avro from 'avsc';
import { shortName } from '../schemas/avro-type.js';
import { baseTypeName } from '../schemas/body-check.js';

/**
 * The fields of a record schema as a tree of paths, in the notation compatibility problems use:
 * the top record's name, `.field` into records, `[]` into array items, `{}` into map values
 * (`CirrusSearchRequestSet.requests[].hits[].title`). Union branches share their union's path.
 */

/** The parts of an avsc type this module reads (avsc's typings do not expose them per kind). */
interface TypeShape {
  typeName: string;
  name?: string;
  fields?: FieldShape[];
  itemsType?: avro.Type;
  valuesType?: avro.Type;
  types?: avro.Type[];
  underlyingType?: avro.Type;
}

interface FieldShape {
  name: string;
  type: avro.Type;
  aliases: string[];
  defaultValue(): unknown;
}

export interface FieldInfo {
  /** Full path, e.g. `CirrusSearchRequestSet.requests[].maxScore`. */
  path: string;
  name: string;
  /** Path of the record the field belongs to (`CirrusSearchRequestSet.requests[]`). */
  recordPath: string;
  type: avro.Type;
  aliases: string[];
  hasDefault: boolean;
}

/** The path of the top record: its unqualified name. */
export function rootPathOf(type: avro.Type): string {
  return shortName(type.name ?? '');
}

/**
 * Every field of every record reachable from `root`, depth first, in schema order. A named record
 * used in two places is listed under both paths; a recursive record is walked once per branch.
 */
export function listFields(root: avro.Type): FieldInfo[] {
  const found: FieldInfo[] = [];
  walk(root, rootPathOf(root), new Set(), (field) => found.push(field));
  return found;
}

function walk(
  type: avro.Type,
  path: string,
  ancestors: Set<string>,
  visit: (field: FieldInfo) => void,
): void {
  const t = unwrapLogical(type) as unknown as TypeShape;
  switch (baseTypeName(t as unknown as avro.Type)) {
    case 'record':
    case 'error': {
      const key = t.name ?? path;
      if (ancestors.has(key)) return;
      ancestors.add(key);
      for (const field of t.fields!) {
        const fieldPath = `${path}.${field.name}`;
        visit({
          path: fieldPath,
          name: field.name,
          recordPath: path,
          type: field.type,
          aliases: field.aliases,
          hasDefault: field.defaultValue() !== undefined,
        });
        walk(field.type, fieldPath, ancestors, visit);
      }
      ancestors.delete(key);
      return;
    }
    case 'array':
      walk(t.itemsType!, `${path}[]`, ancestors, visit);
      return;
    case 'map':
      walk(t.valuesType!, `${path}{}`, ancestors, visit);
      return;
    case 'union':
      for (const branch of t.types!) walk(branch, path, ancestors, visit);
      return;
    default:
      return;
  }
}

/** A type as people write it: `int`, `array<CirrusSearchHit>`, `map<string>`, `[null, int]`. */
export function describeType(type: avro.Type): string {
  const t = unwrapLogical(type) as unknown as TypeShape;
  const kind = baseTypeName(t as unknown as avro.Type);
  switch (kind) {
    case 'record':
    case 'error':
    case 'enum':
    case 'fixed':
      return shortName(t.name ?? kind);
    case 'array':
      return `array<${describeType(t.itemsType!)}>`;
    case 'map':
      return `map<${describeType(t.valuesType!)}>`;
    case 'union':
      return `[${t.types!.map(describeType).join(', ')}]`;
    default:
      return kind;
  }
}

/** Kinds a value of this type can take: the type's own kind, or each branch's for a union. */
export function kindsOf(type: avro.Type): string[] {
  const t = unwrapLogical(type) as unknown as TypeShape;
  if (baseTypeName(t as unknown as avro.Type) === 'union') {
    return t.types!.map((branch) => baseTypeName(unwrapLogical(branch)));
  }
  return [baseTypeName(t as unknown as avro.Type)];
}

export interface FieldDiff {
  /** Fields of the newer schema with no counterpart (by name or the newer field's aliases) in the older. */
  added: FieldInfo[];
  /** Fields of the older schema that no newer field reads (by name or alias). */
  removed: FieldInfo[];
}

/**
 * Which fields a new revision adds and removes, matched the way Avro resolution matches them with
 * the new revision as reader: by name, or by one of the new field's aliases. Records are compared
 * where both schemas have them at the same path; the fields inside an added field are not listed
 * separately (the added field is).
 */
export function diffFields(older: avro.Type, newer: avro.Type): FieldDiff {
  const diff: FieldDiff = { added: [], removed: [] };
  pairRecords(older, newer, rootPathOf(newer), diff, new Set());
  return diff;
}

function pairRecords(
  older: avro.Type,
  newer: avro.Type,
  path: string,
  diff: FieldDiff,
  ancestors: Set<string>,
): void {
  const o = unwrapLogical(older) as unknown as TypeShape;
  const n = unwrapLogical(newer) as unknown as TypeShape;
  const oKind = baseTypeName(o as unknown as avro.Type);
  const nKind = baseTypeName(n as unknown as avro.Type);
  if (oKind === 'array' && nKind === 'array') {
    pairRecords(o.itemsType!, n.itemsType!, `${path}[]`, diff, ancestors);
    return;
  }
  if (oKind === 'map' && nKind === 'map') {
    pairRecords(o.valuesType!, n.valuesType!, `${path}{}`, diff, ancestors);
    return;
  }
  const olderRecords = recordsIn(o as unknown as avro.Type);
  const newerRecords = recordsIn(n as unknown as avro.Type);
  for (const newRecord of newerRecords) {
    const name = shortName(newRecord.name ?? '');
    const match =
      olderRecords.find((r) => shortName(r.name ?? '') === name) ??
      (olderRecords.length === 1 && newerRecords.length === 1 ? olderRecords[0] : undefined);
    if (match === undefined) continue;
    const key = `${match.name}\u0000${newRecord.name}`;
    if (ancestors.has(key)) continue;
    ancestors.add(key);
    compareFields(match, newRecord, path, diff, ancestors);
    ancestors.delete(key);
  }
}

function compareFields(
  older: TypeShape,
  newer: TypeShape,
  path: string,
  diff: FieldDiff,
  ancestors: Set<string>,
): void {
  const olderByName = new Map(older.fields!.map((f) => [f.name, f]));
  const read = new Set<string>();
  for (const field of newer.fields!) {
    const fieldPath = `${path}.${field.name}`;
    const matchName = [field.name, ...field.aliases].find((name) => olderByName.has(name));
    if (matchName === undefined) {
      diff.added.push(infoOf(field, fieldPath, path));
      continue;
    }
    read.add(matchName);
    const olderField = olderByName.get(matchName)!;
    pairRecords(olderField.type, field.type, fieldPath, diff, ancestors);
  }
  for (const field of older.fields!) {
    if (!read.has(field.name)) diff.removed.push(infoOf(field, `${path}.${field.name}`, path));
  }
}

function infoOf(field: FieldShape, path: string, recordPath: string): FieldInfo {
  return {
    path,
    name: field.name,
    recordPath,
    type: field.type,
    aliases: field.aliases,
    hasDefault: field.defaultValue() !== undefined,
  };
}

/** The record types a value of this type can be: itself, or its union's record branches. */
function recordsIn(type: avro.Type): TypeShape[] {
  const t = unwrapLogical(type) as unknown as TypeShape;
  const kind = baseTypeName(t as unknown as avro.Type);
  if (kind === 'record' || kind === 'error') return [t];
  if (kind === 'union') return t.types!.flatMap((branch) => recordsIn(branch));
  return [];
}

function unwrapLogical(type: avro.Type): avro.Type {
  let t = type;
  while (baseTypeName(t) === 'logical') t = (t as unknown as TypeShape).underlyingType!;
  return t;
}

/** camelCase as MediaWiki's schemas use it: a lower-case letter, then letters and digits. */
export function isCamelCase(name: string): boolean {
  return /^[a-z][a-zA-Z0-9]*$/.test(name);
}

/** The camelCase spelling of a snake_case or kebab-case name, as a suggestion. */
export function camelCaseOf(name: string): string {
  const parts = name.split(/[_\-\s]+/).filter((p) => p !== '');
  const [first = '', ...rest] = parts;
  const head = first.charAt(0).toLowerCase() + first.slice(1);
  return head + rest.map((p) => p.charAt(0).toUpperCase() + p.slice(1)).join('');
}

/**
 * The type of the field at a dotted path (`ts`, `meta.dt`) of a record schema, looking through
 * unions into their record branches; `undefined` when some segment is not there.
 */
export function fieldTypeAt(root: avro.Type, dotted: string): avro.Type | undefined {
  let current: avro.Type | undefined = root;
  for (const segment of dotted.split('.')) {
    if (current === undefined) return undefined;
    const field: FieldShape | undefined = recordsIn(current)
      .flatMap((record) => record.fields!)
      .find((f) => f.name === segment);
    current = field?.type;
  }
  return current;
}

/**
 * The records a value of this type holds directly (through arrays, maps and unions, not through
 * other records), with their field names: what a producer must fill in when it sends the value.
 */
export function recordsWithin(type: avro.Type): { name: string; fields: string[] }[] {
  const t = unwrapLogical(type) as unknown as TypeShape;
  switch (baseTypeName(t as unknown as avro.Type)) {
    case 'record':
    case 'error':
      return [{ name: shortName(t.name ?? ''), fields: t.fields!.map((f) => f.name) }];
    case 'array':
      return recordsWithin(t.itemsType!);
    case 'map':
      return recordsWithin(t.valuesType!);
    case 'union':
      return t.types!.flatMap((branch) => recordsWithin(branch));
    default:
      return [];
  }
}
