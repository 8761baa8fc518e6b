import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hourOf } from '../../src/hours/hour.js';
import { createTimestampParser, TimestampErrorCodes } from '../../src/hours/timestamp.js';
import { MessageCodec } from '../../src/schemas/codec.js';
import { DecodeErrorCodes } from '../../src/schemas/decode-error.js';
import { withHeader } from '../../src/schemas/header.js';
import { defaultRegistryRoot, SchemaRegistry } from '../../src/schemas/registry.js';
import { goldenFixtures } from './golden-fixtures.js';
import { randomValue } from './random-values.js';
import { apiActionRecord, cirrusRecord, seededRandom, WMF_FIXTURES } from './realistic-records.js';

/**
 * Random and mutated messages at the decoder: each one must come back decoded (and then be a valid
 * record of its reader schema) or rejected with a known code and a sentence; nothing may throw,
 * and no single message may take long (forged lengths and counts).
 */
const MESSAGES = 30_000;
const SLOW_MS = 100;

const project = await SchemaRegistry.load(defaultRegistryRoot(), { strict: true });
const wmf = await SchemaRegistry.load(WMF_FIXTURES, { strict: true });
const codes = new Set<string>(DecodeErrorCodes);

function corpus(registry: SchemaRegistry, random: () => number): Buffer[] {
  const codec = new MessageCodec(registry);
  const seeds: Buffer[] = goldenFixtures()
    .filter((f) => registries[f.registry] === registry)
    .map((f) => f.bytes);
  for (const name of registry.names()) {
    for (const entry of registry.revisions(name)) {
      for (let i = 0; i < 5; i++) {
        const record =
          name === 'CirrusSearchRequestSet'
            ? cirrusRecord(random)
            : name === 'ApiAction'
              ? apiActionRecord(random)
              : randomValue(entry.type, random);
        seeds.push(codec.encode(entry.revision, record));
      }
    }
  }
  return seeds;
}

const registries = { project, wmf };

function mutate(seed: Buffer, random: () => number, revisions: bigint[]): Buffer {
  const pick = (n: number) => Math.floor(random() * n);
  const bytes = Buffer.from(seed);
  switch (pick(9)) {
    case 0: // flip a few bytes
      for (let i = pick(4) + 1; i > 0 && bytes.length > 0; i--) bytes[pick(bytes.length)] = pick(256);
      return bytes;
    case 1: // cut anywhere
      return bytes.subarray(0, pick(bytes.length + 1));
    case 2: // append garbage
      return Buffer.concat([bytes, Buffer.from(Array.from({ length: pick(16) + 1 }, () => pick(256)))]);
    case 3: {
      // forge a varint: a run of continuation bytes somewhere in the body
      const at = 9 + pick(Math.max(1, bytes.length - 9));
      const run = Buffer.from([...Array.from({ length: pick(10) + 1 }, () => 0x80 | pick(128)), pick(128)]);
      return Buffer.concat([bytes.subarray(0, at), run, bytes.subarray(at + pick(3))]);
    }
    case 4: // the body of one revision under the header of another (often another schema)
      return withHeader(revisions[pick(revisions.length)]!, bytes.subarray(9));
    case 5: // delete a span
      {
        const at = pick(bytes.length + 1);
        return Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + pick(8) + 1)]);
      }
    case 6: // pure noise after a valid header
      return withHeader(
        revisions[pick(revisions.length)]!,
        Buffer.from(Array.from({ length: pick(300) }, () => pick(256))),
      );
    case 7: // pure noise
      return Buffer.from(Array.from({ length: pick(40) }, () => pick(256)));
    default: // a byte set to a value that is special in varints
      if (bytes.length > 0) bytes[pick(bytes.length)] = [0x00, 0x01, 0x7f, 0x80, 0xff][pick(5)]!;
      return bytes;
  }
}

