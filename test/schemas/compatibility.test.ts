import assert from 'node:assert/strict';
import { test } from 'node:test';
import { avroTypeOf } from '../../src/schemas/avro-type.js';
import { type CompatibilityResult, checkCompatibility } from '../../src/schemas/compatibility.js';
import { defaultRegistryRoot, SchemaRegistry } from '../../src/schemas/registry.js';
import { CIRRUS, WMF_FIXTURES } from './realistic-records.js';

const wmf = await SchemaRegistry.load(WMF_FIXTURES, { strict: true });
const project = await SchemaRegistry.load(defaultRegistryRoot(), { strict: true });
const cirrus = wmf.revisions(CIRRUS);
const newest = cirrus[cirrus.length - 1]!;
const editNewest = project.latest('EditAttempt')!;

type Json = Record<string, unknown> & { fields: Json[] };
const copy = <T>(value: T): T => structuredClone(value);

/** The field `path` (dot-separated, through array items and nested records) of a schema JSON. */
function field(schema: Json, path: string): Json {
  let current: Json = schema;
  let found: Json | undefined;
  for (const name of path.split('.')) {
    found = current.fields.find((f) => f.name === name);
    if (found === undefined) throw new Error(`no field ${name}`);
    let type = found.type as Json;
    while (typeof type === 'object' && (type.type === 'array' || type.type === 'map'))
      type = (type.items ?? type.values) as Json;
    current = type;
  }
  return found!;
}

function removeField(schema: Json, path: string): void {
  const parts = path.split('.');
  const last = parts.pop()!;
  const owner = parts.length === 0 ? schema : (innermost(field(schema, parts.join('.'))) as Json);
  owner.fields = owner.fields.filter((f) => f.name !== last);
}

function innermost(f: Json): unknown {
  let type = f.type as Json;
  while (typeof type === 'object' && (type.type === 'array' || type.type === 'map'))
    type = (type.items ?? type.values) as Json;
  return type;
}

/** Our verdict must agree with avsc's resolver, which the codec uses. */
function check(writer: object, reader: object): CompatibilityResult {
  const result = checkCompatibility(writer, reader);
  let avscSays = true;
  try {
    avroTypeOf(reader).createResolver(avroTypeOf(writer), { ignoreNamespaces: true });
  } catch {
    avscSays = false;
  }
  assert.equal(result.compatible, avscSays, `avsc's resolver disagrees: ${JSON.stringify(result.problems)}`);
  return result;
}

const summary = (result: CompatibilityResult) => result.problems.map((p) => `${p.kind} ${p.path}`).sort();

test('the real CirrusSearchRequestSet history resolves in both directions between every pair of revisions', () => {
  for (const writer of cirrus) {
    for (const reader of cirrus) {
      const result = check(writer.json as object, reader.json as object);
      assert.deepEqual(result.problems, [], `${writer.revision} → ${reader.revision}`);
    }
  }
  // Registry entries and avsc types are accepted as well as JSON.
  assert.equal(checkCompatibility(cirrus[0]!, newest).compatible, true);
  assert.equal(checkCompatibility(cirrus[0]!.type, newest.type).compatible, true);
});

test("the project's own revisions add fields with defaults, so they resolve both ways", () => {
  for (const name of project.names()) {
    for (const writer of project.revisions(name)) {
      for (const reader of project.revisions(name)) {
        assert.deepEqual(
          check(writer.json as object, reader.json as object).problems,
          [],
          `${name} ${writer.revision} → ${reader.revision}`,
        );
      }
    }
  }
});

test('a field removed from the writer that the reader has without a default: one problem per place the record is used', () => {
  const writer = copy(newest.json) as Json;
  removeField(writer, 'hits.title');
  const reader = copy(newest.json) as Json;
  delete field(reader, 'hits.title').default;
  const result = check(writer, reader);
  assert.deepEqual(summary(result), [
    'MISSING_DEFAULT CirrusSearchRequestSet.hits[].title',
    'MISSING_DEFAULT CirrusSearchRequestSet.requests[].hits[].title',
  ]);
  assert.match(
    result.problems[0]!.message,
    /^CirrusSearchRequestSet\.hits\[\]\.title: the reader's field title is not in the writer's schema and has no default/,
  );
  // With the default back, old readers can read the new data again.
  assert.deepEqual(check(writer, newest.json as object).problems, []);
});

test('a renamed field: missing without default, with a hint to alias the old name; the alias fixes it', () => {
  const reader = copy(newest.json) as Json;
  const renamed = field(reader, 'wikiId');
  renamed.name = 'wiki';
  delete renamed.default;
  const result = check(newest.json as object, reader);
  assert.deepEqual(summary(result), ['MISSING_DEFAULT CirrusSearchRequestSet.wiki']);
  assert.match(result.problems[0]!.message, /renamed from "wikiId".*add "aliases": \["wikiId"\]/);
  renamed.aliases = ['wikiId'];
  assert.deepEqual(check(newest.json as object, reader).problems, []);
});

