import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { describeError } from '../errors.js';
import type { FileSystem } from '../hdfs/filesystem.js';
import type { HivePartitionAddJob } from '../hive/queue.js';
import { type HivePartitionQueueStatus, hivePartitionQueueStatus } from '../hive/worker.js';
import { HOUR_MS, hourStartMs, parseHourKey } from '../hours/hour.js';
import type { CommittedOffsets } from '../ingest/commit.js';
import { loadCompletenessState } from '../ingest/completeness-state.js';
import { listNumbered, readJson, type StatePaths } from '../ingest/state-store.js';
import { type LoadedJob, topicMatcher } from '../job/config.js';
import type { KafkaSource } from '../kafka/client.js';
import {
  type LastRuns,
  lastRuns,
  recentSkippedTicks,
  runInProgress,
  type SkippedTick,
  schedulerIdOf,
} from '../scheduler/run-flow-state.js';
import { schemaNameOfTopic } from '../schemas/registry.js';

/**
 * What `mwingest status`, the metrics gauges and the web page show about a job, read from the
 * shared state only (state dir, Kafka offsets, Redis), so any process on any host gives the same
 * answer: per topic and partition the committed offset and the lag, the last complete hour, the
 * schedule, the run in progress, the last run, skipped ticks and pending Hive partition jobs.
 */
export interface PartitionState {
  partition: number;
  /** Log start offset now. */
  earliest: string;
  highWatermark: string;
  /** End offset of the last commit; null when nothing was ever committed. */
  committedOffset: string | null;
  /** Messages between the resume point and the high watermark. */
  lag: string;
  /** Now minus the newest record time committed (event time), 0 when caught up, null when unknown. */
  lagSeconds: number | null;
  /** Newest record time committed (ISO). */
  reachedAt: string | null;
  lastCommitAt: string | null;
  lastCommitRunId: string | null;
  /** Lease holder and fencing token of the last commit. */
  lastCommitOwner: string | null;
  lastCommitToken: number | null;
  /** What is wrong with the partition's offsets, if anything (committed past the log end). */
  problem?: string;
}

export interface TopicState {
  topic: string;
  schemaName: string;
  partitions: PartitionState[];
  /** Sum of the partitions' lag. */
  lag: string;
  /** Newest hour announced complete (`2026-11-22T14`), and the end of that hour (epoch ms). */
  lastCompleteHour: string | null;
  lastCompleteHourEndMs: number | null;
  /** Hours that have ended but are not announced yet. */
  hoursPendingCompleteness: number;
  /** Records committed per hour not yet announced. */
  pendingHours: Record<string, number>;
  /** Late records per announced hour. */
  late: Record<string, number>;
  /** Recent announcements, newest last. */
  announced: { hour: string; records: number; at: string }[];
  /** Why the topic could not be read, if it could not. */
  problem?: string;
}

export interface JobStatus {
  job: string;
  at: string;
  /** The registered schedule; null when none is registered (no tick will fire). */
  schedule: { pattern: string | null; tz: string | null; next: string | null } | null;
  currentRun: {
    runId: string;
    state: string;
    startedAt: string | null;
    tasks: { done: number; failed: number; remaining: number };
  } | null;
  lastRuns: LastRuns;
  skippedTicks: SkippedTick[];
  topics: TopicState[];
  /** The Hive partition-add queue; null when it could not be read. */
  partitionJobs: HivePartitionQueueStatus | null;
  /** Parts of the status that could not be read, one sentence each. */
  problems: string[];
  /** WebHDFS jobs: the file system and the NameNode that answered as active while reading the status. */
  hdfs?: { fileSystem: string; activeNameNode: string };
}

export interface StatusSources {
  loaded: LoadedJob;
  fs: FileSystem;
  paths: StatePaths;
  source: KafkaSource;
  redis: Redis;
  runs: Queue;
  hive: Queue<HivePartitionAddJob>;
}

