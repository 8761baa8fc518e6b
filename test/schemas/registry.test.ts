import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { isMwiError } from '../../src/errors.js';
import { defaultRegistryRoot, SchemaRegistry, schemaNameOfTopic } from '../../src/schemas/registry.js';
import { WMF_FIXTURES } from './realistic-records.js';

const temp = await mkdtemp(join(tmpdir(), 'mwingest-registry-'));
after(() => rm(temp, { recursive: true, force: true }));

const record = (name: string, fields: object[] = [{ name: 'ts', type: 'int', default: 0 }]) =>
  JSON.stringify({ type: 'record', name, namespace: 'org.example', fields });

async function layout(root: string, files: Record<string, string>): Promise<string> {
  for (const [path, text] of Object.entries(files)) {
    const full = join(root, 'avro', 'mediawiki', path);
    await mkdir(join(full, '..'), { recursive: true });
    await writeFile(full, text);
  }
  return root;
}

test("the project's registry loads cleanly from the default root", async () => {
  assert.equal(defaultRegistryRoot(), join(import.meta.dirname, '..', '..', 'event-schemas'));
  const registry = await SchemaRegistry.load(defaultRegistryRoot(), { strict: true });
  assert.deepEqual(registry.problems, []);
  assert.deepEqual(registry.names(), [
    'ApiAction',
    'CirrusSearchRequestSet',
    'EditAttempt',
    'SearchSatisfaction',
  ]);
  assert.deepEqual(
    registry.revisions('EditAttempt').map((e) => [e.revision, e.version, e.createdAt]),
    [
      [101704113721n, 10, 1704113721],
      [111714553318n, 11, 1714553318],
      [121725201754n, 12, 1725201754],
    ],
  );
  // Every project schema follows the conventions: ts as int unix seconds, camelCase fields.
  for (const name of registry.names()) {
    for (const entry of registry.revisions(name)) {
      const fields = (entry.json as { fields: { name: string; type: unknown }[] }).fields;
      assert.deepEqual(fields.find((f) => f.name === 'ts')?.type, 'int', entry.path);
      for (const field of fields)
        assert.match(field.name, /^[a-z][a-zA-Z0-9]*$/, `${entry.path}: ${field.name}`);
    }
  }
});

test('lookups by name and revision, by revision alone, the ordered list and the latest', async () => {
  const registry = await SchemaRegistry.load(WMF_FIXTURES);
  const cirrus = registry.revisions('CirrusSearchRequestSet');
  assert.deepEqual(
    cirrus.map((e) => e.revision),
    [101446746400n, 111448028943n, 121456865906n],
  );
  assert.equal(registry.latest('CirrusSearchRequestSet'), cirrus[2]);
  assert.equal(registry.get('CirrusSearchRequestSet', 111448028943n), cirrus[1]);
  assert.equal(registry.get('ApiAction', 111448028943n), undefined, 'the revision belongs to another name');
  assert.equal(registry.byRevision(101453221640n)?.name, 'ApiAction');
  assert.equal(registry.byRevision(1n), undefined);
  assert.deepEqual(registry.revisions('Nope'), []);
  assert.equal(registry.latest('Nope'), undefined);
  const entry = cirrus[1]!;
  assert.equal(entry.path, join(WMF_FIXTURES, 'avro/mediawiki/CirrusSearchRequestSet/111448028943.avsc'));
  assert.equal((entry.json as { name: string }).name, 'CirrusSearchRequestSet');
  assert.equal(entry.type.typeName, 'record');
  assert.ok(entry.text.includes('"payload"'));
});

test('broken files are reported with their path and reason, and the others still load', async () => {
  const root = await layout(join(temp, 'broken'), {
    'Good/101700000000.avsc': record('Good'),
    'Good/111700000001.avsc': record('Good'),
    'Good/notes.txt': 'ignored: not .avsc',
    'Good/latest.avsc': record('Good'),
    'Good/91700000000.avsc': record('Good'),
    'Bad/101700000002.avsc': '{"type": "record", ',
    'Bad/101700000003.avsc': '{"type": "record", "name": "Bad", "fields": [{"name": "x", "type": "strnig"}]}',
    'Bad/101700000004.avsc': '"string"',
    'Bad/101700000005.avsc': record('Other'),
    'Later/101700000000.avsc': record('Later'),
  });
  const registry = await SchemaRegistry.load(root);
  assert.deepEqual(registry.names(), ['Good']);
  assert.deepEqual(
    registry.revisions('Good').map((e) => e.revision),
    [101700000000n, 111700000001n],
  );
  const problems = Object.fromEntries(
    registry.problems.map((p) => [p.path.slice(join(root, 'avro/mediawiki/').length), p]),
  );
  assert.deepEqual(Object.fromEntries(Object.entries(problems).map(([path, p]) => [path, p.code])), {
    'Bad/101700000002.avsc': 'INVALID_JSON',
    'Bad/101700000003.avsc': 'INVALID_SCHEMA',
    'Bad/101700000004.avsc': 'NOT_A_RECORD',
    'Bad/101700000005.avsc': 'NAME_MISMATCH',
    'Later/101700000000.avsc': 'DUPLICATE_REVISION',
    'Good/91700000000.avsc': 'BAD_FILE_NAME',
    'Good/latest.avsc': 'BAD_FILE_NAME',
  });
  for (const problem of registry.problems) assert.ok(problem.reason.startsWith(problem.path), problem.reason);
  assert.match(problems['Bad/101700000003.avsc']!.reason, /strnig/);
  assert.match(problems['Bad/101700000005.avsc']!.reason, /named Other but sits in the folder Bad/);
  assert.match(
    problems['Later/101700000000.avsc']!.reason,
    /revision 101700000000 is already used by Good .*skipped/,
  );
  assert.match(problems['Good/latest.avsc']!.reason, /rename it/);
});

test('strict mode refuses a registry with any broken file, listing them all', async () => {
  const root = await layout(join(temp, 'strict'), {
    'Good/101700000000.avsc': record('Good'),
    'Good/1.avsc': record('Good'),
    'Bad/101700000002.avsc': '{',
  });
  await assert.rejects(SchemaRegistry.load(root, { strict: true }), (e) => {
    assert.ok(isMwiError(e, 'MWI_SCHEMA_INVALID'));
    assert.match(e.message, /2 broken files/);
    assert.match(e.message, /1\.avsc/);
    assert.match(e.message, /101700000002\.avsc: not valid JSON/);
    return true;
  });
});

test('a root without avro/mediawiki is a clear error', async () => {
  await assert.rejects(SchemaRegistry.load(join(temp, 'nowhere')), (e) => {
    assert.ok(isMwiError(e, 'MWI_REGISTRY_INVALID'));
    assert.match(e.message, /nowhere\/avro\/mediawiki/);
    assert.match(e.message, /root of an event-schemas checkout/);
    return true;
  });
});

test('the schema name of a topic is what follows the first underscore', () => {
  assert.equal(schemaNameOfTopic('mediawiki_CirrusSearchRequestSet'), 'CirrusSearchRequestSet');
  assert.equal(schemaNameOfTopic('eqiad_mediawiki_ApiAction'), 'mediawiki_ApiAction');
  assert.equal(schemaNameOfTopic('ApiAction'), 'ApiAction');
});
