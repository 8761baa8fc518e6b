import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { avroTypeOf } from '../../src/schemas/avro-type.js';
import { SchemaRegistry } from '../../src/schemas/registry.js';
import {
  camelCaseOf,
  describeType,
  diffFields,
  fieldTypeAt,
  isCamelCase,
  listFields,
  recordsWithin,
} from '../../src/upgrade/fields.js';
import { CIRRUS, WMF_FIXTURES } from '../schemas/realistic-records.js';

const wmf = await SchemaRegistry.load(WMF_FIXTURES, { strict: true });
const [cirrus10, cirrus11, cirrus12] = wmf.revisions(CIRRUS);

const hit = {
  type: 'record',
  name: 'Hit',
  fields: [
    { name: 'title', type: 'string', default: '' },
    { name: 'score', type: 'float', default: 0 },
  ],
};

describe('listFields', () => {
  test('walks records inside arrays, maps and unions, with paths from the top record', () => {
    const type = avroTypeOf({
      type: 'record',
      name: 'org.example.Event',
      fields: [
        { name: 'ts', type: 'int' },
        { name: 'hits', type: { type: 'array', items: hit } },
        { name: 'byWiki', type: { type: 'map', values: 'Hit' } },
        { name: 'best', type: ['null', 'Hit'], default: null },
      ],
    });
    assert.deepEqual(
      listFields(type).map((f) => f.path),
      [
        'Event.ts',
        'Event.hits',
        'Event.hits[].title',
        'Event.hits[].score',
        'Event.byWiki',
        'Event.byWiki{}.title',
        'Event.byWiki{}.score',
        'Event.best',
        'Event.best.title',
        'Event.best.score',
      ],
    );
    assert.deepEqual(
      listFields(type).map((f) => f.hasDefault),
      [false, false, true, true, false, true, true, true, true, true],
    );
  });

  test('a recursive record ends instead of looping', () => {
    const type = avroTypeOf({
      type: 'record',
      name: 'Node',
      fields: [
        { name: 'value', type: 'int' },
        { name: 'next', type: ['null', 'Node'], default: null },
      ],
    });
    assert.deepEqual(
      listFields(type).map((f) => f.path),
      ['Node.value', 'Node.next'],
    );
  });
});

describe('diffFields', () => {
  test('the real CirrusSearchRequestSet 11 → 12 upgrade adds five fields, three of them nested', () => {
    const diff = diffFields(cirrus11!.type, cirrus12!.type);
    assert.deepEqual(
      diff.added.map((f) => f.path),
      [
        'CirrusSearchRequestSet.id',
        'CirrusSearchRequestSet.tookMs',
        'CirrusSearchRequestSet.hits',
        'CirrusSearchRequestSet.requests[].maxScore',
        'CirrusSearchRequestSet.requests[].hits',
      ],
    );
    assert.deepEqual(diff.removed, []);
    assert.ok(diff.added.every((f) => f.hasDefault));
  });

  test('10 → 11 adds payload at the top and in every request', () => {
    const diff = diffFields(cirrus10!.type, cirrus11!.type);
    assert.deepEqual(
      diff.added.map((f) => f.path),
      ['CirrusSearchRequestSet.payload', 'CirrusSearchRequestSet.requests[].payload'],
    );
  });

  const record = (fields: object[]) => avroTypeOf({ type: 'record', name: 'E', fields });

  test('a field renamed with an alias is neither added nor removed', () => {
    const older = record([{ name: 'query', type: 'string' }]);
    const newer = record([{ name: 'searchQuery', aliases: ['query'], type: 'string' }]);
    assert.deepEqual(diffFields(older, newer), { added: [], removed: [] });
  });

  test('a rename without an alias is one removal and one addition in the same record', () => {
    const older = record([{ name: 'results', type: { type: 'array', items: hit } }]);
    const renamedHit = {
      ...hit,
      fields: [{ name: 'pageTitle', type: 'string', default: '' }, hit.fields[1]],
    };
    const newer = record([{ name: 'results', type: { type: 'array', items: renamedHit } }]);
    const diff = diffFields(older, newer);
    assert.deepEqual(
      diff.added.map((f) => [f.path, f.recordPath]),
      [['E.results[].pageTitle', 'E.results[]']],
    );
    assert.deepEqual(
      diff.removed.map((f) => [f.path, f.recordPath]),
      [['E.results[].title', 'E.results[]']],
    );
  });

  test('a record that became nullable is still compared field by field', () => {
    const older = record([{ name: 'best', type: hit }]);
    const extended = { ...hit, fields: [...hit.fields, { name: 'rank', type: 'int', default: 0 }] };
    const newer = record([{ name: 'best', type: ['null', extended], default: null }]);
    assert.deepEqual(
      diffFields(older, newer).added.map((f) => f.path),
      ['E.best.rank'],
    );
  });
});

describe('names and types', () => {
  test('camelCase: lower-case first, letters and digits', () => {
    for (const ok of ['ts', 'wikiId', 'userIP', 'page2Title']) assert.ok(isCamelCase(ok), ok);
    for (const bad of ['search_token', 'WikiId', '_private', 'kebab-case', 'x y'])
      assert.ok(!isCamelCase(bad), bad);
    assert.equal(camelCaseOf('search_token'), 'searchToken');
    assert.equal(camelCaseOf('click_position_ms'), 'clickPositionMs');
    assert.equal(camelCaseOf('WikiId'), 'wikiId');
  });

  test('describeType names records and spells containers and unions', () => {
    const hits = cirrus12!.type as unknown as { fields: { name: string; type: never }[] };
    const byName = new Map(hits.fields.map((f) => [f.name, f.type]));
    assert.equal(describeType(byName.get('hits')!), 'array<CirrusSearchHit>');
    assert.equal(describeType(byName.get('payload')!), 'map<string>');
    assert.equal(describeType(avroTypeOf(['null', 'long'])), '[null, long]');
  });

  test('recordsWithin lists what a producer must fill in for a new field', () => {
    const type = avroTypeOf({ type: 'array', items: hit });
    assert.deepEqual(recordsWithin(type), [{ name: 'Hit', fields: ['title', 'score'] }]);
    assert.deepEqual(recordsWithin(avroTypeOf('string')), []);
  });

  test('fieldTypeAt follows dotted paths through nullable records', () => {
    const type = avroTypeOf({
      type: 'record',
      name: 'E',
      fields: [
        {
          name: 'meta',
          type: ['null', { type: 'record', name: 'Meta', fields: [{ name: 'dt', type: 'string' }] }],
          default: null,
        },
      ],
    });
    assert.equal(describeType(fieldTypeAt(type, 'meta.dt')!), 'string');
    assert.equal(fieldTypeAt(type, 'meta.missing'), undefined);
    assert.equal(fieldTypeAt(type, 'ts'), undefined);
  });
});
