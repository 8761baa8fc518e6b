import avro from 'avsc';
import type { SchemaElement } from 'hyparquet';
import { MwiError } from '../errors.js';
import { avroTypeOf, shortName } from '../schemas/avro-type.js';

/**
 * Avro reader schema → Parquet schema, the way parquet-avro (`AvroSchemaConverter`, new list
 * structure) maps them, so Hive, Spark and parquet-avro read the files as they would the Avro ones:
 *
 *   record                    → group, one child per field, in field order
 *   array<T>                  → group (LIST) { repeated group list { <T> element; } }      (3-level)
 *   map<T>                    → group (MAP) { repeated group key_value { required binary key (STRING); <T> value; } }
 *   ["null", T] / [T, "null"] → T with repetition OPTIONAL (everything else is REQUIRED)
 *   other unions              → refused (`checkParquetCompatible`), with the field's path
 *   enum                      → binary (STRING): the symbol (docs/parquet.md says why not ENUM)
 *   string                    → binary (STRING)
 *   bytes                     → binary;   fixed(n) → fixed_len_byte_array(n)
 *   int → int32;   long → int64 (exact, beyond 2^53 too);   float, double, boolean → the same
 *
 * Avro logical types (timestamp-millis, decimal, …) are written as their underlying type, without
 * an annotation: the columns keep the types the Avro tables had.
 */

/** One field of the Parquet schema, with what the shredder needs to fill its columns. */
export interface ParquetField {
  /** This field's schema element (a group for records, lists and maps). */
  element: SchemaElement;
  /** True for `["null", T]`: the element is OPTIONAL and the value may be null. */
  optional: boolean;
  shape: ParquetShape;
}

export type ParquetShape =
  | { kind: 'primitive'; avroType: string }
  | { kind: 'record'; fields: ParquetField[] }
  /** `repeated` is the `list` group; `item` its `element` field. */
  | { kind: 'list'; repeated: SchemaElement; item: ParquetField }
  /** `repeated` is the `key_value` group. */
  | { kind: 'map'; repeated: SchemaElement; key: ParquetField; value: ParquetField };

export interface ParquetSchemaPlan {
  /** The root element (named after the record). */
  root: SchemaElement;
  /** The record's fields, in order. */
  fields: ParquetField[];
  /** The whole schema flattened depth-first, root first, as the file's footer lists it. */
  elements: SchemaElement[];
}

/**
 * Returns what keeps `schema` (an Avro reader schema, JSON value) from being written as Parquet,
 * one line per problem, each starting with the field path (`requests[].hits[].score`, `payload{}`
 * for map values); empty when it can be written. Writes nothing: the job loader calls it to refuse a
 * dataset before any run starts.
 */
export function checkParquetCompatible(schema: unknown): string[] {
  let type: avro.Type;
  try {
    type = avroTypeOf(schema);
  } catch (error) {
    return [`the schema is not valid Avro: ${(error as Error).message}`];
  }
  if (!(type instanceof avro.types.RecordType))
    return [`the top-level type is ${type.typeName}; Parquet files hold records`];
  const problems: string[] = [];
  walk(type, '', new Set(), problems);
  return problems;
}

/**
 * The Parquet schema of `schema`. Throws `MWI_CONFIG_INVALID` listing every problem found by
 * {@link checkParquetCompatible}.
 */
export function parquetSchemaOf(schema: unknown): ParquetSchemaPlan {
  const problems = checkParquetCompatible(schema);
  if (problems.length > 0) {
    const name =
      typeof schema === 'object' && schema !== null ? (schema as { name?: unknown }).name : undefined;
    throw new MwiError(
      'MWI_CONFIG_INVALID',
      `schema ${String(name ?? '(unnamed)')} cannot be written as Parquet:\n  ${problems.join('\n  ')}\n` +
        'Use format "avro" for this dataset, or change the schema (a union may only pair one type with "null").',
      { details: { problems } },
    );
  }
  const record = avroTypeOf(schema) as avro.types.RecordType;
  const root: SchemaElement = { name: shortName(record.name ?? 'root'), num_children: record.fields.length };
  const fields = record.fields.map((field) => fieldOf(field.name, field.type));
  const elements: SchemaElement[] = [root];
  for (const field of fields) flatten(field, elements);
  return { root, fields, elements };
}

/** The Avro type name of a type (`long` for mwingest's exact long type, whose avsc name differs). */
export function avroKind(type: avro.Type): string {
  return type.typeName === 'abstract:long' ? 'long' : type.typeName;
}

/** The branches of a union type (avsc has wrapped and unwrapped union classes), else undefined. */
export function unionBranches(type: avro.Type): avro.Type[] | undefined {
  return type.typeName.startsWith('union') ? (type as unknown as { types: avro.Type[] }).types : undefined;
}

/** The type a nullable union wraps, when `type` is `["null", T]` or `[T, "null"]`. */
function nullableInner(type: avro.Type): avro.Type | undefined {
  const branches = unionBranches(type);
  if (branches === undefined || branches.length !== 2) return undefined;
  const [a, b] = branches as [avro.Type, avro.Type];
  if (a.typeName === 'null' && b.typeName !== 'null') return b;
  if (b.typeName === 'null' && a.typeName !== 'null') return a;
  return undefined;
}

