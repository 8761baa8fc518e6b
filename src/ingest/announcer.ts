import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { isMwiError } from '../errors.js';
import type { FileSystem } from '../hdfs/filesystem.js';
import { type HiveJobQueue, openHiveJobQueue, partitionAddJobOf } from '../hive/queue.js';
import { nextAnnouncements, type PartitionProgress } from '../hours/completeness.js';
import { HOUR_MS, hourKey, hourStartMs, parseHourKey } from '../hours/hour.js';
import type { JobConfig } from '../job/config.js';
import type { PartitionOffsets } from '../kafka/client.js';
import type { CommittedOffsets } from './commit.js';
import { loadCompletenessState, type TopicCompleteness } from './completeness-state.js';
import { failPoint } from './failpoints.js';
import type { PartitionResult } from './partition-result.js';
import {
  listNumbered,
  padOffset,
  pruneNumbered,
  readJson,
  type StatePaths,
  writeJsonAtomically,
} from './state-store.js';
import type { TopicPlan } from './topic-plan.js';

/**
 * Guarantee 6, with its I/O: after a run's commits, decide which hours of a topic are complete,
 * write each one's `_IMPORTED` (with counts) and queue its Hive partition-add job, then save the
 * state. Each step is idempotent (`_IMPORTED` is never overwritten, job ids are deterministic), so
 * a crash between them followed by a rerun announces every hour exactly once.
 */
export interface Announcer {
  afterCommits(
    plan: TopicPlan,
    snapshot: PartitionOffsets[],
    results: PartitionResult[],
  ): Promise<{ hours: string[]; announcedThrough: string | null; late: Record<string, number> }>;
  close(): Promise<void>;
}

export interface AnnouncerOptions {
  job: JobConfig;
  fs: FileSystem;
  paths: StatePaths;
  redis: Redis;
  log: Logger;
  now?: () => number;
  /**
   * The LOCATION Hive resolves for an hour directory of the job's file system (`hiveLocation` in
   * src/hive/ddl.ts: the path for HDFS, a file:// URI for a local directory). @defaultValue the path
   */
  hiveLocationOf?: (path: string) => string;
}

