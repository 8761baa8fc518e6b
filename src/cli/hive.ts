import { once } from 'node:events';
import type { Server } from 'node:http';
import { userInfo } from 'node:os';
import { Queue } from 'bullmq';
import { Command } from 'commander';
import { Registry } from 'prom-client';
import { describeError } from '../errors.js';
import { createHiveClient, type HiveClient, parseHiveAddress } from '../hive/client.js';
import { datasetTables } from '../hive/ddl.js';
import { type HivePartitionAddJob, hiveQueueName } from '../hive/queue.js';
import { hiveIdentifier } from '../hive/statement.js';
import { hivePartitionQueueStatus, startHivePartitionWorker } from '../hive/worker.js';
import {
  findUnqueuedHours,
  hiveQueueMembership,
  reconcileHiveQueue,
  startHiveReconciler,
  UNQUEUED_REASON,
  type UnqueuedHour,
} from '../ingest/hive-reconcile.js';
import { type JobConfig, type LoadedJob, loadJob, registryRootOf, secretFromEnv } from '../job/config.js';
import { openJobFileSystem, REDIS_URL_DEFAULT_HELP, redisClient } from '../job/context.js';
import { createLogger } from '../log.js';
import { registerCommonMetrics, serveMetrics } from '../ops/metrics.js';
import { SchemaRegistry } from '../schemas/registry.js';
import { port, positiveInt } from './arguments.js';

/**
 * `mwingest hive ddl | worker | status | retry`: the tables of a job's datasets, the executor of
 * its partition-add queue, and what that queue still holds (docs/hive.md).
 */
export function hiveCommand(): Command {
  const hive = new Command('hive').summary(
    'Hive tables and partition adds: DDL, the partition-add worker, its queue',
  );
  hive.addCommand(ddlCommand());
  hive.addCommand(workerCommand());
  hive.addCommand(statusCommand());
  hive.addCommand(retryCommand());
  return hive;
}

interface HiveConnectionCli {
  hive?: string;
  hiveUser?: string;
  hivePasswordEnv?: string;
}

const withHiveOptions = (command: Command) =>
  command
    .option(
      '--hive <host:port>',
      'HiveServer2 Thrift binary address (default $MWINGEST_HIVE_HOST:$MWINGEST_HIVE_PORT or 127.0.0.1:10000)',
    )
    .option('--hive-user <name>', 'session user (default $MWINGEST_HIVE_USER, else the OS user)')
    .option(
      '--hive-password-env <VAR>',
      'environment variable holding the password (LDAP/CUSTOM authentication)',
    );

/** Where HiveServer2 is: the flag, else the job's `hive` section, else the environment, else 127.0.0.1:10000. */
function openHive(
  options: HiveConnectionCli,
  log: ReturnType<typeof createLogger>,
  job?: JobConfig,
): HiveClient {
  const env = process.env;
  const address =
    options.hive ??
    job?.hive.server ??
    `${env.MWINGEST_HIVE_HOST || '127.0.0.1'}:${env.MWINGEST_HIVE_PORT || '10000'}`;
  const { host, port } = parseHiveAddress(address);
  const passwordKey = options.hivePasswordEnv === undefined ? 'hive.passwordEnv' : '--hive-password-env';
  const passwordEnv = options.hivePasswordEnv ?? job?.hive.passwordEnv;
  const password = passwordEnv === undefined ? undefined : secretFromEnv(passwordKey, passwordEnv);
  return createHiveClient({
    host,
    port,
    username: options.hiveUser ?? job?.hive.user ?? (env.MWINGEST_HIVE_USER || userInfo().username),
    ...(password === undefined ? {} : { password }),
    log,
  });
}

async function registryOf(loaded: LoadedJob): Promise<SchemaRegistry> {
  return SchemaRegistry.load(registryRootOf(loaded));
}

interface DdlCli extends HiveConnectionCli {
  job: string;
  dataset?: string;
  schemaUrl?: string;
  apply?: boolean;
}

