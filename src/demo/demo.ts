import { relative } from 'node:path';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { describeError, MwiError } from '../errors.js';
import type { FileSystem } from '../hdfs/filesystem.js';
import { type HivePartitionAddJob, hiveQueueName } from '../hive/queue.js';
import { HOUR_MS } from '../hours/hour.js';
import { compilePathTemplate } from '../hours/path-template.js';
import type { RunReport } from '../ingest/run-report.js';
import { type LoadedJob, registryRootOf, topicMatcher } from '../job/config.js';
import { openJobFileSystem, redisClient, redisPrefixOf } from '../job/context.js';
import { kafkaConnectionOf } from '../job/kafka-connection.js';
import { openKafkaSink } from '../kafka/open.js';
import { type RunOptions, runJob } from '../scheduler/local-run.js';
import { MessageCodec } from '../schemas/codec.js';
import { SchemaRegistry, schemaNameOfTopic } from '../schemas/registry.js';
import { type BadMessageKind, type PlannedMessage, planTraffic } from './traffic.js';

/**
 * The README's first command: on the embedded default (a local directory standing for HDFS), with
 * the real Kafka and Redis of `scripts/stack`, produce a few thousand realistic messages over the
 * last hours to the demo job's topics (some malformed), run one ingest, and show the hour tree,
 * the run report and the queued Hive partition-add jobs.
 */
export interface DemoOptions {
  loaded: LoadedJob;
  /** @defaultValue 3000 */
  messagesPerTopic?: number;
  /** Hours of traffic ending now. @defaultValue 6 */
  hours?: number;
  /** @defaultValue 3 */
  partitions?: number;
  /** Keep earlier demo data instead of starting clean. */
  keep?: boolean;
  redisUrl?: string;
  log: Logger;
  out: (line: string) => void;
  onProgress?: RunOptions['onProgress'];
  onPlanned?: RunOptions['onPlanned'];
  now?: number;
}

export interface DemoResult {
  produced: number;
  bad: Record<BadMessageKind, number>;
  report: RunReport;
}

export async function runDemo(options: DemoOptions): Promise<DemoResult> {
  const { loaded, out } = options;
  const { config } = loaded;
  const partitions = options.partitions ?? 3;
  const registry = await SchemaRegistry.load(registryRootOf(loaded));
  // The job's topics: one per registry schema it ingests (jobs/demo.json: EditAttempt, SearchSatisfaction).
  const ingests = topicMatcher(config);
  const topics = registry
    .names()
    .map((name) => `mediawiki_${name}`)
    .filter(ingests);
  if (topics.length === 0) {
    throw new MwiError(
      'MWI_CONFIG_INVALID',
      `${loaded.path}: topics.include takes no schema of the registry at ${registry.root}; the demo has nothing to produce`,
    );
  }
  const template = compilePathTemplate(config.output.pathTemplate);
  const datasetRoots = topics.map((topic) =>
    template.datasetRoot({ root: config.output.root, topic, name: schemaNameOfTopic(topic) }),
  );
  const codec = new MessageCodec(registry);
  const fs = await openJobFileSystem(loaded);
  const redis = redisClient(options.redisUrl, { lazyConnect: true });
  try {
    await redis.connect().catch((error: unknown) => {
      throw new MwiError(
        'MWI_CONFIG_INVALID',
        `cannot reach Redis (${describeError(error)}); run scripts/stack up first`,
        {
          cause: error,
        },
      );
    });
    const sink = await openKafkaSink(kafkaConnectionOf(loaded));
    let messages: PlannedMessage[];
    try {
      if (!options.keep) {
        out(
          `starting clean: deleting topics ${topics.join(', ')}, their directories under ${fs.description}${config.output.root} and the job's state and queues`,
        );
        for (const topic of topics) await sink.deleteTopic(topic).catch(() => undefined);
        for (const root of datasetRoots) await fs.delete(root, { recursive: true });
        await fs.delete(`${config.output.stateDir}/${config.name}`, { recursive: true });
        await new Queue(hiveQueueName(config.name), { connection: redis }).obliterate({ force: true });
        const keys = await redis.keys(`${redisPrefixOf(config.name)}:*`);
        if (keys.length > 0) await redis.del(...keys);
      }
      for (const topic of topics) await sink.createTopic(topic, partitions).catch(() => undefined);

      const now = options.now ?? Date.now();
      const hours = options.hours ?? 6;
      messages = planTraffic(registry, codec, {
        topics: topics.map((topic) => ({ topic, schemaName: schemaNameOfTopic(topic), partitions })),
        messagesPerTopic: options.messagesPerTopic ?? 3000,
        fromMs: Math.floor(now / HOUR_MS) * HOUR_MS - hours * HOUR_MS,
        toMs: now - 60_000,
        // malformed on purpose, but well under the job's limit so the run still commits
        badRatio: Math.min(0.01, config.limits.errorRatio / 2),
        seed: now % 100_000,
      });
      await produceAll(sink, messages);
      const bad = countBad(messages);
      out(
        `produced ${messages.length} messages to ${topics.length} topics × ${partitions} partitions over ${hours} hours ` +
          `(${Object.values(bad).reduce((a, b) => a + b, 0)} malformed on purpose: ${Object.entries(bad)
            .filter(([, n]) => n > 0)
            .map(([k, n]) => `${n} ${k}`)
            .join(', ')})`,
      );
    } finally {
      await sink.close();
    }

    out(`running the ingest: mwingest run --job ${relative(process.cwd(), loaded.path)}`);
    const report = await runJob(loaded, {
      log: options.log,
      ...(options.redisUrl === undefined ? {} : { redisUrl: options.redisUrl }),
      ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
      ...(options.onPlanned === undefined ? {} : { onPlanned: options.onPlanned }),
    });
    return { produced: messages.length, bad: countBad(messages), report };
  } finally {
    redis.disconnect();
    await fs.close();
  }
}

