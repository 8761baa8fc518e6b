import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { MwiError } from '../errors.js';
import { compilePathTemplate } from '../hours/path-template.js';
import { checkTimestampFormat } from '../hours/timestamp.js';
import { parseOffsetTarget } from '../kafka/offset-target.js';
import { defaultRegistryRoot } from '../schemas/registry.js';
import { registerSecret } from '../secrets.js';
import { hdfsFileSystem, kafkaProperties, localFileSystem, saslSchema } from './connection-schemas.js';
import { type EnvUse, expandEnv, hideEnvValues } from './env.js';

/**
 * A job definition (`jobs/<name>.json`): the counterpart of a Camus properties file.
 * Every field is validated on load; an error names the key, the bad value and what is expected.
 * Relative paths in a job file are relative to the job file's own directory.
 * Secrets are never written in the file: they are named by environment variable (`…Env`), or
 * any string value takes them from the environment with `${env:NAME}` (src/job/env.ts); such values
 * are never printed, here or anywhere else (src/secrets.ts).
 */

const hostPort = z
  .string()
  .regex(/^[A-Za-z0-9.\-_[\]:]+:\d{1,5}$/, 'expected "host:port", e.g. "kafka1001.eqiad.wmnet:9092"');

const regexSource = z.string().superRefine((source, ctx) => {
  try {
    new RegExp(source);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: `not a valid regular expression: ${(error as Error).message}` });
  }
});

const revisionText = z
  .union([z.string(), z.number().int()])
  .transform((value) => String(value))
  .refine((value) => /^[1-9]\d{11,}$/.test(value), {
    message:
      'expected a schema revision id such as 121456865906 (version ≥ 10 followed by a 10-digit unix time)',
  });

const timestampFormat = z
  .string()
  .min(1, 'expected unix_seconds, unix_milliseconds, ISO-8601 or a SimpleDateFormat pattern')
  .superRefine((format, ctx) => {
    try {
      checkTimestampFormat(format, 'timestamp.format');
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: reasonOf(error) });
    }
  });

const pathTemplate = z.string().superRefine((template, ctx) => {
  try {
    compilePathTemplate(template);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: reasonOf(error) });
  }
});

/** The sentence after "key: " in a config error thrown by a checker. */
function reasonOf(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/^[\w.]+(?: "[^"]*")?: /, '').replace(/ \(got "[^"]*"\)$/, '');
}

/** Where a dataset's timestamp is and how to read it. */
const timestampSpec = z.strictObject({
  /** Field name, or a dotted path into nested records. @defaultValue "ts" */
  field: z.string().min(1).default('ts'),
  /** `unix_seconds`, `unix_milliseconds`, `ISO-8601`, or a Java SimpleDateFormat pattern. @defaultValue "unix_seconds" */
  format: timestampFormat.default('unix_seconds'),
});

const hiveIdentifier = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected a Hive identifier: letters, digits, _');

const datasetSchema = z.strictObject({
  /** The reader schema revision the hour files are written with. @defaultValue the latest revision in the registry */
  readerRevision: revisionText.optional(),
  /** Overrides the job's timestamp field/format for this dataset. */
  timestamp: z
    .strictObject({ field: z.string().min(1).optional(), format: timestampFormat.optional() })
    .optional(),
  /** The Hive table of this dataset. @defaultValue job `hive.database`, table = lower-cased schema name */
  hive: z.strictObject({ database: hiveIdentifier.optional(), table: hiveIdentifier.optional() }).optional(),
  /** Output file format. @defaultValue "avro" */
  format: z.enum(['avro', 'parquet']).default('avro'),
  /** Parquet settings, for `format: "parquet"`. */
  parquet: z
    .strictObject({
      /** @defaultValue "snappy" */
      codec: z.enum(['snappy', 'gzip', 'none']).default('snappy'),
      /** A row group is closed at this many records. @defaultValue 100000 */
      rowGroupRows: z.number().int().min(1).default(100_000),
      /**
       * A row group is closed at this estimated size; a filling group takes about 4× this in memory,
       * per open hour file. @defaultValue 4194304 (4 MiB)
       */
      rowGroupBytes: z
        .number()
        .int()
        .min(64 * 1024)
        .max(256 * 1024 * 1024)
        .default(4 * 1024 * 1024),
    })
    .prefault({}),
});

