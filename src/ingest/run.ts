import { randomBytes } from 'node:crypto';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { describeError, isMwiError, MwiError } from '../errors.js';
import type { FileSystem } from '../hdfs/filesystem.js';
import { openFileSystem } from '../hdfs/open.js';
import { hiveLocation } from '../hive/ddl.js';
import { consumerGroupOf, type LoadedJob, resolveJobPath, topicMatcher } from '../job/config.js';
import { kafkaConnectionOf } from '../job/kafka-connection.js';
import { keepAlive, type Lease, LeaseManager } from '../job/lease.js';
import type { KafkaSource, PartitionOffsets } from '../kafka/client.js';
import { openKafkaSource } from '../kafka/open.js';
import { runInProgress, runsQueueName } from '../scheduler/run-flow-state.js';
import { MessageCodec } from '../schemas/codec.js';
import { defaultRegistryRoot, SchemaRegistry, schemaNameOfTopic } from '../schemas/registry.js';
import { type Announcer, createAnnouncer } from './announcer.js';
import type { CommitManifest } from './commit.js';
import {
  failedBeforeStart,
  ingestPartition,
  type PartitionResult,
  type PartitionTask,
} from './partition-task.js';
import { type RunReport, type TopicReport, totalsOf } from './run-report.js';
import { jsonReplacer, listNumbered, readJson, StatePaths, writeJsonAtomically } from './state-store.js';
import { buildTopicPlan, type TopicPlan } from './topic-plan.js';

/**
 * One ingest run of a job, in-process: every matching topic-partition from its committed offset to
 * the high watermark snapshotted at the start, then completeness and Hive partition jobs.
 * The scheduled, distributed form (`mwingest worker`) runs the same pieces as BullMQ jobs.
 */

export interface RunOptions {
  /** Only topics matching this regex (on top of the job's include/exclude). */
  topics?: string;
  /** Plan and report what would be read; write nothing. */
  dryRun?: boolean;
  /** Partitions processed at the same time. @defaultValue 4 */
  concurrency?: number;
  /** Redis for leases and the partition-add queue. @defaultValue "redis://127.0.0.1:6379" */
  redisUrl?: string;
  log: Logger;
  /** Progress callback: records and bytes read since the last call, and the total to read. */
  onProgress?: (records: number, bytes: number) => void;
  onPlanned?: (plan: RunPlan) => void;
  signal?: AbortSignal;
}

export interface RunPlan {
  runId: string;
  topics: { topic: string; schemaName: string; partitions: PartitionOffsets[]; problem?: string }[];
  /** Messages between committed offsets and high watermarks (upper bound of what this run reads). */
  backlog: bigint;
}

/** Everything a run needs, opened once. */
export interface RunResources {
  loaded: LoadedJob;
  registry: SchemaRegistry;
  codec: MessageCodec;
  fs: FileSystem;
  source: KafkaSource;
  redis: Redis;
  leases: LeaseManager;
  paths: StatePaths;
  announcer: Announcer;
  log: Logger;
  close(): Promise<void>;
}

export async function openRunResources(
  loaded: LoadedJob,
  log: Logger,
  redisUrl?: string,
): Promise<RunResources> {
  const { config } = loaded;
  const registryRoot =
    config.registry === undefined ? defaultRegistryRoot() : resolveJobPath(loaded, config.registry);
  const registry = await SchemaRegistry.load(registryRoot);
  for (const problem of registry.problems)
    log.warn({ path: problem.path }, `schema registry: ${problem.reason}`);
  const fsConfig =
    config.fileSystem.type === 'local'
      ? { ...config.fileSystem, root: resolveJobPath(loaded, config.fileSystem.root) }
      : config.fileSystem;
  const fs = await openFileSystem(fsConfig);
  const source = await openKafkaSource(kafkaConnectionOf(loaded));
  const redis = new Redis(redisUrl ?? process.env.MWINGEST_REDIS_URL ?? 'redis://127.0.0.1:6379', {
    maxRetriesPerRequest: null,
    lazyConnect: true,
  });
  try {
    await redis.connect();
  } catch (error) {
    await source.close();
    await fs.close();
    throw new MwiError(
      'MWI_CONFIG_INVALID',
      `cannot reach Redis at ${redis.options.host}:${redis.options.port}: ${describeError(error)}; start it or set MWINGEST_REDIS_URL`,
      { cause: error, canRetry: true },
    );
  }
  const paths = new StatePaths(config.output.stateDir, config.name);
  const announcer = createAnnouncer({
    job: config,
    fs,
    paths,
    redis,
    log,
    hiveLocationOf: (path) => hiveLocation(loaded, path),
  });
  return {
    loaded,
    registry,
    codec: new MessageCodec(registry),
    fs,
    source,
    redis,
    leases: new LeaseManager(redis, `mwingest:${config.name}`, { ttlMs: config.leases.ttlSeconds * 1000 }),
    paths,
    announcer,
    log,
    async close() {
      await announcer.close();
      await source.close();
      await fs.close();
      redis.disconnect();
    },
  };
}

