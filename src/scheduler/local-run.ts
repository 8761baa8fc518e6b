import { Queue } from 'bullmq';
import type { Logger } from 'pino';
import { describeError, isMwiError, MwiError } from '../errors.js';
import type { PartitionResult, PartitionTask } from '../ingest/partition-result.js';
import { failedBeforeStart } from '../ingest/partition-result.js';
import {
  finishRun,
  newRunId,
  openRunResources,
  planRun,
  type RunPlan,
  type RunResources,
  runPartitionUnderLease,
} from '../ingest/run.js';
import type { RunReport } from '../ingest/run-report.js';
import { previewStarts, type StartPosition, startPositionOf } from '../ingest/start-position.js';
import type { TopicPlan } from '../ingest/topic-plan.js';
import type { LoadedJob } from '../job/config.js';
import { leaseNames } from '../job/context.js';
import { keepAlive, type Lease } from '../job/lease.js';
import { recordFinishedRun, runInProgress, runsQueueName } from './run-flow-state.js';
import type { WorkerMetrics } from './worker-metrics.js';

/**
 * `mwingest run`: a whole run of a job in this process, under the job's run lease, refused while a
 * scheduled run of the job is in progress on the workers (src/scheduler/run-flow.ts). The pieces it
 * puts together are src/ingest/run.ts's.
 */

export interface RunOptions {
  /** Only topics matching this regex (on top of the job's include/exclude). */
  topics?: string;
  /** Plan and report what would be read; write nothing. */
  dryRun?: boolean;
  /** Partitions processed at the same time. @defaultValue 4 */
  concurrency?: number;
  /** Redis for leases and the partition-add queue. @defaultValue $MWINGEST_REDIS_URL or "redis://127.0.0.1:6379" */
  redisUrl?: string;
  log: Logger;
  /** Progress callback: records and bytes read since the last call, and the total to read. */
  onProgress?: (records: number, bytes: number) => void;
  onPlanned?: (plan: RunPlan) => void;
  signal?: AbortSignal;
  /** Counts what the run did (`run --metrics-textfile`). */
  metrics?: WorkerMetrics;
  /** Where never-committed partitions start. @defaultValue the job's `startPosition` */
  startPosition?: StartPosition;
}

/** `mwingest run`: the whole run in this process. */
export async function runJob(loaded: LoadedJob, options: RunOptions): Promise<RunReport> {
  const started = Date.now();
  const runId = newRunId(new Date(started));
  const log = options.log.child({ job: loaded.config.name, runId });
  const resources = await openRunResources(loaded, log, options.redisUrl);
  let runLease: Lease | undefined;
  try {
    runLease = await resources.leases.tryAcquire(leaseNames.run);
    if (runLease === undefined) {
      const holder = await resources.leases.holder(leaseNames.run);
      throw new MwiError(
        'MWI_RUN_IN_PROGRESS',
        `another run of job ${loaded.config.name} is in progress (${holder?.owner ?? 'unknown owner'}); this one is skipped`,
      );
    }
    const scheduled = await scheduledRunInProgress(resources);
    if (scheduled !== undefined) {
      throw new MwiError(
        'MWI_RUN_IN_PROGRESS',
        `a scheduled run of job ${loaded.config.name} is in progress on the workers (run ${scheduled}); this one is skipped`,
      );
    }
    const runAlive = keepAlive(runLease, loaded.config.leases.ttlSeconds * 1000, (error) =>
      log.error({ err: error }, 'run lease lost'),
    );
    try {
      const report = await runLocked(resources, runId, started, options, log).catch(
        async (error: unknown) => {
          // A run that could not be planned (Kafka or the state dir away) is a failed run, as on the workers.
          if (!options.dryRun) await recordUnplannedRun(resources, runId, started, error, log);
          throw error;
        },
      );
      if (!options.dryRun) await recordRun(resources, report, options.metrics, log);
      return report;
    } finally {
      runAlive.stop();
    }
  } finally {
    await runLease?.release();
    await resources.close();
  }
}

/**
 * Records the finished run where `mwingest status`, the web page and the gauges read the last run,
 * as a scheduled run's end is recorded, and counts it.
 */