const jobSchema = z.strictObject({
  /** Job name: used in state paths, queue names and metrics. */
  name: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'expected lower-case letters, digits, - and _'),
  kafka: z.strictObject({
    brokers: z.array(hostPort).min(1, 'list at least one broker'),
    /** @defaultValue "mwingest" */
    clientId: z.string().min(1).default('mwingest'),
    /** Consumer group whose offsets are committed for lag monitoring only. @defaultValue "mwingest-<name>" */
    groupId: z.string().min(1).optional(),
    /** @defaultValue false */
    ssl: z
      .union([
        z.boolean(),
        z.strictObject({
          caFile: z.string().optional(),
          certFile: z.string().optional(),
          keyFile: z.string().optional(),
          rejectUnauthorized: z.boolean().default(true),
        }),
      ])
      .default(false),
    sasl: saslSchema.optional(),
    /**
     * More librdkafka client properties (CONFIGURATION.md), passed to every client as they are,
     * like Kafka Connect's `consumer.override.*`; those mwingest sets itself are refused.
     * @defaultValue {}
     */
    properties: kafkaProperties.default({}),
    /** @defaultValue 10000 */
    connectTimeoutMs: z.number().int().positive().default(10_000),
  }),
  topics: z
    .strictObject({
      /** @defaultValue "^mediawiki_.+" */
      include: regexSource.default('^mediawiki_.+'),
      exclude: regexSource.optional(),
    })
    .prefault({}),
  /** Schema registry root (a checkout of event-schemas). @defaultValue the project's `event-schemas/` */
  registry: z.string().min(1).optional(),
  fileSystem: z.discriminatedUnion('type', [localFileSystem, hdfsFileSystem]),
  output: z
    .strictObject({
      /** @defaultValue "/wmf/data/raw/mediawiki" */
      root: z.string().startsWith('/', 'expected an absolute path').default('/wmf/data/raw/mediawiki'),
      /** @defaultValue "<root>/<topic>/hourly/{yyyy}/{MM}/{dd}/{HH}" */
      pathTemplate: pathTemplate.default('<root>/<topic>/hourly/{yyyy}/{MM}/{dd}/{HH}'),
      /** Offsets, manifests, temp files and error files. @defaultValue "/wmf/camus/mwingest" */
      stateDir: z.string().startsWith('/', 'expected an absolute path').default('/wmf/camus/mwingest'),
      /** Avro container codec. @defaultValue "snappy" */
      codec: z.enum(['snappy', 'deflate', 'null']).default('snappy'),
      /** Uncompressed bytes per Avro block. @defaultValue 65536 */
      blockBytes: z
        .number()
        .int()
        .min(1024)
        .max(64 * 1024 * 1024)
        .default(65_536),
    })
    .prefault({}),
  /** The job-wide timestamp field and format; datasets may override. */
  timestamp: timestampSpec.prefault({}),
  /** Per schema name (`CirrusSearchRequestSet`), settings that differ from the job's. */
  datasets: z
    .record(z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/, 'expected a schema name'), datasetSchema)
    .default({}),
  limits: z
    .strictObject({
      /** Stop reading a partition after this many records in one run; the next run continues. */
      maxRecordsPerRun: z.number().int().positive().optional(),
      /** Stop reading after this many seconds in one run; the next run continues. */
      maxRunSeconds: z.number().positive().optional(),
      /** Fail the run when error records / messages read exceeds this (per topic). @defaultValue 0.01 */
      errorRatio: z.number().min(0).max(1).default(0.01),
    })
    .prefault({}),
  leases: z
    .strictObject({
      /**
       * How long a run or partition lease lasts without renewal. A worker that dies holds its
       * partitions this long before another may take them. @defaultValue 30
       */
      ttlSeconds: z.number().min(1).max(3600).default(30),
    })
    .prefault({}),
  /**
   * Where a partition that was never committed starts: `earliest`, `latest`, an ISO-8601 time (Kafka's
   * offsets-for-times) or `after-imported` (after the hours already flagged `_IMPORTED` in the output,
   * for a cut-over from Camus). `mwingest run --start-position` overrides it. @defaultValue "earliest"
   */
  startPosition: z
    .string()
    .refine(
      (value) => value === 'after-imported' || parseOffsetTarget(value, { offsets: false }) !== undefined,
      {
        message:
          'expected "earliest", "latest", "after-imported" or an ISO-8601 time such as "2026-12-07T14:00:00Z"',
      },
    )
    .default('earliest'),
  /** What to do with offsets that expired from Kafka before they were read. @defaultValue "fail" */
  expiredOffsets: z.enum(['fail', 'report']).default('fail'),
  completeness: z
    .strictObject({
      /** A caught-up idle partition counts as having reached now minus this. @defaultValue 600 */
      idleGraceSeconds: z.number().int().min(0).default(600),
      /** Never announce hours before this (ISO-8601); by default the hour of the topic's oldest Kafka time (see src/hours/completeness.ts). */
      startHour: z.iso.datetime({ offset: true }).optional(),
    })
    .prefault({}),
  hive: z
    .strictObject({
      /** @defaultValue "wmf_raw" */
      database: hiveIdentifier.default('wmf_raw'),
      /** HiveServer2 Thrift binary address for partition adds and DDL. @defaultValue "127.0.0.1:10000" */
      server: hostPort.optional(),
      /** Session user. @defaultValue the OS user */
      user: z.string().min(1).optional(),
      /** Name of the environment variable holding the password (LDAP/CUSTOM authentication). */
      passwordEnv: z.string().min(1).optional(),
      /**
       * How `mwingest hive worker` rebuilds the partition-add queue from the hour directories
       * (announced hours without `_SUCCESS` and without a queued add, e.g. after Redis lost its data).
       */
      reconcile: z
        .strictObject({
          /** Seconds between two passes; one pass also runs when the worker starts. @defaultValue 600 */
          intervalSeconds: z.number().int().min(1).max(86_400).default(600),
          /** Ended hours looked at on every pass, besides those the completeness record lists. @defaultValue 48 */
          lookbackHours: z
            .number()
            .int()
            .min(1)
            .max(24 * 366)
            .default(48),
        })
        .prefault({}),
    })
    .prefault({}),
  schedule: z
    .strictObject({
      /** Cron expression, evaluated in UTC. @defaultValue "15 * * * *" */
      cron: z.string().min(1).default('15 * * * *'),
    })
    .prefault({}),
});