function ddlCommand(): Command {
  return withHiveOptions(
    new Command('ddl')
      .summary('print (or --apply) CREATE EXTERNAL TABLE IF NOT EXISTS for each dataset of a job')
      .requiredOption('-j, --job <file>', 'job definition, e.g. jobs/demo.json')
      .option('--dataset <Name>', 'only this dataset (schema name, e.g. EditAttempt)')
      .option(
        '--schema-url <template>',
        'Avro tables: TBLPROPERTIES avro.schema.url instead of the literal schema; {name} and {revision} are replaced,\n' +
          'e.g. hdfs:///wmf/event-schemas/avro/mediawiki/{name}/{revision}.avsc',
      )
      .option('--apply', 'run the statements against HiveServer2 instead of printing them only'),
  )
    .addHelpText(
      'after',
      `
Each table is EXTERNAL, PARTITIONED BY (year, month, day, hour) as strings, LOCATION the dataset's root
(the path template above the first time placeholder), STORED AS AVRO with the reader schema as
avro.schema.literal, or STORED AS PARQUET with columns mapped from it (datasets.<Name>.format).
An existing table is left as it is (IF NOT EXISTS): see docs/hive.md for schema upgrades.

Examples:
  mwingest hive ddl --job jobs/demo.json
  mwingest hive ddl --job jobs/demo.json --dataset EditAttempt --apply`,
    )
    .action(async (options: DdlCli) => {
      const loaded = await loadJob(options.job);
      const tables = datasetTables(loaded, await registryOf(loaded), {
        ...(options.dataset === undefined ? {} : { dataset: options.dataset }),
        ...(options.schemaUrl === undefined ? {} : { schemaUrl: options.schemaUrl }),
      });
      const databases = [...new Set(tables.map((table) => table.database))];
      const statements = [
        ...databases.map(
          (database) => `CREATE DATABASE IF NOT EXISTS ${hiveIdentifier(database, 'database')}`,
        ),
        ...tables.map((table) => table.statement),
      ];
      process.stdout.write(statements.map((statement) => `${statement};\n`).join('\n'));
      if (!options.apply) return;
      const log = createLogger('mwingest-hive', process.env.MWINGEST_LOG_LEVEL ?? 'warn');
      const client = openHive(options, log, loaded.config);
      try {
        for (const statement of statements) await client.execute(statement);
      } finally {
        await client.close();
      }
      process.stderr.write(
        `applied on ${client.address}: ${tables.map((table) => `${table.database}.${table.table}`).join(', ')}\n`,
      );
    });
}

interface WorkerCli extends HiveConnectionCli {
  job: string;
  redis?: string;
  concurrency: number;
  metricsPort?: number;
  metricsHost: string;
}

