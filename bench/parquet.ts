/**
 * Parquet writers compared on realistic records:
 *   node --import tsx bench/parquet.ts [records=200000] [rowGroupRows=20000] [runs=1]
 *
 * For each dataset (the real CirrusSearchRequestSet 121456865906 schema, and the project's newest
 * EditAttempt and SearchSatisfaction schemas when present) and each writer, a child process appends
 * `records` decoded values (ids and tokens unique per record, the rest cycling over 5,000 generated
 * records) to a local file, snappy-compressed, and reports records/s, input MB/s
 * (the records' Avro-encoded size), output MB/s and size, peak RSS (the OS's max RSS of the child),
 * and whether hyparquet reads the file back (row count, and the first rows equal to the input).
 *
 * Writers: the Avro container writer (values, and already-encoded bodies: the ingest's fast path);
 * mwingest's Parquet writer (its own shredding, hyparquet-writer's `writeColumn`, native snappy),
 * with `rowGroupRows` row groups, with its defaults, and with its defaults in a process whose V8 old
 * space is capped (--max-old-space-size=128); hyparquet-writer's own API (`ParquetWriter.write`
 * per row group) with its built-in JavaScript snappy and with the native one; @dsnp/parquetjs and
 * parquetjs-lite when installed (`npm install --no-save @dsnp/parquetjs parquetjs-lite`; the rows are
 * reshaped to their LIST/MAP group layout first, parquetjs-lite writes the groups unannotated).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import avro from 'avsc';
import { parquetMetadata, parquetReadObjects } from 'hyparquet';
import { ByteWriter, ParquetWriter as HyparquetWriter } from 'hyparquet-writer';
import { compressSync as snappyCompressSync } from 'snappy';
import type { FileWriter } from '../src/hdfs/filesystem.js';
import { avroTypeOf } from '../src/schemas/avro-type.js';
import { createAvroContainerWriter } from '../src/writers/avro-container.js';
import { avroKind, parquetSchemaOf, unionBranches } from '../src/writers/parquet-schema.js';
import { createParquetRecordWriter } from '../src/writers/parquet-writer.js';
import type { RecordFileWriter } from '../src/writers/record-writer.js';
import { CIRRUS, cirrusRecord, seededRandom, WMF_FIXTURES } from '../test/schemas/realistic-records.js';

const require = createRequire(import.meta.url);
const SELF = fileURLToPath(import.meta.url);
const PROJECT = join(SELF, '..', '..');
const DISTINCT = 5_000;
/** V8 old-space cap of the "heap cap" run: V8 otherwise grows the heap lazily under Parquet's garbage. */
const HEAP_CAP_MB = 128;

type Row = Record<string, unknown>;

interface Dataset {
  label: string;
  schema: Row;
  make: (random: () => number, i: number) => Row;
  /** Makes record `i` unique the way real events are (ids and tokens differ per event). */
  unique: (record: Row, i: number) => Row;
}

// ---------------------------------------------------------------- datasets

function newestSchema(dir: string): Row | undefined {
  if (!existsSync(dir)) return undefined;
  const files = readdirSync(dir)
    .filter((name) => name.endsWith('.avsc'))
    .sort((a, b) => Number(BigInt(a.slice(0, -5)) - BigInt(b.slice(0, -5))));
  const newest = files.at(-1);
  return newest === undefined ? undefined : JSON.parse(readFileSync(join(dir, newest), 'utf8'));
}

