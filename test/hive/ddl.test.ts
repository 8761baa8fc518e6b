import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { isMwiError } from '../../src/errors.js';
import {
  compactJson,
  createTableStatement,
  datasetTables,
  hiveLocation,
  hiveTypeOf,
  type TableDefinition,
} from '../../src/hive/ddl.js';
import { type LoadedJob, parseJobConfig } from '../../src/job/config.js';
import { avroTypeOf } from '../../src/schemas/avro-type.js';
import { SchemaRegistry } from '../../src/schemas/registry.js';

/**
 * Hive's own reading of a single-quoted string literal (BaseSemanticAnalyzer.unescapeSQLString,
 * for the escapes hiveString produces): \\ → \, \' → '. Used to check that what Hive stores is
 * exactly what was meant.
 */
function unescapeHiveString(literal: string): string {
  assert.ok(
    literal.startsWith("'") && literal.endsWith("'"),
    `not a quoted literal: ${literal.slice(0, 40)}`,
  );
  const body = literal.slice(1, -1);
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const char = body[i]!;
    if (char === '\\') {
      out += body[i + 1]!;
      i++;
    } else {
      assert.notEqual(char, "'", 'an unescaped quote would end the literal early');
      out += char;
    }
  }
  return out;
}

/** The value of one TBLPROPERTIES key in a statement. */
function tableProperty(statement: string, key: string): string {
  const match = new RegExp(`'${key.replace(/\./g, '\\.')}'=('(?:[^'\\\\]|\\\\.)*')`).exec(statement);
  assert.ok(match, `no ${key} in:\n${statement}`);
  return unescapeHiveString(match[1]!);
}

const tricky = {
  type: 'record',
  name: 'Tricky',
  namespace: 'org.example',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: Hive's variable syntax, meant to stay text
  doc: "It's a test: back\\slash, ${env:HOME}, -- not a comment; DROP TABLE x",
  fields: [
    { name: 'ts', type: 'int', default: 0, doc: "the reader's time" },
    { name: 'big', type: 'long', default: 9007199254740992 },
    { name: 'tags', type: { type: 'array', items: 'string' }, default: [] },
  ],
};
// a default beyond 2^53 that a JSON round trip would round: the literal must keep the text's digits
const trickyText = JSON.stringify(tricky, null, 2).replace('9007199254740992', '9007199254740993');

const avroTable: TableDefinition = {
  database: 'wmf_raw',
  table: 'tricky',
  location: "/wmf/data/raw/mediawiki/mediawiki_Tricky/hourly/it's",
  schema: tricky,
  schemaText: trickyText,
  format: 'avro',
};

describe('createTableStatement', () => {
  test('declares an external Avro table partitioned by year, month, day and hour strings', () => {
    const statement = createTableStatement(avroTable);
    assert.match(statement, /^CREATE EXTERNAL TABLE IF NOT EXISTS `wmf_raw`\.`tricky`\n/);
    assert.match(
      statement,
      /\nPARTITIONED BY \(`year` string, `month` string, `day` string, `hour` string\)\n/,
    );
    assert.match(statement, /\nSTORED AS AVRO\n/);
    assert.ok(!statement.includes('\nSTORED AS PARQUET'));
  });

  test('the schema literal Hive reads back is the schema text, numbers and escapes included', () => {
    const literal = tableProperty(createTableStatement(avroTable), 'avro.schema.literal');
    assert.ok(!literal.includes('\n'), 'one line');
    assert.equal(literal, compactJson(trickyText));
    assert.match(literal, /"default":9007199254740993/);
    assert.deepEqual(JSON.parse(literal).doc, tricky.doc);
  });

  test('the location is quoted, quote and all', () => {
    const statement = createTableStatement(avroTable);
    const match = /\nLOCATION ('(?:[^'\\]|\\.)*')\n/.exec(statement);
    assert.ok(match);
    assert.equal(unescapeHiveString(match[1]!), avroTable.location);
  });

  test('avro.schema.url replaces the literal when given', () => {
    const statement = createTableStatement({ ...avroTable, schemaUrl: 'hdfs:///schemas/Tricky/1.avsc' });
    assert.equal(tableProperty(statement, 'avro.schema.url'), 'hdfs:///schemas/Tricky/1.avsc');
    assert.ok(!statement.includes('avro.schema.literal'));
  });

  test('refuses database and table names that are not plain identifiers', () => {
    for (const [database, table] of [
      ['wmf_raw', 'x`; DROP TABLE y; --'],
      ['wmf raw', 'tricky'],
      ['', 'tricky'],
      ['wmf_raw', "t'"],
    ] as const) {
      assert.throws(
        () => createTableStatement({ ...avroTable, database, table }),
        (error) => isMwiError(error, 'MWI_CONFIG_INVALID'),
      );
    }
  });

  test('refuses a schema with a field named like a partition column', () => {
    const schema = { ...tricky, fields: [...tricky.fields, { name: 'Hour', type: 'int' }] };
    assert.throws(
      () => createTableStatement({ ...avroTable, schema, schemaText: JSON.stringify(schema) }),
      (error) => isMwiError(error, 'MWI_SCHEMA_INVALID') && /"Hour"/.test(error.message),
    );
  });

  test('Parquet tables list every field as a column, with its doc as a quoted comment', () => {
    const statement = createTableStatement({ ...avroTable, format: 'parquet' });
    assert.match(statement, /\nSTORED AS PARQUET\n/);
    assert.ok(!statement.includes('TBLPROPERTIES'), 'Parquet files carry their own schema');
    const columns = /\n\(\n([\s\S]*?)\n\)\n/.exec(statement)?.[1]?.split(',\n');
    assert.deepEqual(columns, [
      "  `ts` int COMMENT 'the reader\\'s time'",
      '  `big` bigint',
      '  `tags` array<string>',
    ]);
  });

  test('Parquet and avro.schema.url do not go together', () => {
    assert.throws(
      () => createTableStatement({ ...avroTable, format: 'parquet', schemaUrl: 'hdfs:///x.avsc' }),
      (error) => isMwiError(error, 'MWI_USAGE'),
    );
  });
});