export async function collectJobStatus(sources: StatusSources, now = Date.now()): Promise<JobStatus> {
  const { loaded, redis, runs } = sources;
  const job = loaded.config.name;
  const problems: string[] = [];
  const scheduler = await runs.getJobScheduler(schedulerIdOf(job));
  const running = await runInProgress(redis, runs, job);
  let currentRun: JobStatus['currentRun'] = null;
  if (running !== undefined) {
    const counts = await running.job.getDependenciesCount();
    const data = running.job.data as { startedAt?: number };
    currentRun = {
      runId: running.runId,
      state: running.state,
      startedAt: typeof data.startedAt === 'number' ? new Date(data.startedAt).toISOString() : null,
      tasks: {
        done: counts.processed ?? 0,
        failed: (counts.failed ?? 0) + (counts.ignored ?? 0),
        remaining: counts.unprocessed ?? 0,
      },
    };
  }
  let partitionJobs: HivePartitionQueueStatus | null = null;
  try {
    partitionJobs = await hivePartitionQueueStatus(sources.hive);
  } catch (error) {
    problems.push(`the Hive partition-add queue could not be read: ${describeError(error)}`);
  }
  const matches = topicMatcher(loaded.config);
  const topics: TopicState[] = [];
  for (const topic of (await sources.source.listTopics()).filter(matches).sort()) {
    topics.push(await topicState(sources, topic, now));
  }
  return {
    job,
    at: new Date(now).toISOString(),
    schedule:
      scheduler === undefined || scheduler === null
        ? null
        : {
            pattern: scheduler.pattern ?? null,
            tz: scheduler.tz ?? null,
            next: scheduler.next === undefined ? null : new Date(scheduler.next).toISOString(),
          },
    currentRun,
    lastRuns: await lastRuns(redis, job),
    skippedTicks: await recentSkippedTicks(redis, job),
    topics,
    partitionJobs,
    problems,
    ...(sources.fs.activeNameNode === undefined
      ? {}
      : { hdfs: { fileSystem: sources.fs.description, activeNameNode: sources.fs.activeNameNode } }),
  };
}

async function topicState(sources: StatusSources, topic: string, now: number): Promise<TopicState> {
  const state: TopicState = {
    topic,
    schemaName: schemaNameOfTopic(topic),
    partitions: [],
    lag: '0',
    lastCompleteHour: null,
    lastCompleteHourEndMs: null,
    hoursPendingCompleteness: 0,
    pendingHours: {},
    late: {},
    announced: [],
  };
  try {
    const completeness = await loadCompletenessState(sources.fs, sources.paths, topic);
    state.lastCompleteHour = completeness.announcedThrough;
    state.lastCompleteHourEndMs =
      completeness.announcedThrough === null
        ? null
        : hourStartMs(parseHourKey(completeness.announcedThrough)) + HOUR_MS;
    state.pendingHours = completeness.pendingCounts;
    state.late = completeness.late;
    state.announced = completeness.announced.slice(-500);
    state.hoursPendingCompleteness = hoursPendingCompleteness(
      completeness.announcedThrough,
      completeness.pendingCounts,
      now,
    );
    let lag = 0n;
    for (const offsets of await sources.source.partitionOffsets(topic)) {
      const last = await lastCommit(sources.fs, sources.paths, topic, offsets.partition);
      const resume = last === undefined ? offsets.earliest : BigInt(last.endOffset);
      const behind = offsets.latest > resume ? offsets.latest - resume : 0n;
      lag += behind;
      const reachedMs = last?.reachedMs ?? null;
      state.partitions.push({
        partition: offsets.partition,
        earliest: offsets.earliest.toString(),
        highWatermark: offsets.latest.toString(),
        committedOffset: last?.endOffset ?? null,
        lag: behind.toString(),
        lagSeconds:
          behind === 0n ? 0 : reachedMs === null ? null : Math.max(0, Math.round((now - reachedMs) / 1000)),
        reachedAt: reachedMs === null ? null : new Date(reachedMs).toISOString(),
        lastCommitAt: last?.committedAt ?? null,
        lastCommitRunId: last?.runId ?? null,
        lastCommitOwner: last?.owner ?? null,
        lastCommitToken: last?.token ?? null,
        ...(resume > offsets.latest
          ? {
              problem:
                `committed offset ${resume} is past the log end ${offsets.latest} (log start ${offsets.earliest}): ` +
                'the topic was recreated or its log truncated; no hour is announced until its offsets are reset',
            }
          : {}),
      });
    }
    state.lag = lag.toString();
  } catch (error) {
    state.problem = describeError(error);
  }
  return state;
}

/** The newest offsets document of a partition: its last commit. */
export async function lastCommit(
  fs: FileSystem,
  paths: StatePaths,
  topic: string,
  partition: number,
): Promise<CommittedOffsets | undefined> {
  const newest = (await listNumbered(fs, paths.offsets(topic, partition))).at(-1);
  return newest === undefined
    ? undefined
    : readJson<CommittedOffsets>(fs, `${paths.offsets(topic, partition)}/${newest}`);
}

/**
 * Hours that have ended (before the current hour) and are not announced complete: after the last
 * announced hour, or, before the first announcement, the ended hours that have data.
 */
