import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import v8 from 'node:v8';
import vm from 'node:vm';
import avro from 'avsc';
import { parquetMetadata } from 'hyparquet';
import { isMwiError } from '../../src/errors.js';
import type { FileWriter } from '../../src/hdfs/filesystem.js';
import { createParquetRecordWriter, type ParquetCodec } from '../../src/writers/parquet-writer.js';
import { CIRRUS, cirrusRecord, seededRandom, WMF_FIXTURES } from '../schemas/realistic-records.js';
import { normalize, readParquet } from '../support/parquet.js';

/**
 * Round trips through hyparquet, a Parquet reader written independently of the writer's encoder
 * (hyparquet-writer borrows only schema helpers from it), plus the writer's streaming, memory and
 * error behaviour. The Java reader (parquet-mr) check is in parquet-writer.integration.test.ts.
 */

import type { Row } from '../support/parquet.js';

/** Every Avro shape a dataset can have in Parquet, nested. */
const kitchenSink = {
  type: 'record',
  name: 'KitchenSink',
  fields: [
    { name: 'ts', type: 'int' },
    { name: 'id', type: 'long' },
    { name: 'score', type: 'float' },
    { name: 'weight', type: 'double' },
    { name: 'bot', type: 'boolean' },
    { name: 'wiki', type: 'string' },
    { name: 'hash', type: 'bytes' },
    { name: 'token', type: { type: 'fixed', name: 'Token', size: 4 } },
    { name: 'action', type: { type: 'enum', name: 'Action', symbols: ['click', 'view', 'save'] } },
    { name: 'query', type: ['null', 'string'] },
    { name: 'maybeLong', type: ['null', 'long'] },
    { name: 'tags', type: { type: 'array', items: 'string' } },
    { name: 'timings', type: { type: 'map', values: 'long' } },
    {
      name: 'hits',
      type: {
        type: 'array',
        items: {
          type: 'record',
          name: 'Hit',
          fields: [
            { name: 'title', type: 'string' },
            { name: 'rank', type: ['null', 'int'] },
            { name: 'namespaces', type: { type: 'array', items: 'int' } },
          ],
        },
      },
    },
    { name: 'best', type: ['null', 'Hit'] },
    { name: 'grid', type: { type: 'array', items: { type: 'array', items: ['null', 'double'] } } },
    { name: 'extra', type: ['null', { type: 'map', values: { type: 'map', values: 'string' } }] },
  ],
};

function sinkRecord(i: number): Row {
  const big = 2n ** 62n + BigInt(i); // beyond 2^53: only a bigint holds it
  return {
    ts: 1_700_000_000 + i,
    id: i % 5 === 0 ? big : i % 5 === 1 ? -big : i * 1_000_003,
    score: Math.fround(i / 7),
    weight: i / 3,
    bot: i % 2 === 0,
    wiki: i % 4 === 0 ? 'Ωmega wiki 🌍' : `wiki${i % 9}`,
    hash: Buffer.from([0xff, 0x00, 0xfe, i & 0xff]), // not valid UTF-8
    token: Buffer.from([i & 0xff, 1, 2, 3]),
    action: ['click', 'view', 'save'][i % 3],
    query: i % 3 === 0 ? null : `q${i}`,
    maybeLong: i % 4 === 0 ? null : i % 4 === 1 ? big : -i,
    tags: Array.from({ length: i % 4 }, (_, j) => `t${j}`),
    timings: i % 3 === 0 ? {} : { init: i, ready: big },
    hits: Array.from({ length: i % 3 }, (_, j) => ({
      title: `Page ${j}`,
      rank: j === 1 ? null : j,
      namespaces: j === 0 ? [] : [0, j],
    })),
    best: i % 2 === 0 ? null : { title: 'Best', rank: null, namespaces: [i] },
    grid: i % 5 === 0 ? [] : [[], [1.5, null], [null]],
    extra: i % 3 === 0 ? null : i % 3 === 1 ? {} : { a: {}, b: { x: 'y' } },
  };
}

