import type avro from 'avsc';
import { baseTypeName } from '../../src/schemas/body-check.js';

/**
 * A seeded random value for any avsc type, reaching the awkward corners: longs beyond 2^53, the
 * int and long extremes, non-ASCII strings, bytes of every value, empty and multi-item arrays and
 * maps, every union branch and enum symbol. Floats are float32 values and never NaN (avro-tools
 * prints NaN as bare, invalid JSON). Test helper.
 */
export function randomValue(type: avro.Type, random: () => number, depth = 0): unknown {
  const pick = (n: number) => Math.floor(random() * n);
  const t = type as unknown as {
    types: avro.Type[];
    fields: { name: string; type: avro.Type }[];
    itemsType: avro.Type;
    valuesType: avro.Type;
    symbols: string[];
    size: number;
    underlyingType: avro.Type;
  };
  switch (baseTypeName(type)) {
    case 'null':
      return null;
    case 'boolean':
      return random() < 0.5;
    case 'int':
      return [0, -1, 1, 2 ** 31 - 1, -(2 ** 31), pick(100_000) - 50_000, 1_700_000_000 + pick(1e8)][pick(7)];
    case 'long':
      return [
        0,
        -1,
        2 ** 53 - 1,
        2n ** 53n + 1n,
        -(2n ** 63n),
        2n ** 63n - 1n,
        pick(1e9),
        -(2n ** 40n) - BigInt(pick(1000)),
      ][pick(8)];
    case 'float':
      return Math.fround([0, -1.5, 3.4e38, 1e-30, random() * 1000 - 500][pick(5)]!);
    case 'double':
      return [0, -0.25, 1e300, 5e-324, random() * 1e6][pick(5)];
    case 'string':
      return ['', 'enwiki', 'Zürich – 東京 🚀', 'line\nbreak "quoted" \\ back', 'x'.repeat(pick(200))][
        pick(5)
      ];
    case 'bytes':
      return Buffer.from(Array.from({ length: pick(40) }, (_, i) => (i * 37 + pick(256)) % 256));
    case 'fixed':
      return Buffer.from(Array.from({ length: t.size }, () => pick(256)));
    case 'enum':
      return t.symbols[pick(t.symbols.length)];
    case 'union': {
      const branches = depth > 3 ? t.types.filter((b) => b.typeName === 'null') : t.types;
      return randomValue(
        (branches.length > 0 ? branches : t.types)[pick(branches.length || t.types.length)]!,
        random,
        depth + 1,
      );
    }
    case 'array':
      return Array.from({ length: depth > 3 ? 0 : pick(4) }, () =>
        randomValue(t.itemsType, random, depth + 1),
      );
    case 'map':
      return Object.fromEntries(
        Array.from({ length: depth > 3 ? 0 : pick(4) }, (_, i) => [
          `key${i}-${pick(100)}`,
          randomValue(t.valuesType, random, depth + 1),
        ]),
      );
    case 'record':
    case 'error':
      return Object.fromEntries(t.fields.map((f) => [f.name, randomValue(f.type, random, depth + 1)]));
    case 'logical':
      return randomValue(t.underlyingType, random, depth);
    default:
      throw new Error(`no random value for ${type.typeName}`);
  }
}
