import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeHeader, parseHeader, withHeader } from '../../src/schemas/header.js';

test('the header is 0x00 then the revision as a signed 64-bit big-endian integer', () => {
  const revision = 111448028943n;
  const header = encodeHeader(revision);
  assert.equal(header.length, 9);
  assert.equal(header[0], 0);
  let value = 0n;
  for (const byte of header.subarray(1)) value = value * 256n + BigInt(byte);
  assert.equal(value, revision);
  assert.deepEqual(parseHeader(withHeader(revision, Buffer.from([1, 2]))), { ok: true, revision });
  // Negative ids read as negative (Java's readLong), not as huge unsigned values.
  assert.deepEqual(parseHeader(Buffer.from([0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe])), {
    ok: true,
    revision: -2n,
  });
});

test('empty, short and wrong-magic messages are named, with a hint at what they are', () => {
  const check = (bytes: number[] | string, code: string, pattern: RegExp) => {
    const result = parseHeader(Buffer.from(bytes as never));
    assert.equal(result.ok, false);
    if (result.ok) return;
    assert.equal(result.code, code);
    assert.match(result.message, pattern);
  };
  check([], 'EMPTY_MESSAGE', /empty \(0 bytes\)/);
  check([0, 0, 0], 'SHORT_MESSAGE', /3 bytes, fewer than the 9-byte header/);
  check('{"ts":1}', 'BAD_MAGIC', /0x7b.*looks like JSON/);
  check('\n\0\0\0\0\0\0\0\0\0', 'BAD_MAGIC', /0x0a.*line break/);
  check([0x05, 0, 0, 0, 0, 0, 0, 0, 0, 0], 'BAD_MAGIC', /0x05, not 0x00/);
  // A wrong magic byte wins over length: a 3-byte JSON value is still "not Avro".
  check('[1]', 'BAD_MAGIC', /JSON/);
});
