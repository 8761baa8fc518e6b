import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { describeHourTree, listPartitionJobs, runDemo } from '../demo/demo.js';
import { formatRunReport } from '../ingest/run-report.js';
import { loadJob } from '../job/config.js';
import { openJobFileSystem, REDIS_URL_DEFAULT_HELP, redisClient } from '../job/context.js';
import { createLogger } from '../log.js';
import { positiveInt } from './arguments.js';
import { ingestProgress } from './progress.js';

const projectRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export function demoCommand(): Command {
  return new Command('demo')
    .summary('produce realistic MediaWiki traffic to the local Kafka and ingest it into a local directory')
    .description(
      'Runs the whole hourly ingest once on the embedded default (a local directory standing for HDFS), with\n' +
        'the real Kafka and Redis that `scripts/stack up` starts: produces messages of every revision of the\n' +
        "project's EditAttempt and SearchSatisfaction schemas over the last hours, about 1% malformed on purpose,\n" +
        'runs `mwingest run --job jobs/demo.json`, then shows the hour directories, the run report and the\n' +
        'queued Hive partition-add jobs. Starts clean each time unless --keep is given.\n\n' +
        'With --job, the same for any job on the local stack: the topics are the registry schemas the job\n' +
        'ingests. `--job jobs/analytics.local.json` runs the production job (jobs/analytics.json) with its\n' +
        "real ApiAction and CirrusSearchRequestSet schemas against the stack's HDFS; `scripts/demo --analytics`\n" +
        'does that, then adds the Hive partitions and queries them.',
    )
    .option('-j, --job <file>', 'the demo job definition', join(projectRoot, 'jobs', 'demo.json'))
    .option('--messages <n>', 'messages per topic', positiveInt, 3000)
    .option('--hours <n>', 'hours of traffic, ending now', positiveInt, 6)
    .option('--keep', 'keep the earlier demo data and offsets: produce more and ingest only the new messages')
    .option('--redis <url>', `Redis (${REDIS_URL_DEFAULT_HELP})`)
    .addHelpText(
      'after',
      `
Start the stack first (the README's quick start does both):
  scripts/stack up && mwingest demo

Afterwards, look at what it wrote:
  find .demo/hdfs/wmf/data/raw/mediawiki -name '*.avro' | head -1 | xargs java -jar ~/.cache/mwingest-stack/tools/avro-tools.jar tojson | head
  cat .demo/hdfs/wmf/camus/mwingest/demo/errors/*/*/*.errors.jsonl | head -3`,
    )
    .action(
      async (options: { job: string; messages: number; hours: number; keep?: boolean; redis?: string }) => {
        const loaded = await loadJob(options.job);
        const log = createLogger('mwingest-demo', process.env.MWINGEST_LOG_LEVEL ?? 'warn');
        const out = (line: string) => process.stdout.write(`${line}\n`);
        const progress = ingestProgress(process.stderr.isTTY === true);
        const result = await runDemo({
          loaded,
          messagesPerTopic: options.messages,
          hours: options.hours,
          ...(options.keep ? { keep: true } : {}),
          ...(options.redis === undefined ? {} : { redisUrl: options.redis }),
          log,
          out,
          onPlanned: progress.onPlanned,
          onProgress: progress.onProgress,
        });
        progress.stop();

        const { config } = loaded;
        const fs = await openJobFileSystem(loaded);
        const topics = result.report.topics.map((t) => t.topic);
        out('');
        out(`== hour directories (${fs.description})`);
        for (const line of await describeHourTree(fs, loaded, topics)) out(line);
        await fs.close();
        out('');
        out('== run report');
        out(formatRunReport(result.report));
        const redis = redisClient(options.redis);
        try {
          const jobs = await listPartitionJobs(redis, config.name);
          out('');
          out(
            `== Hive partition-add jobs queued (${jobs.length}; run them with: mwingest hive worker --job ${options.job})`,
          );
          for (const job of jobs) out(`  [${job.state}] ${job.data.statement}`);
        } finally {
          redis.disconnect();
        }
        process.exitCode = result.report.status === 'succeeded' ? 0 : 1;
      },
    );
}
