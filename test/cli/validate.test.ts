import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { ValidateExit, worstExit } from '../../src/cli/validate.js';
import { MessageCodec } from '../../src/schemas/codec.js';
import { withHeader } from '../../src/schemas/header.js';
import { defaultRegistryRoot, SchemaRegistry } from '../../src/schemas/registry.js';
import { parseJsonExact } from '../schemas/exact-json.js';
import { goldenFixtures } from '../schemas/golden-fixtures.js';
import { WMF_FIXTURES } from '../schemas/realistic-records.js';
import { runMwingest } from '../support/cli.js';

const mwingest = (args: string[], stdin?: Buffer) => runMwingest(args, stdin === undefined ? {} : { stdin });

const temp = await mkdtemp(join(tmpdir(), 'mwingest-validate-'));
after(() => rm(temp, { recursive: true, force: true }));

const project = await SchemaRegistry.load(defaultRegistryRoot(), { strict: true });
const codec = new MessageCodec(project);
const EDIT_V10 = 101704113721n;
const editV10 = goldenFixtures().find((f) => f.name === 'edit-attempt-v10')!.bytes;

function argsOf(fixture: ReturnType<typeof goldenFixtures>[number]): string[] {
  const { topic, expectRevision, readerRevision } = fixture.options;
  return [
    'validate',
    ...(fixture.registry === 'wmf' ? ['--registry', WMF_FIXTURES] : []),
    ...(topic === undefined ? [] : ['--topic', topic]),
    ...(expectRevision === undefined ? [] : ['--expect-rev', String(expectRevision)]),
    ...(readerRevision === undefined ? [] : ['--reader-rev', String(readerRevision)]),
  ];
}

describe('every golden message through the CLI: exit code and message', { concurrency: 4 }, () => {
  for (const fixture of goldenFixtures()) {
    test(`${fixture.name} → exit ${fixture.exit}`, async () => {
      const file = join(temp, `${fixture.name}.avro`);
      await writeFile(file, fixture.bytes);
      const text = await mwingest([...argsOf(fixture), file]);
      assert.equal(text.code, fixture.exit, text.stdout + text.stderr);
      const json = await mwingest([...argsOf(fixture), '--json', file]);
      assert.equal(json.code, fixture.exit, json.stderr);
      const report = parseJsonExact(json.stdout) as Record<string, unknown> & {
        errors: { code: string; message: string }[];
      };
      assert.equal(report.input, file);
      assert.equal(report.valid, fixture.exit === 0);
      assert.equal(report.exitCode, fixture.exit);
      assert.equal(report.magic, fixture.bytes.length === 0 ? null : fixture.bytes[0]);
      const expect = fixture.expect;
      if (expect.ok) {
        assert.match(text.stdout, new RegExp(`^${file}: valid\\n`));
        assert.match(
          text.stdout,
          new RegExp(`magic byte +0x00\\n +revision +${expect.revision} \\(version \\d+, made \\d{4}-`),
        );
        assert.deepEqual(report.errors, []);
        assert.equal(BigInt(report.revision as number), expect.revision);
        assert.equal((report.schema as { name: string }).name, expect.writer);
        assert.match(
          (report.schema as { path: string }).path,
          new RegExp(`/avro/mediawiki/${expect.writer}/${expect.revision}\\.avsc$`),
        );
        assert.deepEqual(report.record, expect.record);
        return;
      }
      // The problem is a sentence naming the input, in both forms.
      assert.match(text.stdout, new RegExp(`^${file}: INVALID \\(exit ${fixture.exit}\\)`));
      assert.ok(text.stdout.includes(`${expect.code}: ${file}: `), text.stdout);
      const error = report.errors.find((e) => e.code === expect.code);
      assert.ok(error, JSON.stringify(report.errors));
      assert.ok(error.message.startsWith(`${file}: `), error.message);
      for (const part of expect.messageIncludes)
        assert.ok(error.message.includes(part), `"${error.message}" lacks "${part}"`);
      // A wrong or unexpected revision still shows what the message holds; a broken one cannot.
      if (fixture.exit === ValidateExit.mismatch) assert.notEqual(report.record, null);
      else assert.equal(report.record, null);
    });
  }
});

