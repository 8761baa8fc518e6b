import { once } from 'node:events';
import type { Server } from 'node:http';
import { Command } from 'commander';
import { loadJob } from '../job/config.js';
import { REDIS_URL_DEFAULT_HELP } from '../job/context.js';
import { createLogger } from '../log.js';
import { startJobGauges } from '../ops/gauges.js';
import { createIngestMetrics, serveMetrics } from '../ops/metrics.js';
import { startIngestWorker } from '../scheduler/worker.js';
import { nonNegativeNumber, port, positiveInt, positiveNumber } from './arguments.js';

/** `mwingest worker`: process a job's scheduled runs and partition tasks until SIGTERM. */
export function workerCommand(): Command {
  return new Command('worker')
    .summary('process the scheduled runs and partition tasks of a job (any number of workers, any hosts)')
    .description(
      "Takes work from the job's BullMQ queues in Redis: schedule ticks (start a run: one task per " +
        "topic-partition), partition tasks (read, write, commit under the partition's lease) and run endings " +
        '(completeness, Hive partition jobs, the report). Start as many as the work needs, on any hosts. ' +
        'Logs are JSON lines on stderr.',
    )
    .requiredOption('-j, --job <file>', 'job definition, e.g. jobs/demo.json')
    .option('--concurrency <n>', 'partition tasks at the same time in this process', positiveInt, 1)
    .option('--metrics-port <port>', 'serve Prometheus metrics on http://<metrics-host>:<port>/metrics', port)
    .option('--metrics-host <host>', 'address the metrics server listens on', '127.0.0.1')
    .option(
      '--status-interval <seconds>',
      'how often lag and the other job gauges are refreshed',
      positiveNumber,
      30,
    )
    .option(
      '--shutdown-grace <seconds>',
      'on SIGTERM, how long running tasks may finish before they are abandoned',
      nonNegativeNumber,
      10,
    )
    .option(
      '--schedule-check <seconds>',
      "how often the job's schedule is checked, and registered again when Redis lost it",
      positiveNumber,
      60,
    )
    .option('--redis <url>', `Redis of the queues and leases (${REDIS_URL_DEFAULT_HELP})`)
    .addHelpText(
      'after',
      `
SIGTERM or SIGINT: stop taking work, let running partition tasks finish for --shutdown-grace seconds,
then stop their reads (nothing uncommitted is committed), release their leases and queue them again;
exit 0. A second signal exits at once (leases then expire after leases.ttlSeconds).

At start and every --schedule-check seconds: a schedule \`mwingest schedule\` registered that Redis no
longer has (restarted empty, failed over, flushed) is registered again as recorded in the state
directory, logged and counted in mwingest_schedule_restored_total. A schedule that is registered, or
was removed with \`mwingest schedule --remove\`, is left as it is.

Examples:
  mwingest schedule --job jobs/demo.json && mwingest worker --job jobs/demo.json --metrics-port 9464
  mwingest worker --job jobs/analytics.json --concurrency 2`,
    )
    .action(async (options: WorkerCli) => {
      const loaded = await loadJob(options.job);
      const log = createLogger('mwingest-worker');
      const metrics = createIngestMetrics();
      let server: Server | undefined;
      if (options.metricsPort !== undefined)
        server = await serveMetrics(metrics.registry, options.metricsPort, options.metricsHost);
      const worker = await startIngestWorker({
        loaded,
        log,
        metrics,
        concurrency: options.concurrency,
        shutdownGraceMs: options.shutdownGrace * 1000,
        scheduleCheckMs: options.scheduleCheck * 1000,
        ...(options.redis === undefined ? {} : { redisUrl: options.redis }),
      });
      const gauges = startJobGauges({
        resources: worker.resources,
        metrics,
        log: log.child({ job: loaded.config.name }),
        intervalMs: options.statusInterval * 1000,
      });
      if (server !== undefined) {
        const address = server.address();
        log.info(
          {
            metrics:
              typeof address === 'object' && address !== null
                ? `http://${address.address}:${address.port}/metrics`
                : address,
          },
          'serving metrics',
        );
      }
      const [signal] = await Promise.race([once(process, 'SIGTERM'), once(process, 'SIGINT')]);
      log.info({ signal }, 'stopping: no new work; running tasks finish or are abandoned safely');
      const forced = () => {
        log.warn('second signal: exiting at once; leases expire by themselves');
        process.exit(1);
      };
      process.once('SIGTERM', forced);
      process.once('SIGINT', forced);
      await gauges.stop();
      await worker.close();
      server?.close();
      metrics.close();
    });
}

interface WorkerCli {
  job: string;
  concurrency: number;
  metricsPort?: number;
  metricsHost: string;
  statusInterval: number;
  shutdownGrace: number;
  scheduleCheck: number;
  redis?: string;
}
