import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { createServer, type Server } from 'node:http';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { describeError } from '../errors.js';
import { listenOn } from '../listen.js';
import {
  HIVE_REQUESTS,
  type HiveRequestTiming,
  WEBHDFS_NAMENODES,
  WEBHDFS_REQUESTS,
  type WebHdfsActiveNameNode,
  type WebHdfsRequestTiming,
} from '../request-timing.js';
import type { WorkerMetrics } from '../scheduler/worker-metrics.js';
import { VERSION } from '../version.js';
import type { JobStatus } from './status.js';

/**
 * Prometheus metrics of `mwingest worker`, for alerts an operator can act on.
 *
 * Counters count what this process did (sum them over instances); gauges describe the job as a
 * whole and are refreshed from the shared state (state dir, Kafka, Redis) by every worker, so any
 * one instance answers "how far behind is the job?" (take `max` over instances).
 *
 * The job is the `ingest_job` label, never `job` or `instance`: Prometheus sets those two on every
 * series it scrapes (an exporter's own `job` would be renamed `exported_job`).
 *
 * | metric | labels | meaning |
 * |---|---|---|
 * | `mwingest_records_written_total` | ingest_job, topic | records written into hour files |
 * | `mwingest_bytes_written_total` | ingest_job, topic | bytes of the hour files committed |
 * | `mwingest_bytes_read_total` | ingest_job, topic | message bytes read from Kafka |
 * | `mwingest_error_records_total` | ingest_job, topic | bad messages written to error files |
 * | `mwingest_late_records_total` | ingest_job, topic | records written to hours already announced |
 * | `mwingest_partition_tasks_total` | ingest_job, outcome | committed, up-to-date, retried, failed, requeued |
 * | `mwingest_runs_total` | ingest_job, status | runs finished here: succeeded or failed |
 * | `mwingest_run_ticks_skipped_total` | ingest_job | schedule ticks skipped because a run was in progress |
 * | `mwingest_schedule_restored_total` | ingest_job | the schedule was missing from Redis and registered again by this worker |
 * | `mwingest_run_duration_seconds` | ingest_job | histogram of run durations (tick to report) |
 * | `mwingest_consumer_lag_offsets` | ingest_job, topic, partition | high watermark − committed offset |
 * | `mwingest_consumer_lag_seconds` | ingest_job, topic, partition | now − time of the newest record committed, 0 when caught up |
 * | `mwingest_last_successful_run_timestamp_seconds` | ingest_job | when the last successful run finished |
 * | `mwingest_last_run_succeeded` | ingest_job | 1 when the last finished run succeeded, else 0 |
 * | `mwingest_run_in_progress` | ingest_job | 1 while a run is going |
 * | `mwingest_hours_pending_completeness` | ingest_job, topic | ended hours not yet announced complete |
 * | `mwingest_last_complete_hour_timestamp_seconds` | ingest_job, topic | end of the newest hour announced complete |
 * | `mwingest_hive_partition_jobs` | ingest_job, state | partition-add jobs waiting, active, delayed (retrying) or failed for good |
 * | `mwingest_schedule_registered` | ingest_job | 1 when the job's schedule is registered in Redis |
 * | `mwingest_status_refresh_failures_total` | ingest_job | the gauges above could not be refreshed |
 *
 * Every mwingest process that serves metrics also has the common ones (`registerCommonMetrics`):
 * `mwingest_build_info`, the WebHDFS and Hive request-latency histograms,
 * `mwingest_hdfs_namenode_active{nameservice,namenode}` (1 for the NameNode this process's WebHDFS
 * calls go to, 0 for the other NameNodes of an HA nameservice; set once HDFS first answered), and the standard
 * `process_*` and `nodejs_*` metrics. Failed Hive partition-add attempts are counted by the
 * executor (`mwingest hive worker`) as `mwingest_hive_partition_add_failures_total{ingest_job,table}`
 * (src/hive/worker.ts).
 */
export interface IngestMetrics extends WorkerMetrics {
  readonly registry: Registry;
  statusRefreshFailed(job: string): void;
  /** Sets the gauges from the job's shared state. */
  applyStatus(status: JobStatus): void;
  /** Stops the request histograms from listening (the registry keeps what it has). */
  close(): void;
}

export interface CommonMetricsOptions {
  /**
   * The standard `process_*` and `nodejs_*` metrics (CPU, memory, event loop lag). Leave them out
   * where they would clash with another exporter's, e.g. in a node_exporter textfile.
   * @defaultValue true
   */
  processMetrics?: boolean;
}

/** Upper bounds of the request-latency histograms, in seconds: NameNode calls to hour-file uploads. */
const REQUEST_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

/**
 * What every mwingest process that serves metrics has besides its own: `mwingest_build_info`, the
 * latency histograms of WebHDFS requests and Hive statements (fed by src/request-timing.ts) and
 * the process metrics. Returns a function that stops the histograms from listening.
 */
