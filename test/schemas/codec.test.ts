import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isMwiError } from '../../src/errors.js';
import { MAX_ZERO_WIDTH_ITEMS } from '../../src/schemas/body-check.js';
import { MessageCodec } from '../../src/schemas/codec.js';
import { encodeHeader, withHeader } from '../../src/schemas/header.js';
import { defaultRegistryRoot, SchemaRegistry } from '../../src/schemas/registry.js';

const EDIT_V10 = 101704113721n;
const EDIT_V12 = 121725201754n;
const project = await SchemaRegistry.load(defaultRegistryRoot(), { strict: true });

/** A registry of crafted schemas, one file per `<Name>/<revision>`. */
function registryOf(schemas: Record<string, object>): SchemaRegistry {
  const files = Object.entries(schemas).map(([key, json]) => ({
    path: `/mem/avro/mediawiki/${key}.avsc`,
    text: JSON.stringify(json),
  }));
  return SchemaRegistry.fromFiles('/mem', files, { strict: true });
}

function zigzag(n: bigint): Buffer {
  let u = n >= 0n ? n << 1n : (-n << 1n) - 1n;
  const out: number[] = [];
  do {
    const b = Number(u & 0x7fn);
    u >>= 7n;
    out.push(u > 0n ? b | 0x80 : b);
  } while (u > 0n);
  return Buffer.from(out);
}

const v = (n: number | bigint) => zigzag(BigInt(n));
const str = (text: string) => Buffer.concat([v(Buffer.byteLength(text)), Buffer.from(text)]);

function editV10Body(overrides: { action?: Buffer; wiki?: Buffer } = {}): Buffer {
  return Buffer.concat([
    v(1704113721),
    overrides.wiki ?? str('enwiki'),
    str('s1'),
    v(12),
    v(0),
    v(99),
    v(0),
    v(0),
    v(1),
    overrides.action ?? v(0),
    v(0),
  ]);
}