const WIKIS = ['enwiki', 'dewiki', 'frwiki', 'jawiki', 'commonswiki', 'wikidatawiki'];
const pick = <T>(random: () => number, items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
const hex = (random: () => number, n: number) =>
  Array.from({ length: n }, () => '0123456789abcdef'[Math.floor(random() * 16)]).join('');
const token = (i: number) => `${(i * 2654435761) >>> 0}`.padStart(10, '0') + i.toString(36);

function symbolsOf(schema: Row, field: string): string[] {
  const found = (schema.fields as { name: string; type: unknown }[]).find((f) => f.name === field);
  const type = Array.isArray(found?.type) ? found.type.find((t) => t !== 'null') : found?.type;
  return (type as { symbols: string[] }).symbols;
}

function datasets(): Dataset[] {
  const out: Dataset[] = [];
  const cirrus = JSON.parse(
    readFileSync(join(WMF_FIXTURES, 'avro/mediawiki', CIRRUS, '121456865906.avsc'), 'utf8'),
  );
  out.push({
    label: `${CIRRUS} 121456865906`,
    schema: cirrus,
    make: (random) => cirrusRecord(random),
    unique: (record, i) => ({
      ...record,
      id: `${token(i)}-${record.id as string}`.slice(0, 36),
      identity: `${token(i)}${record.identity as string}`.slice(0, 32),
    }),
  });
  const edit = newestSchema(join(PROJECT, 'event-schemas/avro/mediawiki/EditAttempt'));
  if (edit !== undefined) {
    const names = new Set((edit.fields as { name: string }[]).map((f) => f.name));
    out.push({
      label: `EditAttempt (event-schemas, newest)`,
      schema: edit,
      make: (random, i) => {
        const record: Row = {
          ts: 1_725_201_754 + i,
          wiki: pick(random, WIKIS),
          editingSessionId: hex(random, 32),
          pageId: Math.floor(random() * 70_000_000),
          pageNamespace: pick(random, [0, 0, 0, 1, 2, 4, 10]),
          baseRevisionId: Math.floor(random() * 1_200_000_000),
          userId: random() < 0.3 ? 0 : Math.floor(random() * 45_000_000),
          userEditCount: random() < 0.3 ? null : Math.floor(random() * 100_000),
          editor: pick(random, symbolsOf(edit, 'editor')),
          action: pick(random, symbolsOf(edit, 'action')),
          platform: pick(random, symbolsOf(edit, 'platform')),
          abortMechanism: random() < 0.8 ? null : pick(random, symbolsOf(edit, 'abortMechanism')),
          saveFailureType: random() < 0.95 ? null : 'editconflict',
          timings: Object.fromEntries(
            ['init', 'ready', 'loaded', 'firstChange']
              .slice(0, 1 + Math.floor(random() * 4))
              .map((k, j) => [k, 150 * (j + 1)]),
          ),
          performance: {
            loadMs: Math.floor(random() * 3000),
            firstPaintMs: random() < 0.5 ? null : 800,
            saveMs: -1,
          },
          tags: random() < 0.6 ? [] : ['visualeditor', 'mobile edit'].slice(0, 1 + Math.floor(random() * 2)),
          contentHash: Buffer.from(hex(random, 40), 'hex'),
        };
        return Object.fromEntries(Object.entries(record).filter(([k]) => names.has(k)));
      },
      unique: (record, i) => ({
        ...record,
        editingSessionId: `${token(i)}${record.editingSessionId as string}`.slice(0, 32),
      }),
    });
  }
  const search = newestSchema(join(PROJECT, 'event-schemas/avro/mediawiki/SearchSatisfaction'));
  if (search !== undefined) {
    const names = new Set((search.fields as { name: string }[]).map((f) => f.name));
    out.push({
      label: `SearchSatisfaction (event-schemas, newest)`,
      schema: search,
      make: (random) => {
        const results = Array.from({ length: Math.floor(random() * 21) }, (_, j) => ({
          pageId: Math.floor(random() * 70_000_000),
          title: `Result ${j} ${hex(random, 6)}`,
          score: Math.fround(random() * 100),
          snippetMatched: random() < 0.7,
        }));
        const record: Row = {
          ts: 1_718_960_542,
          wiki: pick(random, WIKIS),
          searchSessionId: hex(random, 20),
          pageViewId: hex(random, 20),
          action: pick(random, symbolsOf(search, 'action')),
          query: random() < 0.3 ? null : `apollo ${hex(random, 4)}`,
          inputLocation: random() < 0.2 ? null : pick(random, symbolsOf(search, 'inputLocation')),
          hitsReturned: results.length,
          msToDisplayResults: random() < 0.3 ? null : Math.floor(random() * 2000),
          results,
          position: -1,
          checkinSeconds: 0,
          extraParams: random() < 0.5 ? {} : { profile: 'default', sort: 'relevance' },
          sampleToken: Buffer.from(hex(random, 16), 'hex'),
          articleId: random() < 0.5 ? null : Math.floor(random() * 70_000_000),
          backendToken: Buffer.from(hex(random, 24), 'hex'),
        };
        return Object.fromEntries(Object.entries(record).filter(([k]) => names.has(k)));
      },
      unique: (record, i) => ({
        ...record,
        searchSessionId: `${token(i)}${record.searchSessionId as string}`.slice(0, 20),
        pageViewId: `${token(i)}${record.pageViewId as string}`.slice(0, 20),
      }),
    });
  }
  return out;
}

// ---------------------------------------------------------------- writers

/** A FileWriter on a local file (what LocalFileSystem does, minus fsync and directories). */
async function localSink(path: string): Promise<FileWriter> {
  const handle = await open(path, 'w');
  let bytes = 0;
  return {
    path,
    get bytesWritten() {
      return bytes;
    },
    async write(chunk) {
      await handle.write(chunk);
      bytes += chunk.length;
    },
    async close() {
      await handle.close();
    },
    async abort() {
      await handle.close();
    },
  };
}

interface WriterRun {
  /** Appends record `i`; the Avro fast path appends the pre-encoded body of its base record instead. */
  append(record: Row, i: number): Promise<void> | undefined;
  finish(): Promise<void>;
}

type WriterName =
  | 'avro values'
  | 'avro encoded bodies'
  | 'mwingest parquet'
  | 'mwingest parquet (defaults)'
  | 'mwingest parquet (defaults, heap cap)'
  | 'hyparquet-writer API, JS snappy'
  | 'hyparquet-writer API, native snappy'
  | '@dsnp/parquetjs'
  | 'parquetjs-lite';

const WRITERS: WriterName[] = [
  'avro values',
  'avro encoded bodies',
  'mwingest parquet',
  'mwingest parquet (defaults)',
  'mwingest parquet (defaults, heap cap)',
  'hyparquet-writer API, JS snappy',
  'hyparquet-writer API, native snappy',
  '@dsnp/parquetjs',
  'parquetjs-lite',
];

function fromRecordFileWriter(writer: RecordFileWriter, sink: FileWriter, bodies?: Buffer[]): WriterRun {
  return {
    append: bodies
      ? (_record, i) => writer.appendEncoded(bodies[i % bodies.length]!)
      : (record) => writer.append(record),
    async finish() {
      await writer.finish();
      await sink.close();
    },
  };
}

async function openWriter(
  name: WriterName,
  dataset: Dataset,
  path: string,
  rowGroupRows: number,
  bodies: Buffer[],
): Promise<WriterRun> {
  const schema = dataset.schema;
  switch (name) {
    case 'avro values':
    case 'avro encoded bodies': {
      const sink = await localSink(path);
      const type = avroTypeOf(schema);
      const writer = createAvroContainerWriter(sink, { schema, type, codec: 'snappy' });
      return fromRecordFileWriter(writer, sink, name === 'avro encoded bodies' ? bodies : undefined);
    }
    case 'mwingest parquet':
    case 'mwingest parquet (defaults)':
    case 'mwingest parquet (defaults, heap cap)': {
      const sink = await localSink(path);
      const options = name === 'mwingest parquet' ? { rowGroupRows, rowGroupBytes: 1e12 } : {};
      return fromRecordFileWriter(
        createParquetRecordWriter(sink, { schema, codec: 'snappy', ...options }),
        sink,
      );
    }
    case 'hyparquet-writer API, JS snappy':
      return hyparquetApi(dataset, path, rowGroupRows, false);
    case 'hyparquet-writer API, native snappy':
      return hyparquetApi(dataset, path, rowGroupRows, true);
    case '@dsnp/parquetjs':
      return parquetjs(optional('@dsnp/parquetjs'), dataset, path, rowGroupRows, true);
    case 'parquetjs-lite':
      return parquetjs(optional('parquetjs-lite'), dataset, path, rowGroupRows, false);
  }
}

class NotInstalled extends Error {}

/** The parquetjs libraries are measured only when installed (they are not project dependencies). */
function optional(name: string): Parameters<typeof parquetjs>[0] {
  try {
    return require(name);
  } catch {
    throw new NotInstalled(`not installed (npm install --no-save ${name} to measure it)`);
  }
}

/**
 * hyparquet-writer used as documented: rows collected per top-level column, `ParquetWriter.write`
 * per row group (the library shreds each leaf column itself), its built-in JavaScript snappy or the
 * native one. Longs are made bigints first, as the library requires for INT64.
 */
async function hyparquetApi(
  dataset: Dataset,
  path: string,
  rowGroupRows: number,
  nativeSnappy: boolean,
): Promise<WriterRun> {
  const plan = parquetSchemaOf(dataset.schema);
  const record = avroTypeOf(dataset.schema) as avro.types.RecordType;
  const converters = record.fields.map((field) => longsToBigints(field.type));
  const handle = await open(path, 'w');
  const pending: Uint8Array[] = [];
  const writer = Object.assign(new ByteWriter(), {
    flush() {
      pending.push(new Uint8Array(writer.buffer.slice(0, writer.index)));
      writer.index = 0;
    },
  });
  writer.finish = writer.flush;
  const compressors = nativeSnappy
    ? { SNAPPY: (b: Uint8Array) => snappyCompressSync(Buffer.from(b)) }
    : undefined;
  const parquet = new HyparquetWriter({ writer, schema: plan.elements, codec: 'SNAPPY', compressors });
  let columns: unknown[][] = record.fields.map(() => []);
  let rows = 0;
  const drain = async () => {
    for (const chunk of pending.splice(0)) await handle.write(chunk);
  };
  const flushGroup = () => {
    parquet.write({
      columnData: record.fields.map(({ name }, c) => ({ name, data: columns[c]! })),
      rowGroupSize: rows,
    });
    columns = record.fields.map(() => []);
    rows = 0;
    return drain();
  };
  return {
    append(row) {
      for (const [c, { name }] of record.fields.entries()) columns[c]!.push(converters[c]!(row[name]));
      rows += 1;
      return rows >= rowGroupRows ? flushGroup() : undefined;
    },
    async finish() {
      if (rows > 0) await flushGroup();
      parquet.finish();
      await drain();
      await handle.close();
    },
  };
}

const identity = (v: unknown) => v;

/** Copies a value with its longs as bigints; the identity when the type holds no long. */
function longsToBigints(type: avro.Type): (value: unknown) => unknown {
  const branches = unionBranches(type);
  if (branches) {
    const inner = longsToBigints(branches.find((b) => b.typeName !== 'null')!);
    return inner === identity ? inner : (v) => (v === null ? null : inner(v));
  }
  if (avroKind(type) === 'long') return (v) => (typeof v === 'number' ? BigInt(v) : v);
  if (type instanceof avro.types.ArrayType) {
    const item = longsToBigints(type.itemsType);
    return item === identity ? identity : (v) => (v as unknown[]).map(item);
  }
  if (type instanceof avro.types.MapType) {
    const item = longsToBigints(type.valuesType);
    return item === identity
      ? identity
      : (v) => Object.fromEntries(Object.entries(v as Row).map(([k, e]) => [k, item(e)]));
  }
  if (type instanceof avro.types.RecordType) {
    const fields = type.fields.map((f) => [f.name, longsToBigints(f.type)] as const);
    if (fields.every(([, convert]) => convert === identity)) return identity;
    return (v) => Object.fromEntries(fields.map(([name, convert]) => [name, convert((v as Row)[name])]));
  }
  return identity;
}

/**
 * parquetjs (the @dsnp fork, or parquetjs-lite): its schema is a tree of {type, optional, repeated,
 * fields}; LIST and MAP are groups the caller fills ({list: [{element}]}, {key_value: [{key, value}]}).
 * parquetjs-lite knows no LIST/MAP annotations: the same groups are written unannotated.
 */
async function parquetjs(
  lib: {
    ParquetSchema: new (s: unknown) => unknown;
    ParquetWriter: { openStream(...a: unknown[]): Promise<unknown> };
  },
  dataset: Dataset,
  path: string,
  rowGroupRows: number,
  annotate: boolean,
): Promise<WriterRun> {
  const type = avro.Type.forSchema(dataset.schema as avro.Schema) as avro.types.RecordType;
  const fieldsOf = (record: avro.types.RecordType) =>
    Object.fromEntries(record.fields.map((f) => [f.name, specOf(f.type)]));
  function specOf(t: avro.Type): Row {
    const branches = t.typeName.startsWith('union')
      ? (t as unknown as { types: avro.Type[] }).types
      : undefined;
    if (branches) return { ...specOf(branches.find((b) => b.typeName !== 'null')!), optional: true };
    if (t instanceof avro.types.RecordType) return { fields: fieldsOf(t) };
    if (t instanceof avro.types.ArrayType) {
      return {
        ...(annotate ? { type: 'LIST' } : {}),
        fields: { list: { repeated: true, fields: { element: specOf(t.itemsType) } } },
      };
    }
    if (t instanceof avro.types.MapType) {
      const entry = { key: { type: 'UTF8', compression: 'SNAPPY' }, value: specOf(t.valuesType) };
      return {
        ...(annotate ? { type: 'MAP' } : {}),
        fields: { key_value: { repeated: true, fields: entry } },
      };
    }
    const physical: Record<string, string> = {
      string: 'UTF8',
      enum: 'UTF8',
      int: 'INT32',
      long: 'INT64',
      float: 'FLOAT',
      double: 'DOUBLE',
      boolean: 'BOOLEAN',
      bytes: 'BYTE_ARRAY',
      fixed: 'FIXED_LEN_BYTE_ARRAY',
    };
    const spec: Row = { type: physical[t.typeName], compression: 'SNAPPY' };
    if (t.typeName === 'fixed') spec.typeLength = (t as avro.types.FixedType).size;
    return spec;
  }
  function shape(t: avro.Type, value: unknown): unknown {
    const branches = t.typeName.startsWith('union')
      ? (t as unknown as { types: avro.Type[] }).types
      : undefined;
    if (branches) return value === null ? null : shape(branches.find((b) => b.typeName !== 'null')!, value);
    if (t instanceof avro.types.RecordType) {
      const out: Row = {};
      for (const f of t.fields) out[f.name] = shape(f.type, (value as Row)[f.name]);
      return out;
    }
    if (t instanceof avro.types.ArrayType)
      return { list: (value as unknown[]).map((e) => ({ element: shape(t.itemsType, e) })) };
    if (t instanceof avro.types.MapType) {
      return {
        key_value: Object.entries(value as Row).map(([key, v]) => ({ key, value: shape(t.valuesType, v) })),
      };
    }
    return value;
  }
  const schema = new lib.ParquetSchema(fieldsOf(type));
  const stream = createWriteStream(path);
  const writer = (await lib.ParquetWriter.openStream(schema, stream, { rowGroupSize: rowGroupRows })) as {
    appendRow(row: unknown): Promise<void>;
    close(): Promise<void>;
  };
  return {
    append: (record) => writer.appendRow(shape(type, record)),
    finish: () => writer.close(),
  };
}

// ---------------------------------------------------------------- one measurement (child process)

interface Result {
  writer: WriterName;
  dataset: string;
  records: number;
  seconds: number;
  /** CPU time of the child (all its threads) while writing: less sensitive to a busy machine. */
  cpuSeconds: number;
  inBytes: number;
  outBytes: number;
  baseRssMb: number;
  peakRssMb: number;
  readBack: string;
}

async function measure(
  writerName: WriterName,
  datasetLabel: string,
  count: number,
  rowGroupRows: number,
): Promise<Result> {
  const dataset = datasets().find((d) => d.label === datasetLabel)!;
  const random = seededRandom(42);
  const base = Array.from({ length: DISTINCT }, (_, i) => dataset.make(random, i));
  const type = avroTypeOf(dataset.schema);
  const bodies = base.map((record) => type.toBuffer(record));
  const inBytes = bodies.reduce((sum, body) => sum + body.length, 0) * (count / DISTINCT);
  const path = join(tmpdir(), `mwingest-bench-${process.pid}.out`);
  global.gc?.();
  const baseRss = process.memoryUsage().rss;
  const writer = await openWriter(writerName, dataset, path, rowGroupRows, bodies);
  const started = performance.now();
  const cpuStart = process.cpuUsage();
  for (let i = 0; i < count; i++) {
    const pending = writer.append(dataset.unique(base[i % DISTINCT]!, i), i);
    if (pending) await pending;
  }
  await writer.finish();
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  const peakRss = process.resourceUsage().maxRSS * 1024;
  const outBytes = statSync(path).size;
  const readBack = writerName.startsWith('avro') ? 'n/a' : await checkReadBack(path, count, dataset, base);
  if (process.env.MWINGEST_BENCH_KEEP) console.error(`kept ${path}`);
  else rmSync(path, { force: true });
  return {
    writer: writerName,
    dataset: datasetLabel,
    records: count,
    seconds,
    cpuSeconds,
    inBytes,
    outBytes,
    baseRssMb: baseRss / 2 ** 20,
    peakRssMb: peakRss / 2 ** 20,
    readBack,
  };
}

/** hyparquet reads the footer (row count) and the first 100 rows, compared with what went in. */
async function checkReadBack(path: string, count: number, dataset: Dataset, base: Row[]): Promise<string> {
  try {
    const bytes = readFileSync(path);
    const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length);
    const meta = parquetMetadata(file);
    if (Number(meta.num_rows) !== count) return `rows ${meta.num_rows} ≠ ${count}`;
    const rows = await parquetReadObjects({ file, rowStart: 0, rowEnd: 100, utf8: false });
    for (let i = 0; i < rows.length; i++) {
      const expected = normalize(dataset.unique(base[i % DISTINCT]!, i));
      if (JSON.stringify(normalize(rows[i])) !== JSON.stringify(expected)) return `row ${i} differs`;
    }
    return `ok (${meta.row_groups.length} groups)`;
  } catch (error) {
    return `fails: ${(error as Error).message.slice(0, 60)}`;
  }
}