export function newRunId(now = new Date()): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `${stamp}-${randomBytes(3).toString('hex')}`;
}

/** Snapshots the high watermarks and builds each topic's plan. */
export async function planRun(
  resources: RunResources,
  runId: string,
  topicsFilter?: string,
): Promise<{ plan: RunPlan; topicPlans: Map<string, TopicPlan> }> {
  const { loaded, source, registry } = resources;
  const matches = topicMatcher(loaded.config, undefined);
  const extra = topicsFilter === undefined ? undefined : new RegExp(topicsFilter);
  const topics = (await source.listTopics()).filter((t) => matches(t) && (extra?.test(t) ?? true)).sort();
  const plan: RunPlan = { runId, topics: [], backlog: 0n };
  const topicPlans = new Map<string, TopicPlan>();
  for (const topic of topics) {
    const schemaName = schemaNameOfTopic(topic);
    const partitions = await source.partitionOffsets(topic);
    try {
      const topicPlan = await buildTopicPlan(resources, topic);
      topicPlans.set(topic, topicPlan);
      plan.topics.push({ topic, schemaName, partitions });
    } catch (error) {
      plan.topics.push({ topic, schemaName, partitions, problem: describeError(error) });
    }
    for (const p of partitions) plan.backlog += p.latest - p.earliest;
  }
  if (registry.names().length === 0) {
    throw new MwiError('MWI_REGISTRY_INVALID', `the schema registry at ${registry.root} has no schemas`);
  }
  return { plan, topicPlans };
}

/** Runs one partition under its lease. Returns `undefined` when another worker owns it right now. */
export async function runPartitionUnderLease(
  resources: RunResources,
  topicPlan: TopicPlan,
  runId: string,
  task: PartitionTask,
  options: {
    signal?: AbortSignal;
    readDeadline?: number;
    onProgress?: (records: number, bytes: number) => void;
    /** Called once the partition's lease is taken, before anything is read. */
    onLeased?: (lease: Lease) => void;
  },
): Promise<PartitionResult | undefined> {
  const name = `partition:${task.topic}:${task.partition}`;
  if (!(await resources.leases.hasFence(name))) {
    // Redis has no token counter for this partition: first run, or Redis lost its data. Continue after
    // the token of the newest manifest, so tokens keep growing along the partition's commits.
    const newest = await newestManifestToken(resources, task);
    if (newest !== undefined) await resources.leases.raiseFence(name, newest);
  }
  const lease = await resources.leases.tryAcquire(name);
  if (lease === undefined) return undefined;
  options.onLeased?.(lease);
  const controller = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, controller.signal]) : controller.signal;
  const alive = keepAlive(lease, resources.loaded.config.leases.ttlSeconds * 1000, (error) => {
    resources.log.error(
      { err: error, topic: task.topic, partition: task.partition },
      'lease lost; abandoning partition',
    );
    controller.abort(error);
  });
  try {
    return await ingestPartition(
      {
        job: resources.loaded.config,
        fs: resources.fs,
        paths: resources.paths,
        source: failsWhenAborted(resources.source),
        codec: resources.codec,
        plan: topicPlan,
        runId,
        lease,
        log: resources.log,
        signal,
        ...(options.readDeadline === undefined ? {} : { readDeadline: options.readDeadline }),
        ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
      },
      task,
    );
  } finally {
    alive.stop();
    await lease.release();
  }
}

async function newestManifestToken(
  resources: RunResources,
  task: PartitionTask,
): Promise<number | undefined> {
  const dir = resources.paths.manifests(task.topic, task.partition);
  const newest = (await listNumbered(resources.fs, dir)).at(-1);
  return newest === undefined
    ? undefined
    : (await readJson<CommitManifest>(resources.fs, `${dir}/${newest}`)).token;
}

/**
 * The source as the partition task sees it: a read that ends because its signal was aborted (lease
 * lost, worker shutting down) throws instead of ending quietly, so the unread rest of the range can
 * never be committed as offsets the log did not return.
 */
