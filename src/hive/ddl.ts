import { resolve } from 'node:path';
import avro from 'avsc';
import { MwiError } from '../errors.js';
import { compilePathTemplate } from '../hours/path-template.js';
import { effectiveDataset, fileSystemConfigOf, type LoadedJob, topicMatcher } from '../job/config.js';
import { avroTypeOf } from '../schemas/avro-type.js';
import type { SchemaEntry, SchemaRegistry } from '../schemas/registry.js';
import { hiveIdentifier, hiveString } from './statement.js';

/**
 * The Hive table of a dataset, as Wikimedia's `wmf_raw` tables were declared over Camus output:
 *
 *   CREATE EXTERNAL TABLE IF NOT EXISTS `wmf_raw`.`editattempt`
 *   PARTITIONED BY (`year` string, `month` string, `day` string, `hour` string)
 *   STORED AS AVRO
 *   LOCATION '/wmf/data/raw/mediawiki/mediawiki_EditAttempt/hourly'
 *   TBLPROPERTIES ('avro.schema.literal'='{"type":"record",…}')
 *
 * Avro tables take their columns from the reader schema (the AvroSerDe reads every hour file with
 * it, resolving older files' schemas); `avro.schema.url` replaces the literal when the schema is
 * published somewhere Hive can read. Parquet tables list their columns, mapped from the reader
 * schema as parquet-avro maps them (see {@link hiveTypeOf}). The table is EXTERNAL: dropping it
 * never deletes the data. Every name is checked and back-quoted and every string quoted
 * (`statement.ts`), so no schema, doc text or path can inject HQL.
 */
export interface TableDefinition {
  database: string;
  table: string;
  /** Where Hive finds the dataset's root: an absolute path on Hive's default file system, or a URI. */
  location: string;
  /** The reader schema (a JSON value). */
  schema: unknown;
  /** The schema's text as stored; `avro.schema.literal` keeps its numbers exactly. @defaultValue JSON of `schema` */
  schemaText?: string;
  format: 'avro' | 'parquet';
  /** Avro only: `avro.schema.url` instead of the literal. */
  schemaUrl?: string;
  /** Table comment. */
  comment?: string;
}

/** The partition columns of every mwingest table: strings, values not zero-padded. */
export const PARTITION_COLUMNS = ['year', 'month', 'day', 'hour'] as const;