/** Comparable JSON: longs and bytes as strings, LIST/MAP groups unwrapped, floats as float32. */
function normalize(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : Math.fround(value);
  if (value instanceof Uint8Array) return Buffer.from(value).toString('hex');
  if (Array.isArray(value)) return value.map(normalize);
  if (typeof value === 'object') {
    const keys = Object.keys(value as Row);
    if (keys.length === 1 && keys[0] === 'list')
      return normalize(((value as Row).list as Row[]).map((e) => e.element));
    if (keys.length === 1 && keys[0] === 'key_value') {
      return normalize(Object.fromEntries(((value as Row).key_value as Row[]).map((e) => [e.key, e.value])));
    }
    return Object.fromEntries(keys.sort().map((k) => [k, normalize((value as Row)[k])]));
  }
  return value;
}

// ---------------------------------------------------------------- the table (parent process)

function runChild(writer: WriterName, dataset: string, count: number, rowGroupRows: number): Result | string {
  const child = spawnSync(
    process.execPath,
    [
      ...(writer.endsWith('heap cap)') ? [`--max-old-space-size=${HEAP_CAP_MB}`] : []),
      '--expose-gc',
      '--import',
      'tsx',
      SELF,
      '--child',
      writer,
      dataset,
      String(count),
      String(rowGroupRows),
    ],
    { cwd: PROJECT, encoding: 'utf8', maxBuffer: 1 << 24 },
  );
  const line = child.stdout.trim().split('\n').at(-1) ?? '';
  if (child.status !== 0 || !line.startsWith('{'))
    return (
      child.stderr
        .trim()
        .split('\n')
        .find((l) => /Error/.test(l)) ?? 'failed'
    ).slice(0, 80);
  const parsed = JSON.parse(line) as Result | { skipped: string };
  return 'skipped' in parsed ? parsed.skipped : parsed;
}

