import assert from 'node:assert/strict';
import { test } from 'node:test';
import { avroTypeOf } from '../../src/schemas/avro-type.js';
import { stringifyJson, toAvroJson } from '../../src/schemas/json.js';

test('stringifyJson prints bigints exactly and is JSON.stringify otherwise', () => {
  const value = {
    a: 9007199254740993n,
    b: [-(2n ** 63n), 1.5, 'x"y', null, true],
    c: { d: undefined, e: {} },
    f: [],
  };
  assert.equal(
    stringifyJson(value),
    '{"a":9007199254740993,"b":[-9223372036854775808,1.5,"x\\"y",null,true],"c":{"e":{}},"f":[]}',
  );
  const plain = { a: 1, b: [1, { c: 'd' }], e: {}, f: [] };
  assert.equal(stringifyJson(plain, 2), JSON.stringify(plain, null, 2));
  assert.equal(stringifyJson(plain), JSON.stringify(plain));
  assert.equal(stringifyJson([Number.NaN, Number.POSITIVE_INFINITY]), '["NaN","Infinity"]');
  assert.equal(stringifyJson({ when: new Date(0) }), '{"when":"1970-01-01T00:00:00.000Z"}');
});

test('toAvroJson gives the Avro JSON encoding: wrapped unions, bytes as latin-1 strings, exact longs', () => {
  const type = avroTypeOf({
    type: 'record',
    name: 'R',
    namespace: 'org.x',
    fields: [
      { name: 'u', type: ['null', 'string'] },
      { name: 'e', type: ['null', { type: 'enum', name: 'E', symbols: ['A', 'B'] }] },
      { name: 'b', type: 'bytes' },
      { name: 'l', type: 'long' },
    ],
  });
  const record = type.fromBuffer(
    type.toBuffer({ u: 'hi', e: 'B', b: Buffer.from([0, 0xe9, 0xff]), l: 2n ** 60n + 1n }),
  );
  const json = toAvroJson(type, record);
  assert.deepEqual(json, {
    u: { string: 'hi' },
    e: { 'org.x.E': 'B' },
    b: '\u0000\u00e9\u00ff',
    l: 2n ** 60n + 1n,
  });
  assert.equal(Object.getPrototypeOf(json), Object.prototype, 'plain objects, as parsed JSON');
  assert.equal(
    stringifyJson(json),
    '{"u":{"string":"hi"},"e":{"org.x.E":"B"},"b":"\\u0000éÿ","l":1152921504606846977}',
  );
});