export function createTableStatement(definition: TableDefinition): string {
  const name = `${hiveIdentifier(definition.database, 'database')}.${hiveIdentifier(definition.table, 'table')}`;
  const record = recordTypeOf(definition.schema);
  const clash = record.fields.find((field) =>
    (PARTITION_COLUMNS as readonly string[]).includes(field.name.toLowerCase()),
  );
  if (clash !== undefined) {
    throw new MwiError(
      'MWI_SCHEMA_INVALID',
      `schema ${record.name} has a field named "${clash.name}", which clashes with the partition column of the same ` +
        `name (${PARTITION_COLUMNS.join(', ')}); rename the field in a new schema revision`,
      { details: { table: `${definition.database}.${definition.table}`, field: clash.name } },
    );
  }
  const lines = [`CREATE EXTERNAL TABLE IF NOT EXISTS ${name}`];
  if (definition.format === 'parquet') {
    if (definition.schemaUrl !== undefined) {
      throw new MwiError('MWI_USAGE', `avro.schema.url applies to Avro tables; ${name} is stored as Parquet`);
    }
    const docs = fieldDocs(definition.schema);
    const columns = record.fields.map((field) => {
      const doc = docs.get(field.name);
      const comment = doc === undefined ? '' : ` COMMENT ${hiveString(oneLine(doc))}`;
      return `  ${hiveIdentifier(field.name, 'column')} ${hiveTypeOf(field.type, field.name)}${comment}`;
    });
    lines.push(`(\n${columns.join(',\n')}\n)`);
  }
  if (definition.comment !== undefined) lines.push(`COMMENT ${hiveString(oneLine(definition.comment))}`);
  lines.push(`PARTITIONED BY (${PARTITION_COLUMNS.map((column) => `\`${column}\` string`).join(', ')})`);
  lines.push(definition.format === 'parquet' ? 'STORED AS PARQUET' : 'STORED AS AVRO');
  lines.push(`LOCATION ${hiveString(definition.location)}`);
  if (definition.format === 'avro') {
    const property =
      definition.schemaUrl === undefined
        ? `'avro.schema.literal'=${hiveString(compactJson(definition.schemaText ?? JSON.stringify(definition.schema)))}`
        : `'avro.schema.url'=${hiveString(definition.schemaUrl)}`;
    lines.push(`TBLPROPERTIES (${property})`);
  }
  return lines.join('\n');
}

/**
 * The Hive type of an Avro type, as parquet-avro and Hive's AvroSerDe map them:
 * record → struct<…>, array → array<…>, map → map<string,…>, ["null", T] → T, enum → string,
 * string → string, bytes and fixed → binary, int → int, long → bigint, float, double, boolean.
 * Logical types keep their underlying type (as the Parquet writer stores them). A union of two
 * or more non-null types, a bare null and a recursive record have no Hive column type:
 * `MWI_SCHEMA_INVALID` naming the field path.
 */
export function hiveTypeOf(type: avro.Type, path: string, open: Set<avro.Type> = new Set()): string {
  const fail = (reason: string) =>
    new MwiError(
      'MWI_SCHEMA_INVALID',
      `field ${path}: ${reason}, which has no Hive column type; store the dataset as Avro`,
      {
        details: { field: path },
      },
    );
  if (type instanceof avro.types.RecordType) {
    if (open.has(type)) throw fail(`the record ${type.name} contains itself`);
    open.add(type);
    const members = type.fields.map(
      (field) =>
        `${hiveIdentifier(field.name, 'field')}:${hiveTypeOf(field.type, `${path}.${field.name}`, open)}`,
    );
    open.delete(type);
    return `struct<${members.join(',')}>`;
  }
  if (type instanceof avro.types.ArrayType) return `array<${hiveTypeOf(type.itemsType, `${path}[]`, open)}>`;
  if (type instanceof avro.types.MapType)
    return `map<string,${hiveTypeOf(type.valuesType, `${path}{}`, open)}>`;
  if (type instanceof avro.types.UnwrappedUnionType || type instanceof avro.types.WrappedUnionType) {
    const all = type.types;
    const branches = all.filter((branch) => branch.typeName !== 'null');
    if (branches.length !== 1)
      throw fail(`the union [${all.map((branch) => branch.name ?? branch.typeName).join(', ')}]`);
    return hiveTypeOf(branches[0]!, path, open);
  }
  if (type instanceof avro.types.LogicalType) return hiveTypeOf(type.underlyingType, path, open);
  const kind = type.typeName === 'abstract:long' ? 'long' : type.typeName;
  const primitive = PRIMITIVES[kind];
  if (primitive === undefined) throw fail(`the type ${kind}`);
  return primitive;
}

const PRIMITIVES: Record<string, string> = {
  boolean: 'boolean',
  int: 'int',
  long: 'bigint',
  float: 'float',
  double: 'double',
  bytes: 'binary',
  fixed: 'binary',
  string: 'string',
  enum: 'string',
};

function recordTypeOf(schema: unknown): avro.types.RecordType {
  let type: avro.Type;
  try {
    type = avroTypeOf(schema);
  } catch (error) {
    throw new MwiError(
      'MWI_SCHEMA_INVALID',
      `the reader schema is not valid Avro: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  if (!(type instanceof avro.types.RecordType)) {
    throw new MwiError(
      'MWI_SCHEMA_INVALID',
      `the reader schema is a ${type.typeName}; a Hive table needs a record`,
    );
  }
  return type;
}

/** Top-level field docs from the schema JSON (avsc keeps no docs). */
function fieldDocs(schema: unknown): Map<string, string> {
  const docs = new Map<string, string>();
  const fields = (schema as { fields?: unknown }).fields;
  if (!Array.isArray(fields)) return docs;
  for (const field of fields as { name?: unknown; doc?: unknown }[]) {
    if (typeof field.name === 'string' && typeof field.doc === 'string') docs.set(field.name, field.doc);
  }
  return docs;
}

function oneLine(text: string): string {
  return text.replace(/[\0\r\n\t]+/g, ' ').trim();
}

/**
 * JSON text without the whitespace between tokens, everything else (numbers, escapes) as written.
 * A schema's text never has a raw line break inside a string, so the result is one line.
 */
export function compactJson(text: string): string {
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i]!;
    if (inString) {
      out += char;
      if (char === '\\') {
        out += text[i + 1] ?? '';
        i++;
      } else if (char === '"') {
        inString = false;
      }
    } else if (char === '"') {
      inString = true;
      out += char;
    } else if (!/\s/.test(char)) {
      out += char;
    }
  }
  return out;
}