describe('validate', { concurrency: 4 }, () => {
  test('reads stdin, and takes a final newline as the one kcat adds', async () => {
    const withNewline = Buffer.concat([editV10, Buffer.from('\n')]);
    const piped = await mwingest(['validate', '--topic', 'mediawiki_EditAttempt', '-'], withNewline);
    assert.equal(piped.code, 0, piped.stdout);
    assert.match(piped.stdout, /^stdin: valid/);
    assert.match(
      piped.stdout,
      /note +the input ends with one newline \(0x0a\) after the record: kcat's default message delimiter/,
    );
    const strict = await mwingest(['validate', '--no-kcat-newline', '-'], withNewline);
    assert.equal(strict.code, ValidateExit.badBody);
    assert.match(strict.stdout, /TRAILING_BYTES: stdin: 1 byte is left over/);
    // Two trailing bytes are not kcat's doing.
    const two = await mwingest(['validate', '-'], Buffer.concat([editV10, Buffer.from('\n\n')]));
    assert.equal(two.code, ValidateExit.badBody);
  });

  test('several problems: every one is listed, and the exit code is the most severe', async () => {
    const cut = editV10.subarray(0, 20);
    const run = await mwingest(
      ['validate', '--topic', 'mediawiki_SearchSatisfaction', '--expect-rev', '121725201754', '--json', '-'],
      cut,
    );
    const report = parseJsonExact(run.stdout) as { errors: { code: string }[] };
    assert.deepEqual(
      report.errors.map((e) => e.code),
      ['WRONG_SCHEMA', 'UNEXPECTED_REVISION', 'BODY_TRUNCATED'],
    );
    assert.equal(run.code, ValidateExit.badBody);
  });

  test('--reader-rev shows the record resolved to that revision', async () => {
    const run = await mwingest(['validate', '--reader-rev', '121725201754', '-'], editV10);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /read as +121725201754 \(version 12, made 2024-09-01T14:42:34Z\), resolved/);
    assert.match(run.stdout, /"performance": \{\n +"loadMs": -1,/);
  });

  test('longs beyond 2^53 print exactly', async () => {
    const entry = project.get('EditAttempt', 121725201754n)!;
    const record = { ...(entry.type.random() as object), userId: 2n ** 62n + 3n, timings: {} };
    const run = await mwingest(['validate', '--json', '-'], codec.encode(entry.revision, record));
    assert.equal(run.code, 0, run.stderr);
    assert.ok(run.stdout.includes('"userId":4611686018427387907'), run.stdout);
  });

  test('usage mistakes exit 2 with a sentence saying what is wrong', async () => {
    const cases: [string[], RegExp][] = [
      [
        ['validate', '--expect-rev', '1448028943', '-'],
        /--expect-rev.*"1448028943" is not a schema revision id/,
      ],
      [
        ['validate', '--reader-rev', '131800000000', '--topic', 'mediawiki_EditAttempt', '-'],
        /--reader-rev 131800000000 is not in the registry .*known revisions of EditAttempt: 101704113721/,
      ],
      [
        ['validate', '--reader-rev', '101709290113', '--topic', 'mediawiki_EditAttempt', '-'],
        /is a revision of SearchSatisfaction, not of EditAttempt/,
      ],
      [['validate', '--partition', '3', '-'], /--partition only applies to Kafka input/],
      [['validate', '--brokers', '127.0.0.1:9092'], /--brokers needs --topic/],
      [['validate', '--brokers', 'localhost', '--topic', 'mediawiki_X'], /expected host:port/],
      [['validate', '--offset', 'newest', '-'], /expected an offset/],
      [['validate', '--count', '0', '-'], /expected an integer ≥ 1/],
    ];
    for (const [args, pattern] of cases) {
      const run = await mwingest(args, editV10);
      assert.equal(run.code, ValidateExit.usage, `${args.join(' ')}: ${run.stderr}`);
      assert.match(run.stderr, pattern);
    }
  });

  test('an unreadable file or registry exits 1 and says which', async () => {
    const missing = await mwingest(['validate', join(temp, 'nope.avro')]);
    assert.equal(missing.code, ValidateExit.failed);
    assert.match(missing.stderr, /MWI_FS_IO: cannot read .*nope\.avro/);
    const registry = await mwingest(['validate', '--registry', temp, '-'], editV10);
    assert.equal(registry.code, ValidateExit.failed);
    assert.match(registry.stderr, /MWI_REGISTRY_INVALID: cannot list the schema registry folder/);
  });

  test('--help teaches the checks, the exit codes and how to get a message with kcat', async () => {
    const run = await mwingest(['validate', '--help']);
    assert.equal(run.code, 0);
    for (const part of [
      'magic byte 0x00',
      'Exit codes',
      '  3  not a MediaWiki Avro message',
      '  6  the revision differs',
      'kcat -C -b',
      '-o -1 -c 1 -e > msg.avro',
      '--brokers',
    ]) {
      assert.ok(run.stdout.includes(part), `--help lacks "${part}"`);
    }
  });

  test('an invalid message in a valid-looking file: the unknown revision names the known ones', async () => {
    const run = await mwingest(
      ['validate', '--topic', 'mediawiki_EditAttempt', '-'],
      withHeader(131800000000n, editV10.subarray(9)),
    );
    assert.equal(run.code, ValidateExit.unknownRevision);
    assert.match(
      run.stdout,
      /revision 131800000000 is not in the registry at .*event-schemas; known revisions of EditAttempt: 101704113721, 111714553318, 121725201754; add avro\/mediawiki\/EditAttempt\/131800000000\.avsc or fix the producer/,
    );
    assert.ok(EDIT_V10 > 0n);
  });
});

test('the exit code of several messages is the most severe: 3, then 4, 5, 6', () => {
  assert.equal(worstExit(0, 6), 6);
  assert.equal(worstExit(6, 5), 5);
  assert.equal(worstExit(5, 4), 4);
  assert.equal(worstExit(3, 4), 3);
  assert.equal(worstExit(6, 0), 6);
  assert.equal(worstExit(0, 0), 0);
});
