import { compactJson } from '../hive/ddl.js';
import { hiveIdentifier, hiveString } from '../hive/statement.js';
import { displayPath, pinReaderRevision, unifiedDiff } from './job-diff.js';

/**
 * What changes outside the registry when a schema is upgraded: the Hive table's Avro schema and
 * the job's pinned reader revision.
 */

export interface HiveSchemaChange {
  database: string;
  table: string;
  /**
   * `literal` (upgrade): an ALTER TABLE that sets `avro.schema.literal` (the job format has no key
   * for a schema URL, so the statement embeds the schema rather than pointing at a file);
   * `create` (add): the table's CREATE EXTERNAL TABLE, as `mwingest hive ddl` prints it.
   */
  form: 'literal' | 'create';
  /** The schema as the table property holds it: the file's JSON without whitespace between tokens. */
  literal: string;
  /** The complete HQL, quoted so that no schema text can break out of the string. */
  statement: string;
}

/**
 * The statement that gives the table the schema whose file text is `schemaText`. The literal is
 * the text without whitespace between tokens (numbers and escapes as written, so a long default
 * stays exact), the same literal `mwingest hive ddl` creates tables with.
 */
export function hiveSchemaChange(database: string, table: string, schemaText: string): HiveSchemaChange {
  const literal = compactJson(schemaText);
  const target = `${hiveIdentifier(database, 'database')}.${hiveIdentifier(table, 'table')}`;
  return {
    database,
    table,
    form: 'literal',
    literal,
    statement: `ALTER TABLE ${target} SET TBLPROPERTIES ('avro.schema.literal'=${hiveString(literal)})`,
  };
}

export interface JobPinChange {
  /** The job file, absolute. */
  path: string;
  /** The key that changes. */
  key: string;
  /** Its value before (as written in the file), or null when the job did not pin a reader. */
  before: string | null;
  after: string;
  /** Unified diff of the job file; empty when it already pins the revision. */
  diff: string;
  /** False when the file had to be re-serialized to make the edit (the diff then shows more). */
  minimal: boolean;
}

/** The job-file change that pins `revision` as the reader of `schemaName`. */
export function jobPinChange(
  jobPath: string,
  jobText: string,
  schemaName: string,
  revision: string,
  cwd = process.cwd(),
): JobPinChange {
  const edit = pinReaderRevision(jobText, schemaName, revision);
  const label = displayPath(jobPath, cwd);
  return {
    path: jobPath,
    key: `datasets.${schemaName}.readerRevision`,
    before: edit.before,
    after: edit.before !== null && !edit.before.startsWith('"') ? revision : JSON.stringify(revision),
    diff: unifiedDiff(jobText, edit.text, label, label),
    minimal: edit.minimal,
  };
}
