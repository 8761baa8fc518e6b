import { FlowProducer, type Job, Queue, UnrecoverableError, Worker } from 'bullmq';
import type { Logger } from 'pino';
import { describeError, MwiError } from '../errors.js';
import { openRunResources, type RunResources } from '../ingest/run.js';
import type { LoadedJob } from '../job/config.js';
import {
  type FlowDeps,
  finishRunJob,
  type RunJobData,
  runIdForTick,
  startRunForTick,
  type TickData,
} from './run-flow.js';
import { partitionsQueueName, recordFinishedRun, runsQueueName } from './run-flow-state.js';
import { startScheduleKeeper } from './schedule-keeper.js';
import type { WorkerMetrics } from './worker-metrics.js';
import { processPartitionTask } from './worker-partition-task.js';

/**
 * `mwingest worker`: one process that takes a job's work from Redis — schedule ticks and run
 * endings from the runs queue, partition tasks from the partitions queue — alongside any number of
 * others on any hosts (run-flow.ts describes the flow).
 *
 * A worker killed outright (`kill -9`, OOM, host lost) stops renewing its BullMQ job locks and its
 * partition leases: after the lock duration BullMQ's stalled-job check gives its tasks to another
 * worker, which takes each partition once its lease has expired. Both durations are the job's
 * `leases.ttlSeconds`. On SIGTERM, {@link IngestWorker.close} stops taking work, lets running tasks
 * finish for a grace period, then stops their reads: nothing uncommitted is committed, leases are
 * released, and the tasks go back to the queue.
 */
export interface IngestWorkerOptions {
  loaded: LoadedJob;
  log: Logger;
  /** @defaultValue $MWINGEST_REDIS_URL or "redis://127.0.0.1:6379" */
  redisUrl?: string;
  /** Partition tasks processed at the same time by this process. @defaultValue 1 */
  concurrency?: number;
  /** Counts tasks and runs; the job gauges (lag, last success, …) are src/ops/gauges.ts's. */
  metrics?: WorkerMetrics;
  /** On close, how long running tasks may go on before their reads are stopped. @defaultValue 10000 */
  shutdownGraceMs?: number;
  /** How often the job's schedule is checked and restored when Redis lost it (schedule-keeper.ts). @defaultValue 60000 */
  scheduleCheckMs?: number;
}

export interface IngestWorker {
  /** Lease owner of this process (`<host>/<pid>/<id>`), as written into manifests. */
  readonly owner: string;
  readonly resources: RunResources;
  /** Graceful stop (see the module comment). */
  close(): Promise<void>;
}

export async function startIngestWorker(options: IngestWorkerOptions): Promise<IngestWorker> {
  const { loaded, metrics } = options;
  const jobName = loaded.config.name;
  const log = options.log.child({ job: jobName });
  const resources = await openRunResources(loaded, log, options.redisUrl);
  const connection = resources.redis;
  const runs = new Queue(runsQueueName(jobName), { connection });
  const flows = new FlowProducer({ connection });
  const shutdown = new AbortController();
  const deps: FlowDeps = { resources, runs, flows, log, ...(metrics === undefined ? {} : { metrics }) };

  const ttlMs = loaded.config.leases.ttlSeconds * 1000;
  const workerOptions = {
    connection,
    // A dead worker's jobs are detected as stalled after this long, like its leases expire.
    lockDuration: ttlMs,
    stalledInterval: ttlMs,
    maxStalledCount: 2,
    autorun: true,
  };

  const runsWorker = new Worker<TickData | RunJobData>(
    runsQueueName(jobName),
    async (job) => {
      if (job.name === 'tick') return processTick(job as Job<TickData>);
      if (job.name === 'run') return finishRunJob(deps, job as Job<RunJobData>);
      throw new UnrecoverableError(
        `unknown job "${job.name}" in ${runsQueueName(jobName)}: expected "tick" or "run"`,
      );
    },
    { ...workerOptions, concurrency: 1 },
  );

  async function processTick(job: Job<TickData>) {
    try {
      return await startRunForTick(deps, job);
    } catch (error) {
      // A run that could not even be planned (Kafka or the state dir away) is a failed run too.
      if (job.attemptsMade + 1 >= (job.opts.attempts ?? 1)) {
        const now = new Date().toISOString();
        await recordFinishedRun(resources.redis, jobName, {
          runId: runIdForTick(job),
          status: 'failed',
          startedAt: now,
          finishedAt: now,
          durationMs: 0,
          problems: [`the run could not be planned: ${describeError(error)}`],
        }).catch((recordError: unknown) =>
          log.error({ err: recordError }, 'could not record the failed run'),
        );
      }
      throw error;
    }
  }

  const partitionsWorker = new Worker(
    partitionsQueueName(jobName),
    (job, token) =>
      processPartitionTask(
        { resources, log, shutdown: shutdown.signal, ...(metrics === undefined ? {} : { metrics }) },
        job,
        token,
      ),
    { ...workerOptions, concurrency: options.concurrency ?? 1 },
  );

  for (const worker of [runsWorker, partitionsWorker]) {
    worker.on('error', (error) =>
      log.error({ err: error, queue: worker.name }, 'queue worker error (Redis unreachable?)'),
    );
    worker.on('stalled', (jobId) =>
      log.warn(
        { jobId, queue: worker.name },
        'job stalled: its worker stopped renewing the lock; another takes it',
      ),
    );
  }
  runsWorker.on('failed', (job, error) => {
    if (job !== undefined)
      log.error(
        { jobId: job.id, name: job.name, attempt: job.attemptsMade, reason: error.message },
        'runs queue job failed',
      );
  });

  const scheduleKeeper = startScheduleKeeper({
    redis: connection,
    job: loaded.config,
    fs: resources.fs,
    paths: resources.paths,
    log,
    owner: resources.leases.owner,
    ...(metrics === undefined ? {} : { metrics }),
    intervalMs: options.scheduleCheckMs ?? 60_000,
  });

  log.info(
    {
      owner: resources.leases.owner,
      concurrency: options.concurrency ?? 1,
      queues: [runsWorker.name, partitionsWorker.name],
      fs: resources.fs.description,
    },
    'worker running',
  );

  let closing: Promise<void> | undefined;
  return {
    owner: resources.leases.owner,
    resources,
    close() {
      closing ??= (async () => {
        const grace = setTimeout(
          () =>
            shutdown.abort(
              new MwiError('MWI_TASK_ABORTED', 'the worker is shutting down', { canRetry: true }),
            ),
          options.shutdownGraceMs ?? 10_000,
        );
        try {
          await scheduleKeeper.stop();
          await Promise.all([runsWorker.close(), partitionsWorker.close()]);
        } finally {
          clearTimeout(grace);
          await flows.close();
          await runs.close();
          await resources.close();
        }
        log.info('worker stopped');
      })();
      return closing;
    },
  };
}