describe('decode', () => {
  const codec = new MessageCodec(project);

  test('a valid message gives the record, the body view and no resolution when the writer is the reader', () => {
    const message = withHeader(EDIT_V10, editV10Body());
    const result = codec.decode(message, { schemaName: 'EditAttempt' });
    assert.ok(result.ok);
    assert.equal(result.revision, EDIT_V10);
    assert.equal(result.writer, project.get('EditAttempt', EDIT_V10));
    assert.equal(result.reader, result.writer);
    assert.equal(result.bodyIsReaderEncoding, true);
    assert.equal(result.body.buffer, message.buffer, 'the body is a view, not a copy');
    assert.deepEqual(result.body, message.subarray(9));
    assert.equal((result.record as { action: string }).action, 'init');
  });

  test('longs: safe values are numbers, others bigints, and both encode back exactly', () => {
    const entry = project.get('EditAttempt', EDIT_V12)!;
    const cases: [number | bigint, number | bigint][] = [
      [0, 0],
      [2 ** 53 - 1, 2 ** 53 - 1],
      [-(2 ** 53 - 1), -(2 ** 53 - 1)],
      [2n ** 53n, 2n ** 53n],
      [-(2n ** 53n), -(2n ** 53n)],
      [12345n, 12345], // a small bigint comes back as a number
      [2n ** 63n - 1n, 2n ** 63n - 1n],
      [-(2n ** 63n), -(2n ** 63n)],
    ];
    for (const [written, read] of cases) {
      const record = { ...entry.type.random(), userId: written, timings: { x: written } } as Record<
        string,
        unknown
      >;
      const result = codec.decode(codec.encode(EDIT_V12, record));
      assert.ok(result.ok, result.ok ? '' : result.message);
      const got = result.record as { userId: unknown; timings: { x: unknown } };
      assert.equal(typeof got.userId, typeof read, `type of ${written}`);
      assert.equal(got.userId, read);
      assert.equal(got.timings.x, read);
    }
    assert.throws(
      () => codec.encode(EDIT_V12, { ...entry.type.random(), userId: 2n ** 63n }),
      (e) => isMwiError(e, 'MWI_MESSAGE_INVALID'),
    );
    assert.throws(() => codec.encode(EDIT_V12, { ...entry.type.random(), userId: 2 ** 60 }), /userId/);
  });

  test('an int written by an older revision resolves into a long of a newer one', () => {
    const registry = registryOf({
      'Counter/101700000000': { type: 'record', name: 'Counter', fields: [{ name: 'n', type: 'int' }] },
      'Counter/111700000000': {
        type: 'record',
        name: 'Counter',
        fields: [
          { name: 'n', type: 'long' },
          { name: 'f', type: 'float', default: 1.5 },
        ],
      },
    });
    const c = new MessageCodec(registry);
    const result = c.decode(withHeader(101700000000n, v(-7)), { readerRevision: 111700000000n });
    assert.ok(result.ok, result.ok ? '' : result.message);
    assert.deepEqual({ ...(result.record as object) }, { n: -7, f: 1.5 });
    assert.equal(result.bodyIsReaderEncoding, false);
  });

  test('each failure has its code, and the message says what to do', () => {
    const cases: [string, Buffer, object, string, RegExp][] = [
      ['empty', Buffer.alloc(0), {}, 'EMPTY_MESSAGE', /empty/],
      ['one byte', Buffer.from([0]), {}, 'SHORT_MESSAGE', /1 byte, fewer than the 9-byte header/],
      ['container file', Buffer.from('Obj\x01rest of a file'), {}, 'BAD_MAGIC', /Avro container file/],
      [
        'negative revision',
        withHeader(-5n, editV10Body()),
        {},
        'UNKNOWN_REVISION',
        /holds -5, which is not a schema revision id/,
      ],
      [
        'unknown revision, no topic',
        withHeader(131800000000n, editV10Body()),
        {},
        'UNKNOWN_REVISION',
        /schemas there: ApiAction, CirrusSearchRequestSet, EditAttempt, SearchSatisfaction/,
      ],
      [
        'unknown reader',
        withHeader(EDIT_V10, editV10Body()),
        { readerRevision: 131800000000n },
        'UNKNOWN_READER',
        /reader revision 131800000000 is not in the registry/,
      ],
      [
        'reader of another schema',
        withHeader(EDIT_V10, editV10Body()),
        { readerRevision: 101709290113n },
        'UNRESOLVABLE',
        /cannot be read with a SearchSatisfaction schema/,
      ],
      [
        'a header and no body',
        withHeader(EDIT_V10, Buffer.alloc(0)),
        {},
        'BODY_TRUNCATED',
        /in ts .*an int is cut off/,
      ],
    ];
    for (const [what, message, options, code, pattern] of cases) {
      const result = codec.decode(message, options);
      assert.equal(result.ok, false, what);
      if (result.ok) continue;
      assert.equal(result.code, code, `${what}: ${result.message}`);
      assert.match(result.message, pattern, what);
    }
  });

  test('a reader that cannot read the writer gives UNRESOLVABLE with the field path, and is remembered', () => {
    const registry = registryOf({
      'Thing/101700000000': { type: 'record', name: 'Thing', fields: [{ name: 'a', type: 'string' }] },
      'Thing/111700000000': {
        type: 'record',
        name: 'Thing',
        fields: [
          { name: 'a', type: 'string' },
          { name: 'b', type: 'int' },
        ],
      },
    });
    const c = new MessageCodec(registry);
    for (let i = 0; i < 2; i++) {
      const result = c.decode(withHeader(101700000000n, str('x')), { readerRevision: 111700000000n });
      assert.ok(!result.ok);
      assert.equal(result.code, 'UNRESOLVABLE');
      assert.match(
        result.message,
        /Thing\.b: the reader's field b is not in the writer's schema and has no default/,
      );
    }
  });

  test('values the schema forbids are refused with the field path', () => {
    const registry = registryOf({
      'Odd/101700000000': {
        type: 'record',
        name: 'Odd',
        fields: [
          { name: 'flag', type: 'boolean' },
          { name: 'big', type: 'long' },
          { name: 'tags', type: { type: 'array', items: 'string' } },
        ],
      },
    });
    const c = new MessageCodec(registry);
    const rev = 101700000000n;
    const cases: [string, Buffer, string, RegExp][] = [
      ['boolean byte 2', Buffer.from([2, 0, 0]), 'INVALID_VALUE', /in flag .*boolean byte is 0x02/],
      [
        '11-byte long',
        Buffer.from([0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0]),
        'INVALID_VALUE',
        /in big .*too long/,
      ],
      [
        'long with bit 64 set',
        Buffer.from([0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0]),
        'INVALID_VALUE',
        /in big/,
      ],
      [
        'block size that does not match',
        Buffer.concat([Buffer.from([0, 0]), v(-1), v(5), str('ab'), v(0)]),
        'INVALID_VALUE',
        /in tags .*says it has 5 bytes but its items take 3/,
      ],
      [
        'negative block size',
        Buffer.concat([Buffer.from([0, 0]), v(-1), v(-3), str('ab'), v(0)]),
        'INVALID_VALUE',
        /block size is negative/,
      ],
      [
        'second array item cut',
        Buffer.concat([Buffer.from([0, 0]), v(2), str('ab'), v(4), Buffer.from('x')]),
        'BODY_TRUNCATED',
        /in tags\[1\]/,
      ],
      [
        'missing end of array',
        Buffer.concat([Buffer.from([0, 0]), v(1), str('ab')]),
        'BODY_TRUNCATED',
        /in tags/,
      ],
    ];
    for (const [what, body, code, pattern] of cases) {
      const result = c.decode(withHeader(rev, body));
      assert.ok(!result.ok, what);
      assert.equal(result.code, code, `${what}: ${result.message}`);
      assert.match(result.message, pattern, what);
    }
    const max = c.decode(
      withHeader(rev, Buffer.from([1, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0])),
    );
    assert.ok(max.ok, 'the largest long is accepted');
    assert.equal((max.record as { big: bigint }).big, 2n ** 63n - 1n);
  });

  test('forged counts and lengths are refused at once, without allocating or looping', () => {
    const registry = registryOf({
      'Forged/101700000000': {
        type: 'record',
        name: 'Forged',
        fields: [
          { name: 'nulls', type: { type: 'array', items: 'null' } },
          { name: 'labels', type: { type: 'map', values: 'int' } },
          { name: 'blob', type: 'bytes' },
        ],
      },
    });
    const c = new MessageCodec(registry);
    const rev = 101700000000n;
    const started = Date.now();
    const huge = v(2n ** 62n);
    const cases: [Buffer, string, RegExp][] = [
      [Buffer.concat([huge, v(0), v(0)]), 'INVALID_VALUE', /zero-byte items counts more than/],
      [
        Buffer.concat([v(MAX_ZERO_WIDTH_ITEMS), v(MAX_ZERO_WIDTH_ITEMS), v(0), v(0), v(0)]),
        'INVALID_VALUE',
        /zero-byte items/,
      ],
      [Buffer.concat([v(0), huge, v(0)]), 'BODY_TRUNCATED', /in labels .*announces/],
      [
        Buffer.concat([v(0), v(0), huge]),
        'BODY_TRUNCATED',
        /in blob .*needs 9223372036854775808 bytes|in blob .*needs/,
      ],
      [Buffer.concat([v(0), v(0), v(2 ** 31)]), 'BODY_TRUNCATED', /in blob/],
    ];
    for (const [body, code, pattern] of cases) {
      const result = c.decode(withHeader(rev, body));
      assert.ok(!result.ok);
      assert.equal(result.code, code, result.message);
      assert.match(result.message, pattern);
    }
    const fine = c.decode(
      withHeader(rev, Buffer.concat([v(1000), v(0), v(1), str('k'), v(5), v(0), str('abc')])),
    );
    assert.ok(fine.ok, fine.ok ? '' : fine.message);
    assert.equal((fine.record as { nulls: unknown[] }).nulls.length, 1000);
    assert.ok(Date.now() - started < 2000, 'forged counts must not take time');
  });

  test('a recursive schema nested deeper than the stack is refused, not thrown', () => {
    const registry = registryOf({
      'Chain/101700000000': {
        type: 'record',
        name: 'Chain',
        fields: [{ name: 'next', type: ['null', 'Chain'] }],
      },
    });
    const c = new MessageCodec(registry);
    const deep = Buffer.alloc(2_000_000, 0x02); // branch 1 (Chain) again and again
    deep[deep.length - 1] = 0;
    const result = c.decode(withHeader(101700000000n, deep));
    assert.ok(!result.ok);
    assert.equal(result.code, 'INVALID_VALUE');
    assert.match(result.message, /nests too deeply/);
    const shallow = c.decode(withHeader(101700000000n, Buffer.from([2, 2, 0])));
    assert.ok(shallow.ok);
  });

  test('UTF-8 is checked only when asked', () => {
    const body = editV10Body({ wiki: Buffer.concat([v(2), Buffer.from([0xc3, 0x28])]) });
    const message = withHeader(EDIT_V10, body);
    assert.ok(codec.decode(message).ok);
    const checked = codec.decode(message, { checkUtf8: true });
    assert.ok(!checked.ok);
    assert.match(checked.message, /in wiki .*not valid UTF-8/);
    assert.ok(
      !new MessageCodec(project, { checkUtf8: true }).decode(message).ok,
      'the codec default applies',
    );
  });
});

