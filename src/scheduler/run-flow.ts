import { createHash } from 'node:crypto';
import type { FlowJob, FlowProducer, Job, JobsOptions, Queue } from 'bullmq';
import type { Logger } from 'pino';
import { decodeError, describeError } from '../errors.js';
import type { PartitionResult } from '../ingest/partition-result.js';
import { failedBeforeStart } from '../ingest/partition-result.js';
import { finishRun, planRun, type RunPlan, type RunResources } from '../ingest/run.js';
import type { RunReport } from '../ingest/run-report.js';
import type { TopicPlan } from '../ingest/topic-plan.js';
import { buildTopicPlan } from '../ingest/topic-plan.js';
import { leaseNames } from '../job/context.js';
import {
  claimCurrentRun,
  parsePartitionTaskId,
  partitionsQueueName,
  partitionTaskIdOf,
  recordFinishedRun,
  recordSkippedTick,
  runInProgress,
  runJobIdOf,
  runStateKeys,
  runsQueueName,
} from './run-flow-state.js';
import type { WorkerMetrics } from './worker-metrics.js';

/**
 * A scheduled run as a BullMQ flow. A tick of the schedule (a `tick` job in the runs queue) plans
 * the run — high watermarks snapshotted, one task per topic-partition — and adds the flow:
 *
 * ```
 * run-<runId>                          parent, runs queue: once every child is done, announces complete
 *  ├─ <runId>__<topic>__<partition>    hours, queues Hive jobs, saves the report
 *  └─ …                                children, partitions queue: read, write, commit under the lease
 * ```
 *
 * Any number of `mwingest worker` processes on any hosts take the children; each partition is
 * written under its Redis lease with a fencing token that the commit checks. A child that fails for
 * good does not block the run: its failure is ignored as a dependency (`ignoreDependencyOnFailure`)
 * and reported by the parent. One run at a time per job: a tick that finds a run in progress is
 * skipped and recorded, never queued behind it. Ids are deterministic, and every handler is
 * idempotent, because BullMQ delivers at least once.
 */

export interface TickData {
  job: string;
  /** What fired the tick: the schedule, or `mwingest schedule --trigger`. */
  trigger: 'schedule' | 'manual';
}

export interface SnapshotTopic {
  topic: string;
  schemaName: string;
  /** Offsets as decimal strings (BullMQ stores JSON). */
  partitions: { partition: number; earliest: string; latest: string }[];
  /** Why the topic cannot be ingested (no schema, …); it gets no tasks and fails the run. */
  problem?: string;
}

export interface RunJobData {
  job: string;
  runId: string;
  /** Epoch ms the tick started the run. */
  startedAt: number;
  /** The tick's job id. */
  tick: string;
  topics: SnapshotTopic[];
}

export interface PartitionJobData {
  job: string;
  runId: string;
  topic: string;
  partition: number;
  earliest: string;
  /** High watermark snapshotted when the run was planned: nothing at or after it is read. */
  endOffset: string;
  /** Stop reading at this time (epoch ms), from `limits.maxRunSeconds`: the next run continues. */
  readDeadline?: number;
}

export type TickResult =
  | { outcome: 'started'; runId: string; tasks: number }
  | { outcome: 'skipped'; runningRunId: string; reason: string }
  | { outcome: 'already-started'; runId: string };

export interface RunResult {
  runId: string;
  status: RunReport['status'];
  problems: string[];
  totals: RunReport['totals'];
}

export interface FlowDeps {
  resources: RunResources;
  runs: Queue;
  flows: FlowProducer;
  metrics?: WorkerMetrics;
  log: Logger;
}

/** Retry policy of each kind of job, derived from the job's lease ttl. */
export function jobOptionsOf(ttlSeconds: number): {
  tick: JobsOptions;
  run: JobsOptions;
  partition: JobsOptions;
} {
  const day = 24 * 3600;
  return {
    tick: {
      attempts: 3,
      backoff: { type: 'fixed', delay: 5_000 },
      removeOnComplete: { count: 500 },
      removeOnFail: { count: 500 },
    },
    run: {
      attempts: 5,
      backoff: { type: 'exponential', delay: 5_000 },
      removeOnComplete: { age: 30 * day, count: 1000 },
      removeOnFail: { age: 90 * day },
    },
    // A partition whose lease is still held by a dead worker becomes free after the ttl: back off by a third of it.
    partition: {
      attempts: 8,
      backoff: { type: 'exponential', delay: Math.max(1_000, Math.round((ttlSeconds * 1000) / 3)) },
      removeOnComplete: { age: 7 * day, count: 5000 },
      removeOnFail: { age: 30 * day },
      ignoreDependencyOnFailure: true,
    },
  };
}

/**
 * The run id of a tick: the scheduled time, and a hash of the tick's job id, so that a tick
 * delivered twice names the same run (and starts it once).
 */
export function runIdForTick(tick: { id?: string | undefined; timestamp: number; delay?: number }): string {
  // A scheduler's tick is `repeat:<scheduler id>:<scheduled epoch ms>`; a manual one was due when added.
  const scheduled = /:(\d{10,})$/.exec(String(tick.id));
  const at = new Date(scheduled === null ? tick.timestamp + (tick.delay ?? 0) : Number(scheduled[1]));
  const stamp = at
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  const hash = createHash('sha1').update(String(tick.id)).digest('hex').slice(0, 6);
  return `${stamp}-${hash}`;
}