describe('hiveTypeOf', () => {
  const typeOf = (schema: unknown) => hiveTypeOf(avroTypeOf(schema), 'f');

  test('maps primitives the way parquet-avro and the AvroSerDe do', () => {
    assert.equal(typeOf('boolean'), 'boolean');
    assert.equal(typeOf('int'), 'int');
    assert.equal(typeOf('long'), 'bigint');
    assert.equal(typeOf('float'), 'float');
    assert.equal(typeOf('double'), 'double');
    assert.equal(typeOf('string'), 'string');
    assert.equal(typeOf('bytes'), 'binary');
    assert.equal(typeOf({ type: 'fixed', name: 'Sha1', size: 20 }), 'binary');
    assert.equal(typeOf({ type: 'enum', name: 'E', symbols: ['a', 'b'] }), 'string');
  });

  test('nullable unions become the type itself, on either side of the null', () => {
    assert.equal(typeOf(['null', 'long']), 'bigint');
    assert.equal(typeOf(['string', 'null']), 'string');
  });

  test('logical types keep their underlying type', () => {
    assert.equal(typeOf({ type: 'long', logicalType: 'timestamp-millis' }), 'bigint');
    assert.equal(typeOf({ type: 'bytes', logicalType: 'decimal', precision: 9, scale: 2 }), 'binary');
  });

  test('records, arrays and maps nest, names back-quoted', () => {
    const hit = {
      type: 'record',
      name: 'Hit',
      fields: [
        { name: 'title', type: 'string' },
        { name: 'score', type: ['null', 'float'] },
        { name: 'extra', type: { type: 'map', values: { type: 'array', items: 'int' } } },
      ],
    };
    assert.equal(
      typeOf({ type: 'array', items: hit }),
      'array<struct<`title`:string,`score`:float,`extra`:map<string,array<int>>>>',
    );
  });

  test('a named type used twice maps the same both times', () => {
    const point = { type: 'record', name: 'P', fields: [{ name: 'x', type: 'int' }] };
    const pair = {
      type: 'record',
      name: 'Pair',
      fields: [
        { name: 'a', type: point },
        { name: 'b', type: 'P' },
      ],
    };
    assert.equal(typeOf(pair), 'struct<`a`:struct<`x`:int>,`b`:struct<`x`:int>>');
  });

  test('refuses what Hive columns cannot hold, naming the field path', () => {
    const cases: [unknown, RegExp][] = [
      [
        { type: 'record', name: 'R', fields: [{ name: 'v', type: ['int', 'string'] }] },
        /field f\.v: the union \[int, string\]/,
      ],
      [
        { type: 'record', name: 'Node', fields: [{ name: 'next', type: ['null', 'Node'] }] },
        /field f\.next: the record .*Node contains itself/,
      ],
      [{ type: 'array', items: 'null' }, /field f\[\]: the type null/],
    ];
    for (const [schema, message] of cases) {
      assert.throws(
        () => typeOf(schema),
        (error) => isMwiError(error, 'MWI_SCHEMA_INVALID') && message.test(error.message),
      );
    }
  });
});

describe('compactJson', () => {
  test('drops whitespace between tokens only', () => {
    assert.equal(
      compactJson('{ "a b" : [ 1 ,\n 2.50 ],\t"c\\" d": "x\\ny" }'),
      '{"a b":[1,2.50],"c\\" d":"x\\ny"}',
    );
  });
});

