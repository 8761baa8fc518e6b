import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import avro from 'avsc';
import { WebHdfsFileSystem } from '../../src/hdfs/webhdfs.js';
import { createParquetRecordWriter, type ParquetCodec } from '../../src/writers/parquet-writer.js';
import { CIRRUS, cirrusRecord, seededRandom, WMF_FIXTURES } from '../schemas/realistic-records.js';

/**
 * Parquet files streamed to the real HDFS of `scripts/stack up`, read back from HDFS and checked
 * with parquet-mr (Apache Parquet's Java implementation, the reader Hive and Spark use) through its
 * record-assembly API: every record, value, null, nested list and map must come back as written.
 *
 * parquet-mr comes from Maven Central (org.apache.parquet:parquet-hadoop with hadoop-common), resolved
 * once with `mvn` into ~/.cache/mwingest-parquet-java, or taken from $MWINGEST_PARQUET_JAVA_CLASSPATH.
 * The reader is the small Java program below, run with `java` in source-file mode.
 */
const url = process.env.MWINGEST_WEBHDFS_URL ?? 'http://127.0.0.1:9870';
const user = process.env.MWINGEST_HDFS_USER ?? 'hdfs';
const PARQUET_VERSION = '1.15.2';
const HADOOP_VERSION = '3.4.2';

/**
 * Prints each record of a Parquet file as one JSON line, assembled by parquet-mr's example Group
 * reader. LIST and MAP groups are unwrapped by their annotation (Parquet LogicalTypes.md), INT64
 * is printed as a string (exact), FLOAT widened to double (exact), binary without STRING annotation
 * as "hex:…". Prints "rowgroups N" first.
 */
const JAVA_READER = `
import java.util.HexFormat;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.parquet.example.data.Group;
import org.apache.parquet.hadoop.ParquetFileReader;
import org.apache.parquet.hadoop.ParquetReader;
import org.apache.parquet.hadoop.example.GroupReadSupport;
import org.apache.parquet.hadoop.util.HadoopInputFile;
import org.apache.parquet.schema.GroupType;
import org.apache.parquet.schema.LogicalTypeAnnotation;
import org.apache.parquet.schema.PrimitiveType;
import org.apache.parquet.schema.Type;

public class ParquetToJson {
  public static void main(String[] args) throws Exception {
    Configuration conf = new Configuration();
    Path path = new Path(args[0]);
    try (ParquetFileReader file = ParquetFileReader.open(HadoopInputFile.fromPath(path, conf))) {
      System.out.println("rowgroups " + file.getRowGroups().size());
    }
    try (ParquetReader<Group> reader = ParquetReader.builder(new GroupReadSupport(), path).withConf(conf).build()) {
      for (Group record = reader.read(); record != null; record = reader.read()) {
        StringBuilder out = new StringBuilder();
        record(record, out);
        System.out.println(out);
      }
    }
  }

  static void record(Group g, StringBuilder out) {
    GroupType type = g.getType();
    out.append('{');
    for (int i = 0; i < type.getFieldCount(); i++) {
      if (i > 0) out.append(',');
      string(type.getType(i).getName(), out);
      out.append(':');
      field(g, i, out);
    }
    out.append('}');
  }

  /** A non-repeated field: null when absent. */
  static void field(Group g, int i, StringBuilder out) {
    if (g.getFieldRepetitionCount(i) == 0) out.append("null");
    else value(g, i, 0, g.getType().getType(i), out);
  }

  static void value(Group g, int i, int j, Type type, StringBuilder out) {
    if (type.isPrimitive()) { primitive(g, i, j, type.asPrimitiveType(), out); return; }
    Group group = g.getGroup(i, j);
    LogicalTypeAnnotation annotation = type.getLogicalTypeAnnotation();
    if (annotation instanceof LogicalTypeAnnotation.ListLogicalTypeAnnotation) {
      out.append('[');
      for (int k = 0; k < group.getFieldRepetitionCount(0); k++) {
        if (k > 0) out.append(',');
        field(group.getGroup(0, k), 0, out);
      }
      out.append(']');
    } else if (annotation instanceof LogicalTypeAnnotation.MapLogicalTypeAnnotation) {
      out.append('{');
      for (int k = 0; k < group.getFieldRepetitionCount(0); k++) {
        if (k > 0) out.append(',');
        Group entry = group.getGroup(0, k);
        string(entry.getString("key", 0), out);
        out.append(':');
        field(entry, entry.getType().getFieldIndex("value"), out);
      }
      out.append('}');
    } else {
      record(group, out);
    }
  }

  static void primitive(Group g, int i, int j, PrimitiveType type, StringBuilder out) {
    switch (type.getPrimitiveTypeName()) {
      case INT32: out.append(g.getInteger(i, j)); break;
      case INT64: out.append('"').append(g.getLong(i, j)).append('"'); break;
      case FLOAT: out.append(Double.toString((double) g.getFloat(i, j))); break;
      case DOUBLE: out.append(Double.toString(g.getDouble(i, j))); break;
      case BOOLEAN: out.append(g.getBoolean(i, j)); break;
      default:
        if (type.getLogicalTypeAnnotation() instanceof LogicalTypeAnnotation.StringLogicalTypeAnnotation) string(g.getString(i, j), out);
        else out.append("\\"hex:").append(HexFormat.of().formatHex(g.getBinary(i, j).getBytes())).append('"');
    }
  }

  static void string(String s, StringBuilder out) {
    out.append('"');
    for (int k = 0; k < s.length(); k++) {
      char c = s.charAt(k);
      if (c == '"' || c == '\\\\') out.append('\\\\').append(c);
      else if (c < 0x20) out.append(String.format("\\\\u%04x", (int) c));
      else out.append(c);
    }
    out.append('"');
  }
}
`;

