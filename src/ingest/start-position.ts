import { MwiError } from '../errors.js';
import type { FileSystem } from '../hdfs/filesystem.js';
import { HOUR_MS, hourKey, hourOf } from '../hours/hour.js';
import type { KafkaSource, PartitionOffsets } from '../kafka/client.js';
import {
  describeTarget,
  type OffsetTarget,
  parseOffsetTarget,
  resolveOffsetTarget,
} from '../kafka/offset-target.js';
import { kafkaTimeMs } from '../kafka/timestamp.js';
import { listNumbered, type StatePaths } from './state-store.js';
import type { TopicPlan } from './topic-plan.js';

/**
 * Where a partition that was never committed starts (the job's `startPosition`, or
 * `mwingest run --start-position`): the log start, the log end, a time, or `after-imported`, the
 * cut-over from Camus into the same directories.
 *
 * `after-imported` finds the topic's first hour without `_IMPORTED` (walking up from the hour of the
 * oldest record Kafka still holds), starts each partition at the first offset whose Kafka timestamp is
 * an hour before it, and gives the partition a cut-over rule: until the log end as it was at that
 * moment, a record whose hour is before that first unflagged hour and flagged `_IMPORTED` is skipped
 * and counted as already imported, never written a second time. Records produced after the cut-over
 * were never read by Camus and are written as usual.
 */
export type StartPosition = Exclude<OffsetTarget, { kind: 'offset' }> | { kind: 'after-imported' };

/** Kafka timestamps of an hour's records may run a little behind their own times (producer clocks). */
export const CUTOVER_MARGIN_MS = HOUR_MS;

/** The job key's or the flag's text; undefined when it is none of the accepted forms. */
export function parseStartPosition(text: string): StartPosition | undefined {
  if (text.trim() === 'after-imported') return { kind: 'after-imported' };
  return parseOffsetTarget(text, { offsets: false }) as StartPosition | undefined;
}

export function startPositionOf(text: string): StartPosition {
  const position = parseStartPosition(text);
  if (position === undefined) {
    throw new MwiError(
      'MWI_USAGE',
      `start position "${text}": expected earliest, latest, after-imported or an ISO-8601 time such as 2026-12-07T14:00:00Z`,
    );
  }
  return position;
}

export function describeStartPosition(position: StartPosition): string {
  return position.kind === 'after-imported' ? 'after-imported' : describeTarget(position);
}

/** Records of hours imported before the cut-over are skipped while the offset is below `throughOffset`. */
export interface CutoverRule {
  /** The topic's first hour without `_IMPORTED` at the cut-over (hour key); only earlier hours are skipped. */
  firstUnflaggedHour: string;
  /** The log end at the cut-over: later records were never read by the system that wrote the flags. */
  throughOffset: string;
}

export interface StartDecision {
  offset: bigint;
  position: string;
  cutover?: CutoverRule;
}

export interface StartSources {
  fs: FileSystem;
  source: KafkaSource;
}

// One decision per topic plan (a run's partitions of a topic share it).
const decisions = new WeakMap<TopicPlan, Map<string, Promise<Map<number, StartDecision>>>>();

/** Per partition of the topic, where it starts when it was never committed. */
export function decideStarts(
  sources: StartSources,
  plan: TopicPlan,
  logs: PartitionOffsets[],
  position: StartPosition,
): Promise<Map<number, StartDecision>> {
  let byPosition = decisions.get(plan);
  if (byPosition === undefined) {
    byPosition = new Map();
    decisions.set(plan, byPosition);
  }
  const key = describeStartPosition(position);
  let decided = byPosition.get(key);
  if (decided === undefined) {
    decided = decide(sources, plan, logs, position);
    decided.catch(() => byPosition.delete(key));
    byPosition.set(key, decided);
  }
  return decided;
}