export type JobConfig = z.output<typeof jobSchema>;
export type DatasetConfig = z.output<typeof datasetSchema>;
export type FileSystemConfig = JobConfig['fileSystem'];

/** A job as loaded: the validated config plus where it came from. */
export interface LoadedJob {
  config: JobConfig;
  /** Absolute path of the job file (or `<inline>`). */
  path: string;
  /** Directory that relative paths in the file are relative to. */
  baseDir: string;
}

/** Effective settings of one dataset: the job's defaults merged with its `datasets` entry. */
export interface EffectiveDataset {
  schemaName: string;
  readerRevision: bigint | undefined;
  timestamp: { field: string; format: string };
  hive: { database: string; table: string };
  format: 'avro' | 'parquet';
  parquet: DatasetConfig['parquet'];
}

export function effectiveDataset(job: JobConfig, schemaName: string): EffectiveDataset {
  const dataset = job.datasets[schemaName];
  return {
    schemaName,
    readerRevision: dataset?.readerRevision === undefined ? undefined : BigInt(dataset.readerRevision),
    timestamp: {
      field: dataset?.timestamp?.field ?? job.timestamp.field,
      format: dataset?.timestamp?.format ?? job.timestamp.format,
    },
    hive: {
      database: dataset?.hive?.database ?? job.hive.database,
      table: dataset?.hive?.table ?? schemaName.toLowerCase(),
    },
    format: dataset?.format ?? 'avro',
    parquet: dataset?.parquet ?? { codec: 'snappy', rowGroupRows: 100_000, rowGroupBytes: 4 * 1024 * 1024 },
  };
}

export function consumerGroupOf(job: JobConfig): string {
  return job.kafka.groupId ?? `mwingest-${job.name}`;
}

/** Does the job ingest this topic (include and not exclude)? */
export function topicMatcher(job: JobConfig, override?: string): (topic: string) => boolean {
  const include = new RegExp(override ?? job.topics.include);
  const exclude = job.topics.exclude === undefined ? undefined : new RegExp(job.topics.exclude);
  return (topic) => include.test(topic) && !(exclude?.test(topic) ?? false);
}

/**
 * Validates a parsed job object; `source` names it in errors. `fromEnv`: the values substituted
 * from the environment, shown in errors as the `${env:NAME}` they came from, never as themselves.
 */
