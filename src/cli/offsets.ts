import { Queue } from 'bullmq';
import { Command, InvalidArgumentError } from 'commander';
import { isMwiError, MwiError } from '../errors.js';
import { type OffsetAuditRecord, resetPartitionOffset } from '../ingest/offset-reset.js';
import { openRunResources, type RunResources } from '../ingest/run.js';
import { loadJob } from '../job/config.js';
import { REDIS_URL_DEFAULT_HELP } from '../job/context.js';
import { type OffsetTarget, parseOffsetTarget } from '../kafka/offset-target.js';
import { createLogger } from '../log.js';
import { collectOffsets, formatOffsets } from '../ops/offsets-view.js';
import { runInProgress, runsQueueName } from '../scheduler/run-flow-state.js';
import { nonNegativeInt } from './arguments.js';

/** Exit codes of `mwingest offsets`. */
export const OffsetsExit = { ok: 0, failed: 1, usage: 2, problem: 3, runInProgress: 75 } as const;

/** `mwingest offsets show | set | reset`: a job's resume points per partition, and moving them by hand. */
export function offsetsCommand(): Command {
  const offsets = new Command('offsets').summary(
    "show a job's committed offsets per partition, or move one by hand (audited)",
  );
  offsets.addCommand(showCommand());
  offsets.addCommand(setCommand());
  offsets.addCommand(resetCommand());
  return offsets;
}

interface CommonCli {
  job: string;
  json?: boolean;
  redis?: string;
}

interface ChangeCli extends CommonCli {
  topic: string;
  partition: number;
  reason?: string;
  dryRun?: boolean;
}

function showCommand(): Command {
  return new Command('show')
    .summary('committed offset, log start and end, lag per partition')
    .requiredOption('-j, --job <file>', 'job definition, e.g. jobs/demo.json')
    .option('--topic <topic>', 'only this topic')
    .option('--partition <n>', 'only this partition', nonNegativeInt)
    .option('--json', 'print JSON')
    .option('--redis <url>', `Redis (${REDIS_URL_DEFAULT_HELP})`)
    .addHelpText(
      'after',
      `
The committed offset is the end of the newest offsets document in the state dir (where the next run
starts), never Kafka's consumer-group offset (monitoring only).

Exit codes:
  0  every resume point lies within its log
  1  the state or Kafka could not be read
  2  usage or job definition error
  3  a resume point is beyond the log end or before the log start (see the "!" lines)

Examples:
  mwingest offsets show --job jobs/demo.json
  mwingest offsets show --job jobs/analytics.json --topic mediawiki_ApiAction --json`,
    )
    .action(async (options: CommonCli & { topic?: string; partition?: number }) => {
      process.exitCode = await withResources(options, async (resources) => {
        const views = await collectOffsets(resources, {
          ...(options.topic === undefined ? {} : { topic: options.topic }),
          ...(options.partition === undefined ? {} : { partition: options.partition }),
        });
        process.stdout.write(`${options.json ? JSON.stringify(views, null, 2) : formatOffsets(views)}\n`);
        return views.some((v) => v.problem !== null) ? OffsetsExit.problem : OffsetsExit.ok;
      });
    });
}

const changeOptions = (command: Command) =>
  command
    .requiredOption('-j, --job <file>', 'job definition, e.g. jobs/demo.json')
    .requiredOption('--topic <topic>', 'the topic')
    .requiredOption('--partition <n>', 'the partition', nonNegativeInt)
    .option('--reason <text>', 'why, for the audit record')
    .option('--dry-run', 'say what would change, change nothing')
    .option('--json', 'print the audit record as JSON')
    .option('--redis <url>', `Redis of the leases (${REDIS_URL_DEFAULT_HELP})`);

const CHANGE_HELP = `
The partition's next run starts at the new offset. Commits beyond it are moved aside under
<stateDir>/<job>/partitions/<topic>/<p>/superseded/<audit id>/ (their hour files stay in the output:
re-reading a range that was written writes its records again). Every change is recorded in
<stateDir>/<job>/audit/<audit id>.json (who, when, from, to, why). Refused while a run of the job is
going (its lease, or a scheduled run on the workers).

Exit codes:
  0   changed (or, with --dry-run, would change)
  1   the state or Kafka could not be read or written
  2   usage or job definition error, or an offset outside the log
  75  refused: a run of the job is in progress; try again when it has finished`;