describe('inspect', () => {
  const codec = new MessageCodec(project);

  test('goes on after a wrong schema or revision and reports the body problems too', () => {
    const body = editV10Body().subarray(0, 10);
    const report = codec.inspect(withHeader(EDIT_V10, body), {
      schemaName: 'SearchSatisfaction',
      expectRevision: EDIT_V12,
    });
    assert.deepEqual(
      report.problems.map((p) => p.code),
      ['WRONG_SCHEMA', 'UNEXPECTED_REVISION', 'BODY_TRUNCATED'],
    );
    assert.equal(report.magic, 0);
    assert.equal(report.revision, EDIT_V10);
    assert.deepEqual(report.revisionParts, { version: 10, createdAt: 1704113721 });
    assert.equal(report.writer?.name, 'EditAttempt');
    assert.equal(report.bodyLength, 10);
    assert.equal(report.record, undefined);
  });

  test('a valid message has no problems and its record; an unresolvable one still shows the record as written', () => {
    const message = withHeader(EDIT_V10, editV10Body());
    const ok = codec.inspect(message, { schemaName: 'EditAttempt', readerRevision: EDIT_V12 });
    assert.deepEqual(ok.problems, []);
    assert.equal(ok.reader?.revision, EDIT_V12);
    assert.equal((ok.record as { saveFailureType: unknown }).saveFailureType, null);
    const other = codec.inspect(message, { readerRevision: 101709290113n });
    assert.deepEqual(
      other.problems.map((p) => p.code),
      ['UNRESOLVABLE'],
    );
    assert.equal((other.record as { wiki: string }).wiki, 'enwiki');
  });
});

