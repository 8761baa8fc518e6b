import avro from 'avsc';
import { avroTypeOf, shortName } from './avro-type.js';
import { baseTypeName } from './body-check.js';
import type { SchemaEntry } from './registry.js';

/**
 * Can data written with one schema be read with another? Avro's schema resolution rules
 * (specification 1.11, "Schema Resolution"), checked field by field so each problem comes with
 * its path, e.g. `CirrusSearchRequestSet.hits[].title`:
 *
 *   - same primitive type, or a promotion: int → long, float, double; long → float, double;
 *     float → double; string ↔ bytes
 *   - records, enums and fixeds match by unqualified name or a reader alias; fixeds by size too
 *   - record fields match by name (or reader field alias); a writer field the reader lacks is
 *     skipped; a reader field the writer lacks takes the reader's default, and must have one
 *   - every enum symbol the writer can write must be a reader symbol, unless the reader enum has
 *     a default symbol
 *   - arrays by items, maps by values
 *   - a writer union: each of its branches must be readable; a reader union: the writer's type
 *     must match one of its branches
 *
 * Names compare unqualified, as the specification and Java's resolver do; the codec's resolvers
 * are made with avsc's `ignoreNamespaces` to agree. For the other direction (old readers of new
 * data), call with the arguments swapped.
 */

export const CompatibilityProblemKinds = [
  /** A reader field the writer does not have, and the reader gives no default. */
  'MISSING_DEFAULT',
  /** Different types, and not an Avro promotion. */
  'TYPE_MISMATCH',
  /** Named types (record, enum, fixed) with different names and no alias. */
  'NAME_MISMATCH',
  /** A writer enum symbol the reader does not have (and no reader enum default). */
  'ENUM_SYMBOL_MISSING',
  /** Fixed types of different sizes. */
  'FIXED_SIZE_MISMATCH',
  /** A writer union branch, or a writer type, that matches no branch of the reader union. */
  'UNION_BRANCH_MISSING',
  /** A reader field whose name and aliases match more than one writer field. */
  'AMBIGUOUS_ALIAS',
] as const;
export type CompatibilityProblemKind = (typeof CompatibilityProblemKinds)[number];

export interface CompatibilityProblem {
  /** Field path from the top record, e.g. `CirrusSearchRequestSet.requests[].hits[].title`. */
  path: string;
  kind: CompatibilityProblemKind;
  /** One sentence: what does not resolve and how to fix it. */
  message: string;
}

export interface CompatibilityResult {
  compatible: boolean;
  problems: CompatibilityProblem[];
}

/** A schema as JSON (parsed .avsc), an avsc type, or a registry entry. */
export type SchemaInput = avro.Type | SchemaEntry | object | string;

export function checkCompatibility(writer: SchemaInput, reader: SchemaInput): CompatibilityResult {
  const walk = new CompatibilityWalk();
  const writerType = typeOf(writer);
  const readerType = typeOf(reader);
  walk.check(writerType, readerType, rootPath(readerType));
  return { compatible: walk.problems.length === 0, problems: walk.problems };
}

/** One line per problem, for messages: "path: message; path: message". */
export function describeProblems(problems: CompatibilityProblem[]): string {
  return problems.map((p) => p.message).join('; ');
}

function typeOf(input: SchemaInput): avro.Type {
  if (avro.Type.isType(input)) return input as avro.Type;
  if (
    typeof input === 'object' &&
    input !== null &&
    'type' in input &&
    avro.Type.isType((input as SchemaEntry).type)
  ) {
    return (input as SchemaEntry).type;
  }
  return avroTypeOf(input);
}

function rootPath(type: avro.Type): string {
  return type.name === undefined ? '' : shortName(type.name);
}

const PROMOTIONS: Record<string, readonly string[]> = {
  int: ['long', 'float', 'double'],
  long: ['float', 'double'],
  float: ['double'],
  string: ['bytes'],
  bytes: ['string'],
};

interface FieldLike {
  name: string;
  type: avro.Type;
  aliases: string[];
  defaultValue(): unknown;
}

