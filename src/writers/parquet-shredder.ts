import type { SchemaElement } from 'hyparquet';
import { MwiError } from '../errors.js';
import type { ParquetField, ParquetSchemaPlan } from './parquet-schema.js';

/**
 * Record shredding ("striping", Dremel paper §4.2; Parquet format, "Nested Encoding"): each record
 * is taken apart as it is appended, into one column per leaf field — the values, and for each value
 * its repetition level (at which repeated ancestor a new entry starts; 0 = a new record) and its
 * definition level (how many optional or repeated ancestors are present; below the leaf's maximum
 * means null, or an empty list or map, at that depth). Empty lists and maps, and nulls, put one
 * entry with no value into every leaf below them.
 *
 * The shredding function is generated from the schema as JavaScript source (as avsc does for its
 * decoders): field reads become fixed property loads and definition levels constants, so the
 * record is walked once. hyparquet-writer's own pass walks every record again for each leaf column
 * and was the largest cost (docs/parquet.md). The columns are then encoded by its `writeColumn`.
 *
 * Values are avsc's: records are objects, arrays arrays, maps plain objects, a nullable union the
 * bare value or null, enums strings, bytes and fixed Buffers, longs numbers or bigints.
 */
/** The values and levels of one leaf field, for the row group being filled. */
export class LeafColumn {
  /** One entry per level pair; `undefined` where the value is null or absent. */
  values: unknown[] = [];
  /** Levels as bytes (a schema deeper than 255 optional or repeated levels is refused). */
  private definitions = new Uint8Array(1024);
  private repetitions = new Uint8Array(1024);
  private count = 0;

  constructor(
    /** Dotted path of the leaf in the Parquet schema, e.g. `hits.list.element.score`. */
    readonly name: string,
    /** Schema elements from the root to the leaf. */
    readonly schemaPath: SchemaElement[],
    readonly maxDefinitionLevel: number,
    readonly maxRepetitionLevel: number,
  ) {}

  get element(): SchemaElement {
    return this.schemaPath.at(-1)!;
  }

  get length(): number {
    return this.count;
  }

  put(value: unknown, repetition: number, definition: number): void {
    if (this.count === this.definitions.length) this.grow();
    this.definitions[this.count] = definition;
    this.repetitions[this.count] = repetition;
    this.count += 1;
    this.values.push(value);
  }

  /** Drops the entries after the first `length` (undoing a record that did not fit). */
  truncate(length: number): void {
    this.count = length;
    this.values.length = length;
  }

  reset(): void {
    this.values = [];
    this.count = 0;
  }

  /**
   * What hyparquet-writer's `writeColumn` takes. Level arrays are empty when the maximum level is 0,
   * as its own shredding gives them.
   */
  pageData(): {
    values: unknown[];
    definitionLevels: number[];
    repetitionLevels: number[];
    maxDefinitionLevel: number;
  } {
    const none = new Uint8Array(0);
    // Typed arrays are DecodedArrays to hyparquet-writer: it only indexes, slices and measures them.
    const levels = (array: Uint8Array, max: number) =>
      (max > 0 ? array.subarray(0, this.count) : none) as unknown as number[];
    return {
      values: this.values,
      definitionLevels: levels(this.definitions, this.maxDefinitionLevel),
      repetitionLevels: levels(this.repetitions, this.maxRepetitionLevel),
      maxDefinitionLevel: this.maxDefinitionLevel,
    };
  }

  private grow(): void {
    const definitions = new Uint8Array(this.definitions.length * 2);
    definitions.set(this.definitions);
    this.definitions = definitions;
    const repetitions = new Uint8Array(this.repetitions.length * 2);
    repetitions.set(this.repetitions);
    this.repetitions = repetitions;
  }
}

type ShredFunction = (record: unknown, leaves: LeafColumn[]) => void;

export class RecordShredder {
  /** The leaf columns, in schema order, holding what `add` appended since the last `reset`. */
  readonly leaves: LeafColumn[] = [];
  private readonly shred: ShredFunction;
  private readonly lengths: Int32Array;

