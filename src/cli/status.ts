import { Queue } from 'bullmq';
import { Command } from 'commander';
import { type HivePartitionAddJob, hiveQueueName } from '../hive/queue.js';
import { openRunResources } from '../ingest/run.js';
import { loadJob } from '../job/config.js';
import { REDIS_URL_DEFAULT_HELP } from '../job/context.js';
import { createLogger } from '../log.js';
import { collectJobStatus, formatJobStatus } from '../ops/status.js';
import { runsQueueName } from '../scheduler/run-flow-state.js';

/** `mwingest status`: where a job stands. */
export function statusCommand(): Command {
  return new Command('status')
    .summary(
      'where a job stands: committed offsets, lag, last run, last complete hour, pending partition jobs',
    )
    .requiredOption('-j, --job <file>', 'job definition, e.g. jobs/demo.json')
    .option('--json', 'print the status as JSON')
    .option('--redis <url>', `Redis of the queues (${REDIS_URL_DEFAULT_HELP})`)
    .addHelpText(
      'after',
      `
Reads the shared state only (the state dir beside the data, Kafka offsets, Redis), so it gives the same
answer on any host. Exit codes: 0 the last run succeeded (or none ran yet), 1 the last run failed or a
Hive partition add failed for good, 2 usage or job definition error.`,
    )
    .action(async (options: { job: string; json?: boolean; redis?: string }) => {
      const loaded = await loadJob(options.job);
      const log = createLogger('mwingest-status', process.env.MWINGEST_LOG_LEVEL ?? 'warn');
      const resources = await openRunResources(loaded, log, options.redis);
      const runs = new Queue(runsQueueName(loaded.config.name), { connection: resources.redis });
      const hive = new Queue<HivePartitionAddJob>(hiveQueueName(loaded.config.name), {
        connection: resources.redis,
      });
      try {
        const status = await collectJobStatus({ ...resources, runs, hive });
        process.stdout.write(`${options.json ? JSON.stringify(status, null, 2) : formatJobStatus(status)}\n`);
        const failed =
          status.lastRuns.lastStatus === 'failed' || (status.partitionJobs?.counts.failed ?? 0) > 0;
        process.exitCode = failed ? 1 : 0;
      } finally {
        await runs.close();
        await hive.close();
        await resources.close();
      }
    });
}