function workerCommand(): Command {
  return withHiveOptions(
    new Command('worker')
      .summary("run the partition-add executor of a job's Hive queue until SIGTERM")
      .requiredOption('-j, --job <file>', 'job definition, e.g. jobs/demo.json')
      .option('--redis <url>', `Redis of the queue (${REDIS_URL_DEFAULT_HELP})`)
      .option('--concurrency <n>', 'partition adds at the same time', positiveInt, 1)
      .option(
        '--metrics-port <port>',
        'serve Prometheus metrics on http://<metrics-host>:<port>/metrics',
        port,
      )
      .option('--metrics-host <host>', 'address the metrics server listens on', '127.0.0.1'),
  )
    .addHelpText(
      'after',
      `
For each complete hour the ingest announced, checks the job against the job definition, runs
ALTER TABLE … ADD IF NOT EXISTS PARTITION (…) LOCATION … and writes _SUCCESS in the hour directory.
A failed add is retried with backoff and counted in mwingest_hive_partition_add_failures_total;
\`mwingest hive status\` lists the hours still missing and why. SIGTERM or SIGINT: finish the running
adds, then exit 0.

At start and every hive.reconcile.intervalSeconds (default 600) the worker also rebuilds the queue
from the hour directories: an announced hour (_IMPORTED) without _SUCCESS whose add is not queued
(Redis lost it) is queued again, logged and counted in mwingest_hive_partition_adds_requeued_total.

Examples:
  mwingest hive worker --job jobs/demo.json
  mwingest hive worker --job jobs/demo.json --concurrency 2 --metrics-port 9469`,
    )
    .action(async (options: WorkerCli) => {
      const loaded = await loadJob(options.job);
      const log = createLogger('mwingest-hive-worker');
      const fs = await openJobFileSystem(loaded);
      const connection = redisClient(options.redis);
      const hive = openHive(options, log, loaded.config);
      const registry = new Registry();
      const stopCommonMetrics = registerCommonMetrics(registry);
      const worker = startHivePartitionWorker({
        loaded,
        fs,
        hive,
        connection,
        log,
        concurrency: options.concurrency,
        registry,
      });
      const reconciler = startHiveReconciler({ loaded, fs, redis: connection, log, registry });
      let server: Server | undefined;
      if (options.metricsPort !== undefined)
        server = await serveMetrics(registry, options.metricsPort, options.metricsHost);
      log.info(
        { queue: hiveQueueName(loaded.config.name), hive: hive.address, fs: fs.description },
        'hive partition worker running',
      );
      const signal = await Promise.race([once(process, 'SIGTERM'), once(process, 'SIGINT')]);
      log.info({ signal }, 'stopping: finishing the running partition adds');
      await reconciler.close();
      await worker.close();
      server?.close();
      stopCommonMetrics();
      await hive.close();
      await fs.close();
      connection.disconnect();
    });
}

interface StatusCli {
  job: string;
  redis?: string;
  json?: boolean;
}

/** `hive status` exit codes. */
const STATUS_EXIT = { ok: 0, failed: 1, unqueued: 3, unchecked: 4 } as const;

function statusCommand(): Command {
  return new Command('status')
    .summary("what a job's partition-add queue holds: hours not added yet and why")
    .requiredOption('-j, --job <file>', 'job definition, e.g. jobs/demo.json')
    .option('--redis <url>', `Redis of the queue (${REDIS_URL_DEFAULT_HELP})`)
    .option('--json', 'print the status as JSON')
    .addHelpText(
      'after',
      `
Besides the queue, reads the hour directories: an hour announced complete (_IMPORTED) without
_SUCCESS whose add is not in the queue (Redis lost it) is listed as missing with the reason
"${UNQUEUED_REASON}"; a running \`mwingest hive worker\` queues it again within
hive.reconcile.intervalSeconds, \`mwingest hive retry --reconcile\` at once.

Exit codes: 0 nothing failed for good and nothing missing, 1 some hours failed for good (see
\`mwingest hive retry\`), 3 none failed but announced hours have no partition add queued, 4 none
failed but the hour directories could not be read (the queue is shown; "missingError" says why)

Examples:
  mwingest hive status --job jobs/demo.json
  mwingest hive status --job jobs/demo.json --json`,
    )
    .action(async (options: StatusCli) => {
      const loaded = await loadJob(options.job);
      const connection = redisClient(options.redis);
      const fs = await openJobFileSystem(loaded);
      const queue = new Queue<HivePartitionAddJob>(hiveQueueName(loaded.config.name), { connection });
      try {
        const status = await hivePartitionQueueStatus(queue);
        let missing: UnqueuedHour[] = [];
        let missingError: string | undefined;
        try {
          const gaps = await findUnqueuedHours({
            loaded,
            fs,
            queued: hiveQueueMembership(connection, (id) => queue.toKey(id)),
          });
          missing = gaps.hours;
        } catch (error) {
          // The queue is worth showing when the file system is away; the gap check is then unknown.
          missingError = `could not look for announced hours missing from the queue: ${describeError(error)}`;
        }
        if (options.json) {
          const found = missingError === undefined ? { missing } : { missing: null, missingError };
          process.stdout.write(`${JSON.stringify({ ...status, ...found }, null, 2)}\n`);
        } else {
          const { counts } = status;
          const lines = [
            `queue ${status.queue}: ${counts.completed} added, ${counts.waiting} waiting, ${counts.active} running, ` +
              `${counts.delayed} waiting to retry, ${counts.failed} failed; ` +
              (missingError === undefined
                ? `${missing.length} announced but not queued`
                : 'announced hours not checked'),
            ...status.pending.map(
              (item) =>
                `  ${item.hour}  ${item.topic}  ${item.state} (attempt ${item.attemptsMade}/${item.attempts})` +
                (item.reason === undefined ? '' : `: ${item.reason}`),
            ),
            ...missing.map((gap) => `  ${gap.hour}  ${gap.topic}  missing: ${gap.reason}`),
          ];
          if (missingError !== undefined) lines.push(missingError);
          if (missing.length > 0)
            lines.push(
              `${missing.length} announced hour(s) have no partition add queued: a running \`mwingest hive worker\` queues them ` +
                `within ${loaded.config.hive.reconcile.intervalSeconds} s, \`mwingest hive retry --job ${options.job} --reconcile\` now`,
            );
          process.stdout.write(`${lines.join('\n')}\n`);
        }
        process.exitCode =
          status.counts.failed > 0
            ? STATUS_EXIT.failed
            : missingError !== undefined
              ? STATUS_EXIT.unchecked
              : missing.length > 0
                ? STATUS_EXIT.unqueued
                : STATUS_EXIT.ok;
      } finally {
        await queue.close();
        await fs.close();
        connection.disconnect();
      }
    });
}

