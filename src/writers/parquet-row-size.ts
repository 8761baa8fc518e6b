import avro from 'avsc';
import { avroKind, unionBranches } from './parquet-schema.js';

/**
 * Estimates how many bytes a record adds to a Parquet row group before compression: the PLAIN
 * encoding of its leaf values (a string or bytes value is its length plus 4, an int 4, a long 8, …).
 * Strings count one byte per UTF-16 unit, exact for ASCII. Levels and dictionaries are left out:
 * this bounds a row group's size, it does not predict the file's.
 */
export type RowSizeEstimator = (record: unknown) => number;

export function rowSizeEstimatorOf(type: avro.Type): RowSizeEstimator {
  return estimatorOf(type, new Map());
}

function estimatorOf(type: avro.Type, records: Map<avro.Type, RowSizeEstimator>): RowSizeEstimator {
  const branches = unionBranches(type);
  if (branches !== undefined) {
    // Only ["null", T] reaches a Parquet writer: the value is null or a bare T.
    const nonNull = branches.find((branch) => branch.typeName !== 'null');
    if (nonNull === undefined) return () => 0;
    const size = estimatorOf(nonNull, records);
    return (value) => (value === null || value === undefined ? 0 : size(value));
  }
  if (type instanceof avro.types.RecordType) {
    const known = records.get(type);
    if (known !== undefined) return known;
    const fields: { name: string; size: RowSizeEstimator }[] = [];
    const estimate: RowSizeEstimator = (value) => {
      const record = value as Record<string, unknown>;
      let total = 0;
      for (const { name, size } of fields) total += size(record[name]);
      return total;
    };
    records.set(type, estimate);
    for (const field of type.fields)
      fields.push({ name: field.name, size: estimatorOf(field.type, records) });
    return estimate;
  }
  if (type instanceof avro.types.ArrayType) {
    const item = estimatorOf(type.itemsType, records);
    return (value) => {
      let total = 0;
      for (const entry of value as unknown[]) total += item(entry);
      return total;
    };
  }
  if (type instanceof avro.types.MapType) {
    const item = estimatorOf(type.valuesType, records);
    return (value) => {
      let total = 0;
      for (const [key, entry] of Object.entries(value as Record<string, unknown>))
        total += 4 + key.length + item(entry);
      return total;
    };
  }
  switch (avroKind(type)) {
    case 'string':
    case 'enum':
      return (value) => 4 + (value as string).length;
    case 'bytes':
      return (value) => 4 + (value as Uint8Array).length;
    case 'fixed': {
      const size = (type as avro.types.FixedType).size;
      return () => size;
    }
    case 'long':
    case 'double':
      return () => 8;
    case 'boolean':
      return () => 1;
    case 'null':
      return () => 0;
    default:
      return () => 4;
  }
}