  constructor(plan: ParquetSchemaPlan) {
    this.shred = compile(plan, this.leaves);
    this.lengths = new Int32Array(this.leaves.length);
  }

  /**
   * Appends one record. A value that does not fit its field (a required field missing or null, a
   * list that is not an array, a long that is not an integer) throws `MWI_PARQUET_ENCODE` naming
   * the field, and the columns are left as they were before the call.
   */
  add(record: unknown): void {
    const { leaves, lengths } = this;
    for (let i = 0; i < leaves.length; i++) lengths[i] = leaves[i]!.length;
    try {
      this.shred(record, leaves);
    } catch (error) {
      for (let i = 0; i < leaves.length; i++) leaves[i]!.truncate(lengths[i]!);
      if (error instanceof MwiError) throw error;
      throw new MwiError(
        'MWI_PARQUET_ENCODE',
        `a record does not fit the Parquet schema: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
  }

  /** Empties the columns (after a row group was written). */
  reset(): void {
    for (const leaf of this.leaves) leaf.reset();
  }
}

/**
 * Generates the shredding function (leaf columns are `c<k>`; locals `o<n>`, `f<n>`, …).
 * The source only contains integers, identifiers made here and
 * field names through JSON.stringify; the helpers it calls are passed in as arguments.
 */
function compile(plan: ParquetSchemaPlan, leaves: LeafColumn[]): ShredFunction {
  const generator = new Generator(leaves);
  const body = generator.record(plan.fields, [plan.root], '', 'record', '0', 0, 0);
  const prologue = leaves.map((_, k) => `const c${k} = leaves[${k}];`).join('\n');
  const paths = generator.paths;
  const fail = (id: number, problem: string): never => {
    throw new MwiError('MWI_PARQUET_ENCODE', `field ${paths[id] || '(the record)'}: ${problem}`);
  };
  const describe = (value: unknown) =>
    value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;
  const toLong = (value: unknown, id: number): bigint => {
    if (typeof value === 'bigint') return value;
    if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
    return fail(id, `expected a long, got ${String(value)}`);
  };
  const factory = new Function(
    'fail',
    'describe',
    'toLong',
    `return function shred(record, leaves) {\n${prologue}\n${body}\n};`,
  );
  return factory(fail, describe, toLong) as ShredFunction;
}

class Generator {
  /** Field paths for messages, by id (`requests[].hits[].score`). */
  readonly paths: string[] = [];
  private variables = 0;

  constructor(private readonly leaves: LeafColumn[]) {}

  /**
   * Statements putting the value of expression `value` (a record of `fields`). `r` is the
   * expression of the current repetition level, `d` the definition level the value is at (a
   * constant: only present values are walked), `repetition` the number of repeated ancestors.
   */
  record(
    fields: ParquetField[],
    path: SchemaElement[],
    at: string,
    value: string,
    r: string,
    d: number,
    repetition: number,
  ): string {
    const id = this.pathId(at);
    const v = this.variable('o');
    const lines = [
      `const ${v} = ${value};`,
      `if (typeof ${v} !== 'object' || ${v} === null || Array.isArray(${v})) fail(${id}, 'expected a record, got ' + describe(${v}));`,
    ];
    for (const field of fields) {
      const name = field.element.name;
      lines.push(
        this.field(
          field,
          path,
          at === '' ? name : `${at}.${name}`,
          `${v}[${JSON.stringify(name)}]`,
          r,
          d,
          repetition,
        ),
      );
    }
    return lines.join('\n');
  }

  private field(
    field: ParquetField,
    parent: SchemaElement[],
    at: string,
    value: string,
    r: string,
    d: number,
    repetition: number,
  ): string {
    const path = [...parent, field.element];
    const present = d + (field.optional ? 1 : 0);
    const v = this.variable('f');
    const id = this.pathId(at);
    // Generate the present-value code first: it creates the leaves that the null branch fills.
    const put = this.shape(field, path, at, v, r, present, repetition);
    if (field.optional) {
      return `const ${v} = ${value};\nif (${v} === null || ${v} === undefined) {\n${this.nullsUnder(path, r, d)}\n} else {\n${put}\n}`;
    }
    return `const ${v} = ${value};\nif (${v} === null || ${v} === undefined) fail(${id}, 'required, got ' + ${v});\n${put}`;
  }

  private shape(
    field: ParquetField,
    path: SchemaElement[],
    at: string,
    value: string,
    r: string,
    d: number,
    repetition: number,
  ): string {
    const { shape } = field;
    const id = this.pathId(at);
    switch (shape.kind) {
      case 'primitive':
        return this.leaf(path, shape.avroType, id, value, r, d, repetition);
      case 'record':
        return this.record(shape.fields, path, at, value, r, d, repetition);
      case 'list': {
        const level = repetition + 1;
        const [i, ri] = [this.variable('i'), this.variable('r')];
        const item = this.field(
          shape.item,
          [...path, shape.repeated],
          `${at}[]`,
          `${value}[${i}]`,
          ri,
          d + 1,
          level,
        );
        return [
          `if (!Array.isArray(${value})) fail(${id}, 'expected an array, got ' + describe(${value}));`,
          `if (${value}.length === 0) {\n${this.nullsUnder(path, r, d)}\n}`,
          `for (let ${i} = 0; ${i} < ${value}.length; ${i}++) {`,
          `const ${ri} = ${i} === 0 ? ${r} : ${level};`,
          item,
          '}',
        ].join('\n');
      }
      case 'map': {
        const level = repetition + 1;
        const entryPath = [...path, shape.repeated];
        const [key, ri, first] = [this.variable('k'), this.variable('r'), this.variable('first')];
        const putKey = this.field(shape.key, entryPath, `${at}{key}`, key, ri, d + 1, level);
        const putValue = this.field(shape.value, entryPath, `${at}{}`, `${value}[${key}]`, ri, d + 1, level);
        return [
          `if (typeof ${value} !== 'object' || Array.isArray(${value})) fail(${id}, 'expected a map (object), got ' + describe(${value}));`,
          `let ${first} = true;`,
          `for (const ${key} in ${value}) {`,
          `if (!Object.hasOwn(${value}, ${key})) continue;`,
          `const ${ri} = ${first} ? ${r} : ${level};`,
          `${first} = false;`,
          putKey,
          putValue,
          '}',
          `if (${first}) {\n${this.nullsUnder(path, r, d)}\n}`,
        ].join('\n');
      }
    }
  }

  private leaf(
    path: SchemaElement[],
    avroType: string,
    id: number,
    value: string,
    r: string,
    d: number,
    repetition: number,
  ): string {
    const k = this.leaves.length;
    if (d > 255)
      throw new MwiError(
        'MWI_CONFIG_INVALID',
        `Parquet: ${path.at(-1)!.name} is nested more than 255 levels deep`,
      );
    const name = path
      .slice(1)
      .map((element) => element.name)
      .join('.');
    this.leaves.push(new LeafColumn(name, path, d, repetition));
    // hyparquet-writer takes INT64 values as bigints only; avsc gives numbers up to 2^53.
    return `c${k}.put(${avroType === 'long' ? `toLong(${value}, ${id})` : value}, ${r}, ${d});`;
  }

  /** Statements putting "absent at definition level d" into every leaf under `path`. */
  private nullsUnder(path: SchemaElement[], r: string, d: number): string {
    const element = path.at(-1)!;
    const depth = path.length - 1;
    return this.leaves
      .map((leaf, k) => ({ leaf, k }))
      .filter(({ leaf }) => leaf.schemaPath[depth] === element)
      .map(({ k }) => `c${k}.put(undefined, ${r}, ${d});`)
      .join('\n');
  }

  private pathId(at: string): number {
    this.paths.push(at);
    return this.paths.length - 1;
  }

  private variable(prefix: string): string {
    this.variables += 1;
    return `${prefix}${this.variables}`;
  }
}