async function decide(
  sources: StartSources,
  plan: TopicPlan,
  logs: PartitionOffsets[],
  position: StartPosition,
): Promise<Map<number, StartDecision>> {
  const text = describeStartPosition(position);
  if (position.kind !== 'after-imported') {
    const offsets = await resolveOffsetTarget(sources.source, plan.topic, logs, position);
    return new Map([...offsets].map(([partition, offset]) => [partition, { offset, position: text }]));
  }
  const oldest = await oldestRecordMs(sources.source, plan.topic, logs);
  const result = new Map<number, StartDecision>();
  if (oldest === undefined) {
    for (const log of logs) result.set(log.partition, { offset: log.earliest, position: text });
    return result;
  }
  const first = await firstUnflaggedHour(
    sources.fs,
    plan,
    Math.floor((oldest - CUTOVER_MARGIN_MS) / HOUR_MS),
  );
  if (first === undefined) {
    // Nothing Kafka holds was imported: everything is read.
    for (const log of logs)
      result.set(log.partition, { offset: log.earliest, position: `${text} (no hour imported)` });
    return result;
  }
  const from = first * HOUR_MS - CUTOVER_MARGIN_MS;
  const offsets = await resolveOffsetTarget(sources.source, plan.topic, logs, {
    kind: 'time',
    ms: from,
    text: new Date(from).toISOString(),
  });
  const firstKey = hourKey(hourOf(first * HOUR_MS));
  for (const log of logs) {
    result.set(log.partition, {
      offset: offsets.get(log.partition) ?? log.earliest,
      position: `${text} (first hour not imported: ${firstKey})`,
      cutover: { firstUnflaggedHour: firstKey, throughOffset: log.latest.toString() },
    });
  }
  return result;
}

/** The Kafka timestamp of the oldest record still in the topic; undefined when every partition is empty. */
async function oldestRecordMs(
  source: KafkaSource,
  topic: string,
  logs: PartitionOffsets[],
): Promise<number | undefined> {
  let oldest: number | undefined;
  for (const log of logs) {
    if (log.earliest >= log.latest) continue;
    const range = { topic, partition: log.partition, from: log.earliest, to: log.latest };
    const controller = new AbortController();
    for await (const batch of source.read(range, controller.signal)) {
      const first = batch.map((record) => kafkaTimeMs(record.timestamp)).find((ms) => ms !== undefined);
      if (first !== undefined) {
        oldest = Math.min(oldest ?? first, first);
        controller.abort();
        break;
      }
    }
  }
  return oldest;
}

/** Walks up from `fromHour` (an hour index) to the first hour whose directory has no `_IMPORTED`. */
async function firstUnflaggedHour(
  fs: FileSystem,
  plan: TopicPlan,
  fromHour: number,
): Promise<number | undefined> {
  const now = Math.floor(Date.now() / HOUR_MS);
  const flagged = (hour: number) => fs.exists(`${plan.hourDir(hour)}/_IMPORTED`);
  let hour = fromHour;
  // Hours before the first flagged one (the margin, stray old records) are not imported ones.
  while (hour <= now && !(await flagged(hour))) hour += 1;
  if (hour > now) return undefined;
  while (hour <= now && (await flagged(hour))) hour += 1;
  return hour;
}

/**
 * The skip test of a cut-over rule for one partition task: whether a record at `offset` of hour
 * `hourIndex` was imported before the cut-over. Flags are looked up once per hour.
 */
export function importedBefore(
  fs: FileSystem,
  plan: TopicPlan,
  rule: CutoverRule,
): (offset: bigint, hourIndex: number) => boolean | Promise<boolean> {
  const through = BigInt(rule.throughOffset);
  const first = Math.floor(Date.parse(`${rule.firstUnflaggedHour}:00:00Z`) / HOUR_MS);
  const flagged = new Map<number, boolean>();
  return (offset, hourIndex) => {
    if (offset >= through || hourIndex >= first) return false;
    const known = flagged.get(hourIndex);
    if (known !== undefined) return known;
    return fs.exists(`${plan.hourDir(hourIndex)}/_IMPORTED`).then((yes) => {
      flagged.set(hourIndex, yes);
      return yes;
    });
  };
}

/** Where each partition of a topic would start now: its committed offset, else its start position. */
export async function previewStarts(
  sources: StartSources & { paths: StatePaths },
  plan: TopicPlan,
  logs: PartitionOffsets[],
  position: StartPosition,
): Promise<{ partition: number; offset: string; from: string }[]> {
  const starts: { partition: number; offset: string; from: string }[] = [];
  let decided: Map<number, StartDecision> | undefined;
  for (const log of logs) {
    const newest = (await listNumbered(sources.fs, sources.paths.offsets(plan.topic, log.partition))).at(-1);
    if (newest !== undefined) {
      starts.push({
        partition: log.partition,
        offset: BigInt(newest.slice(0, -5)).toString(),
        from: 'committed offset',
      });
      continue;
    }
    decided ??= await decideStarts(sources, plan, logs, position);
    const decision = decided.get(log.partition)!;
    starts.push({
      partition: log.partition,
      offset: decision.offset.toString(),
      from: `start position ${decision.position}`,
    });
  }
  return starts;
}
