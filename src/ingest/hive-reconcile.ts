import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { Counter, register as defaultRegistry, type Registry } from 'prom-client';
import { describeError, isMwiError } from '../errors.js';
import type { FileSystem } from '../hdfs/filesystem.js';
import { hiveLocation } from '../hive/ddl.js';
import { openHiveJobQueue, partitionAddJobOf, partitionJobId } from '../hive/queue.js';
import { HOUR_MS, hourKey, hourOf, hourStartMs, parseHourKey } from '../hours/hour.js';
import { compilePathTemplate } from '../hours/path-template.js';
import { type LoadedJob, topicMatcher } from '../job/config.js';
import { schemaNameOfTopic } from '../schemas/registry.js';
import { loadCompletenessState } from './completeness-state.js';
import { listNames, StatePaths } from './state-store.js';

/**
 * Redis is a cache of the Hive partition-add work, never its only record. The record is on the
 * job's file system: an hour directory with `_IMPORTED` and no `_SUCCESS` was announced and still
 * waits for its partition. When its add is not in the queue either (Redis restarted empty, failed
 * over, evicted under `maxmemory`, flushed), it would never be added: this module finds such hours
 * and queues their adds again, with the same job ids and content the announcer gives them
 * (`partitionAddJobOf`), so a hour queued twice is still one job and `ADD IF NOT EXISTS` one partition.
 *
 * Hours looked at, per topic the state directory has a completeness record of (and the job still
 * ingests), at or after `completeness.startHour`:
 *   - the last `hive.reconcile.lookbackHours` ended hours;
 *   - every hour the completeness record lists as announced (the newest 2000).
 * An hour whose add is in the queue (in any state: waiting, failed, completed…) is not read from the
 * file system; the queue and `mwingest hive status` account for it.
 */

/** Why an hour shows as missing in `mwingest hive status`. */
export const UNQUEUED_REASON = 'announced, no partition add queued';

export interface UnqueuedHour {
  topic: string;
  /** `2026-11-22T14` */
  hour: string;
  /** The hour directory on the job's file system. */
  directory: string;
  reason: typeof UNQUEUED_REASON;
}

export interface HiveQueueGaps {
  /** Announced hours whose partition is not added and whose add is not queued, oldest first. */
  hours: UnqueuedHour[];
  /** Topics looked at (those with a completeness record). */
  topics: string[];
  /** Topic-hours looked at. */
  checked: number;
}

export interface GapSearch {
  loaded: LoadedJob;
  fs: FileSystem;
  /** For each job id, whether the queue holds a job of that id. */
  queued(jobIds: string[]): Promise<boolean[]>;
  now?: () => number;
  /**
   * `<topic>/<hour>` of hours already seen with `_SUCCESS`: not read again, and filled in as they
   * are found. A long-running reconciler keeps one, so after a Redis loss each finished hour is
   * read from the file system once, not on every pass.
   */
  done?: Set<string>;
}

/** The hours to look at for one topic (see the module comment), ascending. */
export function hoursToCheck(options: {
  announced: readonly string[];
  nowMs: number;
  lookbackHours: number;
  startMs?: number | undefined;
}): string[] {
  const keys = new Set(options.announced);
  const lastEnded = Math.floor(options.nowMs / HOUR_MS) - 1;
  for (let index = lastEnded - options.lookbackHours + 1; index <= lastEnded; index++)
    keys.add(hourKey(hourOf(index * HOUR_MS)));
  const from = options.startMs === undefined ? undefined : Math.floor(options.startMs / HOUR_MS) * HOUR_MS;
  return [...keys].filter((key) => from === undefined || hourStartMs(parseHourKey(key)) >= from).sort();
}

/** Topics with a completeness record in the state directory that the job still ingests. */
async function announcedTopics(loaded: LoadedJob, fs: FileSystem): Promise<string[]> {
  const { config } = loaded;
  const dir = `${new StatePaths(config.output.stateDir, config.name).base}/completeness`;
  let entries: Awaited<ReturnType<FileSystem['list']>>;
  try {
    entries = await fs.list(dir);
  } catch (error) {
    if (isMwiError(error, 'MWI_FS_NOT_FOUND')) return [];
    throw error;
  }
  const ingests = topicMatcher(config);
  return entries
    .filter((entry) => entry.type === 'directory' && ingests(entry.name))
    .map((entry) => entry.name)
    .sort();
}

/** Announced hours with neither `_SUCCESS` nor a queued partition add (read only). */
export async function findUnqueuedHours(search: GapSearch): Promise<HiveQueueGaps> {
  const { loaded, fs } = search;
  const { config } = loaded;
  const paths = new StatePaths(config.output.stateDir, config.name);
  const template = compilePathTemplate(config.output.pathTemplate);
  const startMs =
    config.completeness.startHour === undefined ? undefined : Date.parse(config.completeness.startHour);
  const nowMs = (search.now ?? Date.now)();
  const topics = await announcedTopics(loaded, fs);
  const hours: UnqueuedHour[] = [];
  let checked = 0;
  for (const topic of topics) {
    const state = await loadCompletenessState(fs, paths, topic);
    const announced = state.announced.map((entry) => entry.hour);
    if (state.announcedThrough !== null) announced.push(state.announcedThrough);
    const keys = hoursToCheck({
      announced,
      nowMs,
      lookbackHours: config.hive.reconcile.lookbackHours,
      startMs,
    }).filter((key) => !search.done?.has(`${topic}/${key}`));
    checked += keys.length;
    const inQueue = await search.queued(keys.map((key) => partitionJobId(topic, key)));
    for (const [i, key] of keys.entries()) {
      if (inQueue[i]) continue;
      const directory = template.hourDir(
        { root: config.output.root, topic, name: schemaNameOfTopic(topic) },
        parseHourKey(key),
      );
      const names = new Set(await listNames(fs, directory));
      if (names.has('_SUCCESS')) search.done?.add(`${topic}/${key}`);
      else if (names.has('_IMPORTED')) hours.push({ topic, hour: key, directory, reason: UNQUEUED_REASON });
    }
  }
  hours.sort((a, b) => (a.hour < b.hour ? -1 : a.hour > b.hour ? 1 : a.topic < b.topic ? -1 : 1));
  return { hours, topics, checked };
}