function main(): void {
  const count = Number(process.argv[2] ?? 200_000);
  const rowGroupRows = Number(process.argv[3] ?? 20_000);
  const runs = Number(process.argv[4] ?? 1);
  const cpu = execFileSync('sh', ['-c', "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"], {
    encoding: 'utf8',
  }).trim();
  const load = () =>
    loadavg()
      .map((l) => l.toFixed(1))
      .join(' ');
  console.log(
    `node ${process.version}, ${cpu} × ${cpus().length}, load ${load()}; ${count.toLocaleString('en')} records per line, ` +
      `snappy, row groups of ${rowGroupRows.toLocaleString('en')} rows unless "defaults", fastest of ${runs} run(s)`,
  );
  console.log(
    "(rec/CPU-s: records per second of the child's CPU time, all threads; in MB/s: the records' Avro-encoded size per\n" +
      ' second; RSS: the child process, before the first record → peak)\n',
  );
  const header = `${'writer'.padEnd(36)} ${'rec/s'.padStart(9)} ${'rec/CPU-s'.padStart(9)} ${'in MB/s'.padStart(8)} ${'out MB/s'.padStart(8)} ${'out MB'.padStart(7)} ${'RSS MB'.padStart(11)}  read back (hyparquet)`;
  for (const dataset of datasets()) {
    console.log(`${dataset.label}\n${header}`);
    for (const writer of WRITERS) {
      let best: Result | string = 'no run';
      for (let run = 0; run < runs; run++) {
        const result = runChild(writer, dataset.label, count, rowGroupRows);
        if (typeof result === 'string') {
          best = result;
          break;
        }
        if (typeof best === 'string' || result.seconds < best.seconds) best = result;
      }
      if (typeof best === 'string') {
        console.log(`${writer.padEnd(36)} ${best}`);
        continue;
      }
      const rate = best.records / best.seconds;
      console.log(
        `${writer.padEnd(36)} ${Math.round(rate).toLocaleString('en').padStart(9)} ` +
          `${Math.round(best.records / best.cpuSeconds)
            .toLocaleString('en')
            .padStart(9)} ${(best.inBytes / best.seconds / 1e6).toFixed(1).padStart(8)} ` +
          `${(best.outBytes / best.seconds / 1e6).toFixed(1).padStart(8)} ${(best.outBytes / 1e6).toFixed(1).padStart(7)} ` +
          `${`${Math.round(best.baseRssMb)} → ${Math.round(best.peakRssMb)}`.padStart(11)}  ${best.readBack}`,
      );
    }
    console.log('');
  }
  console.log(`load at the end ${load()}`);
}

if (process.argv[2] === '--child') {
  const [, , , writer, dataset, count, rowGroupRows] = process.argv;
  try {
    console.log(
      JSON.stringify(await measure(writer as WriterName, dataset!, Number(count), Number(rowGroupRows))),
    );
  } catch (error) {
    if (!(error instanceof NotInstalled)) throw error;
    console.log(JSON.stringify({ skipped: error.message }));
  }
} else {
  main();
}
