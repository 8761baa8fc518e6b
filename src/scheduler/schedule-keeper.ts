import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { z } from 'zod';
import { describeError, isMwiError, MwiError } from '../errors.js';
import type { FileSystem } from '../hdfs/filesystem.js';
import type { StatePaths } from '../ingest/state-store.js';
import type { JobConfig } from '../job/config.js';
import {
  getSchedule,
  registerSchedule,
  removeSchedule,
  type ScheduleInfo,
  scheduleRemovedKey,
} from './schedule.js';
import type { WorkerMetrics } from './worker-metrics.js';

/**
 * The schedule outlives Redis. Redis holds the job's schedule (a BullMQ job scheduler) and loses it
 * with everything else when it restarts empty, fails over or is flushed. So what the operator decided
 * is also recorded in the job's state directory, `<state>/<job>/schedule.json`:
 *
 *   - `mwingest schedule --job …` records `{ state: "registered", pattern }` after registering;
 *   - `mwingest schedule --job … --remove` records `{ state: "removed" }` before removing;
 *   - a worker that finds a schedule registered and no record (or a record of another pattern)
 *     records what is registered, so a schedule registered by other means is kept too.
 *
 * Every `mwingest worker` checks at start and then every `intervalMs`: a schedule that the record says
 * is registered but Redis does not have is registered again with the recorded pattern (the job file's
 * `schedule.cron` unless the operator chose another with `--cron`), logged and counted in
 * `mwingest_schedule_restored_total`. A registered schedule is never changed, and a removed one
 * (recorded as removed, or removed by `removeSchedule` since Redis last lost its data) never comes
 * back: both stay the operator's to change. A job whose schedule was never registered is left alone.
 */
const recordSchema = z.object({
  state: z.enum(['registered', 'removed']),
  pattern: z.string().min(1).optional(),
  at: z.string(),
  by: z.string(),
});
export type ScheduleRecord = z.infer<typeof recordSchema>;

export function scheduleRecordPath(paths: StatePaths): string {
  return `${paths.base}/schedule.json`;
}

/** The operator's last decision, or undefined when none was recorded. */
export async function readScheduleRecord(
  fs: FileSystem,
  paths: StatePaths,
): Promise<ScheduleRecord | undefined> {
  const path = scheduleRecordPath(paths);
  let text: string;
  try {
    text = (await fs.readFile(path)).toString('utf8');
  } catch (error) {
    if (isMwiError(error, 'MWI_FS_NOT_FOUND')) return undefined;
    throw error;
  }
  const damaged = (why: string) =>
    new MwiError(
      'MWI_CONFIG_INVALID',
      `${path} is not a schedule record (${why}); register the schedule again with ` +
        '`mwingest schedule --job …` (or remove it with --remove), which rewrites it',
      { details: { path } },
    );
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw damaged(describeError(error));
  }
  const parsed = recordSchema.safeParse(json);
  if (!parsed.success) {
    throw damaged(
      parsed.error.issues
        .map((issue) => `${issue.path.join('.') || '(top level)'}: ${issue.message}`)
        .join('; '),
    );
  }
  return parsed.data;
}

export async function writeScheduleRecord(
  fs: FileSystem,
  paths: StatePaths,
  record: ScheduleRecord,
): Promise<void> {
  await fs.mkdirs(paths.base);
  await fs.writeFile(scheduleRecordPath(paths), `${JSON.stringify(record, null, 2)}\n`, { overwrite: true });
}

export type ScheduleDecision =
  | { action: 'none' }
  /** Redis lost it: register it again with this pattern. */
  | { action: 'restore'; pattern: string }
  /** The record does not say what is registered: record it. */
  | { action: 'record'; pattern: string }
  /** Missing because the operator removed it. */
  | { action: 'stay-removed'; at: string };

/** What a worker does about the schedule, from what Redis has and what the state directory recorded. */
export function decideSchedule(input: {
  registered: Pick<ScheduleInfo, 'pattern'> | undefined;
  record: ScheduleRecord | undefined;
  /** When `removeSchedule` removed it, if Redis still says so. */
  removedAt: string | undefined;
  jobCron: string;
}): ScheduleDecision {
  const { registered, record, removedAt, jobCron } = input;
  if (registered !== undefined) {
    const pattern = registered.pattern ?? jobCron;
    // A "removed" record with a schedule in Redis: a removal in progress (the record is written
    // first), or a registration by other means; either way not this worker's to decide.
    if (record === undefined || (record.state === 'registered' && record.pattern !== pattern))
      return { action: 'record', pattern };
    return { action: 'none' };
  }
  if (removedAt !== undefined) return { action: 'stay-removed', at: removedAt };
  if (record === undefined) return { action: 'none' };
  if (record.state === 'removed') return { action: 'stay-removed', at: record.at };
  return { action: 'restore', pattern: record.pattern ?? jobCron };
}

export interface ScheduleKeeper {
  /** Resolves after the check made at start. */
  readonly firstCheck: Promise<void>;
  stop(): Promise<void>;
}

/** Checks the job's schedule at start and every `intervalMs` (see the module comment). */
export function startScheduleKeeper(options: {
  redis: Redis;
  job: JobConfig;
  fs: FileSystem;
  paths: StatePaths;
  log: Logger;
  owner: string;
  metrics?: WorkerMetrics;
  intervalMs: number;
}): ScheduleKeeper {
  const { redis, job, fs, paths, log } = options;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let reportedRemoval: string | undefined;

  const check = async () => {
    const registered = await getSchedule(redis, job.name);
    const removedAt = (await redis.get(scheduleRemovedKey(job.name))) ?? undefined;
    const record = await readScheduleRecord(fs, paths);
    const decision = decideSchedule({ registered, record, removedAt, jobCron: job.schedule.cron });
    const now = () => new Date().toISOString();
    switch (decision.action) {
      case 'none':
        return;
      case 'record':
        await writeScheduleRecord(fs, paths, {
          state: 'registered',
          pattern: decision.pattern,
          at: now(),
          by: options.owner,
        });
        log.info(
          { pattern: decision.pattern, record: scheduleRecordPath(paths) },
          'schedule recorded in the state directory',
        );
        return;
      case 'stay-removed':
        if (reportedRemoval !== decision.at)
          log.info(
            { removedAt: decision.at },
            'no schedule registered: the operator removed it (mwingest schedule --remove); not registered again',
          );
        reportedRemoval = decision.at;
        return;
      case 'restore': {
        const { schedule } = await registerSchedule(redis, job, decision.pattern);
        // `mwingest schedule --remove` between the reads above and the registration: its removal wins.
        if ((await readScheduleRecord(fs, paths))?.state === 'removed') {
          await removeSchedule(redis, job.name);
          return;
        }
        options.metrics?.scheduleRestored(job.name);
        log.warn(
          { pattern: schedule.pattern, next: schedule.next },
          'schedule missing from Redis (Redis lost it?): registered again as recorded in the state directory',
        );
        return;
      }
    }
  };
  const guarded = async () => {
    try {
      await check();
    } catch (error) {
      log.error({ error: describeError(error) }, 'schedule check failed; the next check tries again');
    }
  };
  const next = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      running = guarded().then(next);
    }, options.intervalMs);
    timer.unref();
  };
  let running = guarded();
  const firstCheck = running;
  void running.then(next);
  return {
    firstCheck,
    async stop() {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      await running;
    },
  };
}
