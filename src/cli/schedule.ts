import { hostname, userInfo } from 'node:os';
import { Command } from 'commander';
import { MwiError } from '../errors.js';
import { StatePaths } from '../ingest/state-store.js';
import { type LoadedJob, loadJob } from '../job/config.js';
import { openJobFileSystem, REDIS_URL_DEFAULT_HELP, redisClient } from '../job/context.js';
import {
  getSchedule,
  listSchedules,
  registerSchedule,
  removeSchedule,
  type ScheduleInfo,
  triggerRun,
} from '../scheduler/schedule.js';
import { type ScheduleRecord, writeScheduleRecord } from '../scheduler/schedule-keeper.js';

/** `mwingest schedule`: register, show, remove or fire the hourly schedule of a job. */
export function scheduleCommand(): Command {
  return new Command('schedule')
    .summary(
      'register the schedule of a job in Redis (default "15 * * * *" UTC); --list, --remove, --trigger',
    )
    .description(
      "Registers the job's repeatable schedule (a BullMQ job scheduler, cron in UTC) in Redis. `mwingest worker` " +
        'processes its ticks: each tick starts a run unless one of the same job is still going, in which case it ' +
        'is skipped and recorded. Registering again updates the schedule; it never adds a second one. The decision (registered with ' +
        "which cron, or removed) is also recorded in the job's state directory: workers register the schedule " +
        'again when Redis loses it, and never one that was removed.',
    )
    .option('-j, --job <file>', 'job definition, e.g. jobs/demo.json')
    .option('--cron <expr>', 'cron expression in UTC (default: the job\'s schedule.cron, "15 * * * *")')
    .option('--list', 'show the registered schedules (of --job, or of every job in this Redis)')
    .option('--remove', "remove the job's schedule (a run in progress goes on)")
    .option('--trigger', 'fire one tick now: the workers start a run unless one is in progress')
    .option('--redis <url>', `Redis of the queues (${REDIS_URL_DEFAULT_HELP})`)
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      `
Examples:
  mwingest schedule --job jobs/demo.json                      # register (or update) from schedule.cron
  mwingest schedule --job jobs/demo.json --cron '*/10 * * * *'
  mwingest schedule --list
  mwingest schedule --job jobs/demo.json --trigger             # run now, on the workers
  mwingest schedule --job jobs/demo.json --remove`,
    )
    .action(async (options: ScheduleCli) => {
      process.exitCode = await scheduleAction(options);
    });
}

interface ScheduleCli {
  job?: string;
  cron?: string;
  list?: boolean;
  remove?: boolean;
  trigger?: boolean;
  redis?: string;
  json?: boolean;
}

async function scheduleAction(options: ScheduleCli): Promise<number> {
  const actions = [options.list, options.remove, options.trigger].filter(Boolean).length;
  if (actions > 1) throw new MwiError('MWI_USAGE', 'choose one of --list, --remove and --trigger');
  if (options.job === undefined && !options.list)
    throw new MwiError('MWI_USAGE', '--job <file> is required (except with --list)');
  if (options.cron !== undefined && actions > 0)
    throw new MwiError('MWI_USAGE', '--cron goes with registering only, not with --list/--remove/--trigger');
  const connection = redisClient(options.redis, { maxRetriesPerRequest: 3 });
  const print = (value: unknown, text: string) =>
    process.stdout.write(`${options.json ? JSON.stringify(value, null, 2) : text}\n`);
  try {
    if (options.list) {
      const schedules =
        options.job === undefined
          ? await listSchedules(connection)
          : [await getSchedule(connection, (await loadJob(options.job)).config.name)].filter(
              (s): s is ScheduleInfo => s !== undefined,
            );
      print(
        schedules,
        schedules.length === 0 ? 'no schedule registered' : schedules.map(describe).join('\n'),
      );
      return 0;
    }
    const loaded = await loadJob(options.job!);
    const { config } = loaded;
    if (options.remove) {
      // Recorded first: a worker that finds the schedule missing meanwhile must not register it again.
      await recordDecision(loaded, { state: 'removed' });
      const removed = await removeSchedule(connection, config.name);
      print(
        { job: config.name, removed },
        removed ? `removed the schedule of job ${config.name}` : `job ${config.name} had no schedule`,
      );
      return 0;
    }
    if (options.trigger) {
      const tick = await triggerRun(connection, config);
      print(
        { job: config.name, tick },
        `tick ${tick} queued: a worker starts a run of ${config.name} unless one is in progress`,
      );
      return 0;
    }
    const { schedule, previous } = await registerSchedule(connection, config, options.cron);
    await recordDecision(loaded, {
      state: 'registered',
      ...(schedule.pattern === null ? {} : { pattern: schedule.pattern }),
    });
    const change =
      previous === undefined
        ? 'registered'
        : previous.pattern === schedule.pattern
          ? 'already registered (unchanged)'
          : `updated (was "${previous.pattern}")`;
    print({ ...schedule, change }, `${describe(schedule)} — ${change}`);
    return 0;
  } finally {
    connection.disconnect();
  }
}

/** Records the operator's decision in the state directory, where workers find it after Redis lost the schedule. */
async function recordDecision(
  loaded: LoadedJob,
  decision: Pick<ScheduleRecord, 'state' | 'pattern'>,
): Promise<void> {
  const fs = await openJobFileSystem(loaded);
  try {
    await writeScheduleRecord(fs, new StatePaths(loaded.config.output.stateDir, loaded.config.name), {
      ...decision,
      at: new Date().toISOString(),
      by: `mwingest schedule (${userInfo().username}@${hostname()})`,
    });
  } finally {
    await fs.close();
  }
}

function describe(schedule: ScheduleInfo): string {
  return `${schedule.job}: "${schedule.pattern}" (${schedule.tz ?? 'UTC'}), next tick ${schedule.next ?? 'unknown'}`;
}
