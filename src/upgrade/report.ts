import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { describeError, MwiError } from '../errors.js';
import type { HiveClient } from '../hive/client.js';
import { effectiveDataset, type LoadedJob, loadJob, registryRootOf, topicMatcher } from '../job/config.js';
import { defaultRegistryRoot, SchemaRegistry } from '../schemas/registry.js';
import type { JobChange } from './add-job.js';
import { type CheckState, CheckStates, type UpgradeCheck } from './check-result.js';
import { buildChecklist } from './checklist.js';
import type { ChecklistJob, ChecklistStep } from './checklist-step.js';
import { checkRevision, isoSeconds, type RevisionVerdict } from './checks.js';
import { type HiveSchemaChange, hiveSchemaChange, type JobPinChange, jobPinChange } from './downstream.js';
import { describeType } from './fields.js';
import type { TimestampSetting } from './schema-checks.js';

/**
 * `mwingest schema upgrade` and `schema check` without the command line: load the registry and
 * the job, check the revision(s), work out the downstream changes and the checklist, and give the
 * result as a report (for the terminal, ./format.ts) or as the stable `--json` document
 * (`reportJson`, shape in docs/schema-upgrade.md).
 */

export interface SchemaCommandOptions {
  /** Registry root. @defaultValue the job's registry, else the project's `event-schemas/` */
  registry?: string;
  /** Job definition file. */
  job?: string;
  /** Write the full Hive ALTER statement to this file (upgrade only). */
  hqlFile?: string;
  /** Unix milliseconds, for the "made in the future" check. @defaultValue Date.now() */
  now?: number;
  /** HiveServer2 to read the table's avro.schema.literal from (upgrade only). @defaultValue none: step 3 is manual */
  hive?: { host: string; port: number; username?: string; password?: string };
}

export interface JobSummary {
  loaded: LoadedJob;
  /** The registry the job's ingest reads. */
  registryRoot: string;
  readerRevision: bigint | undefined;
  timestamp: { field: string; format: string };
  hive: { database: string; table: string };
  format: 'avro' | 'parquet';
  ingestsTopic: boolean;
}

export interface SchemaReport {
  command: 'upgrade' | 'check' | 'add';
  schema: string;
  registryRoot: string;
  /** Registry files of this schema that did not load, with the reason. */
  registryProblems: { path: string; reason: string }[];
  job: JobSummary | undefined;
  timestamp: TimestampSetting;
  revisions: RevisionVerdict[];
  /** Add only: the checks of the deployment (job registry, job, Kafka, Hive, data), after the file's. */
  deployment: UpgradeCheck[] | undefined;
  /** Upgrade and add. */
  downstream:
    | {
        hive: HiveSchemaChange | undefined;
        job: JobPinChange | JobChange | undefined;
        hqlFile: string | undefined;
      }
    | undefined;
  /** Upgrade and add. */
  checklist: ChecklistStep[] | undefined;
  counts: Record<CheckState, number>;
  ok: boolean;
  /** 0 when no automatic check failed, 1 otherwise. */
  exitCode: 0 | 1;
}

const NAME = /^[A-Za-z][A-Za-z0-9_]*$/;

export interface Setup {
  registry: SchemaRegistry;
  job: JobSummary | undefined;
  timestamp: TimestampSetting;
}

export async function setUp(name: string, options: SchemaCommandOptions): Promise<Setup> {
  if (!NAME.test(name)) {
    throw new MwiError(
      'MWI_USAGE',
      `"${name}" is not a schema name: expected letters, digits and _ (e.g. CirrusSearchRequestSet)`,
    );
  }
  const loaded = options.job === undefined ? undefined : await loadJob(options.job);
  const jobRegistry = loaded === undefined ? undefined : registryRootOf(loaded);
  const root = resolve(options.registry ?? jobRegistry ?? defaultRegistryRoot());
  const folder = join(root, 'avro', 'mediawiki');
  const isDir = await stat(folder).then(
    (s) => s.isDirectory(),
    () => false,
  );
  if (!isDir) {
    throw new MwiError(
      'MWI_USAGE',
      `${root} is not a schema registry: it has no avro/mediawiki/ folder; point --registry at an event-schemas checkout`,
    );
  }
  const registry = await SchemaRegistry.load(root);
  let job: JobSummary | undefined;
  if (loaded !== undefined) {
    const dataset = effectiveDataset(loaded.config, name);
    job = {
      loaded,
      registryRoot: jobRegistry!,
      readerRevision: dataset.readerRevision,
      timestamp: dataset.timestamp,
      hive: dataset.hive,
      format: dataset.format,
      ingestsTopic: topicMatcher(loaded.config)(`mediawiki_${name}`),
    };
  }
  const timestamp: TimestampSetting =
    job === undefined
      ? { field: 'ts', format: 'unix_seconds', source: 'default' }
      : { ...job.timestamp, source: 'job' };
  return { registry, job, timestamp };
}

async function knownNames(registry: SchemaRegistry): Promise<string> {
  const names = (await readdir(join(registry.root, 'avro', 'mediawiki'), { withFileTypes: true }))
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();
  return names.length === 0 ? 'none' : names.join(', ');
}

