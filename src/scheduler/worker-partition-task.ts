import { type Job, UnrecoverableError, WaitingError } from 'bullmq';
import type { Logger } from 'pino';
import { asMwiError, encodeError, isFinal, MwiError } from '../errors.js';
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

  /**
   * What BullMQ is given for a failed attempt: the error as structured data ({@link encodeError}), as
   * an `UnrecoverableError` when the error table says no later attempt can help.
   */
  const failed = (error: MwiError): Error => {
    const final = isFinal(error);
    const fields = { code: error.code, reason: error.message, attemptsLeft: attempts - job.attemptsMade - 1 };
    metrics?.taskOutcome(jobName, final || lastAttempt ? 'failed' : 'retried');
    if (final) log.error(fields, 'partition task failed for good');
    else if (lastAttempt) log.error(fields, 'partition task failed: no attempts left');
    else log.warn(fields, 'partition task failed; retried after the backoff');
    return final ? new UnrecoverableError(encodeError(error)) : new Error(encodeError(error));
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
    throw failed(asMwiError(error));
  }

  if (result === undefined) {
    const holder = await resources.leases.holder(leaseNames.partition(data.topic, data.partition));
    const busy = new MwiError(
      'MWI_PARTITION_BUSY',
      `${data.topic}/${data.partition} is owned by ${holder?.owner ?? 'another worker'}${holder ? ` (token ${holder.token})` : ''} right now; ` +
        'this task waits for its lease to end',
      { canRetry: true },
    );
    throw failed(busy);
  }

  if (result.status === 'failed') {
    const error = result.error
      ? new MwiError(result.error.code, withoutCode(result.error.code, result.error.message), {
          canRetry: result.error.canRetry,
        })
      : new MwiError('MWI_INTERNAL', 'failed without a reason', { canRetry: true });
    if (deps.shutdown.aborted && error.code === 'MWI_TASK_ABORTED') {
      // Back to the queue for another worker, without using an attempt: nothing was committed.
      await job.moveToWait(token);
      metrics?.taskOutcome(jobName, 'requeued');
      log.warn(
        { reason: error.message },
        'worker shutting down: partition task abandoned before its commit and queued again',
      );
      throw new WaitingError();
    }
    throw failed(error);
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
