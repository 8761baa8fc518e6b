import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MessageCodec } from '../../src/schemas/codec.js';
import { SchemaRegistry } from '../../src/schemas/registry.js';
import {
  API_ACTION,
  apiActionRecord,
  CIRRUS,
  CIRRUS_NEWEST,
  cirrusRecord,
  seededRandom,
  WMF_FIXTURES,
} from './realistic-records.js';

/**
 * Messages built the way MediaWiki's Monolog AvroFormatter builds them: the header is
 * `"\0" . pack('NN', $revision >> 32, $revision & 0xffffffff)` (two unsigned 32-bit big-endian
 * words), followed by the Avro binary record. Every revision of the Wikimedia fixture schemas.
 */
function phpPackNN(high: number, low: number): Buffer {
  const words = Buffer.alloc(8);
  for (let i = 0; i < 4; i++) {
    words[i] = Math.floor(high / 2 ** (24 - 8 * i)) % 256;
    words[4 + i] = Math.floor(low / 2 ** (24 - 8 * i)) % 256;
  }
  return words;
}

function mediaWikiMessage(revision: bigint, body: Buffer): Buffer {
  const high = Number(revision / 2n ** 32n);
  const low = Number(revision % 2n ** 32n);
  return Buffer.concat([Buffer.from([0]), phpPackNN(high, low), body]);
}

const registry = await SchemaRegistry.load(WMF_FIXTURES, { strict: true });
const codec = new MessageCodec(registry);
const builders: Record<string, (random: () => number) => Record<string, unknown>> = {
  [CIRRUS]: (random) => cirrusRecord(random),
  ApiAction: (random) => apiActionRecord(random),
};

test('the fixture registry holds the schemas this test knows how to fill', () => {
  assert.deepEqual(registry.names(), Object.keys(builders).sort());
  assert.deepEqual(
    registry.revisions(CIRRUS).map((e) => e.revision),
    [101446746400n, 111448028943n, CIRRUS_NEWEST],
  );
  assert.equal(registry.latest('ApiAction')?.revision, API_ACTION);
});

for (const name of registry.names()) {
  for (const entry of registry.revisions(name)) {
    test(`${name} ${entry.revision}: a MediaWiki-built message decodes to the record that was written`, () => {
      const random = seededRandom(Number(entry.revision % 1000n));
      for (let i = 0; i < 20; i++) {
        const written = builders[name]!(random);
        const message = mediaWikiMessage(entry.revision, codec.encodeBody(entry, written));
        assert.deepEqual(
          message.subarray(0, 9),
          codec.encode(entry.revision, written).subarray(0, 9),
          'same header as ours',
        );
        const decoded = codec.decode(message, { schemaName: name });
        assert.ok(decoded.ok, decoded.ok ? '' : decoded.message);
        assert.equal(decoded.revision, entry.revision);
        assert.equal(decoded.writer, entry);
        assert.equal(decoded.bodyIsReaderEncoding, true);
        // Every field of this revision carries the written value; fields of newer revisions were not written.
        assert.deepEqual(plain(decoded.record), project(entry.json, written));
      }
    });
  }
}

for (const older of registry.revisions(CIRRUS).slice(0, -1)) {
  test(`${CIRRUS} ${older.revision} resolves to ${CIRRUS_NEWEST}: written fields kept, added fields get their defaults`, () => {
    const random = seededRandom(7);
    for (let i = 0; i < 20; i++) {
      const written = cirrusRecord(random);
      const message = mediaWikiMessage(older.revision, codec.encodeBody(older, written));
      const decoded = codec.decode(message, { schemaName: CIRRUS, readerRevision: CIRRUS_NEWEST });
      assert.ok(decoded.ok, decoded.ok ? '' : decoded.message);
      assert.equal(decoded.writer, older);
      assert.equal(decoded.reader.revision, CIRRUS_NEWEST);
      assert.equal(decoded.bodyIsReaderEncoding, false);
      const record = decoded.record as ReturnType<typeof cirrusRecord>;
      // Fields every revision has: as written.
      for (const key of [
        'ts',
        'wikiId',
        'source',
        'identity',
        'ip',
        'userAgent',
        'backendUserTests',
      ] as const) {
        assert.deepEqual(record[key], written[key], key);
      }
      // Added in 121456865906, with their defaults from that schema.
      assert.equal(record.id, '');
      assert.equal(record.tookMs, -1);
      assert.deepEqual(record.hits, []);
      // payload came with 111448028943: kept from 11, the default {} from 10.
      assert.deepEqual({ ...record.payload }, older.revision === 101446746400n ? {} : written.payload);
      assert.equal(record.requests.length, written.requests.length);
      record.requests.forEach((request, r) => {
        assert.equal(request.query, written.requests[r]!.query);
        assert.deepEqual(request.indices, written.requests[r]!.indices);
        assert.equal(request.hitsTotal, written.requests[r]!.hitsTotal);
        assert.equal(request.maxScore, -1);
        assert.deepEqual(request.hits, []);
        assert.deepEqual(
          { ...request.payload },
          older.revision === 101446746400n ? {} : written.requests[r]!.payload,
        );
      });
      // The resolved record is a valid newest-revision record: it encodes with that schema.
      assert.ok(decoded.reader.type.isValid(decoded.record));
    }
  });
}

/**
 * The written value as a revision sees it: walks the revision's schema JSON and the value together,
 * keeping only the fields each record of that revision declares (these schemas have no unions).
 */
function project(schema: unknown, value: unknown, named = new Map<string, unknown>()): unknown {
  if (typeof schema === 'string') return named.has(schema) ? project(named.get(schema), value, named) : value;
  const s = schema as {
    type: unknown;
    name?: string;
    fields?: { name: string; type: unknown }[];
    items?: unknown;
    values?: unknown;
  };
  if (typeof s.type === 'object') return project(s.type, value, named);
  if (s.type === 'record') {
    named.set(s.name!, s);
    const record = value as Record<string, unknown>;
    return Object.fromEntries(s.fields!.map((f) => [f.name, project(f.type, record[f.name], named)]));
  }
  if (s.type === 'array') return (value as unknown[]).map((item) => project(s.items, item, named));
  if (s.type === 'map') {
    return Object.fromEntries(
      Object.entries(value as object).map(([k, v]) => [k, project(s.values, v, named)]),
    );
  }
  return project(s.type, value, named);
}

function plain(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value));
}
