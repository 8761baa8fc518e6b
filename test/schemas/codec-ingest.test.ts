import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MessageCodec } from '../../src/schemas/codec.js';
import { defaultRegistryRoot, SchemaRegistry } from '../../src/schemas/registry.js';
import { randomValue } from './random-values.js';
import { seededRandom, WMF_FIXTURES } from './realistic-records.js';

const wmf = await SchemaRegistry.load(WMF_FIXTURES);
const own = await SchemaRegistry.load(defaultRegistryRoot());

/** A record of `revision` with a random shape and `ts` set. */
function message(
  registry: SchemaRegistry,
  codec: MessageCodec,
  revision: bigint,
  seed: number,
  ts = 1_700_000_000 + seed,
) {
  const entry = registry.byRevision(revision)!;
  const record: Record<string, unknown> = {
    ...(randomValue(entry.type, seededRandom(seed)) as Record<string, unknown>),
    ts,
  };
  return { record, bytes: codec.encode(revision, record) };
}

describe('decodeForIngest: the ingest reads the time field without building the record', () => {
  test('writer = reader: no record is built, the time and body agree with a full decode, for every schema', () => {
    for (const registry of [wmf, own]) {
      const codec = new MessageCodec(registry);
      for (const name of registry.names()) {
        for (const entry of registry.revisions(name)) {
          for (let seed = 1; seed <= 50; seed++) {
            const { bytes } = message(registry, codec, entry.revision, seed);
            const full = codec.decode(bytes, { schemaName: name, readerRevision: entry.revision });
            const lean = codec.decodeForIngest(bytes, {
              schemaName: name,
              readerRevision: entry.revision,
              timestampField: 'ts',
            });
            assert.ok(full.ok && lean.ok);
            assert.equal(lean.record, undefined, 'the record is not built');
            assert.equal(lean.timestamp, (full.record as { ts: unknown }).ts);
            assert.equal(lean.bodyIsReaderEncoding, true);
            assert.deepEqual(lean.body, full.body);
          }
        }
      }
    }
  });

  test('an older writer: the record is resolved (it must be re-encoded) and the time read from it', () => {
    const codec = new MessageCodec(wmf);
    const [oldest, , newest] = wmf.revisions('CirrusSearchRequestSet');
    const { bytes } = message(wmf, codec, oldest!.revision, 7, 1_456_865_906);
    const lean = codec.decodeForIngest(bytes, {
      schemaName: 'CirrusSearchRequestSet',
      readerRevision: newest!.revision,
      timestampField: 'ts',
    });
    assert.ok(lean.ok);
    assert.equal(lean.bodyIsReaderEncoding, false);
    assert.equal(lean.timestamp, 1_456_865_906);
    const full = codec.decode(bytes, { readerRevision: newest!.revision });
    assert.ok(full.ok);
    assert.deepEqual(lean.record, full.record);
  });

  test('a nested time field (dotted path) falls back to the record', () => {
    const codec = new MessageCodec(own);
    const entry = own.latest('EditAttempt')!;
    const { record, bytes } = message(own, codec, entry.revision, 3);
    const lean = codec.decodeForIngest(bytes, {
      readerRevision: entry.revision,
      timestampField: 'performance.loadMs',
    });
    assert.ok(lean.ok);
    assert.equal(lean.timestamp, (record.performance as { loadMs: number }).loadMs);
    assert.ok(lean.record !== undefined);
  });

  test('a field the schema lacks reads as undefined (then MISSING_TIMESTAMP), not as another field', () => {
    const codec = new MessageCodec(own);
    const entry = own.latest('EditAttempt')!;
    const { bytes } = message(own, codec, entry.revision, 4);
    const lean = codec.decodeForIngest(bytes, { readerRevision: entry.revision, timestampField: 'dt' });
    assert.ok(lean.ok);
    assert.equal(lean.timestamp, undefined);
  });

  test('bad messages fail exactly as with decode, and a failure never leaves a stale time behind', () => {
    const codec = new MessageCodec(own);
    const entry = own.latest('EditAttempt')!;
    const { bytes } = message(own, codec, entry.revision, 5);
    const truncated = bytes.subarray(0, bytes.length - 1);
    const trailing = Buffer.concat([bytes, Buffer.from([0])]);
    for (const bad of [truncated, trailing, bytes.subarray(0, 4)]) {
      const full = codec.decode(bad, { readerRevision: entry.revision });
      const lean = codec.decodeForIngest(bad, { readerRevision: entry.revision, timestampField: 'ts' });
      assert.equal(lean.ok, false);
      assert.deepEqual(lean, full);
    }
    const good = codec.decodeForIngest(bytes, { readerRevision: entry.revision, timestampField: 'ts' });
    assert.ok(good.ok);
    assert.equal(good.timestamp, 1_700_000_005);
  });
});
