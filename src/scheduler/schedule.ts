import { randomBytes } from 'node:crypto';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { describeError, MwiError } from '../errors.js';
import type { JobConfig } from '../job/config.js';
import { redisPrefixOf } from '../job/context.js';
import { jobOptionsOf, type TickData } from './run-flow.js';
import { runsQueueName, schedulerIdOf } from './run-flow-state.js';

/**
 * The schedule of a job: one BullMQ job scheduler in the job's runs queue, firing a `tick` job on
 * a cron expression evaluated in UTC (Camus ran from cron at :15). There is one scheduler per job,
 * under a fixed id, so registering again is an update — never a second schedule — and a new cron
 * expression replaces the old one together with its pending tick.
 */
export interface ScheduleInfo {
  job: string;
  schedulerId: string;
  pattern: string | null;
  tz: string | null;
  /** When the next tick fires (ISO). */
  next: string | null;
}

export const DEFAULT_TZ = 'UTC';

/**
 * Set by {@link removeSchedule}, cleared by {@link registerSchedule}: the schedule is missing because
 * it was removed, not because Redis lost it, so workers leave it removed (schedule-keeper.ts).
 */
export function scheduleRemovedKey(jobName: string): string {
  return `${redisPrefixOf(jobName)}:schedule:removed`;
}

/** Registers (or updates) the job's schedule. `cron` overrides the job's `schedule.cron`. */
export async function registerSchedule(
  connection: Redis,
  job: JobConfig,
  cron?: string,
): Promise<{ schedule: ScheduleInfo; previous: ScheduleInfo | undefined }> {
  const pattern = cron ?? job.schedule.cron;
  const runs = new Queue<TickData>(runsQueueName(job.name), { connection });
  try {
    const previous = await readSchedule(runs, job.name);
    try {
      await runs.upsertJobScheduler(
        schedulerIdOf(job.name),
        { pattern, tz: DEFAULT_TZ },
        {
          name: 'tick',
          data: { job: job.name, trigger: 'schedule' },
          opts: jobOptionsOf(job.leases.ttlSeconds).tick,
        },
      );
    } catch (error) {
      throw new MwiError(
        'MWI_CONFIG_INVALID',
        `${cron === undefined ? 'schedule.cron' : '--cron'}: "${pattern}" is not a cron expression BullMQ accepts ` +
          `(${describeError(error)}); use five fields (minute hour day month weekday), e.g. "15 * * * *", ` +
          'or six with seconds first',
        { cause: error },
      );
    }
    await connection.del(scheduleRemovedKey(job.name));
    const schedule = await readSchedule(runs, job.name);
    if (schedule === undefined) {
      throw new MwiError(
        'MWI_CONFIG_INVALID',
        `the schedule of job ${job.name} was registered but cannot be read back from Redis`,
      );
    }
    return { schedule, previous };
  } finally {
    await runs.close();
  }
}

/** Removes the job's schedule; false when there was none. A run in progress goes on. */
export async function removeSchedule(connection: Redis, jobName: string): Promise<boolean> {
  const runs = new Queue(runsQueueName(jobName), { connection });
  try {
    await connection.set(scheduleRemovedKey(jobName), new Date().toISOString());
    return await runs.removeJobScheduler(schedulerIdOf(jobName));
  } finally {
    await runs.close();
  }
}

export async function getSchedule(connection: Redis, jobName: string): Promise<ScheduleInfo | undefined> {
  const runs = new Queue(runsQueueName(jobName), { connection });
  try {
    return await readSchedule(runs, jobName);
  } finally {
    await runs.close();
  }
}

/**
 * Every job's schedule in this Redis. Jobs are found by their runs queues' scheduler keys
 * (`bull:mwingest-<job>-runs:repeat`, BullMQ's layout for job schedulers).
 */
export async function listSchedules(connection: Redis): Promise<ScheduleInfo[]> {
  const names = new Set<string>();
  let cursor = '0';
  do {
    const [next, keys] = await connection.scan(cursor, 'MATCH', 'bull:mwingest-*-runs:repeat', 'COUNT', 500);
    cursor = next;
    for (const key of keys) {
      const match = /^bull:mwingest-(.+)-runs:repeat$/.exec(key);
      if (match !== null) names.add(match[1]!);
    }
  } while (cursor !== '0');
  const schedules: ScheduleInfo[] = [];
  for (const name of [...names].sort()) {
    const schedule = await getSchedule(connection, name);
    if (schedule !== undefined) schedules.push(schedule);
  }
  return schedules;
}

/**
 * Fires one tick now (`mwingest schedule --trigger`): the workers start a run unless one is in
 * progress, exactly as for a scheduled tick. Returns the tick's job id.
 */
export async function triggerRun(connection: Redis, job: JobConfig): Promise<string> {
  const runs = new Queue<TickData>(runsQueueName(job.name), { connection });
  try {
    const stamp = new Date()
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d+Z$/, 'Z');
    const jobId = `manual-${stamp}-${randomBytes(3).toString('hex')}`;
    await runs.add(
      'tick',
      { job: job.name, trigger: 'manual' },
      { ...jobOptionsOf(job.leases.ttlSeconds).tick, jobId },
    );
    return jobId;
  } finally {
    await runs.close();
  }
}

async function readSchedule(runs: Queue, jobName: string): Promise<ScheduleInfo | undefined> {
  const scheduler = await runs.getJobScheduler(schedulerIdOf(jobName));
  if (scheduler === undefined || scheduler === null) return undefined;
  return {
    job: jobName,
    schedulerId: schedulerIdOf(jobName),
    pattern: scheduler.pattern ?? null,
    tz: scheduler.tz ?? null,
    next: scheduler.next === undefined ? null : new Date(scheduler.next).toISOString(),
  };
}