export async function requireFolder(registry: SchemaRegistry, name: string): Promise<string> {
  const folder = join(registry.root, 'avro', 'mediawiki', name);
  const isDir = await stat(folder).then(
    (s) => s.isDirectory(),
    () => false,
  );
  if (!isDir) {
    throw new MwiError(
      'MWI_USAGE',
      `the registry ${registry.root} has no schema ${name} (no folder avro/mediawiki/${name}); it has: ` +
        `${await knownNames(registry)}. For a new schema, create the folder with its first revision`,
    );
  }
  return folder;
}

/** The revision ids of the `.avsc` files in a schema's folder, oldest first. */
export async function revisionFileIds(folder: string): Promise<string[]> {
  return (await readdir(folder))
    .filter((file) => file.endsWith('.avsc'))
    .map((file) => file.slice(0, -'.avsc'.length))
    .sort(byRevision);
}

/** Registry problems in the schema's folder, except those of files the report checks itself. */
export function problemsOf(
  registry: SchemaRegistry,
  name: string,
  checked: RevisionVerdict[],
): SchemaReport['registryProblems'] {
  const folder = join(registry.root, 'avro', 'mediawiki', name);
  const paths = new Set(checked.map((v) => v.path));
  return registry.problems
    .filter((p) => (p.path.startsWith(`${folder}/`) || p.path === folder) && !paths.has(p.path))
    .map((p) => ({ path: p.path, reason: p.reason }));
}

export function countChecks(checks: UpgradeCheck[]): Record<CheckState, number> {
  const counts = Object.fromEntries(CheckStates.map((s) => [s, 0])) as Record<CheckState, number>;
  for (const c of checks) counts[c.state]++;
  return counts;
}

export function verdictOf(counts: Record<CheckState, number>): { ok: boolean; exitCode: 0 | 1 } {
  return counts.fail === 0 ? { ok: true, exitCode: 0 } : { ok: false, exitCode: 1 };
}

/** `schema upgrade <Name> <revision>`: the new revision against the ones before it, and the checklist. */
export async function runUpgrade(
  name: string,
  idText: string,
  options: SchemaCommandOptions = {},
): Promise<SchemaReport> {
  if (!/^\d+$/.test(idText)) {
    throw new MwiError(
      'MWI_USAGE',
      `"${idText}" is not a revision id: expected digits, a version of at least 10 and a 10-digit unix time (e.g. 121456865906)`,
    );
  }
  const { registry, job, timestamp } = await setUp(name, options);
  await requireFolder(registry, name);
  const verdict = await checkRevision({
    registry,
    name,
    idText,
    timestamp,
    ...(job?.readerRevision === undefined ? {} : { pinnedReader: job.readerRevision }),
    ...(options.now === undefined ? {} : { now: options.now }),
  });

  const table = job?.hive ?? { database: 'wmf_raw', table: name.toLowerCase() };
  const hive =
    verdict.text === undefined || verdict.type === undefined
      ? undefined
      : hiveSchemaChange(table.database, table.table, verdict.text);
  let hqlFile: string | undefined;
  if (options.hqlFile !== undefined && hive !== undefined) {
    try {
      await writeFile(options.hqlFile, `${hive.statement};\n`);
    } catch (error) {
      throw new MwiError(
        'MWI_FS_IO',
        `cannot write the Hive statement to ${options.hqlFile}: ${describeError(error)}`,
        {
          cause: error,
        },
      );
    }
    hqlFile = options.hqlFile;
  }
  let pin: JobPinChange | undefined;
  if (job !== undefined) {
    const text = await readFile(job.loaded.path, 'utf8');
    pin = jobPinChange(job.loaded.path, text, name, idText);
  }
  const checklistJob: ChecklistJob | undefined =
    job === undefined
      ? undefined
      : {
          loaded: job.loaded,
          registryRoot: job.registryRoot,
          ingestsTopic: job.ingestsTopic,
          dataset: {
            schemaName: name,
            readerRevision: job.readerRevision,
            timestamp: job.timestamp,
            hive: job.hive,
            format: job.format,
            parquet: effectiveDataset(job.loaded.config, name).parquet,
          },
        };
  const hiveClient = options.hive === undefined ? undefined : await openHive(options.hive);
  let checklist: ChecklistStep[];
  try {
    checklist = await buildChecklist({
      verdict,
      registryRoot: registry.root,
      job: checklistJob,
      hive,
      pin,
      hqlFile,
      ...(hiveClient === undefined ? {} : { hiveClient }),
    });
  } finally {
    await hiveClient?.close();
  }
  const counts = countChecks(verdict.checks);
  return {
    command: 'upgrade',
    schema: name,
    registryRoot: registry.root,
    registryProblems: problemsOf(registry, name, [verdict]),
    job,
    timestamp,
    revisions: [verdict],
    deployment: undefined,
    downstream: { hive, job: pin, hqlFile },
    checklist,
    counts,
    ...verdictOf(counts),
  };
}

