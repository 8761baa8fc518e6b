import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import zlib from 'node:zlib';
import avro from 'avsc';
import type { FileWriter } from '../../src/hdfs/filesystem.js';
import { type AvroCodec, createAvroContainerWriter } from '../../src/writers/avro-container.js';

const schema = {
  type: 'record',
  name: 'EditAttempt',
  fields: [
    { name: 'ts', type: 'int' },
    { name: 'wiki', type: 'string' },
    { name: 'tags', type: { type: 'array', items: 'string' } },
    { name: 'extra', type: ['null', { type: 'map', values: 'long' }], default: null },
  ],
};
const type = avro.Type.forSchema(schema as avro.Schema);

/** Collects what the writer writes, like a file would. */
function memorySink(options: { failOnWrite?: number } = {}): FileWriter & { chunks: Buffer[] } {
  const chunks: Buffer[] = [];
  let bytes = 0;
  let writes = 0;
  return {
    path: '/mem/test.avro',
    chunks,
    get bytesWritten() {
      return bytes;
    },
    async write(chunk) {
      writes += 1;
      if (writes === options.failOnWrite) throw new Error('disk full');
      await new Promise((resolve) => setImmediate(resolve));
      chunks.push(Buffer.from(chunk));
      bytes += chunk.length;
    },
    async close() {},
    async abort() {},
  };
}

async function readBack(bytes: Buffer): Promise<{ records: unknown[]; codec: string; schema: unknown }> {
  const records: unknown[] = [];
  let meta: Record<string, Buffer> = {};
  const decoder = new avro.streams.BlockDecoder({ codecs: snappyCodecs() });
  await new Promise<void>((resolve, reject) => {
    decoder.on('metadata', (_type: unknown, _codec: string, header: { meta: Record<string, Buffer> }) => {
      meta = header.meta;
    });
    decoder.on('data', (record: unknown) => records.push(record));
    decoder.on('end', resolve);
    decoder.on('error', reject);
    Readable.from([bytes]).pipe(decoder);
  });
  return {
    records,
    codec: meta['avro.codec']!.toString(),
    schema: JSON.parse(meta['avro.schema']!.toString()),
  };
}

// The codecs of the Avro specification, from zlib and the snappy package (avsc's option replaces its defaults).
function snappyCodecs() {
  return {
    null: (buffer: Buffer, callback: (error: Error | null, data?: Buffer) => void) => callback(null, buffer),
    deflate: zlib.inflateRaw,
    snappy: (buffer: Buffer, callback: (error: Error | null, data?: Buffer) => void) => {
      import('snappy')
        .then(({ uncompressSync }) =>
          callback(null, uncompressSync(buffer.subarray(0, buffer.length - 4)) as Buffer),
        )
        .catch(callback);
    },
  };
}

function recordsFor(n: number) {
  return Array.from({ length: n }, (_, i) => ({
    ts: 1_700_000_000 + i,
    wiki: `wiki${i % 7}`,
    tags: Array.from({ length: i % 4 }, (_, j) => `tag${j}`),
    extra: i % 3 === 0 ? null : { bytes: i * 1000, maxLag: i },
  }));
}

describe('Avro container writer', () => {
  for (const codec of ['null', 'deflate', 'snappy'] as AvroCodec[]) {
    test(`${codec}: records written as values and as encoded bodies read back identically, over many blocks`, async () => {
      const sink = memorySink();
      const writer = createAvroContainerWriter(sink, { schema, type, codec, blockBytes: 1024 });
      const records = recordsFor(5000);
      for (const [i, record] of records.entries()) {
        const pending = i % 2 === 0 ? writer.append(record) : writer.appendEncoded(type.toBuffer(record));
        if (pending) await pending;
      }
      const result = await writer.finish();
      const bytes = Buffer.concat(sink.chunks);
      assert.equal(result.records, 5000);
      assert.equal(result.bytes, bytes.length);
      const back = await readBack(bytes);
      assert.equal(back.codec, codec);
      assert.deepEqual(back.schema, schema);
      assert.equal(back.records.length, records.length);
      for (const [i, record] of records.entries())
        assert.deepEqual({ ...(back.records[i] as object) }, record, `record ${i}`);
    });
  }

  test('an empty file is a valid container with no records', async () => {
    const sink = memorySink();
    const writer = createAvroContainerWriter(sink, { schema, type, codec: 'snappy' });
    await writer.finish();
    assert.deepEqual((await readBack(Buffer.concat(sink.chunks))).records, []);
  });

  test('a record larger than a block still fits', async () => {
    const sink = memorySink();
    const writer = createAvroContainerWriter(sink, { schema, type, codec: 'null', blockBytes: 1024 });
    const big = { ts: 1, wiki: 'x'.repeat(100_000), tags: [], extra: null };
    await writer.append(big);
    await writer.finish();
    const back = await readBack(Buffer.concat(sink.chunks));
    assert.equal((back.records[0] as { wiki: string }).wiki.length, 100_000);
  });

  test('a failed write is reported by finish, and later appends refuse with the cause', async () => {
    const sink = memorySink({ failOnWrite: 2 });
    const writer = createAvroContainerWriter(sink, { schema, type, codec: 'null', blockBytes: 1024 });
    let refused: unknown;
    try {
      for (const record of recordsFor(2000)) await writer.append(record);
    } catch (error) {
      refused = error;
    }
    assert.match(String(refused), /disk full/);
    await assert.rejects(writer.finish(), /disk full/);
  });

  test('back-pressure: the number of blocks waiting to be written stays bounded', async () => {
    let outstanding = 0;
    let peak = 0;
    const sink = memorySink();
    const slow: FileWriter = {
      ...sink,
      path: sink.path,
      get bytesWritten() {
        return sink.bytesWritten;
      },
      async write(chunk) {
        outstanding += 1;
        peak = Math.max(peak, outstanding);
        await new Promise((resolve) => setTimeout(resolve, 1));
        await sink.write(chunk);
        outstanding -= 1;
      },
    };
    const writer = createAvroContainerWriter(slow, {
      schema,
      type,
      codec: 'null',
      blockBytes: 1024,
      maxBlocksInFlight: 2,
    });
    let waited = 0;
    for (const record of recordsFor(3000)) {
      const pending = writer.append(record);
      if (pending) {
        waited += 1;
        await pending;
      }
    }
    await writer.finish();
    assert.ok(waited > 0, 'the writer made the caller wait for slow writes');
    assert.equal(peak, 1, 'writes are sequential, in block order');
    assert.equal((await readBack(Buffer.concat(sink.chunks))).records.length, 3000);
  });
});