/** A tick: start a run unless one is in progress. */
export async function startRunForTick(deps: FlowDeps, tick: Job<TickData>): Promise<TickResult> {
  const { resources, runs, log } = deps;
  const jobName = resources.loaded.config.name;
  const runId = runIdForTick(tick);
  if ((await runs.getJob(runJobIdOf(runId))) != null) return { outcome: 'already-started', runId };

  const skip = async (runningRunId: string, reason: string): Promise<TickResult> => {
    await recordSkippedTick(resources.redis, jobName, {
      at: new Date().toISOString(),
      tick: String(tick.id),
      trigger: tick.data.trigger,
      runningRunId,
      reason,
    });
    deps.metrics?.tickSkipped(jobName);
    log.warn(
      { tick: tick.id, trigger: tick.data.trigger, runningRunId, reason },
      'tick skipped: a run of the job is in progress',
    );
    return { outcome: 'skipped', runningRunId, reason };
  };

  const running = await runInProgress(resources.redis, runs, jobName);
  if (running !== undefined)
    return skip(running.runId, `run ${running.runId} is still going (${running.state})`);
  const inProcess = await resources.leases.holder(leaseNames.run);
  if (inProcess !== undefined)
    return skip('mwingest-run', `\`mwingest run\` by ${inProcess.owner} is in progress`);
  const previous = await resources.redis.get(runStateKeys(jobName).current);
  if (!(await claimCurrentRun(resources.redis, jobName, previous, runId))) {
    const other = (await resources.redis.get(runStateKeys(jobName).current)) ?? 'unknown';
    return skip(other, `run ${other} was started by another tick at the same moment`);
  }

  const startedAt = Date.now();
  const { plan } = await planRun(resources, runId);
  const { config } = resources.loaded;
  const readDeadline =
    config.limits.maxRunSeconds === undefined ? undefined : startedAt + config.limits.maxRunSeconds * 1000;
  const options = jobOptionsOf(config.leases.ttlSeconds);
  const children: FlowJob[] = [];
  const topics: SnapshotTopic[] = plan.topics.map((topic) => ({
    topic: topic.topic,
    schemaName: topic.schemaName,
    partitions: topic.partitions.map((p) => ({
      partition: p.partition,
      earliest: p.earliest.toString(),
      latest: p.latest.toString(),
    })),
    ...(topic.problem === undefined ? {} : { problem: topic.problem }),
  }));
  for (const topic of topics) {
    if (topic.problem !== undefined) continue;
    for (const p of topic.partitions) {
      const data: PartitionJobData = {
        job: jobName,
        runId,
        topic: topic.topic,
        partition: p.partition,
        earliest: p.earliest,
        endOffset: p.latest,
        ...(readDeadline === undefined ? {} : { readDeadline }),
      };
      children.push({
        name: 'partition',
        queueName: partitionsQueueName(jobName),
        data,
        opts: { ...options.partition, jobId: partitionTaskIdOf(runId, topic.topic, p.partition) },
      });
    }
  }
  const data: RunJobData = { job: jobName, runId, startedAt, tick: String(tick.id), topics };
  await deps.flows.add({
    name: 'run',
    queueName: runsQueueName(jobName),
    data,
    opts: { ...options.run, jobId: runJobIdOf(runId) },
    children,
  });
  log.info(
    {
      runId,
      tick: tick.id,
      trigger: tick.data.trigger,
      tasks: children.length,
      backlog: plan.backlog.toString(),
    },
    'run started',
  );
  return { outcome: 'started', runId, tasks: children.length };
}

/** The parent of a run, once every child is done: completeness, Hive jobs, the report. */
export async function finishRunJob(deps: FlowDeps, job: Job<RunJobData>): Promise<RunResult> {
  const { resources, log } = deps;
  const data = job.data;
  const runLog = log.child({ runId: data.runId });
  const plan: RunPlan = { runId: data.runId, topics: [], backlog: 0n };
  const topicPlans = new Map<string, TopicPlan>();
  for (const topic of data.topics) {
    const partitions = topic.partitions.map((p) => ({
      partition: p.partition,
      earliest: BigInt(p.earliest),
      latest: BigInt(p.latest),
    }));
    for (const p of partitions) plan.backlog += p.latest - p.earliest;
    let problem = topic.problem;
    if (problem === undefined) {
      try {
        topicPlans.set(topic.topic, await buildTopicPlan(resources, topic.topic));
      } catch (error) {
        problem = describeError(error);
      }
    }
    plan.topics.push({
      topic: topic.topic,
      schemaName: topic.schemaName,
      partitions,
      ...(problem === undefined ? {} : { problem }),
    });
  }

  const results = new Map<string, PartitionResult[]>();
  const add = (result: PartitionResult) =>
    results.set(result.topic, [...(results.get(result.topic) ?? []), result]);
  for (const result of Object.values(await job.getChildrenValues<PartitionResult>())) add(result);
  for (const [key, reason] of Object.entries(await job.getIgnoredChildrenFailures())) {
    const where = parsePartitionTaskId(key, data.runId);
    if (where === undefined) continue;
    const snapshot = data.topics
      .find((t) => t.topic === where.topic)
      ?.partitions.find((p) => p.partition === where.partition);
    add(
      failedBeforeStart(
        {
          topic: where.topic,
          partition: where.partition,
          earliest: BigInt(snapshot?.earliest ?? '0'),
          endOffset: BigInt(snapshot?.latest ?? '0'),
        },
        decodeError(reason),
      ),
    );
  }

  const report = await finishRun(
    resources,
    { runId: data.runId, started: data.startedAt, plan, topicPlans, results, problems: [] },
    runLog,
  );
  await recordFinishedRun(resources.redis, data.job, report);
  deps.metrics?.runFinished(data.job, report.status, report.durationMs);
  const fields = {
    status: report.status,
    durationMs: report.durationMs,
    totals: report.totals,
    problems: report.problems,
  };
  if (report.status === 'succeeded') runLog.info(fields, 'run finished');
  else runLog.error(fields, 'run failed');
  return { runId: data.runId, status: report.status, problems: report.problems, totals: report.totals };
}