async function recordRun(
  resources: RunResources,
  report: RunReport,
  metrics: WorkerMetrics | undefined,
  log: Logger,
): Promise<void> {
  const job = resources.loaded.config.name;
  for (const topic of report.topics) {
    for (const result of topic.partitions) {
      metrics?.partitionTask(job, result);
      metrics?.taskOutcome(job, result.status);
    }
  }
  metrics?.runFinished(job, report.status, report.durationMs);
  await recordFinishedRun(resources.redis, job, report).catch((error: unknown) =>
    log.error({ err: error }, 'could not record the finished run in Redis; status shows the one before'),
  );
}

async function recordUnplannedRun(
  resources: RunResources,
  runId: string,
  started: number,
  error: unknown,
  log: Logger,
): Promise<void> {
  const finished = Date.now();
  await recordFinishedRun(resources.redis, resources.loaded.config.name, {
    runId,
    status: 'failed',
    startedAt: new Date(started).toISOString(),
    finishedAt: new Date(finished).toISOString(),
    durationMs: finished - started,
    problems: [`the run could not be planned: ${describeError(error)}`],
  }).catch((recordError: unknown) => log.error({ err: recordError }, 'could not record the failed run'));
}

/** The run id of the job's scheduled run (`mwingest worker`) in progress, if any. */
async function scheduledRunInProgress(resources: RunResources): Promise<string | undefined> {
  const runs = new Queue(runsQueueName(resources.loaded.config.name), { connection: resources.redis });
  try {
    return (await runInProgress(resources.redis, runs, resources.loaded.config.name))?.runId;
  } finally {
    await runs.close();
  }
}

async function runLocked(
  resources: RunResources,
  runId: string,
  started: number,
  options: RunOptions,
  log: Logger,
): Promise<RunReport> {
  const { config } = resources.loaded;
  const { plan, topicPlans } = await planRun(resources, runId, options.topics);
  const startPosition = options.startPosition ?? startPositionOf(config.startPosition);
  if (options.dryRun) {
    for (const topic of plan.topics) {
      const topicPlan = topicPlans.get(topic.topic);
      if (topicPlan !== undefined)
        topic.starts = await previewStarts(resources, topicPlan, topic.partitions, startPosition);
    }
  }
  options.onPlanned?.(plan);
  const skipped: { topic: string; partition: number }[] = [];
  const readDeadline =
    config.limits.maxRunSeconds === undefined ? undefined : started + config.limits.maxRunSeconds * 1000;

  const tasks: { topicPlan: TopicPlan; task: PartitionTask }[] = [];
  for (const topic of plan.topics) {
    const topicPlan = topicPlans.get(topic.topic);
    if (topicPlan === undefined) continue;
    for (const p of topic.partitions) {
      tasks.push({
        topicPlan,
        task: { topic: topic.topic, partition: p.partition, earliest: p.earliest, endOffset: p.latest },
      });
    }
  }

  const results = new Map<string, PartitionResult[]>();
  if (!options.dryRun) {
    await forEachConcurrently(tasks, options.concurrency ?? 4, async ({ topicPlan, task }) => {
      const result = await runPartitionUnderLease(resources, topicPlan, runId, task, {
        ...(options.signal ? { signal: options.signal } : {}),
        ...(readDeadline === undefined ? {} : { readDeadline }),
        ...(options.onProgress ? { onProgress: options.onProgress } : {}),
        startPosition,
      }).catch((error: unknown) => failedBeforeStart(task, error));
      if (result === undefined) {
        skipped.push({ topic: task.topic, partition: task.partition });
        return;
      }
      const list = results.get(task.topic) ?? [];
      list.push(result);
      results.set(task.topic, list);
    });
  }

  return finishRun(
    resources,
    { runId, started, plan, topicPlans, results, problems: [], skipped, dryRun: options.dryRun === true },
    log,
  );
}

async function forEachConcurrently<T>(
  items: T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const errors: unknown[] = [];
  const lanes = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
    while (next < items.length) {
      const item = items[next++]!;
      try {
        await work(item);
      } catch (error) {
        errors.push(error);
      }
    }
  });
  await Promise.all(lanes);
  if (errors.length > 0) {
    const first = errors[0];
    throw isMwiError(first) ? first : new MwiError('MWI_FS_IO', describeError(first), { cause: first });
  }
}