export function hoursPendingCompleteness(
  announcedThrough: string | null,
  pendingCounts: Record<string, number>,
  now: number,
): number {
  const currentHourStart = Math.floor(now / HOUR_MS) * HOUR_MS;
  if (announcedThrough !== null) {
    const next = hourStartMs(parseHourKey(announcedThrough)) + HOUR_MS;
    return Math.max(0, Math.round((currentHourStart - next) / HOUR_MS));
  }
  return Object.keys(pendingCounts).filter((hour) => hourStartMs(parseHourKey(hour)) < currentHourStart)
    .length;
}

/** The status as a person reads it in a terminal. */
export function formatJobStatus(status: JobStatus): string {
  const lines: string[] = [`job ${status.job} at ${status.at}`];
  const { schedule, currentRun, lastRuns: last } = status;
  lines.push(
    schedule === null
      ? '  schedule: NONE registered — no run will start by itself (mwingest schedule --job …)'
      : `  schedule: ${schedule.pattern ?? '?'} (${schedule.tz ?? 'UTC'}), next tick ${schedule.next ?? 'unknown'}`,
  );
  lines.push(
    currentRun === null
      ? '  run in progress: none'
      : `  run in progress: ${currentRun.runId} (${currentRun.state}) since ${currentRun.startedAt ?? '?'}: ` +
          `${currentRun.tasks.done} partition task(s) done, ${currentRun.tasks.failed} failed, ${currentRun.tasks.remaining} to go`,
  );
  lines.push(
    last.lastRunId === undefined
      ? '  last run: none recorded'
      : `  last run: ${last.lastRunId} ${String(last.lastStatus).toUpperCase()} at ${last.lastFinishedAt} in ${((last.lastDurationMs ?? 0) / 1000).toFixed(1)} s`,
  );
  for (const problem of last.lastStatus === 'failed' ? (last.lastProblems ?? []) : [])
    lines.push(`    ! ${problem}`);
  lines.push(
    `  last successful run: ${last.lastSuccessAt === undefined ? 'never' : `${last.lastSuccessRunId} at ${last.lastSuccessAt}`}`,
  );
  if (status.hdfs !== undefined)
    lines.push(`  hdfs: ${status.hdfs.fileSystem}; active NameNode ${status.hdfs.activeNameNode}`);
  if (last.skippedTicks > 0) {
    lines.push(
      `  skipped ticks: ${last.skippedTicks} (last at ${last.lastSkippedAt}, while run ${status.skippedTicks[0]?.runningRunId ?? '?'} was in progress)`,
    );
  }
  for (const topic of status.topics) {
    lines.push('', `${topic.topic} (${topic.schemaName}): lag ${topic.lag} message(s)`);
    if (topic.problem !== undefined) lines.push(`  ! ${topic.problem}`);
    lines.push(
      `  last complete hour: ${topic.lastCompleteHour ?? 'none yet'}; ${topic.hoursPendingCompleteness} ended hour(s) not complete yet`,
    );
    for (const p of topic.partitions) {
      lines.push(
        `  partition ${p.partition}: committed ${p.committedOffset ?? '— (never)'} of ${p.highWatermark}, lag ${p.lag}` +
          `${p.lagSeconds === null ? '' : ` (${formatSeconds(p.lagSeconds)})`}` +
          `${p.lastCommitAt === null ? '' : `, last commit ${p.lastCommitAt} by token ${p.lastCommitToken}`}`,
      );
      if (p.problem !== undefined) lines.push(`    ! ${p.problem}`);
    }
    const late = Object.entries(topic.late);
    if (late.length > 0)
      lines.push(`  late records: ${late.map(([hour, n]) => `${hour} (${n})`).join(', ')}`);
  }
  if (status.partitionJobs !== null) {
    const { counts, pending } = status.partitionJobs;
    lines.push(
      '',
      `Hive partition jobs: ${counts.completed} added, ${counts.waiting} waiting, ${counts.active} running, ` +
        `${counts.delayed} retrying, ${counts.failed} failed`,
    );
    for (const item of pending.slice(0, 20)) {
      lines.push(
        `  ${item.hour}  ${item.topic}  ${item.state}${item.reason === undefined ? '' : `: ${item.reason}`}`,
      );
    }
    if (pending.length > 20) lines.push(`  … and ${pending.length - 20} more`);
  }
  for (const problem of status.problems) lines.push(`! ${problem}`);
  return lines.join('\n');
}

function formatSeconds(seconds: number): string {
  if (seconds < 120) return `${seconds} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}