export function createAnnouncer(options: AnnouncerOptions): Announcer {
  const { job, fs, paths, log } = options;
  const now = options.now ?? Date.now;
  let queue: HiveJobQueue | undefined;
  const hiveQueue = () => {
    queue ??= openHiveJobQueue(options.redis, job.name);
    return queue;
  };

  return {
    async afterCommits(plan, snapshot, _results) {
      const state = await loadCompletenessState(fs, paths, plan.topic);
      const progress: PartitionProgress[] = [];
      let firstMs: number | undefined;
      for (const offsets of snapshot) {
        const committed = await newCommits(fs, paths, plan.topic, offsets.partition, state);
        for (const commit of committed.newer) countCommit(state, commit);
        const endOffset = committed.last === undefined ? offsets.earliest : BigInt(committed.last.endOffset);
        const earliestMs = committed.last?.earliestMs;
        if (earliestMs !== undefined && earliestMs !== null)
          firstMs = Math.min(firstMs ?? earliestMs, earliestMs);
        if (endOffset > offsets.latest) {
          // Committed past the log end (topic recreated, log truncated): the partition task fails with
          // the offsets named; here it holds every hour back until an operator resets its offsets.
          log.warn(
            { topic: plan.topic, partition: offsets.partition, committed: endOffset, logEnd: offsets.latest },
            'partition committed past its log end: no hour is announced until its offsets are reset',
          );
          progress.push({ partition: offsets.partition, reachedMs: null, caughtUp: false });
          continue;
        }
        progress.push({
          partition: offsets.partition,
          reachedMs: committed.last?.reachedMs ?? null,
          caughtUp: endOffset === offsets.latest,
        });
      }

      const earliestPending = Object.keys(state.pendingCounts).sort()[0];
      const decision = nextAnnouncements(state.engine, progress, now(), {
        idleGraceMs: job.completeness.idleGraceSeconds * 1000,
        ...(job.completeness.startHour === undefined
          ? {}
          : { startMs: Date.parse(job.completeness.startHour) }),
        ...(firstMs === undefined ? {} : { firstMs }),
        ...(earliestPending === undefined
          ? {}
          : { earliestPendingMs: hourStartMs(parseHourKey(earliestPending)) }),
      });
      const announced: string[] = [];
      for (const bucket of decision.hours) {
        const key = hourKey(bucket);
        const hourIndex = Math.floor(hourStartMs(bucket) / HOUR_MS);
        const dir = plan.hourDir(hourIndex);
        const records = state.pendingCounts[key] ?? 0;
        await fs.mkdirs(dir);
        try {
          const flag = { topic: plan.topic, hour: key, records, announcedAt: new Date(now()).toISOString() };
          await fs.writeFile(`${dir}/_IMPORTED`, `${JSON.stringify(flag)}\n`);
        } catch (error) {
          if (!isMwiError(error, 'MWI_FS_ALREADY_EXISTS')) throw error;
        }
        failPoint('imported-written');
        await hiveQueue().add(
          partitionAddJobOf(job, plan.topic, bucket, dir, options.hiveLocationOf?.(dir) ?? dir),
        );
        delete state.pendingCounts[key];
        state.announced.push({ hour: key, records, at: new Date(now()).toISOString() });
        announced.push(key);
      }
      state.engine = decision.state;
      state.announcedThrough = decision.state.announcedThrough;
      const late = lateBeforeFirstHour(state);
      if (Object.keys(late).length > 0) {
        log.warn(
          { topic: plan.topic, late, firstHour: announced[0] },
          'records older than the first announced hour are written and counted as late',
        );
      }
      state.announced = state.announced.slice(-2000);
      state.sequence += 1;
      state.updatedAt = new Date(now()).toISOString();
      const dir = paths.completeness(plan.topic);
      await writeJsonAtomically(fs, `${dir}/${padOffset(BigInt(state.sequence))}.json`, state);
      failPoint('announced');
      await pruneNumbered(fs, dir, 20);
      if (announced.length > 0) {
        log.info(
          { topic: plan.topic, hours: announced.length, through: state.announcedThrough },
          'announced complete hours',
        );
      }
      return { hours: announced, announcedThrough: state.announcedThrough, late };
    },
    async close() {
      await queue?.close();
    },
  };
}

/** Offsets documents of a partition committed since the state last counted them. */
async function newCommits(
  fs: FileSystem,
  paths: StatePaths,
  topic: string,
  partition: number,
  state: TopicCompleteness,
): Promise<{ newer: CommittedOffsets[]; last: CommittedOffsets | undefined }> {
  const dir = paths.offsets(topic, partition);
  const names = await listNumbered(fs, dir);
  const counted = state.countedThrough[String(partition)];
  const countedName = counted === undefined ? '' : `${padOffset(BigInt(counted))}.json`;
  const newer: CommittedOffsets[] = [];
  for (const name of names) {
    if (name <= countedName) continue;
    newer.push(await readJson<CommittedOffsets>(fs, `${dir}/${name}`));
  }
  const lastName = names.at(-1);
  const last =
    newer.at(-1) ??
    (lastName === undefined ? undefined : await readJson<CommittedOffsets>(fs, `${dir}/${lastName}`));
  return { newer, last };
}

/**
 * Records counted for hours at or before the announced-through hour that were never announced: the
 * hours before a topic's first hour (a stray old record). They move from pending to late.
 */
function lateBeforeFirstHour(state: TopicCompleteness): Record<string, number> {
  const late: Record<string, number> = {};
  const through = state.announcedThrough;
  if (through === null) return late;
  for (const [hour, records] of Object.entries(state.pendingCounts)) {
    if (hour > through) continue;
    late[hour] = records;
    state.late[hour] = (state.late[hour] ?? 0) + records;
    delete state.pendingCounts[hour];
  }
  return late;
}

function countCommit(state: TopicCompleteness, commit: CommittedOffsets): void {
  const announcedThrough = state.announcedThrough;
  for (const [hour, records] of Object.entries(commit.hours)) {
    if (announcedThrough !== null && hour <= announcedThrough) {
      state.late[hour] = (state.late[hour] ?? 0) + records;
    } else {
      state.pendingCounts[hour] = (state.pendingCounts[hour] ?? 0) + records;
    }
  }
  state.countedThrough[String(commit.partition)] = commit.endOffset;
}
