import { readFile } from 'node:fs/promises';
import { describeError, MwiError } from '../errors.js';
import type { FileSystem } from '../hdfs/filesystem.js';
import { type HiveClient, parseHiveAddress } from '../hive/client.js';
import { compactJson, datasetTables } from '../hive/ddl.js';
import { effectiveDataset, type LoadedJob, secretFromEnv } from '../job/config.js';
import { kafkaConnectionOf } from '../job/kafka-connection.js';
import type { KafkaConnection } from '../kafka/client.js';
import { type AddFindings, buildAddChecklist } from './add-checklist.js';
import { checkAddData } from './add-data.js';
import { checkAddHiveTable, checkAddQuery } from './add-hive.js';
import { type AddJobResult, checkAddJob } from './add-job.js';
import { checkAddKafka } from './add-kafka.js';
import { type CheckId, check, skipped, type UpgradeCheck } from './check-result.js';
import { checkRevision, type RevisionVerdict } from './checks.js';
import type { HiveSchemaChange } from './downstream.js';
import { displayPath } from './job-diff.js';
import {
  countChecks,
  type JobSummary,
  openHive,
  problemsOf,
  requireFolder,
  revisionFileIds,
  type SchemaCommandOptions,
  type SchemaReport,
  setUp,
  verdictOf,
} from './report.js';
import { lastRun, openJobFs } from './run-steps.js';
import { commitState, registryCopyState, type StepFinding } from './schema-file-state.js';

/**
 * `mwingest schema add <Name>` without the command line: the first deployment of a new schema.
 * Checks the schema file (the checks `schema upgrade` runs that apply to a first revision, and
 * that it is one), then what a machine can see of the deployment — the job's registry and
 * settings, the Kafka topic and its latest messages, the Hive table, the first hours' flags, a
 * query — and builds the 14-step checklist from it (add-checklist.ts).
 */

export interface AddCommandOptions extends SchemaCommandOptions {
  /** Kafka brokers. @defaultValue the job's */
  brokers?: string[];
  /** Latest messages sampled per partition. @defaultValue 10 */
  sample?: number;
  /** Opens the job's file system; tests may pass their own. @defaultValue openFileSystem */
  openFs?: (job: LoadedJob) => Promise<FileSystem>;
}

/** The checks of `schema upgrade` that apply to a first revision. */
const FILE_CHECKS: ReadonlySet<CheckId> = new Set([
  'file',
  'revision-id',
  'version',
  'unique-id',
  'timestamp',
  'field-names',
]);

export const DEFAULT_SAMPLE = 10;