for (const [label, registry] of Object.entries(registries)) {
  test(`fuzz: ${MESSAGES} random and mutated messages against the ${label} registry`, () => {
    const random = seededRandom(label === 'project' ? 20241122 : 4242);
    const codec = new MessageCodec(registry);
    const seeds = corpus(registry, random);
    const revisions = registry.names().flatMap((name) => registry.revisions(name).map((e) => e.revision));
    const seen = new Map<string, number>();
    let slowest = {
      ms: 0,
      message: Buffer.alloc(0) as Buffer,
      options: {} as Parameters<MessageCodec['decode']>[1],
    };
    for (let i = 0; i < MESSAGES; i++) {
      let message = seeds[Math.floor(random() * seeds.length)]!;
      for (let rounds = 1 + Math.floor(random() * 3); rounds > 0; rounds--)
        message = mutate(message, random, revisions);
      const writerRevision = message.length >= 9 && message[0] === 0 ? message.readBigInt64BE(1) : undefined;
      const writer = writerRevision === undefined ? undefined : registry.byRevision(writerRevision);
      const options =
        [
          {},
          { checkUtf8: true },
          ...(writer === undefined
            ? []
            : [{ schemaName: writer.name, readerRevision: registry.latest(writer.name)!.revision }]),
        ][i % 3] ?? {};
      const started = performance.now();
      let result: ReturnType<MessageCodec['decode']>;
      try {
        result = codec.decode(message, options);
        if (i % 10 === 0) codec.inspect(message, options);
      } catch (error) {
        assert.fail(`decode threw for ${message.toString('hex')}: ${(error as Error).stack}`);
      }
      const ms = performance.now() - started;
      if (ms > slowest.ms) slowest = { ms, message, options };
      if (result.ok) {
        seen.set('ok', (seen.get('ok') ?? 0) + 1);
        assert.ok(
          result.reader.type.isValid(result.record),
          `decoded record is not valid: ${message.toString('hex')}`,
        );
        if (result.bodyIsReaderEncoding)
          assert.deepEqual(result.reader.type.fromBuffer(result.body), result.record);
      } else {
        seen.set(result.code, (seen.get(result.code) ?? 0) + 1);
        assert.ok(codes.has(result.code), result.code);
        assert.ok(result.message.length > 20, result.message);
      }
    }
    // A message that is slow to decode is slow every time; one the scheduler or a GC paused is not.
    let fastest = Number.POSITIVE_INFINITY;
    for (let again = 0; again < 5; again++) {
      const started = performance.now();
      codec.decode(slowest.message, slowest.options);
      fastest = Math.min(fastest, performance.now() - started);
    }
    assert.ok(
      fastest < SLOW_MS,
      `decoding ${slowest.message.toString('hex').slice(0, 200)} takes ${fastest.toFixed(1)} ms, every time`,
    );
    // The mutations reach the body decoder, not just the header checks.
    for (const code of [
      'ok',
      'BAD_MAGIC',
      'UNKNOWN_REVISION',
      'BODY_TRUNCATED',
      'TRAILING_BYTES',
      'INVALID_VALUE',
    ]) {
      assert.ok(
        (seen.get(code) ?? 0) > 50,
        `only ${seen.get(code) ?? 0} × ${code}: ${JSON.stringify([...seen])}`,
      );
    }
  });
}

/**
 * The time field is the other value from the wire that the ingest computes with: whatever the
 * decoded field holds, the parser returns a time inside the accepted range or an error with a known
 * code and a sentence, and never throws (a value beyond a Date's range once did, in the message).
 */
test('fuzz: 20000 hostile values of the time field in each timestamp format', () => {
  const random = seededRandom(9001);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const digits = (n: number) => Array.from({ length: n }, () => Math.floor(random() * 10)).join('');
  const values: (() => unknown)[] = [
    () => (random() - 0.5) * 10 ** Math.floor(random() * 310),
    () => Math.floor((random() - 0.5) * 2 ** Math.floor(random() * 64)),
    () =>
      pick([
        Number.NaN,
        Number.POSITIVE_INFINITY,
        Number.NEGATIVE_INFINITY,
        -0,
        9e15,
        8.64e15,
        2 ** 53,
        2 ** 31 - 1,
      ]),
    () => BigInt(Math.floor((random() - 0.5) * 2 ** 40)) * 10n ** BigInt(Math.floor(random() * 12)),
    () => `${random() < 0.2 ? '-' : ''}${digits(1 + Math.floor(random() * 25))}`,
    () =>
      `${pick(['', '+', '-'])}${digits(pick([4, 6]))}-${digits(2)}-${digits(2)}${pick(['T', ' '])}${digits(2)}:${digits(2)}:${digits(2)}${pick(['', 'Z', '+14:00', '.999999999Z'])}`,
    () =>
      Buffer.from(
        Array.from({ length: Math.floor(random() * 20) }, () => Math.floor(random() * 256)),
      ).toString('latin1'),
    () => pick([null, undefined, true, false, '', {}, [], { ts: 5n }, [1n, 'x'], Buffer.from('ts')]),
  ];
  const formats = [
    'unix_seconds',
    'unix_milliseconds',
    'ISO-8601',
    'yyyy-MM-dd HH:mm:ss',
    "yyyy-MM-dd'T'HH:mm:ssX",
  ];
  const known = new Set<string>(TimestampErrorCodes);
  const now = Date.now();
  for (const format of formats) {
    const parse = createTimestampParser({ field: 'ts', format }, { now: () => now });
    const seen = new Map<string, number>();
    for (let i = 0; i < 4000; i++) {
      const value = pick(values)();
      let result: ReturnType<typeof parse>;
      try {
        result = parse(value);
      } catch (error) {
        assert.fail(`${format}: parsing ${String(value)} threw ${(error as Error).stack}`);
      }
      if (result.ok) {
        assert.ok(Number.isSafeInteger(result.epochMs), `${format}: ${String(value)} → ${result.epochMs}`);
        assert.ok(result.epochMs >= Date.UTC(2001, 0, 15) && result.epochMs <= now + 86_400_000);
        hourOf(result.epochMs);
        new Date(result.epochMs).toISOString();
      } else {
        assert.ok(known.has(result.code), result.code);
        assert.ok(result.message.length > 20 && result.message.length < 600, result.message);
      }
      const key = result.ok ? 'ok' : result.code;
      seen.set(key, (seen.get(key) ?? 0) + 1);
    }
    assert.ok(
      (seen.get('TIMESTAMP_OUT_OF_RANGE') ?? 0) + (seen.get('BAD_TIMESTAMP') ?? 0) > 500,
      `${format}: ${JSON.stringify([...seen])}`,
    );
  }
});