export function registerCommonMetrics(registry: Registry, options: CommonMetricsOptions = {}): () => void {
  if (options.processMetrics !== false) collectDefaultMetrics({ register: registry });
  const registers = [registry];
  new Gauge({
    name: 'mwingest_build_info',
    help: 'Always 1; the labels say which mwingest and which Node.js this process runs',
    labelNames: ['version', 'node_version'],
    registers,
  }).set({ version: VERSION, node_version: process.version }, 1);
  const webhdfs = new Histogram({
    name: 'mwingest_webhdfs_request_duration_seconds',
    help: 'WebHDFS requests, from sending to the answer (the data step of CREATE/APPEND: the whole upload)',
    labelNames: ['op', 'server', 'outcome'],
    buckets: REQUEST_BUCKETS,
    registers,
  });
  const hive = new Histogram({
    name: 'mwingest_hive_request_duration_seconds',
    help: 'HiveServer2 statements by kind, connecting included when a connection had to be opened',
    labelNames: ['op', 'outcome'],
    buckets: REQUEST_BUCKETS,
    registers,
  });
  const activeNameNode = new Gauge({
    name: 'mwingest_hdfs_namenode_active',
    help: '1 for the NameNode that WebHDFS calls go to (the active one, as far as this process knows), 0 for the others',
    labelNames: ['nameservice', 'namenode'],
    registers,
  });
  const onNameNode = (message: unknown) => {
    const { nameservice, namenodes, active } = message as WebHdfsActiveNameNode;
    for (const namenode of namenodes)
      activeNameNode.set({ nameservice, namenode }, namenode === active ? 1 : 0);
  };
  const onWebHdfs = (message: unknown) => {
    const { op, server, outcome, seconds } = message as WebHdfsRequestTiming;
    webhdfs.observe({ op, server, outcome }, seconds);
  };
  const onHive = (message: unknown) => {
    const { op, outcome, seconds } = message as HiveRequestTiming;
    hive.observe({ op, outcome }, seconds);
  };
  subscribe(WEBHDFS_REQUESTS, onWebHdfs);
  subscribe(WEBHDFS_NAMENODES, onNameNode);
  subscribe(HIVE_REQUESTS, onHive);
  return () => {
    unsubscribe(WEBHDFS_REQUESTS, onWebHdfs);
    unsubscribe(WEBHDFS_NAMENODES, onNameNode);
    unsubscribe(HIVE_REQUESTS, onHive);
  };
}

