import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { describeError, isMwiError, MwiError } from '../errors.js';
import { GuardedFileSystem } from '../hdfs/guarded.js';
import { hiveLocation } from '../hive/ddl.js';
import { consumerGroupOf, type LoadedJob, topicMatcher } from '../job/config.js';
import { type JobContext, leaseNames, openJobContext } from '../job/context.js';
import { keepAlive, type Lease } from '../job/lease.js';
import type { KafkaSource, PartitionOffsets } from '../kafka/client.js';
import { MessageCodec } from '../schemas/codec.js';
import { schemaNameOfTopic } from '../schemas/registry.js';
import { type Announcer, createAnnouncer } from './announcer.js';
import { type CommitManifest, newestAttemptToken } from './commit.js';
import type { PartitionResult, PartitionTask } from './partition-result.js';
import { ingestPartition } from './partition-task.js';
import { type RunReport, type TopicReport, totalsOf } from './run-report.js';
import { type StartPosition, startPositionOf } from './start-position.js';
import { jsonReplacer, listNumbered, readJson, StatePaths, writeJsonAtomically } from './state-store.js';
import { buildTopicPlan, type TopicPlan } from './topic-plan.js';

/**
 * The pieces of one ingest run of a job: plan it (every matching topic-partition from its committed
 * offset to the high watermark snapshotted at the start), run each partition under its lease, then
 * finish it (completeness, Hive partition jobs, the report). A whole run in one process
 * (`mwingest run`, src/scheduler/local-run.ts) and the scheduled, distributed form (`mwingest worker`,
 * src/scheduler/run-flow.ts) put the same pieces together.
 */

export interface RunPlan {
  runId: string;
  topics: {
    topic: string;
    schemaName: string;
    partitions: PartitionOffsets[];
    problem?: string;
    /** Dry runs: where each partition would start, and why. */
    starts?: { partition: number; offset: string; from: string }[];
  }[];
  /** Messages between committed offsets and high watermarks (upper bound of what this run reads). */
  backlog: bigint;
}

/** Everything a run needs, opened once: the job's context, plus the codec, the state paths and the announcer. */
export interface RunResources extends JobContext {
  codec: MessageCodec;
  paths: StatePaths;
  announcer: Announcer;
}

export async function openRunResources(
  loaded: LoadedJob,
  log: Logger,
  redisUrl?: string,
): Promise<RunResources> {
  const { config } = loaded;
  const context = await openJobContext(loaded, log, { redisUrl });
  const paths = new StatePaths(config.output.stateDir, config.name);
  const announcer = createAnnouncer({
    job: config,
    fs: context.fs,
    paths,
    redis: context.redis,
    log,
    hiveLocationOf: (path) => hiveLocation(loaded, path),
  });
  return {
    ...context,
    codec: new MessageCodec(context.registry),
    paths,
    announcer,
    async close() {
      await announcer.close();
      await context.close();
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
    /** Where a never-committed partition starts. @defaultValue the job's `startPosition` */
    startPosition?: StartPosition;
  },
): Promise<PartitionResult | undefined> {
  const name = leaseNames.partition(task.topic, task.partition);
  if (!(await resources.leases.hasFence(name))) {
    // Redis has no token counter for this partition: first run, or Redis lost its data. Continue after
    // the token of the newest manifest, so tokens keep growing along the partition's commits.
    const newest = await newestManifestToken(resources, task);
    if (newest !== undefined) await resources.leases.raiseFence(name, newest);
  }
  const requested = performance.now();
  const lease = await resources.leases.tryAcquire(name);
  if (lease === undefined) return undefined;
  options.onLeased?.(lease);
  const controller = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, controller.signal]) : controller.signal;
  const ttlMs = resources.loaded.config.leases.ttlSeconds * 1000;
  const lost = (error: unknown) => {
    resources.log.error(
      { err: error, topic: task.topic, partition: task.partition },
      'lease lost; abandoning partition',
    );
    controller.abort(error);
  };
  const alive = keepAlive(lease, ttlMs, lost, requested);
  // Every change the task makes passes the lease's own clock first: a worker paused past its lease
  // (GC pause, SIGSTOP) changes nothing when it wakes, not even its own temp files.
  const fs = new GuardedFileSystem(resources.fs, (action, path) => {
    if (!alive.expired) return;
    const error = new MwiError(
      'MWI_FENCED',
      `${task.topic}/${task.partition}: the lease ${lease.key} (token ${lease.token}) ran out by this worker's clock ` +
        `(paused or cut off from Redis for more than ${ttlMs} ms); refusing to ${action} ${path}: another worker may own the partition now`,
      { details: { token: lease.token, action, path } },
    );
    if (!signal.aborted) lost(error);
    throw error;
  });
  try {
    return await ingestPartition(
      {
        job: resources.loaded.config,
        fs,
        paths: resources.paths,
        source: failsWhenAborted(resources.source),
        codec: resources.codec,
        plan: topicPlan,
        runId,
        lease,
        log: resources.log,
        signal,
        startPosition: options.startPosition ?? startPositionOf(resources.loaded.config.startPosition),
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

/** The newest fencing token the partition's storage has seen: its newest claim, or an attempt's temp dir. */
async function newestManifestToken(
  resources: RunResources,
  task: PartitionTask,
): Promise<number | undefined> {
  const dir = resources.paths.manifests(task.topic, task.partition);
  const newest = (await listNumbered(resources.fs, dir)).at(-1);
  const claimed =
    newest === undefined
      ? undefined
      : (await readJson<CommitManifest>(resources.fs, `${dir}/${newest}`)).token;
  const attempted = await newestAttemptToken(resources.fs, resources.paths, task.topic, task.partition);
  if (claimed === undefined) return attempted;
  return attempted === undefined ? claimed : Math.max(claimed, attempted);
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
    offsetsForTime: (topic, ms) => source.offsetsForTime(topic, ms),
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

/** What a run's partitions did, for {@link finishRun}. */
export interface RunOutcome {
  runId: string;
  /** Epoch ms the run started. */
  started: number;
  plan: RunPlan;
  topicPlans: Map<string, TopicPlan>;
  /** Results per topic (any order). */
  results: Map<string, PartitionResult[]>;
  /** Problems found so far, one sentence each; any of them fails the run. */
  problems: string[];
  /**
   * Partitions not run because another worker held their lease: noted in the report, but they do
   * not fail this run (their owner commits them; the next run reads on from there).
   */
  skipped?: { topic: string; partition: number }[];
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
  const { runId, started, plan, topicPlans, results } = outcome;
  const problems = [...outcome.problems];
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
        report.late = mergeCounts([report.late, announced.late]);
      } catch (error) {
        report.status = 'failed';
        report.problem = `completeness: ${describeError(error)}`;
        problems.push(`${topic.topic}: ${report.problem}`);
      }
    }
    topics.push(report);
  }

  if (!options.dryRun) await commitGroupOffsets(resources, topics, log);

  const failed = problems.length > 0;
  for (const { topic, partition } of outcome.skipped ?? []) {
    problems.push(`${topic}/${partition} is owned by another worker right now; skipped`);
  }
  const finished = Date.now();
  const report: RunReport = {
    job: config.name,
    runId,
    status: failed ? 'failed' : 'succeeded',
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