function describeUnion(branches: avro.Type[]): string {
  return `[${branches.map((branch) => JSON.stringify(branch.name ?? branch.typeName)).join(', ')}]`;
}

function walk(type: avro.Type, path: string, open: Set<avro.Type>, problems: string[]): void {
  const at = path === '' ? 'the record' : path;
  const branches = unionBranches(type);
  if (branches !== undefined) {
    const inner = nullableInner(type);
    if (inner === undefined) {
      problems.push(
        `${at}: union ${describeUnion(branches)} has no Parquet equivalent (only a union of one type with "null" becomes an optional column)`,
      );
      return;
    }
    walk(inner, path, open, problems);
    return;
  }
  if (type instanceof avro.types.RecordType) {
    if (open.has(type)) {
      problems.push(`${at}: record ${type.name} contains itself; Parquet schemas cannot be recursive`);
      return;
    }
    if (type.fields.length === 0) {
      problems.push(`${at}: record ${type.name} has no fields; a Parquet group needs at least one`);
      return;
    }
    open.add(type);
    for (const field of type.fields)
      walk(field.type, path === '' ? field.name : `${path}.${field.name}`, open, problems);
    open.delete(type);
    return;
  }
  if (type instanceof avro.types.ArrayType) {
    walk(type.itemsType, `${path}[]`, open, problems);
    return;
  }
  if (type instanceof avro.types.MapType) {
    walk(type.valuesType, `${path}{}`, open, problems);
    return;
  }
  if (type.typeName === 'null') problems.push(`${at}: type "null" alone has no Parquet equivalent`);
}

/** The Parquet field `name` of Avro type `type` (required unless a nullable union). */
function fieldOf(name: string, type: avro.Type): ParquetField {
  const inner = nullableInner(type);
  const optional = inner !== undefined;
  const repetition_type = optional ? 'OPTIONAL' : 'REQUIRED';
  const valueType = inner ?? type;
  if (valueType instanceof avro.types.RecordType) {
    const fields = valueType.fields.map((field) => fieldOf(field.name, field.type));
    return {
      element: { name, repetition_type, num_children: fields.length },
      optional,
      shape: { kind: 'record', fields },
    };
  }
  if (valueType instanceof avro.types.ArrayType) {
    return {
      element: {
        name,
        repetition_type,
        num_children: 1,
        converted_type: 'LIST',
        logical_type: { type: 'LIST' },
      },
      optional,
      shape: {
        kind: 'list',
        repeated: { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
        item: fieldOf('element', valueType.itemsType),
      },
    };
  }
  if (valueType instanceof avro.types.MapType) {
    return {
      element: {
        name,
        repetition_type,
        num_children: 1,
        converted_type: 'MAP',
        logical_type: { type: 'MAP' },
      },
      optional,
      shape: {
        kind: 'map',
        repeated: { name: 'key_value', repetition_type: 'REPEATED', num_children: 2 },
        key: {
          element: { name: 'key', repetition_type: 'REQUIRED', ...STRING },
          optional: false,
          shape: { kind: 'primitive', avroType: 'string' },
        },
        value: fieldOf('value', valueType.valuesType),
      },
    };
  }
  const avroType = avroKind(valueType);
  return {
    element: { name, repetition_type, ...primitiveOf(valueType) },
    optional,
    shape: { kind: 'primitive', avroType },
  };
}

const STRING = { type: 'BYTE_ARRAY', converted_type: 'UTF8', logical_type: { type: 'STRING' } } as const;

function primitiveOf(type: avro.Type): Omit<SchemaElement, 'name'> {
  switch (avroKind(type)) {
    case 'boolean':
      return { type: 'BOOLEAN' };
    case 'int':
      return { type: 'INT32' };
    case 'long':
      return { type: 'INT64' };
    case 'float':
      return { type: 'FLOAT' };
    case 'double':
      return { type: 'DOUBLE' };
    case 'bytes':
      return { type: 'BYTE_ARRAY' };
    case 'fixed':
      return { type: 'FIXED_LEN_BYTE_ARRAY', type_length: (type as avro.types.FixedType).size };
    case 'string':
    case 'enum':
      return { ...STRING };
    default:
      // checkParquetCompatible refused everything else before we got here.
      throw new MwiError('MWI_SCHEMA_INVALID', `Avro type ${type.typeName} has no Parquet mapping`);
  }
}

function flatten(field: ParquetField, out: SchemaElement[]): void {
  out.push(field.element);
  const { shape } = field;
  switch (shape.kind) {
    case 'primitive':
      return;
    case 'record':
      for (const child of shape.fields) flatten(child, out);
      return;
    case 'list':
      out.push(shape.repeated);
      flatten(shape.item, out);
      return;
    case 'map':
      out.push(shape.repeated);
      flatten(shape.key, out);
      flatten(shape.value, out);
      return;
  }
}