export function createIngestMetrics(
  registry = new Registry(),
  options: CommonMetricsOptions = {},
): IngestMetrics {
  const stopCommon = registerCommonMetrics(registry, options);
  const registers = [registry];
  const perTopic = ['ingest_job', 'topic'] as const;
  const perPartition = ['ingest_job', 'topic', 'partition'] as const;
  const records = new Counter({
    name: 'mwingest_records_written_total',
    help: 'Records written into hour files',
    labelNames: perTopic,
    registers,
  });
  const bytesWritten = new Counter({
    name: 'mwingest_bytes_written_total',
    help: 'Bytes of the hour files committed',
    labelNames: perTopic,
    registers,
  });
  const bytes = new Counter({
    name: 'mwingest_bytes_read_total',
    help: 'Message bytes read from Kafka',
    labelNames: perTopic,
    registers,
  });
  const errors = new Counter({
    name: 'mwingest_error_records_total',
    help: 'Bad messages written to error files with their reason',
    labelNames: perTopic,
    registers,
  });
  const late = new Counter({
    name: 'mwingest_late_records_total',
    help: 'Records written to hours that were already announced complete',
    labelNames: perTopic,
    registers,
  });
  const tasks = new Counter({
    name: 'mwingest_partition_tasks_total',
    help: 'Partition tasks by outcome',
    labelNames: ['ingest_job', 'outcome'],
    registers,
  });
  const runs = new Counter({
    name: 'mwingest_runs_total',
    help: 'Runs finished by this process, by status',
    labelNames: ['ingest_job', 'status'],
    registers,
  });
  const skipped = new Counter({
    name: 'mwingest_run_ticks_skipped_total',
    help: 'Schedule ticks skipped because a run of the job was in progress',
    labelNames: ['ingest_job'],
    registers,
  });
  const restored = new Counter({
    name: 'mwingest_schedule_restored_total',
    help: 'Times this worker found the job schedule missing from Redis and registered it again',
    labelNames: ['ingest_job'],
    registers,
  });
  const duration = new Histogram({
    name: 'mwingest_run_duration_seconds',
    help: 'Duration of runs, from the tick to the saved report',
    labelNames: ['ingest_job'],
    buckets: [5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200],
    registers,
  });
  const refreshFailures = new Counter({
    name: 'mwingest_status_refresh_failures_total',
    help: 'Times the job gauges could not be refreshed from the shared state',
    labelNames: ['ingest_job'],
    registers,
  });
  const lagOffsets = new Gauge({
    name: 'mwingest_consumer_lag_offsets',
    help: 'High watermark minus committed offset',
    labelNames: perPartition,
    registers,
  });
  const lagSeconds = new Gauge({
    name: 'mwingest_consumer_lag_seconds',
    help: 'Now minus the time of the newest record committed; 0 when caught up',
    labelNames: perPartition,
    registers,
  });
  const lastSuccess = new Gauge({
    name: 'mwingest_last_successful_run_timestamp_seconds',
    help: 'Unix time the last successful run finished',
    labelNames: ['ingest_job'],
    registers,
  });
  const lastSucceeded = new Gauge({
    name: 'mwingest_last_run_succeeded',
    help: '1 when the last finished run succeeded, else 0',
    labelNames: ['ingest_job'],
    registers,
  });
  const inProgress = new Gauge({
    name: 'mwingest_run_in_progress',
    help: '1 while a run of the job is going',
    labelNames: ['ingest_job'],
    registers,
  });
  const pendingHours = new Gauge({
    name: 'mwingest_hours_pending_completeness',
    help: 'Hours that have ended but are not announced complete yet',
    labelNames: perTopic,
    registers,
  });
  const completeHour = new Gauge({
    name: 'mwingest_last_complete_hour_timestamp_seconds',
    help: 'Unix time at the end of the newest hour announced complete',
    labelNames: perTopic,
    registers,
  });
  const hiveJobs = new Gauge({
    name: 'mwingest_hive_partition_jobs',
    help: 'Hive partition-add jobs not done yet, by state',
    labelNames: ['ingest_job', 'state'],
    registers,
  });
  const scheduled = new Gauge({
    name: 'mwingest_schedule_registered',
    help: '1 when the job schedule is registered in Redis',
    labelNames: ['ingest_job'],
    registers,
  });

  return {
    registry,
    partitionTask(job, result) {
      const labels = { ingest_job: job, topic: result.topic };
      records.inc(labels, result.counts.written);
      bytesWritten.inc(labels, result.bytesWritten);
      bytes.inc(labels, result.bytesRead);
      errors.inc(labels, result.counts.errors);
      late.inc(labels, result.counts.late);
    },
    taskOutcome(job, outcome) {
      tasks.inc({ ingest_job: job, outcome });
    },
    runFinished(job, status, durationMs) {
      runs.inc({ ingest_job: job, status });
      duration.observe({ ingest_job: job }, durationMs / 1000);
    },
    tickSkipped(job) {
      skipped.inc({ ingest_job: job });
    },
    scheduleRestored(job) {
      restored.inc({ ingest_job: job });
    },
    statusRefreshFailed(job) {
      refreshFailures.inc({ ingest_job: job });
    },
    applyStatus(status) {
      const job = { ingest_job: status.job };
      // Label sets of topics or partitions that went away must not linger.
      for (const gauge of [lagOffsets, lagSeconds, pendingHours, completeHour]) gauge.reset();
      for (const topic of status.topics) {
        for (const p of topic.partitions) {
          const labels = { ...job, topic: topic.topic, partition: String(p.partition) };
          lagOffsets.set(labels, Number(p.lag));
          if (p.lagSeconds !== null) lagSeconds.set(labels, p.lagSeconds);
        }
        pendingHours.set({ ...job, topic: topic.topic }, topic.hoursPendingCompleteness);
        if (topic.lastCompleteHourEndMs !== null)
          completeHour.set({ ...job, topic: topic.topic }, topic.lastCompleteHourEndMs / 1000);
      }
      const last = status.lastRuns;
      if (last.lastSuccessAt !== undefined) lastSuccess.set(job, Date.parse(last.lastSuccessAt) / 1000);
      if (last.lastStatus !== undefined) lastSucceeded.set(job, last.lastStatus === 'succeeded' ? 1 : 0);
      inProgress.set(job, status.currentRun === null ? 0 : 1);
      scheduled.set(job, status.schedule === null ? 0 : 1);
      if (status.partitionJobs !== null) {
        const counts = status.partitionJobs.counts;
        for (const state of ['waiting', 'active', 'delayed', 'failed'] as const)
          hiveJobs.set({ ...job, state }, counts[state]);
      }
    },
    close: stopCommon,
  };
}

/** Serves `GET /metrics` (and `GET /healthz`) on `host:port`; port 0 picks a free one. */
export async function serveMetrics(registry: Registry, port: number, host = '127.0.0.1'): Promise<Server> {
  const server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (path === '/healthz') {
      response.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      return;
    }
    if (path !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('metrics are at /metrics\n');
      return;
    }
    registry.metrics().then(
      (text) => response.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (error: unknown) =>
        response.writeHead(500, { 'content-type': 'text/plain' }).end(`${describeError(error)}\n`),
    );
  });
  return listenOn(server, host, port, 'metrics', '--metrics-port');
}