test('a type change that is not a promotion is named with its path; promotions are fine', () => {
  const reader = copy(newest.json) as Json;
  field(reader, 'requests.tookMs').type = 'string';
  field(reader, 'requests.tookMs').default = '';
  field(reader, 'payload').type = { type: 'map', values: 'int' };
  const result = check(newest.json as object, reader);
  assert.deepEqual(summary(result), [
    'TYPE_MISMATCH CirrusSearchRequestSet.payload{}',
    'TYPE_MISMATCH CirrusSearchRequestSet.requests[].tookMs',
  ]);
  assert.match(
    result.problems.find((p) => p.path.endsWith('tookMs'))!.message,
    /writer's int cannot be read as the reader's string: that is not an Avro promotion/,
  );

  const promoted = copy(newest.json) as Json;
  field(promoted, 'requests.tookMs').type = 'long';
  field(promoted, 'tookMs').type = 'double';
  field(promoted, 'identity').type = 'bytes';
  field(promoted, 'identity').default = '';
  assert.deepEqual(check(newest.json as object, promoted).problems, []);
  // …but not backwards: a long cannot be read as an int.
  assert.deepEqual(summary(check(promoted, newest.json as object)), [
    'TYPE_MISMATCH CirrusSearchRequestSet.requests[].tookMs',
    'TYPE_MISMATCH CirrusSearchRequestSet.tookMs',
  ]);
});

test('an enum symbol the reader lacks is named, unless the reader enum has a default', () => {
  const reader = copy(editNewest.json) as Json;
  const action = field(reader, 'action').type as Json;
  action.symbols = (action.symbols as string[]).filter((s) => s !== 'abort' && s !== 'saveFailure');
  const result = check(editNewest.json as object, reader);
  assert.deepEqual(summary(result), [
    'ENUM_SYMBOL_MISSING EditAttempt.action',
    'ENUM_SYMBOL_MISSING EditAttempt.action',
  ]);
  assert.ok(result.problems.some((p) => p.message.includes('the symbol abort')));
  assert.ok(result.problems.some((p) => p.message.includes('the symbol saveFailure')));
  action.default = 'init';
  assert.deepEqual(check(editNewest.json as object, reader).problems, []);
});

test('unions: each writer branch must find a reader branch', () => {
  const record = (type: unknown) => ({ type: 'record', name: 'U', fields: [{ name: 'v', type }] });
  assert.deepEqual(check(record('int'), record(['null', 'long'])).problems, []);
  assert.deepEqual(check(record(['null', 'int']), record(['null', 'int', 'string'])).problems, []);
  assert.deepEqual(summary(check(record(['null', 'int']), record('int'))), ['TYPE_MISMATCH U.v']);
  const missing = check(record('string'), record(['null', 'int']));
  assert.deepEqual(summary(missing), ['UNION_BRANCH_MISSING U.v']);
  assert.match(
    missing.problems[0]!.message,
    /writer's string matches no branch of the reader's union \[null, int\]/,
  );
  // A record branch: the problem inside it is reported with its field path.
  const inner = (fields: object[]) => record(['null', { type: 'record', name: 'In', fields }]);
  const result = check(
    inner([{ name: 'a', type: 'int' }]),
    inner([
      { name: 'a', type: 'int' },
      { name: 'b', type: 'int' },
    ]),
  );
  assert.deepEqual(summary(result), ['MISSING_DEFAULT U.v.b']);
});

test('named types must keep their name (or alias it), fixeds their size', () => {
  const reader = copy(newest.json) as Json;
  const hit = (field(reader, 'hits').type as Json).items as Json;
  hit.name = 'SearchHit';
  (field(reader, 'requests.hits').type as Json).items = 'SearchHit';
  const result = check(newest.json as object, reader);
  assert.deepEqual(summary(result), [
    'NAME_MISMATCH CirrusSearchRequestSet.hits[]',
    'NAME_MISMATCH CirrusSearchRequestSet.requests[].hits[]',
  ]);
  assert.match(result.problems[0]!.message, /add "aliases": \["CirrusSearchHit"\]/);
  hit.aliases = ['CirrusSearchHit'];
  assert.deepEqual(check(newest.json as object, reader).problems, []);

  const token = (size: number) => ({
    type: 'record',
    name: 'F',
    fields: [{ name: 't', type: { type: 'fixed', name: 'T', size } }],
  });
  assert.deepEqual(summary(check(token(8), token(16))), ['FIXED_SIZE_MISMATCH F.t']);
  // Namespaces do not matter, as in the specification and Java.
  assert.deepEqual(check({ ...token(8), namespace: 'a.b' }, { ...token(8), namespace: 'c.d' }).problems, []);
});

test('a recursive schema is checked without looping', () => {
  const node = (extra: object[]) => ({
    type: 'record',
    name: 'Node',
    fields: [{ name: 'children', type: { type: 'array', items: 'Node' } }, ...extra],
  });
  assert.deepEqual(check(node([]), node([{ name: 'label', type: 'string', default: '' }])).problems, []);
  assert.deepEqual(summary(check(node([]), node([{ name: 'label', type: 'string' }]))), [
    'MISSING_DEFAULT Node.label',
  ]);
});