interface RetryCli {
  job: string;
  redis?: string;
  reconcile?: boolean;
  json?: boolean;
}

function retryCommand(): Command {
  return new Command('retry')
    .summary('move the failed partition adds of a job back into its queue (a running worker picks them up)')
    .requiredOption('-j, --job <file>', 'job definition, e.g. jobs/demo.json')
    .option('--redis <url>', `Redis of the queue (${REDIS_URL_DEFAULT_HELP})`)
    .option(
      '--reconcile',
      'also queue the adds of announced hours (_IMPORTED, no _SUCCESS) missing from the queue, e.g. after Redis lost its data',
    )
    .option('--json', 'print what was queued as JSON')
    .addHelpText(
      'after',
      `
Failed adds get fresh attempts. With --reconcile, the hour directories are read as \`mwingest hive
status\` does and every announced hour whose add is not queued is queued again (same job id, so an
hour is never queued twice). A running \`mwingest hive worker\` does the adds.

Examples:
  mwingest hive retry --job jobs/demo.json
  mwingest hive retry --job jobs/demo.json --reconcile --json`,
    )
    .action(async (options: RetryCli) => {
      const loaded = await loadJob(options.job);
      const connection = redisClient(options.redis);
      const queue = new Queue<HivePartitionAddJob>(hiveQueueName(loaded.config.name), { connection });
      try {
        const failed = await queue.getFailed();
        for (const job of failed) await job.retry('failed', { resetAttemptsMade: true });
        const retried = failed.map((job) => ({ topic: job.data.topic, hour: job.data.hour }));
        let reconciled: { topic: string; hour: string }[] | undefined;
        if (options.reconcile) {
          const fs = await openJobFileSystem(loaded);
          try {
            const result = await reconcileHiveQueue({ loaded, fs, redis: connection });
            reconciled = result.queued.map(({ topic, hour }) => ({ topic, hour }));
          } finally {
            await fs.close();
          }
        }
        if (options.json) {
          process.stdout.write(
            `${JSON.stringify({ retried, ...(reconciled === undefined ? {} : { reconciled }) }, null, 2)}\n`,
          );
        } else {
          const list = (items: { topic: string; hour: string }[]) =>
            items.map((item) => `${item.topic}/${item.hour}`).join(', ') || 'none';
          const lines = [`${retried.length} failed partition add(s) queued again: ${list(retried)}`];
          if (reconciled !== undefined)
            lines.push(
              `${reconciled.length} announced hour(s) without a queued partition add queued: ${list(reconciled)}`,
            );
          process.stdout.write(`${lines.join('\n')}\n`);
        }
      } finally {
        await queue.close();
        connection.disconnect();
      }
    });
}
