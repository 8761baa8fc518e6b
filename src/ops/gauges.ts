import { Queue } from 'bullmq';
import type { Logger } from 'pino';
import { type HivePartitionAddJob, hiveQueueName } from '../hive/queue.js';
import type { RunResources } from '../ingest/run.js';
import { runsQueueName } from '../scheduler/run-flow-state.js';
import type { IngestMetrics } from './metrics.js';
import { collectJobStatus, type JobStatus } from './status.js';

/**
 * The job gauges of `mwingest worker` (lag, last success, pending hours, …): every `intervalMs` the
 * job's status is read from the shared state and applied to the metrics, so every worker serves
 * the same values. A refresh that fails counts in `mwingest_status_refresh_failures_total`.
 */
export interface JobGauges {
  /** Reads the job status now and sets the gauges from it (one read at a time). */
  refresh(): Promise<JobStatus>;
  /** Stops refreshing; waits for a refresh under way. */
  stop(): Promise<void>;
}

export function startJobGauges(options: {
  resources: RunResources;
  metrics: IngestMetrics;
  log: Logger;
  /** 0 turns the refresh off. @defaultValue 30000 */
  intervalMs?: number;
}): JobGauges {
  const { resources, metrics, log } = options;
  const { loaded, redis: connection } = resources;
  const jobName = loaded.config.name;
  const runs = new Queue(runsQueueName(jobName), { connection });
  const hive = new Queue<HivePartitionAddJob>(hiveQueueName(jobName), { connection });
  let refreshing: Promise<JobStatus> | undefined;
  const refresh = (): Promise<JobStatus> => {
    refreshing ??= collectJobStatus({ ...resources, runs, hive })
      .then((status) => {
        metrics.applyStatus(status);
        return status;
      })
      .finally(() => {
        refreshing = undefined;
      });
    return refreshing;
  };
  const interval = options.intervalMs ?? 30_000;
  const timer =
    interval > 0
      ? setInterval(() => {
          refresh().catch((error: unknown) => {
            metrics.statusRefreshFailed(jobName);
            log.warn({ err: error }, 'could not refresh the job gauges');
          });
        }, interval)
      : undefined;
  timer?.unref();
  if (timer !== undefined)
    refresh().catch((error: unknown) => log.warn({ err: error }, 'could not refresh the job gauges'));
  return {
    refresh,
    async stop() {
      if (timer !== undefined) clearInterval(timer);
      await refreshing?.catch(() => undefined);
      await runs.close();
      await hive.close();
    },
  };
}