/** Whether the job's Hive queue holds each job id: one round trip for all of them. */
export function hiveQueueMembership(
  redis: Redis,
  toKey: (jobId: string) => string,
): (jobIds: string[]) => Promise<boolean[]> {
  return async (jobIds) => {
    if (jobIds.length === 0) return [];
    const pipeline = redis.pipeline();
    for (const id of jobIds) pipeline.exists(toKey(id));
    const replies = (await pipeline.exec()) ?? [];
    return jobIds.map((_id, i) => {
      const [error, count] = replies[i] ?? [new Error('Redis gave no reply to EXISTS'), 0];
      if (error !== null) throw error;
      return count === 1;
    });
  };
}

export interface ReconcileResult extends HiveQueueGaps {
  /** Hours whose partition add was queued by this pass (the others were queued meanwhile by someone else). */
  queued: UnqueuedHour[];
}

/**
 * Finds the announced hours missing from the Hive queue and queues their adds again
 * (`mwingest hive retry --reconcile`, and every pass of {@link startHiveReconciler}).
 */
export async function reconcileHiveQueue(options: {
  loaded: LoadedJob;
  fs: FileSystem;
  redis: Redis;
  now?: () => number;
  done?: Set<string>;
}): Promise<ReconcileResult> {
  const { loaded, fs } = options;
  const queue = openHiveJobQueue(options.redis, loaded.config.name);
  try {
    const gaps = await findUnqueuedHours({
      loaded,
      fs,
      queued: hiveQueueMembership(options.redis, (id) => queue.queue.toKey(id)),
      ...(options.now === undefined ? {} : { now: options.now }),
      ...(options.done === undefined ? {} : { done: options.done }),
    });
    const queued: UnqueuedHour[] = [];
    for (const gap of gaps.hours) {
      const job = partitionAddJobOf(
        loaded.config,
        gap.topic,
        parseHourKey(gap.hour),
        gap.directory,
        hiveLocation(loaded, gap.directory),
      );
      if (await queue.add(job)) queued.push(gap);
    }
    return { ...gaps, queued };
  } finally {
    await queue.close();
  }
}

export interface ReconcileMetrics {
  requeued: Counter<'ingest_job'>;
  failures: Counter<'ingest_job'>;
}

export function reconcileMetrics(registry: Registry = defaultRegistry): ReconcileMetrics {
  const counter = (name: string, help: string) =>
    (registry.getSingleMetric(name) as Counter<'ingest_job'> | undefined) ??
    new Counter({ name, help, labelNames: ['ingest_job'], registers: [registry] });
  return {
    requeued: counter(
      'mwingest_hive_partition_adds_requeued_total',
      'Announced hours whose partition add was missing from the queue (Redis lost it) and was queued again',
    ),
    failures: counter(
      'mwingest_hive_reconcile_failures_total',
      'Passes of the Hive queue reconciler that failed (file system or Redis unreachable)',
    ),
  };
}

export interface HiveReconciler {
  /** Resolves after the pass that runs at start (whatever its outcome: failures are logged and counted). */
  readonly firstPass: Promise<void>;
  close(): Promise<void>;
}

/**
 * Runs {@link reconcileHiveQueue} now and then every `hive.reconcile.intervalSeconds` until closed.
 * A pass that fails is logged and counted, and the next one runs on time.
 */
export function startHiveReconciler(options: {
  loaded: LoadedJob;
  fs: FileSystem;
  redis: Redis;
  log: Logger;
  registry?: Registry;
  /** @defaultValue `hive.reconcile.intervalSeconds` of the job */
  intervalMs?: number;
}): HiveReconciler {
  const { loaded, log } = options;
  const jobName = loaded.config.name;
  const metrics = reconcileMetrics(options.registry);
  const intervalMs = options.intervalMs ?? loaded.config.hive.reconcile.intervalSeconds * 1000;
  const done = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  let running: Promise<void> = Promise.resolve();

  const pass = async () => {
    try {
      const result = await reconcileHiveQueue({ ...options, done });
      metrics.requeued.inc({ ingest_job: jobName }, result.queued.length);
      if (result.queued.length > 0) {
        log.warn(
          {
            hours: result.queued.map((gap) => `${gap.topic}/${gap.hour}`),
            count: result.queued.length,
          },
          'hive queue reconciled: announced hours had no partition add queued (Redis lost them?); queued again',
        );
      } else {
        log.debug(
          { topics: result.topics.length, checked: result.checked },
          'hive queue reconciled: nothing missing',
        );
      }
    } catch (error) {
      metrics.failures.inc({ ingest_job: jobName });
      log.error({ error: describeError(error) }, 'hive queue reconcile failed; the next pass tries again');
    }
  };
  const next = () => {
    if (closed) return;
    timer = setTimeout(() => {
      running = pass().then(next);
    }, intervalMs);
  };
  running = pass();
  const firstPass = running;
  void running.then(next);
  return {
    firstPass,
    async close() {
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      await running;
    },
  };
}