function setCommand(): Command {
  return changeOptions(
    new Command('set')
      .summary("set a partition's committed offset to an exact offset (audited)")
      .requiredOption('--offset <n>', 'the offset the next run starts at (within the log)', nonNegativeInt),
  )
    .addHelpText(
      'after',
      `${CHANGE_HELP}

Examples:
  mwingest offsets set --job jobs/demo.json --topic mediawiki_EditAttempt --partition 0 --offset 1200 --dry-run
  mwingest offsets set --job jobs/demo.json --topic mediawiki_EditAttempt --partition 0 --offset 1200 --reason "skip a poisoned batch"`,
    )
    .action(async (options: ChangeCli & { offset: number }) => {
      const target: OffsetTarget = { kind: 'offset', offset: BigInt(options.offset) };
      process.exitCode = await change(options, target, `offsets set --offset ${options.offset}`);
    });
}

function resetCommand(): Command {
  return changeOptions(
    new Command('reset')
      .summary("move a partition's committed offset to earliest, latest, a time or an offset (audited)")
      .requiredOption(
        '--to <position>',
        'earliest | latest | an ISO-8601 time (UTC unless a zone is given; Kafka offsets-for-times) | an offset',
        (value: string) => {
          const target = parseOffsetTarget(value);
          if (target === undefined)
            throw new InvalidArgumentError(
              `expected earliest, latest, an ISO-8601 time such as 2026-12-07T14:00Z, or an offset; got "${value}"`,
            );
          return value;
        },
      ),
  )
    .addHelpText(
      'after',
      `${CHANGE_HELP}

A time moves the resume point to the first offset whose Kafka timestamp is at or after it (the log
end when every record is older).

Examples:
  mwingest offsets reset --job jobs/demo.json --topic mediawiki_EditAttempt --partition 0 --to latest --dry-run
  mwingest offsets reset --job jobs/demo.json --topic mediawiki_EditAttempt --partition 0 --to earliest --reason "topic recreated"
  mwingest offsets reset --job jobs/demo.json --topic mediawiki_EditAttempt --partition 1 --to 2026-12-07T14:00Z --json`,
    )
    .action(async (options: ChangeCli & { to: string }) => {
      const target = parseOffsetTarget(options.to)!;
      process.exitCode = await change(options, target, `offsets reset --to ${options.to}`);
    });
}

async function change(options: ChangeCli, target: OffsetTarget, what: string): Promise<number> {
  return withResources(options, async (resources) => {
    const scheduled = await scheduledRun(resources);
    if (scheduled !== undefined && !options.dryRun) {
      throw new MwiError(
        'MWI_RUN_IN_PROGRESS',
        `a scheduled run of job ${resources.loaded.config.name} is in progress on the workers (run ${scheduled}); ` +
          'offsets are not changed while it runs. Wait for it to finish (mwingest status --job …), then try again.',
      );
    }
    const record = await resetPartitionOffset(resources, {
      topic: options.topic,
      partition: options.partition,
      target,
      command: `mwingest ${what} --topic ${options.topic} --partition ${options.partition}`,
      ...(options.reason === undefined ? {} : { reason: options.reason }),
      ...(options.dryRun ? { dryRun: true } : {}),
    });
    process.stdout.write(`${options.json ? JSON.stringify(record, null, 2) : formatChange(record)}\n`);
    return OffsetsExit.ok;
  });
}

function formatChange(record: OffsetAuditRecord): string {
  const skipped = BigInt(record.skipped);
  const effect =
    skipped > 0n
      ? `the next run skips ${skipped} message(s)`
      : skipped < 0n
        ? `the next run reads ${-skipped} message(s) again`
        : 'the next run starts where it would have';
  const lines = [
    `${record.dryRun ? 'would move' : 'moved'} ${record.topic}/${record.partition} from ${record.from ?? '— (never committed)'} to ${record.to} (${record.target}; log ${record.log.earliest}–${record.log.latest}): ${effect}`,
  ];
  if (record.superseded.length > 0)
    lines.push(`  ${record.dryRun ? 'would move aside' : 'moved aside'}: ${record.superseded.join(', ')}`);
  if (!record.dryRun) lines.push(`  audit record ${record.id}`);
  return lines.join('\n');
}

async function scheduledRun(resources: RunResources): Promise<string | undefined> {
  const runs = new Queue(runsQueueName(resources.loaded.config.name), { connection: resources.redis });
  try {
    return (await runInProgress(resources.redis, runs, resources.loaded.config.name))?.runId;
  } finally {
    await runs.close();
  }
}

async function withResources(
  options: CommonCli,
  work: (resources: RunResources) => Promise<number>,
): Promise<number> {
  const loaded = await loadJob(options.job);
  const log = createLogger('mwingest-offsets', process.env.MWINGEST_LOG_LEVEL ?? 'warn');
  const resources = await openRunResources(loaded, log, options.redis);
  try {
    return await work(resources);
  } catch (error) {
    if (isMwiError(error, 'MWI_RUN_IN_PROGRESS')) {
      process.stderr.write(`mwingest offsets: ${error.message}\n`);
      return OffsetsExit.runInProgress;
    }
    throw error;
  } finally {
    await resources.close();
  }
}