function parquetJavaClasspath(): string {
  const configured = process.env.MWINGEST_PARQUET_JAVA_CLASSPATH;
  if (configured) return configured;
  const dir = join(
    homedir(),
    '.cache',
    'mwingest-parquet-java',
    `parquet-${PARQUET_VERSION}-hadoop-${HADOOP_VERSION}`,
  );
  const lib = join(dir, 'lib');
  if (!existsSync(lib)) {
    mkdirSync(dir, { recursive: true });
    const pom = join(dir, 'pom.xml');
    const dependency = (group: string, artifact: string, version: string) =>
      `<dependency><groupId>${group}</groupId><artifactId>${artifact}</artifactId><version>${version}</version></dependency>`;
    writeFileSync(
      pom,
      `<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>
<groupId>org.mwingest.test</groupId><artifactId>parquet-reader</artifactId><version>1</version><packaging>pom</packaging>
<dependencies>${dependency('org.apache.parquet', 'parquet-hadoop', PARQUET_VERSION)}
${dependency('org.apache.hadoop', 'hadoop-common', HADOOP_VERSION)}
${dependency('org.apache.hadoop', 'hadoop-mapreduce-client-core', HADOOP_VERSION)}</dependencies></project>`,
    );
    const staging = join(dir, `lib.${process.pid}`);
    try {
      execFileSync(
        'mvn',
        [
          '-B',
          '-q',
          '-f',
          pom,
          'dependency:copy-dependencies',
          `-DoutputDirectory=${staging}`,
          '-DincludeScope=runtime',
        ],
        {
          stdio: ['ignore', 'pipe', 'pipe'],
          timeout: 900_000,
        },
      );
    } catch (error) {
      throw new Error(
        `could not fetch parquet-mr ${PARQUET_VERSION} from Maven Central with mvn: ${String(error)}`,
      );
    }
    renameSync(staging, lib); // whole or not at all
  }
  return `${lib}/*`;
}