export function parseJobConfig(value: unknown, source: string, fromEnv: readonly EnvUse[] = []): JobConfig {
  const result = jobSchema.safeParse(value);
  if (result.success) return result.data;
  const hide = (text: string) => hideEnvValues(text, fromEnv);
  const lines = result.error.issues.map((issue) => `  ${hide(formatIssue(issue, value))}`);
  throw new MwiError(
    'MWI_CONFIG_INVALID',
    `${source} is not a valid job definition:\n${lines.join('\n')}\nSee jobs/README.md for every key and its default.`,
    {
      details: {
        source,
        issues: result.error.issues.map((issue) => ({
          key: keyOf(issue.path),
          message: hide(issue.message),
        })),
      },
    },
  );
}

/** Reads, substitutes `${env:NAME}` from `env`, and validates a job file. */
export async function loadJob(path: string, env: NodeJS.ProcessEnv = process.env): Promise<LoadedJob> {
  const absolute = resolve(path);
  let text: string;
  try {
    text = await readFile(absolute, 'utf8');
  } catch (error) {
    throw new MwiError('MWI_CONFIG_INVALID', `cannot read job file ${path}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new MwiError(
      'MWI_CONFIG_INVALID',
      `job file ${path} is not valid JSON: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  const expanded = expandEnv(json, path, env);
  for (const use of expanded.uses) {
    registerSecret(use.value, `\${env:${use.variable}}`);
    // A URL is also shown by its host (`webhdfs://host:port`): hide that form too.
    const host = URL.canParse(use.value) ? new URL(use.value).host : '';
    if (host !== '') registerSecret(host, `\${env:${use.variable}}`);
  }
  return {
    config: parseJobConfig(expanded.value, path, expanded.uses),
    path: absolute,
    baseDir: dirname(absolute),
  };
}

/** Resolves a path from a job file against the job file's directory. */
export function resolveJobPath(job: LoadedJob, path: string): string {
  return isAbsolute(path) ? path : resolve(job.baseDir, path);
}

/** The job's `fileSystem` section with a local root resolved against the job file's directory. */
export function fileSystemConfigOf(loaded: LoadedJob): FileSystemConfig {
  const { fileSystem } = loaded.config;
  if (fileSystem.type === 'local') return { ...fileSystem, root: resolveJobPath(loaded, fileSystem.root) };
  const path = (value: string | undefined) =>
    value === undefined ? undefined : resolveJobPath(loaded, value);
  const { kerberos, caFile } = fileSystem;
  return {
    ...fileSystem,
    ...(caFile === undefined ? {} : { caFile: path(caFile) }),
    ...(kerberos === undefined
      ? {}
      : {
          kerberos: {
            ...kerberos,
            ...(kerberos.keytab === undefined ? {} : { keytab: path(kerberos.keytab) }),
            ...(kerberos.krb5Config === undefined ? {} : { krb5Config: path(kerberos.krb5Config) }),
          },
        }),
  };
}

/** The job's `registry` resolved against the job file, else the project's `event-schemas/`. */
export function registryRootOf(loaded: LoadedJob): string {
  const { registry } = loaded.config;
  return registry === undefined ? defaultRegistryRoot() : resolveJobPath(loaded, registry);
}

/** Reads a secret named by a `…Env` key; fails naming the key and the variable, never the value. */
export function secretFromEnv(key: string, variable: string, env: NodeJS.ProcessEnv = process.env): string {
  const value = env[variable];
  if (value === undefined || value === '') {
    throw new MwiError(
      'MWI_CONFIG_INVALID',
      `${key} names the environment variable ${variable}, which is not set`,
    );
  }
  return value;
}

function keyOf(path: PropertyKey[]): string {
  return path.reduce<string>((key, part) => {
    if (typeof part === 'number') return `${key}[${part}]`;
    return key === '' ? String(part) : `${key}.${String(part)}`;
  }, '');
}

function valueAt(root: unknown, path: PropertyKey[]): unknown {
  let value = root;
  for (const part of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[part];
  }
  return value;
}

function formatIssue(issue: z.core.$ZodIssue, root: unknown): string {
  if (issue.code === 'unrecognized_keys') {
    const where = keyOf(issue.path);
    return issue.keys
      .map((key) => `${where === '' ? key : `${where}.${key}`}: unknown key (misspelt?)`)
      .join('\n  ');
  }
  const key = keyOf(issue.path) || '(top level)';
  const value = valueAt(root, issue.path);
  const shown = value === undefined ? 'missing' : `got ${JSON.stringify(value)}`;
  return `${key}: ${issue.message} (${shown})`;
}
