import type { PartitionResult } from '../ingest/partition-result.js';

/** How a partition task of the scheduled run ended, as counted in `mwingest_partition_tasks_total`. */
export type TaskOutcome = 'committed' | 'up-to-date' | 'retried' | 'failed' | 'requeued';

/**
 * What a worker counts as it goes. src/ops/metrics.ts implements it with prom-client; the scheduler
 * only sees this interface, so it never imports the ops layer above it.
 */
export interface WorkerMetrics {
  /** Counts what a partition task did. */
  partitionTask(job: string, result: PartitionResult): void;
  taskOutcome(job: string, outcome: TaskOutcome): void;
  runFinished(job: string, status: string, durationMs: number): void;
  tickSkipped(job: string): void;
  /** The schedule was missing from Redis and registered again (schedule-keeper.ts). */
  scheduleRestored(job: string): void;
}
