/**
 * Plausible MediaWiki-like records for any Avro schema, for the demo, tests and benchmarks.
 * Deterministic for a given seed, so a test can produce the same data twice.
 * Field names steer the values (`ip`, `wiki`, `userAgent`, `query`, …) so files look like real logs.
 */

type Schema = string | SchemaObject | Schema[];
interface SchemaObject {
  type: Schema;
  name?: string;
  fields?: { name: string; type: Schema; default?: unknown }[];
  items?: Schema;
  values?: Schema;
  symbols?: string[];
  size?: number;
  logicalType?: string;
}

/** A small, fast, seedable PRNG (mulberry32). */
export function createRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Sample values that make generated events look like MediaWiki's (also used by the benchmarks). */
export const WIKIS = [
  'enwiki',
  'dewiki',
  'frwiki',
  'jawiki',
  'eswiki',
  'commonswiki',
  'wikidatawiki',
  'enwiktionary',
];
export const WORDS = [
  'moon',
  'landing',
  'apollo',
  'river',
  'castle',
  'physics',
  'music',
  'history',
  'football',
  'paris',
  'quantum',
  'bridge',
];
export const AGENTS = [
  'Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_1) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15',
  'WikipediaApp/7.4.1 (Android 14; Phone)',
  'pywikibot/9.0 (python 3.11)',
];
const SOURCES = ['web', 'api', 'cli'];

export interface RecordGenerator {
  /** A record for this schema whose timestamp field (`ts`, unix seconds) is `tsSeconds`. */
  next(tsSeconds: number): Record<string, unknown>;
}

export function createRecordGenerator(
  schema: unknown,
  seed = 1,
  options: { tsField?: string } = {},
): RecordGenerator {
  const random = createRandom(seed);
  const tsField = options.tsField ?? 'ts';
  const named = new Map<string, SchemaObject>();
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const int = (max: number) => Math.floor(random() * max);

  const text = (field: string): string => {
    const name = field.toLowerCase();
    if (name === 'ip' || name.endsWith('ip')) return `10.${int(256)}.${int(256)}.${int(256)}`;
    if (name.includes('wiki')) return pick(WIKIS);
    if (name.includes('agent')) return pick(AGENTS);
    if (name === 'source') return pick(SOURCES);
    if (name === 'id' || name.endsWith('id') || name.includes('identity') || name.includes('token')) {
      return Array.from({ length: 32 }, () => '0123456789abcdef'[int(16)]).join('');
    }
    if (name.includes('query') || name.includes('title') || name.includes('term')) {
      return Array.from({ length: 1 + int(3) }, () => pick(WORDS)).join(' ');
    }
    if (name.includes('host')) return `mw${1000 + int(400)}.eqiad.wmnet`;
    return pick(WORDS);
  };

  const value = (type: Schema, field: string, depth: number): unknown => {
    if (Array.isArray(type)) {
      const nonNull = type.filter((branch) => branch !== 'null');
      if (nonNull.length < type.length && random() < 0.2) return null;
      return value(nonNull.length > 0 ? pick(nonNull) : 'null', field, depth);
    }
    if (typeof type === 'string') {
      switch (type) {
        case 'null':
          return null;
        case 'boolean':
          return random() < 0.1;
        case 'int':
          return int(5000);
        case 'long':
          return int(2 ** 40);
        case 'float':
        case 'double':
          return Math.round(random() * 100000) / 100;
        case 'string':
          return text(field);
        case 'bytes':
          return Buffer.from(Array.from({ length: 4 + int(12) }, () => int(256)));
        default: {
          const ref = named.get(type) ?? named.get(type.split('.').at(-1)!);
          if (ref === undefined) throw new Error(`unknown named type ${type}`);
          return value(ref, field, depth);
        }
      }
    }
    if (
      type.name !== undefined &&
      (type.type === 'record' || type.type === 'enum' || type.type === 'fixed')
    ) {
      named.set(type.name, type);
    }
    switch (type.type) {
      case 'record': {
        const record: Record<string, unknown> = {};
        for (const f of type.fields ?? []) record[f.name] = value(f.type, f.name, depth + 1);
        return record;
      }
      case 'array': {
        const length = depth > 3 ? int(2) : int(6);
        return Array.from({ length }, () => value(type.items!, field, depth + 1));
      }
      case 'map': {
        const map: Record<string, unknown> = {};
        for (let i = int(5); i > 0; i--) map[pick(WORDS)] = value(type.values!, field, depth + 1);
        return map;
      }
      case 'enum':
        return pick(type.symbols ?? []);
      case 'fixed':
        return Buffer.from(Array.from({ length: type.size ?? 0 }, () => int(256)));
      default:
        return value(type.type, field, depth);
    }
  };

  return {
    next(tsSeconds) {
      const record = value(schema as Schema, '', 0) as Record<string, unknown>;
      record[tsField] = tsSeconds;
      return record;
    },
  };
}
