import type { Job, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { redisPrefixOf } from '../job/context.js';

/**
 * Where the scheduled, distributed form of a run keeps its state in Redis: queue names, job ids,
 * the job's current run, the last run's outcome and the ticks that were skipped.
 *
 * ```
 * bull:mwingest-<job>-runs:…          ticks of the schedule ("tick") and the runs themselves ("run", flow parents)
 * bull:mwingest-<job>-partitions:…    one task per topic-partition of a run (flow children)
 * mwingest:<job>:run:current          id of the run started last; it is in progress while its parent job is unfinished
 * mwingest:<job>:run:last             hash: the last finished run and the last successful one
 * mwingest:<job>:run:skipped          list (newest first, 100 kept): ticks skipped because a run was in progress
 * ```
 *
 * Whether a run is in progress is read from BullMQ's own state of the run's parent job, never from
 * a flag someone must remember to clear: a run whose parent finished, failed or was removed is over.
 */

export function runsQueueName(jobName: string): string {
  return `mwingest-${jobName}-runs`;
}

export function partitionsQueueName(jobName: string): string {
  return `mwingest-${jobName}-partitions`;
}

/** The BullMQ job scheduler of a job (one per job: registering again replaces it). */
export function schedulerIdOf(jobName: string): string {
  return `mwingest-${jobName}-schedule`;
}

/** Job id of a run (the flow's parent). BullMQ ids must not contain `:`; run ids never do. */
export function runJobIdOf(runId: string): string {
  return `run-${runId}`;
}

/** Job id of one partition task of a run. Kafka topic names never contain `:`. */
export function partitionTaskIdOf(runId: string, topic: string, partition: number): string {
  return `${runId}__${topic}__${partition}`;
}

/** Topic and partition from a task's job id or its Redis key (`bull:<queue>:<id>`); undefined when it is not one. */
export function parsePartitionTaskId(
  idOrKey: string,
  runId: string,
): { topic: string; partition: number } | undefined {
  const marker = `${runId}__`;
  const at = idOrKey.lastIndexOf(marker);
  if (at < 0) return undefined;
  const rest = idOrKey.slice(at + marker.length);
  const split = rest.lastIndexOf('__');
  if (split <= 0) return undefined;
  const partition = Number(rest.slice(split + 2));
  if (!Number.isInteger(partition) || partition < 0) return undefined;
  return { topic: rest.slice(0, split), partition };
}

export function runStateKeys(jobName: string): { current: string; last: string; skipped: string } {
  const base = `${redisPrefixOf(jobName)}:run`;
  return { current: `${base}:current`, last: `${base}:last`, skipped: `${base}:skipped` };
}

/** BullMQ states in which a run is still going (children running, or the parent about to finish it). */
const UNFINISHED = new Set(['waiting-children', 'waiting', 'active', 'delayed', 'prioritized']);

export interface RunInProgress {
  runId: string;
  /** BullMQ state of the run's parent job. */
  state: string;
  job: Job;
}

/** The job's run in progress, if any. */
export async function runInProgress(
  redis: Redis,
  runs: Queue,
  jobName: string,
): Promise<RunInProgress | undefined> {
  const runId = await redis.get(runStateKeys(jobName).current);
  if (runId === null) return undefined;
  const job = await runs.getJob(runJobIdOf(runId));
  if (job === undefined || job === null) return undefined;
  const state = await job.getState();
  return UNFINISHED.has(state) ? { runId, state, job } : undefined;
}

// Compare-and-set: the current run moves from `expected` (or nothing) to the new run, atomically.
const CLAIM_SCRIPT = `
local now = redis.call('GET', KEYS[1])
if (now == false and ARGV[1] == '') or now == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2])
  return 1
end
return 0`;

/**
 * Makes `runId` the job's current run if the current one is still `expected` (`null`: none was).
 * Two ticks that saw the same finished run cannot both start one: the second gets `false`.
 */
export async function claimCurrentRun(
  redis: Redis,
  jobName: string,
  expected: string | null,
  runId: string,
): Promise<boolean> {
  const done = await redis.eval(CLAIM_SCRIPT, 1, runStateKeys(jobName).current, expected ?? '', runId);
  return done === 1;
}

/** A tick that found a run in progress. */
export interface SkippedTick {
  at: string;
  /** The tick's BullMQ job id. */
  tick: string;
  trigger: string;
  runningRunId: string;
  reason: string;
}

export async function recordSkippedTick(redis: Redis, jobName: string, skipped: SkippedTick): Promise<void> {
  const keys = runStateKeys(jobName);
  await redis
    .multi()
    .lpush(keys.skipped, JSON.stringify(skipped))
    .ltrim(keys.skipped, 0, 99)
    .hincrby(keys.last, 'skippedTicks', 1)
    .hset(keys.last, 'lastSkippedAt', skipped.at)
    .exec();
}

export async function recentSkippedTicks(redis: Redis, jobName: string, count = 10): Promise<SkippedTick[]> {
  const items = await redis.lrange(runStateKeys(jobName).skipped, 0, count - 1);
  return items.map((item) => JSON.parse(item) as SkippedTick);
}

/** The outcome of the last finished run and of the last successful one, shared by every worker. */
export interface LastRuns {
  lastRunId?: string;
  lastStatus?: string;
  lastStartedAt?: string;
  lastFinishedAt?: string;
  lastDurationMs?: number;
  lastProblems?: string[];
  lastSuccessRunId?: string;
  lastSuccessAt?: string;
  skippedTicks: number;
  lastSkippedAt?: string;
}

export async function recordFinishedRun(
  redis: Redis,
  jobName: string,
  run: {
    runId: string;
    status: string;
    startedAt: string;
    finishedAt: string;
    durationMs: number;
    problems: string[];
  },
): Promise<void> {
  const fields: Record<string, string> = {
    lastRunId: run.runId,
    lastStatus: run.status,
    lastStartedAt: run.startedAt,
    lastFinishedAt: run.finishedAt,
    lastDurationMs: String(run.durationMs),
    lastProblems: JSON.stringify(run.problems.slice(0, 20)),
  };
  if (run.status === 'succeeded') {
    fields.lastSuccessRunId = run.runId;
    fields.lastSuccessAt = run.finishedAt;
  }
  await redis.hset(runStateKeys(jobName).last, fields);
}

export async function lastRuns(redis: Redis, jobName: string): Promise<LastRuns> {
  const hash = await redis.hgetall(runStateKeys(jobName).last);
  const result: LastRuns = { skippedTicks: Number(hash.skippedTicks ?? 0) };
  for (const key of [
    'lastRunId',
    'lastStatus',
    'lastStartedAt',
    'lastFinishedAt',
    'lastSuccessRunId',
    'lastSuccessAt',
    'lastSkippedAt',
  ] as const) {
    const value = hash[key];
    if (value !== undefined) result[key] = value;
  }
  if (hash.lastDurationMs !== undefined) result.lastDurationMs = Number(hash.lastDurationMs);
  if (hash.lastProblems !== undefined) result.lastProblems = JSON.parse(hash.lastProblems) as string[];
  return result;
}
