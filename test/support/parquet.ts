/**
 * Reading Parquet back in tests with hyparquet, a reader written independently of the writer's
 * encoder, and a form in which Avro values and Parquet values compare equal.
 */
import { gunzipSync } from 'node:zlib';
import { parquetReadObjects } from 'hyparquet';

export type Row = Record<string, unknown>;

export async function readParquet(bytes: Buffer): Promise<Row[]> {
  return (await parquetReadObjects({
    file: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length) as ArrayBuffer,
    utf8: false, // binary columns stay bytes; UTF8-annotated ones are strings
    compressors: { GZIP: (input: Uint8Array) => new Uint8Array(gunzipSync(input)) },
  })) as Row[];
}

/** Comparable form: integers exact as strings (int or long), bytes as hex, keys sorted. */
export function normalize(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value === 'bigint') return String(value);
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : value;
  if (value instanceof Uint8Array) return `hex:${Buffer.from(value).toString('hex')}`;
  if (Array.isArray(value)) return value.map(normalize);
  if (typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((key) => [key, normalize((value as Row)[key])]),
    );
  }
  return value;
}