function jobOf(fileSystem: unknown, extra: Record<string, unknown> = {}): LoadedJob {
  const config = parseJobConfig(
    { name: 'unit', kafka: { brokers: ['127.0.0.1:9092'] }, fileSystem, ...extra },
    'unit test job',
  );
  return { config, path: '/jobs/unit.json', baseDir: '/jobs' };
}

describe('hiveLocation', () => {
  test('HDFS jobs: the absolute path, for Hive to resolve on its default file system', () => {
    const job = jobOf({ type: 'hdfs', url: 'http://namenode:9870' });
    assert.equal(hiveLocation(job, '/wmf/data/raw/x/hourly'), '/wmf/data/raw/x/hourly');
  });

  test('local-directory jobs: a file:// URI under the root, relative to the job file', () => {
    const job = jobOf({ type: 'local', root: '../data dir' });
    assert.equal(hiveLocation(job, '/wmf/raw/x'), 'file:///data%20dir/wmf/raw/x');
  });
});

describe('datasetTables', () => {
  const schema = (name: string, extra: object[] = []) =>
    JSON.stringify({ type: 'record', name, fields: [{ name: 'ts', type: 'int' }, ...extra] });
  const registry = SchemaRegistry.fromFiles('/registry', [
    { path: '/registry/avro/mediawiki/ApiAction/101453221640.avsc', text: schema('ApiAction') },
    {
      path: '/registry/avro/mediawiki/ApiAction/111453221641.avsc',
      text: schema('ApiAction', [{ name: 'ip', type: 'string' }]),
    },
    { path: '/registry/avro/mediawiki/EditAttempt/101704113721.avsc', text: schema('EditAttempt') },
    { path: '/registry/avro/mediawiki/Unrelated/101704113722.avsc', text: schema('Unrelated') },
  ]);
  const hdfs = { type: 'hdfs', url: 'http://namenode:9870' };
  const dirs: string[] = [];
  after(async () => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));

  test("one table per dataset the job ingests, at the dataset's root, with its reader schema", () => {
    const job = jobOf(hdfs, {
      topics: { include: '^mediawiki_(ApiAction|EditAttempt)$' },
      hive: { database: 'events' },
      datasets: { ApiAction: { readerRevision: '101453221640', hive: { table: 'api' } } },
    });
    const tables = datasetTables(job, registry);
    assert.deepEqual(
      tables.map((t) => [t.schemaName, `${t.database}.${t.table}`, t.location, String(t.reader.revision)]),
      [
        ['ApiAction', 'events.api', '/wmf/data/raw/mediawiki/mediawiki_ApiAction/hourly', '101453221640'],
        [
          'EditAttempt',
          'events.editattempt',
          '/wmf/data/raw/mediawiki/mediawiki_EditAttempt/hourly',
          '101704113721',
        ],
      ],
    );
    // the pinned revision, not the latest (which has an ip field)
    assert.ok(!tableProperty(tables[0]!.statement, 'avro.schema.literal').includes('"ip"'));
  });

  test('--dataset narrows to one; an unknown name says which the job has', () => {
    const job = jobOf(hdfs, { topics: { include: '^mediawiki_(ApiAction|EditAttempt)$' } });
    assert.deepEqual(
      datasetTables(job, registry, { dataset: 'EditAttempt' }).map((t) => t.schemaName),
      ['EditAttempt'],
    );
    assert.throws(
      () => datasetTables(job, registry, { dataset: 'Nope' }),
      (error) => isMwiError(error, 'MWI_USAGE') && /ApiAction, EditAttempt/.test(error.message),
    );
  });

  test('a schema URL template names each reader revision', () => {
    const job = jobOf(hdfs, { topics: { include: '^mediawiki_EditAttempt$' } });
    const [table] = datasetTables(job, registry, { schemaUrl: 'hdfs:///schemas/{name}/{revision}.avsc' });
    assert.equal(
      tableProperty(table!.statement, 'avro.schema.url'),
      'hdfs:///schemas/EditAttempt/101704113721.avsc',
    );
  });

  test('the older Camus layout puts the table at <root>/<name>', async () => {
    const root = await mkdtemp(join(tmpdir(), 'mwingest-ddl-'));
    dirs.push(root);
    const job = jobOf(
      { type: 'local', root },
      {
        topics: { include: '^mediawiki_EditAttempt$' },
        output: { root: '/raw', pathTemplate: '<root>/<name>/{yyyy}/{MM}/{dd}/{HH}' },
      },
    );
    const [table] = datasetTables(job, registry);
    assert.equal(table!.location, `file://${root}/raw/EditAttempt`);
  });
});
