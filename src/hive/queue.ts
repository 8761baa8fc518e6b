import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { type HourBucket, hourKey } from '../hours/hour.js';
import { effectiveDataset, type JobConfig } from '../job/config.js';
import { schemaNameOfTopic } from '../schemas/registry.js';
import { addPartitionStatement, hivePartitionValues } from './statement.js';

/**
 * The Hive partition-add queue: one BullMQ job per (topic, hour), added once the hour is complete.
 * Job ids are deterministic (`<topic>__<hourKey>`), so adding an hour twice is a no-op, and
 * completed jobs are kept long enough for that to hold across reruns. Handlers must be idempotent:
 * BullMQ delivers at least once (the statement is `ADD IF NOT EXISTS`).
 */
export interface HivePartitionAddJob {
  job: string;
  topic: string;
  /** `2026-11-22T14` */
  hour: string;
  database: string;
  table: string;
  /** Partition values as Hive wants them: strings, not zero-padded. */
  partition: { year: string; month: string; day: string; hour: string };
  /** The hour directory (absolute path on the job's file system). */
  location: string;
  /** The complete HQL, for executors that speak SQL. */
  statement: string;
}

/**
 * The partition-add job of one hour of `topic`, as the announcer queues it and as the queue is
 * rebuilt from HDFS after Redis lost it (src/ingest/hive-reconcile.ts): both must give the same job.
 * `directory` is the hour directory on the job's file system, `hiveLocation` what Hive is given
 * for it (`hiveLocation` in ddl.ts).
 */
export function partitionAddJobOf(
  job: JobConfig,
  topic: string,
  bucket: HourBucket,
  directory: string,
  hiveLocation: string,
): HivePartitionAddJob {
  const dataset = effectiveDataset(job, schemaNameOfTopic(topic));
  const { database, table } = dataset.hive;
  return {
    job: job.name,
    topic,
    hour: hourKey(bucket),
    database,
    table,
    partition: hivePartitionValues(bucket),
    location: directory,
    statement: addPartitionStatement({ database, table, bucket, location: hiveLocation }),
  };
}

export function hiveQueueName(jobName: string): string {
  return `mwingest-${jobName}-hive`;
}

export function partitionJobId(topic: string, hour: string): string {
  return `${topic}__${hour}`;
}

export interface HiveJobQueue {
  /** Adds the job unless one with the same id exists; returns false when it already existed. */
  add(job: HivePartitionAddJob): Promise<boolean>;
  close(): Promise<void>;
  readonly queue: Queue<HivePartitionAddJob>;
}

export function openHiveJobQueue(connection: Redis, jobName: string): HiveJobQueue {
  const queue = new Queue<HivePartitionAddJob>(hiveQueueName(jobName), {
    connection,
    defaultJobOptions: {
      attempts: 20,
      backoff: { type: 'exponential', delay: 30_000 },
      // Kept so that a re-added id stays a no-op, and so failures stay visible.
      removeOnComplete: { age: 90 * 24 * 3600 },
      removeOnFail: false,
    },
  });
  return {
    queue,
    async add(job) {
      const jobId = partitionJobId(job.topic, job.hour);
      const existing = await queue.getJob(jobId);
      if (existing !== undefined && existing !== null) return false;
      await queue.add('add-partition', job, { jobId });
      return true;
    },
    close: () => queue.close(),
  };
}