/** Collects what the writer writes, like a file would; counts the writes. */
function memorySink(
  options: { failOnWrite?: number; delayMs?: number } = {},
): FileWriter & { chunks: Buffer[] } {
  const chunks: Buffer[] = [];
  let bytes = 0;
  return {
    path: '/mem/test.parquet',
    chunks,
    get bytesWritten() {
      return bytes;
    },
    async write(chunk) {
      if (chunks.length + 1 === options.failOnWrite) throw new Error('disk full');
      await new Promise((resolve) => setTimeout(resolve, options.delayMs ?? 0));
      chunks.push(Buffer.from(chunk));
      bytes += chunk.length;
    },
    async close() {},
    async abort() {},
  };
}

function arrayBufferOf(chunks: Buffer[]): ArrayBuffer {
  const bytes = Buffer.concat(chunks);
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length) as ArrayBuffer;
}

async function readBack(chunks: Buffer[]): Promise<Row[]> {
  return readParquet(Buffer.concat(chunks));
}

async function writeAll(
  schema: object,
  records: Row[],
  options: { codec?: ParquetCodec; rowGroupRows?: number; rowGroupBytes?: number } = {},
  sink = memorySink(),
) {
  const writer = createParquetRecordWriter(sink, { schema, ...options });
  for (const record of records) {
    const pending = writer.append(record);
    if (pending) await pending;
  }
  const result = await writer.finish();
  return { sink, result };
}

function newestProjectSchemas(): [string, object][] {
  const root = join(import.meta.dirname, '../../event-schemas/avro/mediawiki');
  return readdirSync(root).map((name) => {
    const files = readdirSync(join(root, name)).sort((a, b) =>
      BigInt(a.slice(0, -5)) < BigInt(b.slice(0, -5)) ? -1 : 1,
    );
    return [`${name}/${files.at(-1)}`, JSON.parse(readFileSync(join(root, name, files.at(-1)!), 'utf8'))];
  });
}