interface TypeLike {
  typeName: string;
  name?: string;
  aliases?: string[];
  types?: avro.Type[];
  fields?: FieldLike[];
  itemsType?: avro.Type;
  valuesType?: avro.Type;
  symbols?: string[];
  size?: number;
  default?: string;
  underlyingType?: avro.Type;
}

class CompatibilityWalk {
  readonly problems: CompatibilityProblem[] = [];
  /** Named writer/reader record pairs being checked further up: a recursive schema stops here. */
  private readonly seen = new Set<string>();

  check(writer: avro.Type, reader: avro.Type, path: string): void {
    const w = unwrapLogical(writer);
    const r = unwrapLogical(reader);
    const wKind = baseTypeName(w);
    const rKind = baseTypeName(r);

    if (wKind === 'union') {
      for (const branch of (w as TypeLike).types!) {
        if (rKind === 'union') this.checkIntoUnion(branch, r, path);
        else this.check(branch, r, path);
      }
      return;
    }
    if (rKind === 'union') {
      this.checkIntoUnion(w, r, path);
      return;
    }
    if (wKind !== rKind) {
      if (!(PROMOTIONS[wKind] ?? []).includes(rKind)) {
        this.add(
          path,
          'TYPE_MISMATCH',
          `the writer's ${describe(w)} cannot be read as the reader's ${describe(r)}: ${promotionHint()}`,
        );
      }
      return;
    }
    switch (wKind) {
      case 'record':
      case 'error':
        this.checkRecord(w as TypeLike, r as TypeLike, path);
        return;
      case 'enum':
        this.checkEnum(w as TypeLike, r as TypeLike, path);
        return;
      case 'fixed':
        if (!this.namesMatch(w as TypeLike, r as TypeLike, path)) return;
        if ((w as TypeLike).size !== (r as TypeLike).size) {
          this.add(
            path,
            'FIXED_SIZE_MISMATCH',
            `the writer's fixed ${w.name} has ${(w as TypeLike).size} bytes but the reader's has ${(r as TypeLike).size}`,
          );
        }
        return;
      case 'array':
        this.check((w as TypeLike).itemsType!, (r as TypeLike).itemsType!, `${path}[]`);
        return;
      case 'map':
        this.check((w as TypeLike).valuesType!, (r as TypeLike).valuesType!, `${path}{}`);
        return;
      default:
        return; // the same primitive
    }
  }

  /** A single (non-union) writer type into a reader union: the first branch that resolves. */
  private checkIntoUnion(writer: avro.Type, readerUnion: avro.Type, path: string): void {
    const branches = (readerUnion as TypeLike).types!;
    const w = unwrapLogical(writer);
    // Prefer a branch of the same kind (and name, for named types), as avsc and Java do; the
    // problems reported are that branch's.
    const sameKind = branches.filter((b) => baseTypeName(unwrapLogical(b)) === baseTypeName(w));
    const candidates = [...sameKind.filter((b) => isNamed(w) && sameName(w, b)), ...sameKind, ...branches];
    let best: CompatibilityProblem[] | undefined;
    for (const branch of new Set(candidates)) {
      const trial = new CompatibilityWalk();
      for (const key of this.seen) trial.seen.add(key);
      trial.check(w, branch, path);
      if (trial.problems.length === 0) return;
      if (best === undefined && baseTypeName(unwrapLogical(branch)) === baseTypeName(w))
        best = trial.problems;
    }
    if (best !== undefined) {
      this.problems.push(...best);
      return;
    }
    const names = branches.map((b) => describe(b)).join(', ');
    this.add(
      path,
      'UNION_BRANCH_MISSING',
      `the writer's ${describe(w)} matches no branch of the reader's union [${names}]: add that branch to the reader's union`,
    );
  }

