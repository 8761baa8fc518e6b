import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { SchemaElement } from 'hyparquet';
import { isMwiError } from '../../src/errors.js';
import { checkParquetCompatible, parquetSchemaOf } from '../../src/writers/parquet-schema.js';

const EVENT_SCHEMAS = join(import.meta.dirname, '../../event-schemas/avro/mediawiki');

/** Parquet's schema notation ("message" text as parquet-mr prints it), from the flat element list. */
function printSchema(elements: SchemaElement[]): string {
  let next = 1;
  const lines: string[] = [];
  const walk = (count: number, indent: string) => {
    for (let i = 0; i < count; i++) {
      const element = elements[next++]!;
      const annotation = element.converted_type ? ` (${element.converted_type})` : '';
      const repetition = element.repetition_type!.toLowerCase();
      if (element.num_children) {
        lines.push(`${indent}${repetition} group ${element.name}${annotation} {`);
        walk(element.num_children, `${indent}  `);
        lines.push(`${indent}}`);
      } else {
        const type =
          element.type === 'FIXED_LEN_BYTE_ARRAY'
            ? `fixed_len_byte_array(${element.type_length})`
            : element.type!.toLowerCase();
        lines.push(`${indent}${repetition} ${type} ${element.name}${annotation};`);
      }
    }
  };
  walk(elements[0]!.num_children!, '  ');
  return `message ${elements[0]!.name} {\n${lines.join('\n')}\n}`;
}

const record = (fields: unknown[]) => ({ type: 'record', name: 'Event', fields });

describe('Avro → Parquet schema', () => {
  test('every Avro type maps as parquet-avro maps it: 3-level lists, maps with string keys, nullable unions as optional', () => {
    const schema = record([
      { name: 'ts', type: 'int' },
      { name: 'pageId', type: 'long' },
      { name: 'score', type: 'float' },
      { name: 'weight', type: 'double' },
      { name: 'bot', type: 'boolean' },
      { name: 'wiki', type: 'string' },
      { name: 'hash', type: 'bytes' },
      { name: 'token', type: { type: 'fixed', name: 'Token', size: 8 } },
      { name: 'action', type: { type: 'enum', name: 'Action', symbols: ['click', 'view'] } },
      { name: 'query', type: ['null', 'string'] },
      { name: 'count', type: ['int', 'null'] },
      { name: 'tags', type: { type: 'array', items: 'string' } },
      { name: 'timings', type: { type: 'map', values: 'long' } },
      {
        name: 'hits',
        type: {
          type: 'array',
          items: {
            type: 'record',
            name: 'Hit',
            fields: [
              { name: 'title', type: 'string' },
              { name: 'rank', type: ['null', 'int'] },
            ],
          },
        },
      },
      { name: 'best', type: ['null', 'Hit'] },
      { name: 'extra', type: ['null', { type: 'map', values: { type: 'array', items: ['null', 'long'] } }] },
    ]);
    assert.equal(
      printSchema(parquetSchemaOf(schema).elements),
      `message Event {
  required int32 ts;
  required int64 pageId;
  required float score;
  required double weight;
  required boolean bot;
  required byte_array wiki (UTF8);
  required byte_array hash;
  required fixed_len_byte_array(8) token;
  required byte_array action (UTF8);
  optional byte_array query (UTF8);
  optional int32 count;
  required group tags (LIST) {
    repeated group list {
      required byte_array element (UTF8);
    }
  }
  required group timings (MAP) {
    repeated group key_value {
      required byte_array key (UTF8);
      required int64 value;
    }
  }
  required group hits (LIST) {
    repeated group list {
      required group element {
        required byte_array title (UTF8);
        optional int32 rank;
      }
    }
  }
  optional group best {
    required byte_array title (UTF8);
    optional int32 rank;
  }
  optional group extra (MAP) {
    repeated group key_value {
      required byte_array key (UTF8);
      required group value (LIST) {
        repeated group list {
          optional int64 element;
        }
      }
    }
  }
}`,
    );
  });

  test('LIST, MAP and STRING also carry the logical type annotation newer readers look for', () => {
    const { elements } = parquetSchemaOf(
      record([
        { name: 'tags', type: { type: 'array', items: 'string' } },
        { name: 'm', type: { type: 'map', values: 'int' } },
      ]),
    );
    assert.deepEqual(
      elements.map((e) => [e.name, e.logical_type?.type]),
      [
        ['Event', undefined],
        ['tags', 'LIST'],
        ['list', undefined],
        ['element', 'STRING'],
        ['m', 'MAP'],
        ['key_value', undefined],
        ['key', 'STRING'],
        ['value', undefined],
      ],
    );
  });

  test('a union other than ["null", T] is refused with the path of the field, anywhere in the schema', () => {
    const schema = record([
      { name: 'ok', type: ['null', 'string'] },
      {
        name: 'requests',
        type: {
          type: 'array',
          items: {
            type: 'record',
            name: 'Request',
            fields: [{ name: 'params', type: { type: 'map', values: ['null', 'int', 'string'] } }],
          },
        },
      },
      { name: 'value', type: ['int', 'string'] },
    ]);
    const problems = checkParquetCompatible(schema);
    assert.equal(problems.length, 2);
    assert.match(problems[0]!, /^requests\[\]\.params\{\}: union \["null", "int", "string"\]/);
    assert.match(problems[1]!, /^value: union \["int", "string"\]/);
    assert.throws(
      () => parquetSchemaOf(schema),
      (error: unknown) =>
        isMwiError(error, 'MWI_CONFIG_INVALID') &&
        /requests\[\]\.params\{\}/.test(error.message) &&
        /value: union/.test(error.message) &&
        /format "avro"/.test(error.message),
    );
  });

  test('recursive records, empty records, a bare "null", invalid Avro and non-record schemas are refused', () => {
    const linked = record([{ name: 'next', type: ['null', 'Event'] }]);
    assert.match(checkParquetCompatible(linked)[0]!, /^next: record Event contains itself/);
    assert.match(
      checkParquetCompatible(
        record([{ name: 'nothing', type: { type: 'record', name: 'Empty', fields: [] } }]),
      )[0]!,
      /^nothing: record Empty has no fields/,
    );
    assert.match(checkParquetCompatible(record([{ name: 'n', type: 'null' }]))[0]!, /^n: type "null" alone/);
    assert.match(
      checkParquetCompatible({ type: 'record', name: 'Bad', fields: [{ name: 'x', type: 'nope' }] })[0]!,
      /not valid Avro/,
    );
    assert.match(checkParquetCompatible({ type: 'array', items: 'int' })[0]!, /top-level type is array/);
  });

  test("every schema in the project's registry can be written as Parquet", () => {
    const names = readdirSync(EVENT_SCHEMAS);
    assert.ok(names.length > 0);
    for (const name of names) {
      for (const file of readdirSync(join(EVENT_SCHEMAS, name))) {
        const schema = JSON.parse(readFileSync(join(EVENT_SCHEMAS, name, file), 'utf8'));
        assert.deepEqual(checkParquetCompatible(schema), [], `${name}/${file}`);
      }
    }
  });
});