async function produceAll(
  sink: Awaited<ReturnType<typeof openKafkaSink>>,
  messages: PlannedMessage[],
): Promise<void> {
  const byTopic = new Map<string, PlannedMessage[]>();
  for (const message of messages) {
    const list = byTopic.get(message.topic) ?? [];
    list.push(message);
    byTopic.set(message.topic, list);
  }
  for (const [topic, list] of byTopic) {
    for (let i = 0; i < list.length; i += 1000) {
      await sink.produce(
        topic,
        list
          .slice(i, i + 1000)
          .map((m) => ({ value: m.value, partition: m.partition, timestamp: m.timestampMs })),
      );
    }
  }
}

function countBad(messages: PlannedMessage[]): Record<BadMessageKind, number> {
  const counts = {} as Record<BadMessageKind, number>;
  for (const message of messages) if (message.bad) counts[message.bad] = (counts[message.bad] ?? 0) + 1;
  return counts;
}

/** One line per hour directory: files, bytes and flags, as `hdfs dfs -ls -R` would let you work out. */
export async function describeHourTree(
  fs: FileSystem,
  loaded: LoadedJob,
  topics: string[],
): Promise<string[]> {
  const { config } = loaded;
  const template = compilePathTemplate(config.output.pathTemplate);
  const lines: string[] = [];
  for (const topic of topics) {
    const root = template.datasetRoot({ root: config.output.root, topic, name: schemaNameOfTopic(topic) });
    lines.push(`${root}/`);
    for (const dir of await hourDirectories(fs, root)) {
      const entries = await fs.list(dir);
      const data = entries.filter((e) => e.type === 'file' && !e.name.startsWith('_'));
      const bytes = data.reduce((sum, e) => sum + e.length, 0);
      let flag = 'pending (hour not complete yet)';
      if (entries.some((e) => e.name === '_IMPORTED')) {
        const imported = JSON.parse((await fs.readFile(`${dir}/_IMPORTED`)).toString('utf8')) as {
          records: number;
        };
        flag = `_IMPORTED (${imported.records} records)`;
        if (entries.some((e) => e.name === '_SUCCESS')) flag += ' _SUCCESS';
      }
      lines.push(
        `  ${dir.slice(root.length + 1)}/  ${String(data.length).padStart(2)} files ${formatBytes(bytes).padStart(9)}  ${flag}`,
      );
    }
  }
  return lines;
}

async function hourDirectories(fs: FileSystem, root: string, depth = 4): Promise<string[]> {
  if (!(await fs.exists(root))) return [];
  if (depth === 0) return [root];
  const dirs: string[] = [];
  for (const entry of await fs.list(root)) {
    if (entry.type === 'directory') dirs.push(...(await hourDirectories(fs, entry.path, depth - 1)));
  }
  return dirs;
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** The partition-add jobs the run queued, oldest first. */
export async function listPartitionJobs(
  redis: Redis,
  jobName: string,
): Promise<{ id: string; state: string; data: HivePartitionAddJob }[]> {
  const queue = new Queue<HivePartitionAddJob>(hiveQueueName(jobName), { connection: redis });
  try {
    const jobs = await queue.getJobs(['waiting', 'active', 'delayed', 'completed', 'failed', 'prioritized']);
    const listed = await Promise.all(
      jobs.map(async (job) => ({ id: job.id ?? '', state: await job.getState(), data: job.data })),
    );
    return listed.sort((a, b) => (a.id < b.id ? -1 : 1));
  } finally {
    await queue.close();
  }
}
