import { type Job, type Queue, UnrecoverableError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { Counter, register as defaultRegistry, type Registry } from 'prom-client';
import {
  asMwiError,
  decodeError,
  describeError,
  encodeError,
  isFinal,
  isMwiError,
  MwiError,
} from '../errors.js';
import type { FileSystem } from '../hdfs/filesystem.js';
import { type HourBucket, parseHourKey } from '../hours/hour.js';
import { compilePathTemplate } from '../hours/path-template.js';
import { effectiveDataset, type LoadedJob, topicMatcher } from '../job/config.js';
import { schemaNameOfTopic } from '../schemas/registry.js';
import type { HiveClient } from './client.js';
import { hiveLocation } from './ddl.js';
import { type HivePartitionAddJob, hiveQueueName } from './queue.js';
import { hiveIdentifier, hivePartitionValues, hiveString, partitionSpec } from './statement.js';

/**
 * The executor of the partition-add queue (`queue.ts`): for each complete hour,
 *
 *   1. check the job against the worker's own job definition — topic, hour, partition values,
 *      database, table and hour directory must be exactly what the job would have announced; a
 *      job that is not fails at once (BullMQ `UnrecoverableError`) and stays in the failed set;
 *   2. check the hour's `_IMPORTED` flag is there (the hour really was announced complete);
 *   3. run `ALTER TABLE … ADD IF NOT EXISTS PARTITION (…) LOCATION …`, rebuilt from the checked
 *      fields — the statement text stored in Redis is never run;
 *   4. write `_SUCCESS` in the hour directory (an existing one means an earlier try got there).
 *
 * Every step is idempotent, so a redelivered job (BullMQ delivers at least once) or a rerun after
 * Hive lost its metastore does no harm. A failed step fails the attempt: BullMQ retries it with the
 * queue's backoff (20 attempts, exponential from 30 s), each failure counts in
 * `mwingest_hive_partition_add_failures_total{ingest_job,table}` and is logged with its reason, and after
 * the last attempt the job stays in the failed set with that reason (`mwingest hive status`).
 * Hours are independent jobs: a later hour succeeding never completes, removes or skips an earlier
 * one that is still failing, and `_SUCCESS` is written only by the job of its own hour.
 */
export interface PartitionWorkerOptions {
  loaded: LoadedJob;
  /** The job's file system (where the hour directories are). */
  fs: FileSystem;
  hive: HiveClient;
  /** BullMQ's connection: an ioredis client with `maxRetriesPerRequest: null`. */
  connection: Redis;
  log: Logger;
  /** Jobs run at the same time. @defaultValue 1 */
  concurrency?: number;
  /** Where the metrics register. @defaultValue prom-client's default registry */
  registry?: Registry;
  /** @defaultValue `hiveQueueName(job name)` */
  queueName?: string;
}

/** What one partition add did. */
export interface PartitionAddResult {
  hour: string;
  table: string;
  /** The LOCATION given to Hive. */
  location: string;
  /** False when `_SUCCESS` was already there. */
  successWritten: boolean;
}

export interface PartitionWorker {
  readonly worker: Worker<HivePartitionAddJob, PartitionAddResult>;
  /** Stops taking jobs, waits for the running ones, then closes the worker (not the Hive client or fs). */
  close(): Promise<void>;
}

export interface PartitionMetrics {
  failures: Counter<'ingest_job' | 'table'>;
  added: Counter<'ingest_job' | 'table'>;
}

export function partitionMetrics(registry: Registry = defaultRegistry): PartitionMetrics {
  const counter = (name: string, help: string) =>
    (registry.getSingleMetric(name) as Counter<'ingest_job' | 'table'> | undefined) ??
    new Counter({ name, help, labelNames: ['ingest_job', 'table'], registers: [registry] });
  return {
    failures: counter(
      'mwingest_hive_partition_add_failures_total',
      'Failed attempts to add a Hive partition (each is retried with backoff until the job runs out of attempts)',
    ),
    added: counter(
      'mwingest_hive_partitions_added_total',
      'Hive partitions added (or found already there) and marked _SUCCESS',
    ),
  };
}

export function startHivePartitionWorker(options: PartitionWorkerOptions): PartitionWorker {
  const { loaded, log } = options;
  const jobName = loaded.config.name;
  const metrics = partitionMetrics(options.registry);
  const check = partitionJobChecker(loaded);
  const worker = new Worker<HivePartitionAddJob, PartitionAddResult>(
    options.queueName ?? hiveQueueName(jobName),
    async (job) => {
      let checked: CheckedPartitionJob;
      try {
        checked = check(job.data);
      } catch (error) {
        // Retrying cannot fix a job that is not what this job definition announces.
        throw new UnrecoverableError(encodeError(asMwiError(error)));
      }
      try {
        return await addPartition(checked, { loaded, fs: options.fs, hive: options.hive, log });
      } catch (error) {
        // The failure crosses BullMQ as structured data; the error table says whether it is final.
        const failure = asMwiError(error);
        throw isFinal(failure)
          ? new UnrecoverableError(encodeError(failure))
          : new Error(encodeError(failure));
      }
    },
    { connection: options.connection, concurrency: options.concurrency ?? 1, autorun: true },
  );
  worker.on('completed', (job, result) => {
    metrics.added.inc({ ingest_job: jobName, table: result.table });
    log.info(
      { hour: result.hour, table: result.table, location: result.location, attempt: job.attemptsMade },
      result.successWritten
        ? 'hive partition added, _SUCCESS written'
        : 'hive partition added, _SUCCESS was already there',
    );
  });
  worker.on('failed', (job, error) => {
    if (job === undefined) return;
    const table = tableLabel(job.data);
    metrics.failures.inc({ ingest_job: jobName, table });
    const attempts = job.opts.attempts ?? 1;
    const final = error instanceof UnrecoverableError || job.attemptsMade >= attempts;
    const fields = {
      jobId: job.id,
      hour: job.data.hour,
      table,
      attempt: job.attemptsMade,
      attempts,
      reason: reasonOf(error.message),
    };
    if (final)
      log.error(fields, 'hive partition add failed for good: the hour stays in the failed set until retried');
    else log.warn(fields, 'hive partition add failed; BullMQ retries it after the backoff');
  });
  worker.on('error', (error) => log.error({ error: describeError(error) }, 'hive partition worker error'));
  return {
    worker,
    close: () => worker.close(),
  };
}

function tableLabel(data: unknown): string {
  const value = data as Partial<HivePartitionAddJob> | null | undefined;
  return typeof value?.database === 'string' && typeof value.table === 'string'
    ? `${value.database}.${value.table}`
    : 'invalid';
}

/** A job whose every field was checked; `statement` is rebuilt from them. */
export interface CheckedPartitionJob {
  topic: string;
  hour: string;
  bucket: HourBucket;
  database: string;
  table: string;
  /** The hour directory on the job's file system. */
  directory: string;
  /** Where Hive finds it (see `hiveLocation`). */
  location: string;
  statement: string;
}

/**
 * Returns a checker of queued jobs against this job definition. It throws `MWI_CONFIG_INVALID`
 * naming the first field that is not what the job would announce for that topic and hour.
 */
export function partitionJobChecker(loaded: LoadedJob): (data: unknown) => CheckedPartitionJob {
  const { config } = loaded;
  const template = compilePathTemplate(config.output.pathTemplate);
  const ingests = topicMatcher(config);
  return (data) => {
    const bad = (field: string, why: string): never => {
      throw new MwiError('MWI_CONFIG_INVALID', `partition job field ${field}: ${why}`, {
        details: { field },
      });
    };
    if (data === null || typeof data !== 'object') bad('(job data)', 'not an object');
    const job = data as Record<string, unknown>;
    const text = (field: string): string => {
      const value = job[field];
      if (typeof value !== 'string')
        return bad(field, `expected a string, got ${JSON.stringify(value) ?? 'nothing'}`);
      return value;
    };
    if (text('job') !== config.name) bad('job', `"${job.job}" is not this worker's job "${config.name}"`);
    const topic = text('topic');
    if (!/^[A-Za-z0-9._-]{1,249}$/.test(topic) || !ingests(topic)) {
      bad('topic', `"${topic}" is not a topic job ${config.name} ingests`);
    }
    const hour = text('hour');
    let bucket: HourBucket;
    try {
      bucket = parseHourKey(hour);
    } catch (error) {
      return bad('hour', (error as Error).message);
    }
    const expected = hivePartitionValues(bucket);
    const partition = job.partition as Record<string, unknown> | null | undefined;
    for (const key of ['year', 'month', 'day', 'hour'] as const) {
      const value = partition?.[key];
      if (value !== expected[key]) {
        const got = value === undefined ? 'missing' : `${JSON.stringify(value)} is wrong`;
        bad(
          `partition.${key}`,
          `${got}: expected "${expected[key]}", the ${key} of hour ${hour} (not zero-padded)`,
        );
      }
    }
    const schemaName = schemaNameOfTopic(topic);
    const dataset = effectiveDataset(config, schemaName);
    const database = text('database');
    const table = text('table');
    hiveIdentifier(database, 'database');
    hiveIdentifier(table, 'table');
    if (database !== dataset.hive.database || table !== dataset.hive.table) {
      bad(
        'table',
        `${database}.${table} is not ${dataset.hive.database}.${dataset.hive.table}, the table of ${schemaName}`,
      );
    }
    const directory = template.hourDir({ root: config.output.root, topic, name: schemaName }, bucket);
    if (text('location') !== directory)
      bad('location', `"${job.location}" is not ${directory}, the directory of hour ${hour}`);
    const location = hiveLocation(loaded, directory);
    const statement =
      `ALTER TABLE ${hiveIdentifier(database, 'database')}.${hiveIdentifier(table, 'table')} ` +
      `ADD IF NOT EXISTS PARTITION (${partitionSpec(expected)}) LOCATION ${hiveString(location)}`;
    return { topic, hour, bucket, database, table, directory, location, statement };
  };
}

/** Steps 2–4 for a checked job (see the module comment). */
export async function addPartition(
  job: CheckedPartitionJob,
  deps: { loaded: LoadedJob; fs: FileSystem; hive: HiveClient; log: Logger },
): Promise<PartitionAddResult> {
  const { fs, hive, log } = deps;
  const imported = `${job.directory}/_IMPORTED`;
  if (!(await fs.exists(imported))) {
    throw new MwiError(
      'MWI_FS_NOT_FOUND',
      `hour ${job.hour} of ${job.topic} has no ${imported}: it was never announced complete, so its partition is not added`,
      { canRetry: true, details: { path: imported } },
    );
  }
  log.debug({ hour: job.hour, statement: job.statement }, 'adding hive partition');
  await hive.execute(job.statement);
  let successWritten = true;
  try {
    await fs.writeFile(`${job.directory}/_SUCCESS`, '');
  } catch (error) {
    if (!isMwiError(error, 'MWI_FS_ALREADY_EXISTS')) throw error;
    successWritten = false;
  }
  return { hour: job.hour, table: `${job.database}.${job.table}`, location: job.location, successWritten };
}

/** One hour whose partition is not added yet, with why. */
export interface PendingPartition {
  jobId: string;
  hour: string;
  topic: string;
  state: 'failed' | 'retrying' | 'waiting' | 'active';
  attemptsMade: number;
  attempts: number;
  reason: string | undefined;
}

export interface HivePartitionQueueStatus {
  queue: string;
  counts: Record<'waiting' | 'active' | 'delayed' | 'failed' | 'completed', number>;
  /** Hours not added yet, oldest hour first: failed for good, waiting for a retry, queued or running. */
  pending: PendingPartition[];
}

/** What a queue holds: counts, and every hour not yet added with its last failure. */
export async function hivePartitionQueueStatus(
  queue: Queue<HivePartitionAddJob>,
): Promise<HivePartitionQueueStatus> {
  const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'completed');
  const pending: PendingPartition[] = [];
  const add = (jobs: Job<HivePartitionAddJob>[], state: PendingPartition['state']) => {
    for (const job of jobs) {
      if (job === undefined || job === null) continue;
      pending.push({
        jobId: String(job.id),
        hour: job.data.hour,
        topic: job.data.topic,
        state,
        attemptsMade: job.attemptsMade,
        attempts: job.opts.attempts ?? 1,
        reason: job.failedReason ? reasonOf(job.failedReason) : undefined,
      });
    }
  };
  add(await queue.getFailed(), 'failed');
  for (const job of await queue.getDelayed()) add([job], job.attemptsMade > 0 ? 'retrying' : 'waiting');
  add(await queue.getWaiting(), 'waiting');
  add(await queue.getActive(), 'active');
  pending.sort((a, b) => (a.hour < b.hour ? -1 : a.hour > b.hour ? 1 : a.topic < b.topic ? -1 : 1));
  return {
    queue: queue.name,
    counts: {
      waiting: counts.waiting ?? 0,
      active: counts.active ?? 0,
      delayed: counts.delayed ?? 0,
      failed: counts.failed ?? 0,
      completed: counts.completed ?? 0,
    },
    pending,
  };
}

/** A failed add's reason as BullMQ keeps it (see `encodeError`), as a sentence with its code. */
export function reasonOf(failedReason: string): string {
  const error = decodeError(failedReason);
  // A reason written outside mwingest's code (a stalled job, a test) is shown as it is.
  return error.code === 'MWI_INTERNAL' && error.message === failedReason
    ? failedReason
    : describeError(error);
}