export async function openHive(options: NonNullable<SchemaCommandOptions['hive']>): Promise<HiveClient> {
  // Loaded on demand: the Thrift driver is needed only when Hive is asked.
  const { createHiveClient } = await import('../hive/client.js');
  return createHiveClient(options);
}

/** `schema check <Name>`: every revision file of the name, each against the revisions before it. */
export async function runCheck(name: string, options: SchemaCommandOptions = {}): Promise<SchemaReport> {
  const { registry, job, timestamp } = await setUp(name, options);
  const folder = await requireFolder(registry, name);
  const ids = await revisionFileIds(folder);
  if (ids.length === 0) {
    throw new MwiError('MWI_USAGE', `${folder} has no .avsc files: nothing to check`);
  }
  const revisions: RevisionVerdict[] = [];
  for (const idText of ids) {
    revisions.push(
      await checkRevision({
        registry,
        name,
        idText,
        timestamp,
        ...(job?.readerRevision === undefined ? {} : { pinnedReader: job.readerRevision }),
        ...(options.now === undefined ? {} : { now: options.now }),
      }),
    );
  }
  const counts = countChecks(revisions.flatMap((v) => v.checks));
  return {
    command: 'check',
    schema: name,
    registryRoot: registry.root,
    registryProblems: problemsOf(registry, name, revisions),
    job,
    timestamp,
    revisions,
    deployment: undefined,
    downstream: undefined,
    checklist: undefined,
    counts,
    ...verdictOf(counts),
  };
}

/** Revision ids in numeric order; names that are not numbers last, alphabetically. */
export function byRevision(a: string, b: string): number {
  const da = /^\d+$/.test(a);
  const db = /^\d+$/.test(b);
  if (da && db) return BigInt(a) < BigInt(b) ? -1 : BigInt(a) > BigInt(b) ? 1 : 0;
  if (da !== db) return da ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Version of the `--json` document; bumped only when a field is removed or changes meaning. */
export const REPORT_FORMAT = 1;

/**
 * The `--json` document. Revision ids are strings (they are 64-bit integers); times are ISO-8601
 * UTC; absent things are `null`, never missing keys. See docs/schema-upgrade.md.
 */
export function reportJson(report: SchemaReport): Record<string, unknown> {
  const job = report.job;
  return {
    format: REPORT_FORMAT,
    command: report.command,
    schema: report.schema,
    ok: report.ok,
    exitCode: report.exitCode,
    counts: report.counts,
    registry: report.registryRoot,
    registryProblems: report.registryProblems,
    job:
      job === undefined
        ? null
        : {
            path: job.loaded.path,
            name: job.loaded.config.name,
            registry: job.registryRoot,
            readerRevision: job.readerRevision?.toString() ?? null,
            hive: job.hive,
            format: job.format,
            ingestsTopic: job.ingestsTopic,
          },
    timestamp: report.timestamp,
    revisions: report.revisions.map((v) => ({
      revision: v.idText,
      version: v.parts?.version ?? null,
      createdAt: v.parts === undefined ? null : isoSeconds(v.parts.createdAt),
      path: v.path,
      ok: v.ok,
      earlier: v.earlier.map((e) => e.revision.toString()),
      later: v.later.map((e) => e.revision.toString()),
      reader:
        v.reader === undefined
          ? null
          : { revision: v.reader.entry.revision.toString(), source: v.reader.source },
      checks: v.checks.map(checkJson),
      producerFields: v.added.map((f) => ({
        path: f.path,
        type: describeType(f.type),
        hasDefault: f.hasDefault,
      })),
    })),
    downstream:
      report.downstream === undefined
        ? null
        : {
            hive:
              report.downstream.hive === undefined
                ? null
                : {
                    database: report.downstream.hive.database,
                    table: report.downstream.hive.table,
                    form: report.downstream.hive.form,
                    statement: report.downstream.hive.statement,
                    file: report.downstream.hqlFile ?? null,
                  },
            job: report.downstream.job === undefined ? null : jobChangeJson(report.downstream.job),
          },
    deployment: report.deployment?.map(checkJson) ?? null,
    checklist:
      report.checklist === undefined
        ? null
        : report.checklist.map((s, i) => ({
            step: i + 1,
            id: s.id,
            title: s.title,
            state: s.state,
            detail: s.detail,
            show: s.show,
          })),
  };
}

function checkJson(c: UpgradeCheck): Record<string, unknown> {
  return {
    id: c.id,
    title: c.title,
    state: c.state,
    summary: c.summary,
    findings: c.findings.map((f) => ({
      path: f.path ?? null,
      message: f.message,
      revisions: f.revisions ?? null,
    })),
  };
}

/** The job change: every edit (`edits`); an upgrade's one edit also as `key`, `before`, `after`. */
function jobChangeJson(change: JobPinChange | JobChange): Record<string, unknown> {
  if ('edits' in change) {
    return {
      path: change.path,
      key: null,
      before: null,
      after: null,
      edits: change.edits,
      diff: change.diff,
    };
  }
  return {
    path: change.path,
    key: change.key,
    before: change.before,
    after: change.after,
    edits: [{ key: change.key, before: change.before, after: change.after }],
    diff: change.diff,
  };
}
