import { type Job, UnrecoverableError, WaitingError } from 'bullmq';
import type { Logger } from 'pino';
import { describeError, isMwiError, MwiError } from '../errors.js';
import type { PartitionResult, PartitionTask } from '../ingest/partition-result.js';
import { type RunResources, runPartitionUnderLease } from '../ingest/run.js';
import { buildTopicPlan } from '../ingest/topic-plan.js';
import { leaseNames } from '../job/context.js';
import type { PartitionJobData } from './run-flow.js';
import type { WorkerMetrics } from './worker-metrics.js';

/**
 * One partition task of a scheduled run, on whichever worker took it. What happens to a task:
 *
 * - committed or already up to date → the job completes with the partition's result;
 * - another worker holds the partition's lease (alive, or dead and its lease not yet expired) →
 *   `MWI_PARTITION_BUSY`, retried after the backoff (a third of the lease ttl, doubling);
 * - a transient failure (broker, NameNode or Redis away, lease lost) → retried with backoff; nothing
 *   of the range was committed, or the commit rolls forward on the next attempt;
 * - a permanent failure (error ratio, expired offsets, a schema missing, …) → BullMQ
 *   `UnrecoverableError`: failed at once with the reason, which the run's report shows;
 * - the worker is shutting down → the read stops, nothing is committed, the lease is released and the
 *   job goes back to the queue without using an attempt.
 */
export interface PartitionTaskDeps {
  resources: RunResources;
  metrics?: WorkerMetrics;
  log: Logger;
  /** Aborted when the worker shuts down and its grace period is over. */
  shutdown: AbortSignal;
}

/** Codes that no retry can fix: the task fails at once with its reason. */
const PERMANENT_CODES = new Set([
  'MWI_RUN_ERROR_RATIO',
  'MWI_RUN_ACCOUNTING',
  'MWI_OFFSETS_EXPIRED',
  'MWI_OFFSETS_BEYOND_LOG_END',
  'MWI_CONFIG_INVALID',
  'MWI_USAGE',
  'MWI_REGISTRY_INVALID',
  'MWI_SCHEMA_INVALID',
  'MWI_UNKNOWN_REVISION',
  'MWI_UNKNOWN_SCHEMA',
  'MWI_SCHEMA_INCOMPATIBLE',
  'MWI_FS_PERMISSION',
  'MWI_FS_INVALID_PATH',
  'MWI_HDFS_RENAME_FAILED',
  'MWI_KAFKA_UNKNOWN_TOPIC',
  'MWI_PARQUET_ENCODE',
]);

/**
 * Whether a failed partition's error can go away by itself. A task result carries only the code, so
 * the code decides; anything not known to be permanent is retried (attempts are bounded).
 */
export function isRetryableCode(code: string): boolean {
  return !PERMANENT_CODES.has(code);
}

export async function processPartitionTask(
  deps: PartitionTaskDeps,
  job: Job<PartitionJobData>,
  token: string | undefined,
): Promise<PartitionResult> {
  const { resources, metrics } = deps;
  const data = job.data;
  const jobName = resources.loaded.config.name;
  const attempts = job.opts.attempts ?? 1;
  const lastAttempt = job.attemptsMade + 1 >= attempts;
  const log = deps.log.child({
    runId: data.runId,
    topic: data.topic,
    partition: data.partition,
    attempt: job.attemptsMade + 1,
  });
  const task: PartitionTask = {
    topic: data.topic,
    partition: data.partition,
    earliest: BigInt(data.earliest),
    endOffset: BigInt(data.endOffset),
  };

  const retryLater = (code: string, reason: string): Error => {
    const message = withoutCode(code, reason);
    metrics?.taskOutcome(jobName, lastAttempt ? 'failed' : 'retried');
    const fields = { code, reason: message, attemptsLeft: attempts - job.attemptsMade - 1 };
    if (lastAttempt) log.error(fields, 'partition task failed: no attempts left');
    else log.warn(fields, 'partition task failed; retried after the backoff');
    return new Error(`${code}: ${message}`);
  };
  const failForGood = (code: string, reason: string): Error => {
    const message = withoutCode(code, reason);
    metrics?.taskOutcome(jobName, 'failed');
    log.error({ code, reason: message }, 'partition task failed for good');
    return new UnrecoverableError(`${code}: ${message}`);
  };

  let result: PartitionResult | undefined;
  try {
    const plan = await buildTopicPlan(resources, data.topic);
    log.info({ endOffset: data.endOffset, owner: resources.leases.owner }, 'partition task started');
    result = await runPartitionUnderLease(resources, plan, data.runId, task, {
      signal: deps.shutdown,
      onLeased: (lease) => log.info({ fencingToken: lease.token }, 'partition lease taken'),
      ...(data.readDeadline === undefined ? {} : { readDeadline: data.readDeadline }),
    });
  } catch (error) {
    const code = isMwiError(error) ? error.code : 'MWI_INTERNAL';
    const retry = isMwiError(error) ? error.canRetry || isRetryableCode(code) : true;
    throw retry ? retryLater(code, messageOf(error)) : failForGood(code, messageOf(error));
  }

  if (result === undefined) {
    const holder = await resources.leases.holder(leaseNames.partition(data.topic, data.partition));
    const busy = new MwiError(
      'MWI_PARTITION_BUSY',
      `${data.topic}/${data.partition} is owned by ${holder?.owner ?? 'another worker'}${holder ? ` (token ${holder.token})` : ''} right now; ` +
        'this task waits for its lease to end',
      { canRetry: true },
    );
    throw retryLater(busy.code, busy.message);
  }

  if (result.status === 'failed') {
    const { code, message } = result.error ?? { code: 'MWI_INTERNAL', message: 'failed without a reason' };
    if (deps.shutdown.aborted && code === 'MWI_TASK_ABORTED') {
      // Back to the queue for another worker, without using an attempt: nothing was committed.
      await job.moveToWait(token);
      metrics?.taskOutcome(jobName, 'requeued');
      log.warn(
        { reason: message },
        'worker shutting down: partition task abandoned before its commit and queued again',
      );
      throw new WaitingError();
    }
    throw isRetryableCode(code) ? retryLater(code, message) : failForGood(code, message);
  }

  metrics?.partitionTask(jobName, result);
  metrics?.taskOutcome(jobName, result.status === 'committed' ? 'committed' : 'up-to-date');
  log.info(
    {
      status: result.status,
      startOffset: result.startOffset,
      endOffset: result.endOffset,
      counts: result.counts,
      fencingToken: result.token,
    },
    'partition task done',
  );
  return result;
}

/** A result's message may already start with its code (`describeError`); say it once. */
function withoutCode(code: string, message: string): string {
  return message.startsWith(`${code}: `) ? message.slice(code.length + 2) : message;
}

function messageOf(error: unknown): string {
  return isMwiError(error) ? error.message : describeError(error);
}