/**
 * Where Hive finds `path` of a job's file system. HDFS jobs: the absolute path itself, which Hive
 * resolves on its default file system (`fs.defaultFS`), as Wikimedia's partition adds did — the
 * job knows only the WebHDFS address, not the NameNode's RPC address. Local-directory jobs: a
 * `file://` URI of the directory that stands for `path` (Hive must run on the same machine).
 */
export function hiveLocation(loaded: LoadedJob, path: string): string {
  const fileSystem = fileSystemConfigOf(loaded);
  if (fileSystem.type === 'hdfs') return path;
  const { root } = fileSystem;
  const local = resolve(root, `.${path.startsWith('/') ? path : `/${path}`}`);
  return `file://${local.split('/').map(encodeURIComponent).join('/')}`;
}

/** One dataset's table: the statement and what it was built from. */
export interface DatasetTable {
  schemaName: string;
  topic: string;
  database: string;
  table: string;
  location: string;
  reader: SchemaEntry;
  format: 'avro' | 'parquet';
  statement: string;
}

export interface DatasetTableOptions {
  /** Only this dataset (schema name). */
  dataset?: string;
  /**
   * `avro.schema.url` for every Avro table instead of the literal: a URL template where `{name}`
   * and `{revision}` stand for the reader schema's name and revision id, e.g.
   * `hdfs:///wmf/event-schemas/avro/mediawiki/{name}/{revision}.avsc`.
   */
  schemaUrl?: string;
}

/**
 * The tables of a job: one per dataset the job ingests — the names in its `datasets` section and
 * every registry schema whose topic (`mediawiki_<Name>`) its `topics` include — each with the
 * reader schema the hour files are written with (pinned `readerRevision`, else the latest).
 */
export function datasetTables(
  loaded: LoadedJob,
  registry: SchemaRegistry,
  options: DatasetTableOptions = {},
): DatasetTable[] {
  const { config } = loaded;
  const matches = topicMatcher(config);
  const names = new Set(Object.keys(config.datasets));
  for (const name of registry.names()) if (matches(`mediawiki_${name}`)) names.add(name);
  if (options.dataset !== undefined) {
    if (!names.has(options.dataset) && registry.latest(options.dataset) === undefined) {
      throw new MwiError(
        'MWI_USAGE',
        `the job ${config.name} has no dataset ${options.dataset} (its datasets: ${[...names].sort().join(', ') || 'none'})`,
      );
    }
    names.clear();
    names.add(options.dataset);
  }
  const template = compilePathTemplate(config.output.pathTemplate);
  return [...names].sort().map((schemaName) => {
    const dataset = effectiveDataset(config, schemaName);
    const reader = readerSchema(registry, schemaName, dataset.readerRevision);
    const topic = `mediawiki_${schemaName}`;
    const location = hiveLocation(
      loaded,
      template.datasetRoot({ root: config.output.root, topic, name: schemaName }),
    );
    const schemaUrl =
      options.schemaUrl === undefined || dataset.format !== 'avro'
        ? undefined
        : options.schemaUrl
            .replaceAll('{name}', schemaName)
            .replaceAll('{revision}', String(reader.revision));
    const statement = createTableStatement({
      database: dataset.hive.database,
      table: dataset.hive.table,
      location,
      schema: reader.json,
      schemaText: reader.text,
      format: dataset.format,
      ...(schemaUrl === undefined ? {} : { schemaUrl }),
      comment: `${topic} from Kafka, written hourly by mwingest job ${config.name} (reader schema revision ${reader.revision})`,
    });
    return {
      schemaName,
      topic,
      database: dataset.hive.database,
      table: dataset.hive.table,
      location,
      reader,
      format: dataset.format,
      statement,
    };
  });
}

function readerSchema(registry: SchemaRegistry, name: string, revision: bigint | undefined): SchemaEntry {
  const entry = revision === undefined ? registry.latest(name) : registry.get(name, revision);
  if (entry !== undefined) return entry;
  throw new MwiError(
    revision === undefined ? 'MWI_UNKNOWN_SCHEMA' : 'MWI_UNKNOWN_REVISION',
    revision === undefined
      ? `no schema named ${name} in the registry at ${registry.root}; add avro/mediawiki/${name}/<revision>.avsc`
      : `datasets.${name}.readerRevision pins ${revision}, which is not in the registry at ${registry.root} ` +
          `(known: ${registry.describeRevisions(name)})`,
  );
}