function failsWhenAborted(source: KafkaSource): KafkaSource {
  return {
    listTopics: () => source.listTopics(),
    partitionOffsets: (topic) => source.partitionOffsets(topic),
    async *read(range, signal) {
      yield* source.read(range, signal);
      if (signal?.aborted) {
        const reason: unknown = signal.reason;
        if (isMwiError(reason)) throw reason;
        throw new MwiError(
          'MWI_TASK_ABORTED',
          `${range.topic}/${range.partition}: stopped reading before offset ${range.to} (${describeError(reason)}); nothing of this range is committed, the next owner reads it again`,
          { cause: reason, canRetry: true },
        );
      }
    },
    commitGroupOffsets: (group, topic, offsets) => source.commitGroupOffsets(group, topic, offsets),
    groupOffsets: (group, topic) => source.groupOffsets(group, topic),
    close: () => source.close(),
  };
}

/** `mwingest run`: the whole run in this process. */
export async function runJob(loaded: LoadedJob, options: RunOptions): Promise<RunReport> {
  const started = Date.now();
  const runId = newRunId(new Date(started));
  const log = options.log.child({ job: loaded.config.name, runId });
  const resources = await openRunResources(loaded, log, options.redisUrl);
  let runLease: Lease | undefined;
  try {
    runLease = await resources.leases.tryAcquire('run');
    if (runLease === undefined) {
      const holder = await resources.leases.holder('run');
      throw new MwiError(
        'MWI_RUN_IN_PROGRESS',
        `another run of job ${loaded.config.name} is in progress (${holder?.owner ?? 'unknown owner'}); this one is skipped`,
      );
    }
    const scheduled = await scheduledRunInProgress(resources);
    if (scheduled !== undefined) {
      throw new MwiError(
        'MWI_RUN_IN_PROGRESS',
        `a scheduled run of job ${loaded.config.name} is in progress on the workers (run ${scheduled}); this one is skipped`,
      );
    }
    const runAlive = keepAlive(runLease, loaded.config.leases.ttlSeconds * 1000, (error) =>
      log.error({ err: error }, 'run lease lost'),
    );
    try {
      return await runLocked(resources, runId, started, options, log);
    } finally {
      runAlive.stop();
    }
  } finally {
    await runLease?.release();
    await resources.close();
  }
}

/** The run id of the job's scheduled run (`mwingest worker`) in progress, if any. */
async function scheduledRunInProgress(resources: RunResources): Promise<string | undefined> {
  const runs = new Queue(runsQueueName(resources.loaded.config.name), { connection: resources.redis });
  try {
    return (await runInProgress(resources.redis, runs, resources.loaded.config.name))?.runId;
  } finally {
    await runs.close();
  }
}

async function runLocked(
  resources: RunResources,
  runId: string,
  started: number,
  options: RunOptions,
  log: Logger,
): Promise<RunReport> {
  const { config } = resources.loaded;
  const { plan, topicPlans } = await planRun(resources, runId, options.topics);
  options.onPlanned?.(plan);
  const problems: string[] = [];
  const readDeadline =
    config.limits.maxRunSeconds === undefined ? undefined : started + config.limits.maxRunSeconds * 1000;

  const tasks: { topicPlan: TopicPlan; task: PartitionTask }[] = [];
  for (const topic of plan.topics) {
    const topicPlan = topicPlans.get(topic.topic);
    if (topicPlan === undefined) continue;
    for (const p of topic.partitions) {
      tasks.push({
        topicPlan,
        task: { topic: topic.topic, partition: p.partition, earliest: p.earliest, endOffset: p.latest },
      });
    }
  }

  const results = new Map<string, PartitionResult[]>();
  if (!options.dryRun) {
    await forEachConcurrently(tasks, options.concurrency ?? 4, async ({ topicPlan, task }) => {
      const result = await runPartitionUnderLease(resources, topicPlan, runId, task, {
        ...(options.signal ? { signal: options.signal } : {}),
        ...(readDeadline === undefined ? {} : { readDeadline }),
        ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      }).catch((error: unknown) => failedBeforeStart(task, error));
      if (result === undefined) {
        problems.push(`${task.topic}/${task.partition} is owned by another worker right now; skipped`);
        return;
      }
      const list = results.get(task.topic) ?? [];
      list.push(result);
      results.set(task.topic, list);
    });
  }

  return finishRun(
    resources,
    { runId, started, plan, topicPlans, results, problems, dryRun: options.dryRun === true },
    log,
  );
}

/** What a run's partitions did, for {@link finishRun}. */
export interface RunOutcome {
  runId: string;
  /** Epoch ms the run started. */
  started: number;
  plan: RunPlan;
  topicPlans: Map<string, TopicPlan>;
  /** Results per topic (any order). */
  results: Map<string, PartitionResult[]>;
  /** Problems found so far, one sentence each; appended to. */
  problems: string[];
  dryRun?: boolean;
}

/**
 * The end of a run, once its partitions are done (here, or on the workers): completeness and Hive
 * partition jobs per topic, consumer-group offsets for monitoring, the report (saved beside the state).
 * Idempotent: announcing reads the committed offsets documents, and a report saved twice is replaced.
 */