/** Runs the Java reader on a local file: the row group count and the records. */
function readWithParquetMr(
  classpath: string,
  source: string,
  file: string,
): { rowGroups: number; records: unknown[] } {
  const output = execFileSync(
    'java',
    ['-Xmx192m', '-XX:TieredStopAtLevel=1', '-cp', classpath, source, file],
    {
      encoding: 'utf8',
      maxBuffer: 1 << 28,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const lines = output.split('\n').filter((line) => line !== '');
  const header = lines.findIndex((line) => line.startsWith('rowgroups '));
  assert.notEqual(header, -1, output.slice(0, 2000));
  return {
    rowGroups: Number(lines[header]!.slice('rowgroups '.length)),
    records: lines.slice(header + 1).map((line) => JSON.parse(line)),
  };
}

/** The same form as the Java output: integers as strings (exact), bytes as hex, keys sorted. */
function normalize(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value === 'bigint') return String(value);
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : value;
  if (typeof value === 'string') return value;
  if (value instanceof Uint8Array) return `hex:${Buffer.from(value).toString('hex')}`;
  if (Array.isArray(value)) return value.map(normalize);
  return Object.fromEntries(
    Object.keys(value as object)
      .sort()
      .map((key) => [key, normalize((value as Record<string, unknown>)[key])]),
  );
}

function newest(dir: string): object {
  const files = readdirSync(dir).sort((a, b) => (BigInt(a.slice(0, -5)) < BigInt(b.slice(0, -5)) ? -1 : 1));
  return JSON.parse(readFileSync(join(dir, files.at(-1)!), 'utf8'));
}

/** Records as the ingest hands them over (avsc-decoded), with the edges pushed: big longs, nulls, empties. */
function recordsFor(schema: object, count: number, seed: number): unknown[] {
  const type = avro.Type.forSchema(schema as avro.Schema) as avro.types.RecordType;
  const random = seededRandom(seed);
  return Array.from({ length: count }, (_, i) => {
    const record = type.fromBuffer(type.toBuffer(type.random())) as Record<string, unknown>;
    for (const field of type.fields) {
      const union = field.type.typeName.startsWith('union');
      const valueType = union
        ? (field.type as unknown as { types: avro.Type[] }).types.find((t) => t.typeName !== 'null')!
        : field.type;
      if (union && random() < 0.3) record[field.name] = null;
      else if (valueType instanceof avro.types.ArrayType && random() < 0.3) record[field.name] = [];
      else if (valueType instanceof avro.types.MapType && random() < 0.3) record[field.name] = {};
      else if (valueType.typeName === 'long' && i % 7 === 0) record[field.name] = -(2n ** 63n) + BigInt(i); // beyond 2^53
    }
    return record;
  });
}

describe('Parquet files on HDFS, read by parquet-mr', () => {
  let fs: WebHdfsFileSystem;
  let base: string;
  let classpath: string;
  let work: string;
  let source: string;

  before(async () => {
    fs = new WebHdfsFileSystem({ url, user, retry: { retries: 3, minTimeoutMs: 50, maxTimeoutMs: 500 } });
    try {
      await fs.stat('/');
    } catch (error) {
      throw new Error(`no WebHDFS at ${url}: start it with "scripts/stack up" (${String(error)})`);
    }
    base = `/tmp/mwingest-test/${process.pid}-${randomUUID()}`;
    await fs.mkdirs(base);
    classpath = parquetJavaClasspath();
    work = mkdtempSync(join(tmpdir(), 'mwingest-parquet-'));
    source = join(work, 'ParquetToJson.java');
    writeFileSync(source, JAVA_READER);
  });

  after(async () => {
    await fs?.delete(base, { recursive: true });
    await fs?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  const cases: {
    name: string;
    schema: () => object;
    records: (schema: object) => unknown[];
    codec: ParquetCodec;
  }[] = [
    {
      name: `${CIRRUS} 121456865906 (real schema; nested lists of records, maps)`,
      schema: () =>
        JSON.parse(readFileSync(join(WMF_FIXTURES, 'avro/mediawiki', CIRRUS, '121456865906.avsc'), 'utf8')),
      records: () => {
        const random = seededRandom(11);
        return Array.from({ length: 3000 }, () => cirrusRecord(random));
      },
      codec: 'snappy',
    },
    {
      name: 'EditAttempt, newest (optional enums, map of longs, nested record, bytes)',
      schema: () => newest(join(import.meta.dirname, '../../event-schemas/avro/mediawiki/EditAttempt')),
      records: (schema) => recordsFor(schema, 3000, 12),
      codec: 'gzip',
    },
    {
      name: 'SearchSatisfaction, newest (fixed, array of records, optional longs)',
      schema: () =>
        newest(join(import.meta.dirname, '../../event-schemas/avro/mediawiki/SearchSatisfaction')),
      records: (schema) => recordsFor(schema, 3000, 13),
      codec: 'none',
    },
  ];

  for (const { name, schema: schemaOf, records: recordsOf, codec } of cases) {
    test(`${name}, ${codec}: streamed to HDFS in row groups, every record read back by parquet-mr`, async () => {
      const schema = schemaOf();
      const records = recordsOf(schema);
      const path = `${base}/${randomUUID()}.parquet`;
      const sink = await fs.create(path);
      const writer = createParquetRecordWriter(sink, { schema, codec, rowGroupRows: 700 });
      for (const record of records) {
        const pending = writer.append(record);
        if (pending) await pending;
      }
      const result = await writer.finish();
      await sink.close();
      assert.equal((await fs.stat(path))?.length, result.bytes, 'the file on HDFS is what the writer wrote');

      const local = join(work, `${randomUUID()}.parquet`);
      writeFileSync(local, await fs.readFile(path));
      const back = readWithParquetMr(classpath, source, local);
      assert.equal(back.rowGroups, Math.ceil(records.length / 700));
      assert.equal(back.records.length, records.length);
      for (const [i, record] of records.entries())
        assert.deepEqual(normalize(back.records[i]), normalize(record), `record ${i}`);
    });
  }
});
