import { Command, Option } from 'commander';
import { Registry } from 'prom-client';
import { isMwiError } from '../errors.js';
import type { RunPlan } from '../ingest/run.js';
import { formatRunReport } from '../ingest/run-report.js';
import { startPositionOf } from '../ingest/start-position.js';
import { loadJob } from '../job/config.js';
import { REDIS_URL_DEFAULT_HELP } from '../job/context.js';
import { createLogger } from '../log.js';
import { createIngestMetrics } from '../ops/metrics.js';
import { exportRunMetrics } from '../ops/metrics-textfile.js';
import { runJob } from '../scheduler/local-run.js';
import { positiveInt } from './arguments.js';
import { ingestProgress } from './progress.js';

/** Exit codes of `mwingest run`. */
export const RunExit = { ok: 0, failed: 1, usage: 2, skipped: 75 } as const;

export function runCommand(): Command {
  return new Command('run')
    .summary('run one ingest of a job now: Kafka → hourly files, then completeness and Hive jobs')
    .description(
      'Reads every matching topic-partition from its committed offset up to the high watermark taken at the\n' +
        "start, writes one Avro file per topic, partition and hour into the run's temp dir, commits them\n" +
        '(manifest, renames, offsets), writes _IMPORTED for hours every partition has moved past and queues\n' +
        'their Hive partition-add jobs. Bad messages go to error files with their reason and raw bytes.',
    )
    .requiredOption('-j, --job <file>', 'job definition, e.g. jobs/demo.json')
    .option('--topics <regex>', "only topics matching this regex (within the job's include/exclude)")
    .option(
      '--dry-run',
      'show what would be read and the offset each partition would start from; write nothing',
    )
    .option(
      '--start-position <position>',
      "where partitions never committed start, instead of the job's startPosition: earliest | latest | after-imported | an ISO-8601 time",
    )
    .option('--json', 'print the run report as JSON on stdout')
    .addOption(
      new Option('--concurrency <n>', 'partitions processed at the same time')
        .default('4')
        .argParser(positiveInt),
    )
    .option('--redis <url>', `Redis for leases and the Hive job queue (${REDIS_URL_DEFAULT_HELP})`)
    .option('--no-progress', 'no progress bar, even on a terminal')
    .option(
      '--metrics-textfile <path>',
      "after the run, write its metrics and the job gauges for node_exporter's textfile collector (a *.prom file, replaced atomically)",
    )
    .addHelpText(
      'after',
      `
Exit codes:
  0   the run succeeded (every partition committed or already up to date)
  1   the run failed: a partition failed (error ratio, expired offsets, I/O) — see the report
  2   usage or job definition error
  75  skipped: another run of the same job is in progress

Examples:
  mwingest run --job jobs/demo.json
  mwingest run --job jobs/analytics.json --topics '^mediawiki_CirrusSearchRequestSet$' --json > report.json
  mwingest run --job jobs/analytics.json --dry-run
  mwingest run --job jobs/analytics.json --start-position after-imported --dry-run
  mwingest run --job jobs/analytics.json --metrics-textfile /var/lib/prometheus/node-exporter/mwingest-analytics.prom

The report is also saved beside the state: <output.stateDir>/<job>/reports/<runId>.json and latest.json.
The run is recorded as the job's last run, like a scheduled one: mwingest status and mwingest web show it.`,
    )
    .action(async (options: RunCliOptions) => {
      process.exitCode = await runAction(options);
    });
}

interface RunCliOptions {
  job: string;
  topics?: string;
  dryRun?: boolean;
  json?: boolean;
  concurrency: number;
  redis?: string;
  progress: boolean;
  metricsTextfile?: string;
  startPosition?: string;
}

async function runAction(options: RunCliOptions): Promise<number> {
  const loaded = await loadJob(options.job);
  const log = createLogger('mwingest-run', process.env.MWINGEST_LOG_LEVEL ?? 'warn');
  const showProgress = options.progress && process.stderr.isTTY === true && !options.json;
  const progress = ingestProgress(showProgress);
  const metrics =
    options.metricsTextfile === undefined
      ? undefined
      : createIngestMetrics(new Registry(), { processMetrics: false });
  try {
    const report = await runJob(loaded, {
      log,
      concurrency: options.concurrency,
      ...(options.topics === undefined ? {} : { topics: options.topics }),
      ...(options.dryRun ? { dryRun: true } : {}),
      ...(options.redis === undefined ? {} : { redisUrl: options.redis }),
      ...(metrics === undefined ? {} : { metrics }),
      ...(options.startPosition === undefined
        ? {}
        : { startPosition: startPositionOf(options.startPosition) }),
      onPlanned: (plan: RunPlan) => {
        if (options.dryRun) printPlan(plan);
        progress.onPlanned(plan);
      },
      onProgress: progress.onProgress,
    });
    progress.stop();
    if (options.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    else if (!options.dryRun) process.stdout.write(`${formatRunReport(report)}\n`);
    return report.status === 'succeeded' ? RunExit.ok : RunExit.failed;
  } catch (error) {
    progress.stop();
    if (isMwiError(error, 'MWI_RUN_IN_PROGRESS')) {
      process.stderr.write(`mwingest run: ${error.message}\n`);
      return RunExit.skipped;
    }
    throw error;
  } finally {
    if (metrics !== undefined && options.metricsTextfile !== undefined && !options.dryRun) {
      await exportRunMetrics({
        loaded,
        metrics,
        path: options.metricsTextfile,
        log,
        ...(options.redis === undefined ? {} : { redisUrl: options.redis }),
      });
      metrics.close();
    }
  }
}

function printPlan(plan: RunPlan): void {
  const lines = [
    `dry run ${plan.runId}: ${plan.topics.length} topic(s), at most ${plan.backlog} messages in the logs`,
  ];
  for (const topic of plan.topics) {
    lines.push(
      `  ${topic.topic} (${topic.schemaName})${topic.problem ? ` — cannot ingest: ${topic.problem}` : ''}`,
    );
    for (const p of topic.partitions) {
      const start = topic.starts?.find((s) => s.partition === p.partition);
      lines.push(
        `    partition ${p.partition}: log ${p.earliest}–${p.latest}` +
          (start === undefined ? '' : `, starts at ${start.offset} (${start.from})`),
      );
    }
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}