describe('Parquet record writer', () => {
  for (const codec of ['snappy', 'gzip', 'none'] as ParquetCodec[]) {
    test(`${codec}: values, nulls, longs beyond 2^53, bytes, nested lists and maps, empty ones, over several row groups`, async () => {
      const records = Array.from({ length: 1000 }, (_, i) => sinkRecord(i));
      const { sink, result } = await writeAll(kitchenSink, records, { codec, rowGroupRows: 128 });
      assert.deepEqual(result, { records: 1000, bytes: Buffer.concat(sink.chunks).length });
      const meta = parquetMetadata(arrayBufferOf(sink.chunks));
      assert.equal(meta.row_groups.length, Math.ceil(1000 / 128));
      assert.ok(
        meta.row_groups.every((group) =>
          group.columns.every(
            (c) => c.meta_data?.codec === { snappy: 'SNAPPY', gzip: 'GZIP', none: 'UNCOMPRESSED' }[codec],
          ),
        ),
      );
      const back = await readBack(sink.chunks);
      assert.equal(back.length, records.length);
      for (const [i, record] of records.entries())
        assert.deepEqual(normalize(back[i]), normalize(record), `record ${i}`);
    });
  }

  test('records decoded by avsc round-trip: random values of every project schema and of CirrusSearchRequestSet', async () => {
    const cirrus = JSON.parse(
      readFileSync(join(WMF_FIXTURES, 'avro/mediawiki', CIRRUS, '121456865906.avsc'), 'utf8'),
    );
    const random = seededRandom(7);
    const cases: [string, object, Row[]][] = [
      [CIRRUS, cirrus, Array.from({ length: 300 }, () => cirrusRecord(random))],
      ...newestProjectSchemas().map(([name, schema]): [string, object, Row[]] => {
        const type = avro.Type.forSchema(schema as avro.Schema);
        // avsc's random values, through its binary encoding: what the ingest hands the writer.
        return [
          name,
          schema,
          Array.from({ length: 300 }, () => type.fromBuffer(type.toBuffer(type.random())) as Row),
        ];
      }),
    ];
    for (const [name, schema, records] of cases) {
      const { sink } = await writeAll(schema, records, { rowGroupRows: 64 });
      const back = await readBack(sink.chunks);
      assert.equal(back.length, records.length, name);
      for (const [i, record] of records.entries())
        assert.deepEqual(normalize(back[i]), normalize(record), `${name} record ${i}`);
    }
  });

  test('row groups close by estimated size too, and each one is written to the sink before finish', async () => {
    const records = Array.from({ length: 2000 }, (_, i) => sinkRecord(i));
    const sink = memorySink();
    let writesStarted = 0;
    const counting: FileWriter = {
      ...sink,
      path: sink.path,
      get bytesWritten() {
        return sink.bytesWritten;
      },
      write(chunk) {
        writesStarted += 1;
        return sink.write(chunk);
      },
    };
    const writer = createParquetRecordWriter(counting, { schema: kitchenSink, rowGroupBytes: 32 * 1024 });
    for (const record of records) await writer.append(record);
    const beforeFinish = writesStarted;
    await writer.finish();
    const meta = parquetMetadata(arrayBufferOf(sink.chunks));
    assert.ok(meta.row_groups.length >= 4, `${meta.row_groups.length} row groups`);
    // The last, partial group and the footer are written by finish; every full group before it.
    assert.equal(
      beforeFinish,
      meta.row_groups.length - 1,
      'every full row group went to the sink before finish',
    );
    // The estimate bounds the group: its uncompressed size stays near the target, never the file.
    for (const group of meta.row_groups)
      assert.ok(group.total_byte_size < 4n * 32n * 1024n, String(group.total_byte_size));
    assert.equal((await readBack(sink.chunks)).length, 2000);
  });

  test('memory stays bounded: the retained heap does not grow with the number of records written', async () => {
    // A full garbage collection before each measurement, so the heap shows what is retained.
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const cirrus = JSON.parse(
      readFileSync(join(WMF_FIXTURES, 'avro/mediawiki', CIRRUS, '121456865906.avsc'), 'utf8'),
    );
    const type = avro.Type.forSchema(cirrus);
    const random = seededRandom(3);
    const bodies = Array.from({ length: 500 }, () => type.toBuffer(cirrusRecord(random)));
    let written = 0;
    const sink: FileWriter = {
      path: '/dev/null',
      get bytesWritten() {
        return written;
      },
      async write(chunk) {
        written += chunk.length; // the bytes are dropped: only the writer's own memory is measured
      },
      async close() {},
      async abort() {},
    };
    const writer = createParquetRecordWriter(sink, { schema: cirrus, rowGroupRows: 5_000 });
    const retained: number[] = [];
    const rss: number[] = [];
    for (let i = 1; i <= 100_000; i++) {
      const pending = writer.append(type.fromBuffer(bodies[i % bodies.length]!));
      if (pending) await pending;
      if (i % 25_000 === 0) {
        gc();
        retained.push(process.memoryUsage().heapUsed);
        rss.push(process.memoryUsage().rss);
      }
    }
    await writer.finish();
    assert.ok(written > 1_000_000, `${written} bytes written`);
    // 20 row groups went through; what stays is one partial group's columns and the footer's metadata.
    const growth = (retained.at(-1)! - retained[0]!) / 2 ** 20;
    assert.ok(growth < 16, `heap grew ${growth.toFixed(1)} MB between 25k and 100k records`);
    const rssGrowth = (rss.at(-1)! - rss[0]!) / 2 ** 20;
    assert.ok(rssGrowth < 150, `RSS grew ${rssGrowth.toFixed(0)} MB between 25k and 100k records`);
  });

  test('a file with no records is a valid Parquet file with the schema and no rows', async () => {
    const { sink, result } = await writeAll(kitchenSink, []);
    assert.equal(result.records, 0);
    const meta = parquetMetadata(arrayBufferOf(sink.chunks));
    assert.equal(meta.num_rows, 0n);
    assert.equal(meta.schema[0]!.name, 'KitchenSink');
    assert.deepEqual(await readBack(sink.chunks), []);
  });

  test('the footer carries the Avro schema for parquet-avro readers', async () => {
    const { sink } = await writeAll(kitchenSink, [sinkRecord(1)]);
    const meta = parquetMetadata(arrayBufferOf(sink.chunks));
    const stored = meta.key_value_metadata?.find((kv) => kv.key === 'parquet.avro.schema')?.value;
    assert.deepEqual(JSON.parse(stored!), kitchenSink);
  });

  test('a record that does not fit is refused with its field; the writer goes on and the file stays valid', async () => {
    const sink = memorySink();
    const writer = createParquetRecordWriter(sink, { schema: kitchenSink, rowGroupRows: 3 });
    await writer.append(sinkRecord(0));
    const bad = { ...sinkRecord(1), hits: [{ title: 'x', rank: 1 }] }; // namespaces missing in a nested record
    assert.throws(
      () => writer.append(bad),
      (error: unknown) =>
        isMwiError(error, 'MWI_PARQUET_ENCODE') && /hits\[\]\.namespaces: required/.test(error.message),
    );
    assert.throws(
      () => writer.append({ ...sinkRecord(2), id: 1.5 }),
      (error: unknown) =>
        isMwiError(error, 'MWI_PARQUET_ENCODE') && /field id: expected a long/.test(error.message),
    );
    await writer.append(sinkRecord(3));
    await writer.finish();
    assert.deepEqual(
      (await readBack(sink.chunks)).map(normalize),
      [sinkRecord(0), sinkRecord(3)].map(normalize),
      'the refused records left nothing behind',
    );
  });

  test('Avro bodies are refused: the Parquet writer needs values', () => {
    const writer = createParquetRecordWriter(memorySink(), { schema: kitchenSink });
    assert.equal(writer.acceptsEncoded, false);
    assert.throws(
      () => writer.appendEncoded(new Uint8Array([0])),
      (error: unknown) => isMwiError(error, 'MWI_USAGE'),
    );
  });

  test('a schema with a union Parquet cannot hold is refused when the writer is created, naming the field', () => {
    const schema = { type: 'record', name: 'E', fields: [{ name: 'v', type: ['int', 'string'] }] };
    assert.throws(
      () => createParquetRecordWriter(memorySink(), { schema }),
      (error: unknown) =>
        isMwiError(error, 'MWI_CONFIG_INVALID') && /v: union \["int", "string"\]/.test(error.message),
    );
  });

  test('a failed write is reported by finish, and later appends refuse with the cause', async () => {
    const sink = memorySink({ failOnWrite: 2 });
    const writer = createParquetRecordWriter(sink, { schema: kitchenSink, rowGroupRows: 10 });
    let refused: unknown;
    try {
      for (let i = 0; i < 200; i++) await writer.append(sinkRecord(i));
    } catch (error) {
      refused = error;
    }
    assert.ok(
      isMwiError(refused, 'MWI_FS_IO') && refused.canRetry && /disk full/.test(refused.message),
      String(refused),
    );
    await assert.rejects(writer.finish(), /disk full/);
  });

  test('back-pressure: with a slow sink the caller waits, and row groups are written in order, one at a time', async () => {
    let outstanding = 0;
    let peak = 0;
    const inner = memorySink({ delayMs: 2 });
    const slow: FileWriter = {
      ...inner,
      path: inner.path,
      get bytesWritten() {
        return inner.bytesWritten;
      },
      async write(chunk) {
        outstanding += 1;
        peak = Math.max(peak, outstanding);
        await inner.write(chunk);
        outstanding -= 1;
      },
    };
    const writer = createParquetRecordWriter(slow, { schema: kitchenSink, rowGroupRows: 20 });
    let waited = 0;
    const records = Array.from({ length: 400 }, (_, i) => sinkRecord(i));
    for (const record of records) {
      const pending = writer.append(record);
      if (pending) {
        waited += 1;
        await pending;
      }
    }
    await writer.finish();
    assert.ok(waited > 0, 'the writer made the caller wait for slow writes');
    assert.equal(peak, 1, 'writes are sequential');
    assert.deepEqual((await readBack(inner.chunks)).map(normalize), records.map(normalize));
  });
});
