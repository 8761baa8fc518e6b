import avro from 'avsc';

/**
 * avsc types for registry schemas. The only change from avsc's defaults: Avro `long` keeps every
 * value exactly. Values within ±(2^53 − 1) are JavaScript numbers (as avsc gives them); larger ones
 * are `bigint`s, where avsc's own long type would throw "potential precision loss". Encoding
 * accepts both. Print records with `stringifyJson` (./json.ts), which writes bigints exactly.
 */

const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const TWO_32 = 4_294_967_296;

function normalize(value: bigint): number | bigint {
  return value >= MIN_SAFE && value <= MAX_SAFE ? Number(value) : value;
}

/** A long as avsc's 8-byte little-endian two's complement buffer → number or bigint. */
function fromBuffer(buf: Buffer): number | bigint {
  const high = buf.readInt32LE(4);
  // -2^21 < high < 2^21 means the value is a safe integer: a number, no bigint needed.
  if (high > -2_097_152 && high < 2_097_152) return high * TWO_32 + buf.readUInt32LE(0);
  return normalize(buf.readBigInt64LE(0));
}

function toBuffer(value: number | bigint): Buffer {
  const buf = Buffer.allocUnsafe(8);
  buf.writeBigInt64LE(BigInt(value));
  return buf;
}

function isValid(value: unknown): boolean {
  if (typeof value === 'number') return Number.isSafeInteger(value);
  return typeof value === 'bigint' && value >= INT64_MIN && value <= INT64_MAX;
}

function fromJSON(value: unknown): number | bigint {
  if (typeof value === 'number' && Number.isInteger(value))
    return Number.isSafeInteger(value) ? value : normalize(BigInt(value));
  if (typeof value === 'bigint') return normalize(value);
  if (typeof value === 'string' && /^-?\d+$/.test(value)) return normalize(BigInt(value));
  throw new Error(`not an Avro long: ${String(value)}`);
}

/** The shared long type (stateless, safe to reuse across schemas). */
export const exactLongType: avro.Type = avro.types.LongType.__with({
  fromBuffer,
  toBuffer,
  fromJSON,
  // Kept as number or bigint; stringifyJson prints both exactly.
  toJSON: (value: number | bigint) => value,
  isValid,
  compare: (a: number | bigint, b: number | bigint) => (a < b ? -1 : a > b ? 1 : 0),
});

/** Parses an Avro schema (JSON value) into an avsc type with exact longs. Throws avsc's error. */
export function avroTypeOf(schema: unknown): avro.Type {
  // A fresh registry per schema: named types register themselves in it, and two revisions of one
  // schema define the same names.
  return avro.Type.forSchema(schema as avro.Schema, { registry: { long: exactLongType } });
}

/** The unqualified name of a named type (`org.x.Foo` → `Foo`). */
export function shortName(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot === -1 ? name : name.slice(dot + 1);
}