  private checkRecord(w: TypeLike, r: TypeLike, path: string): void {
    if (!this.namesMatch(w, r, path)) return;
    const key = `${w.name}\u0000${r.name}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    try {
      this.checkFields(w, r, path);
    } finally {
      this.seen.delete(key);
    }
  }

  private checkFields(w: TypeLike, r: TypeLike, path: string): void {
    const writerFields = new Map(w.fields!.map((field) => [field.name, field]));
    const usedByReader = new Set<string>();
    const missing: { field: FieldLike; fieldPath: string }[] = [];
    for (const field of r.fields!) {
      const fieldPath = path === '' ? field.name : `${path}.${field.name}`;
      const matches = [field.name, ...field.aliases].filter(
        (name, i, all) => writerFields.has(name) && all.indexOf(name) === i,
      );
      if (matches.length > 1) {
        this.add(
          fieldPath,
          'AMBIGUOUS_ALIAS',
          `the reader field ${field.name} matches several writer fields (${matches.join(', ')}) through its aliases: keep one`,
        );
        continue;
      }
      const match = matches[0];
      if (match === undefined) {
        if (field.defaultValue() === undefined) missing.push({ field, fieldPath });
        continue;
      }
      usedByReader.add(match);
      this.check(writerFields.get(match)!.type, field.type, fieldPath);
    }
    const unread = w.fields!.filter((field) => !usedByReader.has(field.name)).map((field) => field.name);
    for (const { field, fieldPath } of missing) {
      const hint =
        unread.length > 0
          ? `; if it was renamed from ${unread.map((n) => `"${n}"`).join(' or ')} (writer fields the reader does not read), add "aliases": ["${unread[0]}"] to the reader field`
          : '';
      this.add(
        fieldPath,
        'MISSING_DEFAULT',
        `the reader's field ${field.name} is not in the writer's schema and has no default: give it a "default" in the reader${hint}`,
      );
    }
  }

  private checkEnum(w: TypeLike, r: TypeLike, path: string): void {
    if (!this.namesMatch(w, r, path)) return;
    if (r.default !== undefined) return;
    const readerSymbols = new Set(r.symbols!);
    for (const symbol of w.symbols!) {
      if (!readerSymbols.has(symbol)) {
        this.add(
          path,
          'ENUM_SYMBOL_MISSING',
          `the writer's enum ${shortName(w.name!)} has the symbol ${symbol}, which the reader's enum lacks: add it to the reader's symbols, or give the reader's enum a "default" symbol`,
        );
      }
    }
  }

  private namesMatch(w: TypeLike, r: TypeLike, path: string): boolean {
    if (sameName(w as unknown as avro.Type, r as unknown as avro.Type)) return true;
    this.add(
      path,
      'NAME_MISMATCH',
      `the writer's ${w.typeName} ${shortName(w.name ?? '')} and the reader's ${r.typeName} ${shortName(r.name ?? '')} have different names: add "aliases": ["${shortName(w.name ?? '')}"] to the reader's ${r.typeName}`,
    );
    return false;
  }

  private add(path: string, kind: CompatibilityProblemKind, message: string): void {
    this.problems.push({ path, kind, message: `${path === '' ? '(top level)' : path}: ${message}` });
  }
}

function unwrapLogical(type: avro.Type): avro.Type {
  let t = type;
  while (baseTypeName(t) === 'logical') t = (t as TypeLike).underlyingType!;
  return t;
}

function isNamed(type: avro.Type): boolean {
  return ['record', 'error', 'enum', 'fixed'].includes(baseTypeName(type));
}

function sameName(writer: avro.Type, reader: avro.Type): boolean {
  const w = writer as TypeLike;
  const r = reader as TypeLike;
  if (w.name === undefined || r.name === undefined) return false;
  const name = shortName(w.name);
  return [r.name, ...(r.aliases ?? [])].some((alias) => shortName(alias) === name);
}

function describe(type: avro.Type): string {
  const t = unwrapLogical(type) as TypeLike;
  const kind = baseTypeName(t as avro.Type);
  if (t.name !== undefined) return `${kind} ${shortName(t.name)}`;
  if (kind === 'array') return `array<${describe(t.itemsType!)}>`;
  if (kind === 'map') return `map<${describe(t.valuesType!)}>`;
  if (kind === 'union') return `union [${t.types!.map(describe).join(', ')}]`;
  return kind;
}

function promotionHint(): string {
  return 'that is not an Avro promotion (int → long/float/double, long → float/double, float → double, string ↔ bytes); keep the type or add a new field with a default';
}