describe('encode', () => {
  const codec = new MessageCodec(project);

  test('writes the header and a body that decodes to the same record, for large records too', () => {
    const entry = project.get('EditAttempt', EDIT_V12)!;
    const record = { ...entry.type.random(), tags: Array.from({ length: 20_000 }, (_, i) => `tag ${i}`) };
    const message = codec.encode(EDIT_V12, record);
    assert.deepEqual(message.subarray(0, 9), encodeHeader(EDIT_V12));
    assert.ok(message.length > 64 * 1024, 'bigger than the first scratch buffer');
    const result = codec.decode(message);
    assert.ok(result.ok);
    assert.deepEqual((result.record as { tags: string[] }).tags, record.tags);
  });

  test('refuses an unknown revision and a record that does not fit, naming the field', () => {
    assert.throws(
      () => codec.encode(131800000000n, {}),
      (e) => isMwiError(e, 'MWI_UNKNOWN_REVISION'),
    );
    const entry = project.get('EditAttempt', EDIT_V10)!;
    assert.throws(
      () => codec.encode(EDIT_V10, { ...entry.type.random(), action: 'publish' }),
      (e) => isMwiError(e, 'MWI_MESSAGE_INVALID') && /action: expected enum, got "publish"/.test(e.message),
    );
  });
});

test('a revision that changed only docs and defaults keeps its bodies as the reader encoding', () => {
  const fields = (doc: string, fallback: number) => [
    { name: 'ts', type: 'int', default: fallback, doc },
    { name: 'tags', type: { type: 'array', items: 'string' }, default: [] },
  ];
  const registry = SchemaRegistry.fromFiles(
    '/mem',
    [
      {
        path: '/mem/avro/mediawiki/Same/101700000000.avsc',
        text: JSON.stringify({ type: 'record', name: 'Same', fields: fields('a', 0) }),
      },
      {
        path: '/mem/avro/mediawiki/Same/111700000000.avsc',
        text: JSON.stringify({ type: 'record', name: 'Same', fields: fields('b', -1) }),
      },
    ],
    { strict: true },
  );
  const codec = new MessageCodec(registry);
  const result = codec.decode(withHeader(101700000000n, Buffer.from([0x02, 0x02, 0x02, 0x41, 0x00])), {
    readerRevision: 111700000000n,
  });
  assert.ok(result.ok, result.ok ? '' : result.message);
  assert.equal(result.reader.revision, 111700000000n);
  assert.equal(result.bodyIsReaderEncoding, true);
  assert.deepEqual({ ...(result.record as object) }, { ts: 1, tags: ['A'] });
});