export async function runAdd(name: string, options: AddCommandOptions = {}): Promise<SchemaReport> {
  const { registry, job, timestamp } = await setUp(name, options);
  const folder = await requireFolder(registry, name);
  const ids = await revisionFileIds(folder);
  if (ids.length === 0) {
    throw new MwiError(
      'MWI_USAGE',
      `${folder} has no .avsc file: write the first revision there, avro/mediawiki/${name}/10<unix time>.avsc`,
    );
  }
  // The newest: what a first deployment would ship; the first-revision check fails when there are others.
  const idText = ids.filter((id) => /^\d+$/.test(id)).at(-1) ?? ids.at(-1)!;
  const full = await checkRevision({
    registry,
    name,
    idText,
    timestamp,
    ...(options.now === undefined ? {} : { now: options.now }),
  });
  const fileChecks = [...full.checks.filter((c) => FILE_CHECKS.has(c.id)), firstRevisionCheck(full)];
  const verdict: RevisionVerdict = {
    ...full,
    checks: fileChecks,
    ok: fileChecks.every((c) => c.state !== 'fail'),
  };

  const found: AddFindings = {};
  const deployment: UpgradeCheck[] = [];
  found['commit-schema'] = verdict.ok
    ? await commitState(verdict)
    : { state: 'problem', detail: 'the schema file fails its checks (above): fix it first', show: [] };

  const noJob = 'not run: pass --job';
  let jobResult: AddJobResult | undefined;
  if (job === undefined) {
    deployment.push(skipped('registry', noJob), skipped('job', noJob));
  } else {
    const registryState = await registryCopyState(
      verdict,
      job.loaded.config.name,
      job.registryRoot,
      registry.root,
    );
    found['bump-registry'] = registryState;
    deployment.push(registryCheckOf(registryState, job));
    jobResult = checkAddJob({
      loaded: job.loaded,
      text: await readFile(job.loaded.path, 'utf8'),
      name,
      idText,
      jobRegistryHas: registryState.state === 'done',
    });
    deployment.push(jobResult.check);
    found['partition-adds'] = jobResult.partitionAdds;
    found['configure-ingest'] = jobResult.ingest;
  }

  let ofRevision = 0;
  const connection = kafkaConnection(job, options);
  if (connection === undefined) {
    const why = 'not run: pass --brokers or --job';
    deployment.push(skipped('kafka-topic', why), skipped('kafka-sample', why));
  } else {
    const kafka = await checkAddKafka({
      connection,
      source: options.brokers === undefined ? `job ${job!.loaded.config.name}` : '--brokers',
      name,
      idText,
      registry,
      sample: options.sample ?? DEFAULT_SAMPLE,
    });
    deployment.push(kafka.topicCheck, kafka.sampleCheck);
    found['create-topic'] = kafka.topicStep;
    found['check-kafka'] = kafka.eventsStep;
    ofRevision = kafka.ofRevision;
  }

  const hiveOptions = hiveConnection(job, options);
  const hive: HiveClient | undefined =
    hiveOptions === undefined || job === undefined ? undefined : await openHive(hiveOptions);
  let create: HiveSchemaChange | undefined;
  try {
    let tableExists = false;
    if (hive === undefined || job === undefined || verdict.type === undefined || verdict.text === undefined) {
      const why =
        job === undefined
          ? 'not run: pass --job (the table and its location come from the job) and --hive'
          : verdict.type === undefined
            ? 'not run: the schema file does not load'
            : 'not run: pass --hive host:port, or set hive.server in the job';
      deployment.push(skipped('hive-table', why));
    } else {
      const table = jobResult!.table;
      let statement: { statement: string } | { error: string };
      try {
        const [definition] = datasetTables(job.loaded, registry, { dataset: name });
        statement = { statement: definition!.statement };
      } catch (error) {
        statement = { error: describeError(error) };
      }
      const result = await checkAddHiveTable({
        client: hive,
        database: table.database,
        table: table.table,
        type: verdict.type,
        schemaText: verdict.text,
        format: job.format,
        create: statement,
        jobLabel: displayPath(job.loaded.path),
      });
      deployment.push(result.check);
      found['create-table'] = result.step;
      tableExists = result.exists;
      if (!result.exists && 'statement' in statement) {
        create = {
          database: table.database,
          table: table.table,
          form: 'create',
          literal: compactJson(verdict.text),
          statement: statement.statement,
        };
      }
    }

    if (job === undefined) {
      deployment.push(skipped('hours-imported', noJob), skipped('hive-partitions', noJob));
      deployment.push(skipped('query', noJob));
    } else {
      const run = await lastRun(
        {
          loaded: job.loaded,
          registryRoot: job.registryRoot,
          ingestsTopic: job.ingestsTopic,
          dataset: effectiveDataset(job.loaded.config, name),
        },
        verdict,
        options.openFs ?? openJobFs,
      );
      try {
        const data = await checkAddData({ loaded: job.loaded, name, idText, run });
        deployment.push(data.importedCheck, data.partitionsCheck);
        found['deploy-ingest'] = data.deployStep;
        found['check-hdfs'] = data.importedStep;
        found['add-partitions'] = data.partitionsStep;
        if (hive === undefined) {
          deployment.push(skipped('query', 'not run: pass --hive host:port, or set hive.server in the job'));
        } else if (!tableExists) {
          deployment.push(skipped('query', 'not run: no table to query (step 11)'));
          found.query = { state: 'todo', detail: 'after step 11: there is no table to query yet', show: [] };
        } else {
          const query = await checkAddQuery({
            client: hive,
            database: jobResult!.table.database,
            table: jobResult!.table.table,
            hour: data.queryHour,
          });
          deployment.push(query.check);
          found.query = query.step;
        }
      } finally {
        await run.fs?.close();
      }
    }
  } finally {
    await hive?.close();
  }

  const checklist = buildAddChecklist(found, {
    name,
    idText,
    hasJob: job !== undefined,
    hasKafka: connection !== undefined,
    hasHive: hive !== undefined,
    ofRevision,
  });
  const counts = countChecks([...verdict.checks, ...deployment]);
  return {
    command: 'add',
    schema: name,
    registryRoot: registry.root,
    registryProblems: problemsOf(registry, name, [verdict]),
    job,
    timestamp,
    revisions: [verdict],
    deployment,
    downstream: { hive: create, job: jobResult?.change, hqlFile: undefined },
    checklist,
    counts,
    ...verdictOf(counts),
  };
}

function firstRevisionCheck(verdict: RevisionVerdict): UpgradeCheck {
  if (verdict.earlier.length === 0) {
    return check('first-revision', 'pass', `no earlier revision of ${verdict.name}: a first deployment`);
  }
  const earlier = verdict.earlier.map((e) => e.revision).join(', ');
  return check('first-revision', 'fail', `${verdict.name} already has ${earlier}`, [
    {
      message:
        `${verdict.idText} is not the first revision of ${verdict.name} (the registry has ${earlier}): a schema ` +
        `that was deployed before is upgraded, not added; run mwingest schema upgrade ${verdict.name} ${verdict.idText}`,
    },
  ]);
}

function registryCheckOf(state: StepFinding, job: JobSummary): UpgradeCheck {
  const jobName = job.loaded.config.name;
  switch (state.state) {
    case 'done':
      return check('registry', 'pass', state.detail);
    case 'manual':
      return skipped('registry', `not run: ${state.detail}`);
    default:
      return check('registry', 'fail', `job ${jobName}'s registry does not have it`, [
        { path: job.registryRoot, message: state.detail },
      ]);
  }
}

/** `--brokers` (with the job's TLS and SASL settings when there is a job), else the job's Kafka. */
function kafkaConnection(
  job: JobSummary | undefined,
  options: AddCommandOptions,
): KafkaConnection | undefined {
  const fromJob = job === undefined ? undefined : kafkaConnectionOf(job.loaded);
  if (options.brokers !== undefined) {
    return { ...(fromJob ?? { clientId: 'mwingest-schema-add' }), brokers: options.brokers };
  }
  return fromJob;
}

/** `--hive`, else the job's `hive.server` (with its user and password variable). */
function hiveConnection(
  job: JobSummary | undefined,
  options: AddCommandOptions,
): AddCommandOptions['hive'] | undefined {
  if (options.hive !== undefined) return options.hive;
  const server = job?.loaded.config.hive.server;
  if (job === undefined || server === undefined) return undefined;
  const { host, port } = parseHiveAddress(server);
  const { user, passwordEnv } = job.loaded.config.hive;
  const password = passwordEnv === undefined ? undefined : secretFromEnv('hive.passwordEnv', passwordEnv);
  return {
    host,
    port,
    ...(user === undefined ? {} : { username: user }),
    ...(password === undefined ? {} : { password }),
  };
}
