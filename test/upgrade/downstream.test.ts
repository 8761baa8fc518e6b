import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isMwiError } from '../../src/errors.js';
import { SchemaRegistry } from '../../src/schemas/registry.js';
import { hiveSchemaChange, jobPinChange } from '../../src/upgrade/downstream.js';
import { CIRRUS, CIRRUS_NEWEST, WMF_FIXTURES } from '../schemas/realistic-records.js';

/**
 * Reads an HQL single-quoted string the way Hive's unescapeSQLString does for the escapes that
 * can appear here (`\\` and `\'`); any other escape means the quoting was wrong.
 */
function readHiveString(literal: string): string {
  assert.ok(literal.startsWith("'") && literal.endsWith("'"), literal.slice(0, 40));
  let out = '';
  for (let i = 1; i < literal.length - 1; i++) {
    const c = literal[i]!;
    if (c === "'") assert.fail(`unescaped quote at ${i}: the string ends early`);
    if (c !== '\\') {
      out += c;
      continue;
    }
    const next = literal[++i];
    assert.ok(next === '\\' || next === "'", `unexpected escape \\${next} at ${i}`);
    out += next;
  }
  return out;
}

const PREFIX = "ALTER TABLE `wmf_raw`.`cirrussearchrequestset` SET TBLPROPERTIES ('avro.schema.literal'=";

describe('the Hive ALTER TABLE statement', () => {
  test('embeds the real CirrusSearchRequestSet 12 schema so that Hive reads back the same JSON', async () => {
    const registry = await SchemaRegistry.load(WMF_FIXTURES, { strict: true });
    const entry = registry.get(CIRRUS, CIRRUS_NEWEST)!;
    const change = hiveSchemaChange('wmf_raw', 'cirrussearchrequestset', entry.text);
    assert.equal(change.form, 'literal');
    assert.ok(change.statement.startsWith(PREFIX), change.statement.slice(0, 120));
    assert.ok(change.statement.endsWith(')'));
    assert.ok(!/[\n\r]/.test(change.statement), 'one line');
    const literal = change.statement.slice(PREFIX.length, -1);
    assert.deepEqual(JSON.parse(readHiveString(literal)), entry.json);
  });

  test('quotes, backslashes and line breaks in docs cannot end the string', () => {
    const schema = {
      type: 'record',
      name: 'Tricky',
      doc: 'it\'s a \\ backslash, a "quote", a line\nbreak and ünïcödé\'); DROP TABLE x; --',
      fields: [{ name: 'ts', type: 'int', doc: "'" }],
    };
    const change = hiveSchemaChange('db', 't', JSON.stringify(schema, null, 2));
    const literal = change.statement.slice(change.statement.indexOf('=') + 1, -1);
    assert.deepEqual(JSON.parse(readHiveString(literal)), schema);
  });

  test('numbers stay as written: a long default beyond 2^53 is not rounded', () => {
    const text =
      '{ "type": "record", "name": "L", "fields": [ { "name": "id", "type": "long", "default": 9007199254740993 } ] }';
    const change = hiveSchemaChange('db', 't', text);
    assert.equal(
      change.literal,
      '{"type":"record","name":"L","fields":[{"name":"id","type":"long","default":9007199254740993}]}',
    );
  });

  test('a database or table that is not a plain identifier is refused', () => {
    assert.throws(
      () => hiveSchemaChange('wmf_raw', 'x` DROP', '{}'),
      (e) => isMwiError(e, 'MWI_CONFIG_INVALID'),
    );
    assert.throws(
      () => hiveSchemaChange('a.b', 't', '{}'),
      (e) => isMwiError(e, 'MWI_CONFIG_INVALID'),
    );
  });
});

describe('the job pin change', () => {
  test('names the key, the values before and after, and a diff labelled with the path', () => {
    const text =
      '{\n  "name": "a",\n  "datasets": { "CirrusSearchRequestSet": { "readerRevision": 111448028943 } }\n}\n';
    const change = jobPinChange('/srv/jobs/a.json', text, CIRRUS, '121456865906', '/srv');
    assert.equal(change.key, 'datasets.CirrusSearchRequestSet.readerRevision');
    assert.equal(change.before, '111448028943');
    assert.equal(change.after, '121456865906');
    assert.match(change.diff, /^--- jobs\/a\.json\n\+\+\+ jobs\/a\.json\n@@ /);
    assert.match(change.diff, /\n-.*111448028943 \}/);
    assert.match(change.diff, /\n\+.*121456865906 \}/);
  });

  test('a job file outside the working directory keeps its absolute path', () => {
    const change = jobPinChange('/etc/mwingest/a.json', '{"name":"a"}\n', CIRRUS, '121456865906', '/srv');
    assert.match(change.diff, /^--- \/etc\/mwingest\/a\.json\n/);
    assert.equal(change.before, null);
  });
});