export async function finishRun(
  resources: RunResources,
  outcome: RunOutcome,
  log: Logger,
): Promise<RunReport> {
  const { config } = resources.loaded;
  const { runId, started, plan, topicPlans, results, problems } = outcome;
  const options = { dryRun: outcome.dryRun === true };
  const topics: TopicReport[] = [];
  for (const topic of plan.topics) {
    const partitions = (results.get(topic.topic) ?? []).sort((a, b) => a.partition - b.partition);
    const topicPlan = topicPlans.get(topic.topic);
    const report: TopicReport = {
      topic: topic.topic,
      schemaName: topic.schemaName,
      readerRevision: topicPlan?.reader.revision.toString() ?? null,
      status: 'succeeded',
      revisions: mergeCounts(partitions.map((p) => p.revisions)),
      partitions,
      announced: [],
      late: mergeCounts(partitions.map((p) => p.lateHours)),
      announcedThrough: topicPlan?.announcedThroughKey ?? null,
    };
    if (topic.problem !== undefined) {
      report.status = 'failed';
      report.problem = topic.problem;
      problems.push(`${topic.topic}: ${topic.problem}`);
    }
    for (const p of partitions) {
      if (p.status === 'failed') {
        report.status = 'failed';
        problems.push(`${p.topic}/${p.partition}: ${p.error?.message ?? 'failed'}`);
      }
    }
    if (topicPlan !== undefined && !options.dryRun) {
      try {
        const announced = await resources.announcer.afterCommits(topicPlan, topic.partitions, partitions);
        report.announced = announced.hours;
        report.announcedThrough = announced.announcedThrough;
      } catch (error) {
        report.status = 'failed';
        report.problem = `completeness: ${describeError(error)}`;
        problems.push(`${topic.topic}: ${report.problem}`);
      }
    }
    topics.push(report);
  }

  if (!options.dryRun) await commitGroupOffsets(resources, topics, log);

  const finished = Date.now();
  const report: RunReport = {
    job: config.name,
    runId,
    status: problems.some((p) => !p.includes('owned by another worker')) ? 'failed' : 'succeeded',
    startedAt: new Date(started).toISOString(),
    finishedAt: new Date(finished).toISOString(),
    durationMs: finished - started,
    problems,
    totals: totalsOf(topics, finished - started),
    topics,
  };
  if (!options.dryRun) await saveReport(resources, report);
  return report;
}

/** Monitoring only: tells Kafka how far we are, after the offsets are safe in the state dir. */
async function commitGroupOffsets(
  resources: RunResources,
  topics: TopicReport[],
  log: Logger,
): Promise<void> {
  const group = consumerGroupOf(resources.loaded.config);
  for (const topic of topics) {
    const offsets = topic.partitions
      .filter((p) => p.status === 'committed')
      .map((p) => ({ partition: p.partition, offset: BigInt(p.endOffset) }));
    if (offsets.length === 0) continue;
    try {
      await resources.source.commitGroupOffsets(group, topic.topic, offsets);
    } catch (error) {
      // Lag dashboards lag a little more; the data and its offsets are already committed.
      log.warn(
        { err: error, topic: topic.topic, group },
        'could not commit consumer-group offsets (monitoring only)',
      );
    }
  }
}

export async function saveReport(resources: RunResources, report: RunReport): Promise<void> {
  const dir = resources.paths.reports();
  const path = `${dir}/${report.runId}.json`;
  try {
    await writeJsonAtomically(resources.fs, path, report);
  } catch (error) {
    // The same run finished twice (BullMQ delivers a run's end at least once): the newer report wins.
    if (!isMwiError(error, 'MWI_FS_ALREADY_EXISTS')) throw error;
    await resources.fs.delete(path);
    await writeJsonAtomically(resources.fs, path, report);
  }
  const latest = `${dir}/latest.json`;
  await resources.fs.writeFile(latest, `${JSON.stringify(report, jsonReplacer, 2)}\n`, { overwrite: true });
}

function mergeCounts(maps: Record<string, number>[]): Record<string, number> {
  const merged: Record<string, number> = {};
  for (const map of maps) for (const [key, n] of Object.entries(map)) merged[key] = (merged[key] ?? 0) + n;
  return merged;
}

async function forEachConcurrently<T>(
  items: T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const errors: unknown[] = [];
  const lanes = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
    while (next < items.length) {
      const item = items[next++]!;
      try {
        await work(item);
      } catch (error) {
        errors.push(error);
      }
    }
  });
  await Promise.all(lanes);
  if (errors.length > 0) {
    const first = errors[0];
    throw isMwiError(first) ? first : new MwiError('MWI_FS_IO', describeError(first), { cause: first });
  }
}
