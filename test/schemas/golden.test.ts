import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MessageCodec } from '../../src/schemas/codec.js';
import { toAvroJson } from '../../src/schemas/json.js';
import { defaultRegistryRoot, SchemaRegistry, schemaNameOfTopic } from '../../src/schemas/registry.js';
import { goldenFixtures } from './golden-fixtures.js';
import { WMF_FIXTURES } from './realistic-records.js';

const registries = {
  project: await SchemaRegistry.load(defaultRegistryRoot(), { strict: true }),
  wmf: await SchemaRegistry.load(WMF_FIXTURES, { strict: true }),
};
const fixtures = goldenFixtures();

test('there are golden messages for every decode failure code but UNKNOWN_READER and UNRESOLVABLE', () => {
  const codes = new Set(fixtures.flatMap((f) => (f.expect.ok ? [] : [f.expect.code])));
  for (const code of [
    'EMPTY_MESSAGE',
    'SHORT_MESSAGE',
    'BAD_MAGIC',
    'UNKNOWN_REVISION',
    'WRONG_SCHEMA',
    'UNEXPECTED_REVISION',
    'BODY_TRUNCATED',
    'TRAILING_BYTES',
    'INVALID_VALUE',
  ]) {
    assert.ok(codes.has(code), `no golden message for ${code}`);
  }
});

for (const fixture of fixtures) {
  test(`golden message ${fixture.name}: ${fixture.about}`, () => {
    const codec = new MessageCodec(registries[fixture.registry]);
    const { topic, ...rest } = fixture.options;
    const result = codec.decode(fixture.bytes, {
      ...rest,
      ...(topic === undefined ? {} : { schemaName: schemaNameOfTopic(topic) }),
    });
    const expect = fixture.expect;
    if (!expect.ok) {
      assert.equal(result.ok, false, 'the message must be rejected');
      if (result.ok) return;
      assert.equal(result.code, expect.code, result.message);
      for (const part of expect.messageIncludes)
        assert.ok(result.message.includes(part), `"${result.message}" lacks "${part}"`);
      return;
    }
    assert.equal(result.ok, true, result.ok ? '' : `${result.code}: ${result.message}`);
    if (!result.ok) return;
    assert.equal(result.revision, expect.revision);
    assert.equal(result.writer.name, expect.writer);
    assert.equal(result.reader.revision, expect.reader);
    assert.equal(result.bodyIsReaderEncoding, expect.bodyIsReaderEncoding);
    assert.deepEqual(toAvroJson(result.reader.type, result.record), expect.record);
    if (result.bodyIsReaderEncoding) {
      // The body bytes are a reader's encoding of the record (not always avsc's canonical one:
      // edit-attempt-v12 writes an array block with a byte size), so they can go into a file as they are.
      assert.deepEqual(result.reader.type.fromBuffer(result.body), result.record);
    }
  });
}
