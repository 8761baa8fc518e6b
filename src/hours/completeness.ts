import { HOUR_MS, type HourBucket, hourKey, hourOf, hourStartMs, parseHourKey } from './hour.js';

/**
 * When is an hour of a topic complete? When every partition has moved past it: the topic's
 * watermark is the minimum over partitions of the progress each has committed (as Wikimedia's
 * Camus partition checker computed it, but from the newest time on which a record's own time and
 * its Kafka timestamp agree, so one record with a skewed clock cannot move it), capped by the
 * clock, and every hour that ends at or before the watermark is complete.
 *
 * A partition that is caught up (its committed offset reached the high watermark snapshotted at the
 * start of the run) counts as having reached at least `now − idleGrace`, so an idle partition does
 * not hold hours back forever. A partition that has never committed anything and is not caught up
 * holds everything back.
 *
 * Hours are announced in order, each once: from the first hour (the job's `startHour`, else the
 * topic's oldest time on which records and Kafka agree, else the first hour with data) up to the
 * watermark, including hours with no data at all. An hour that has not ended by the clock is never
 * announced, whatever the records say.
 *
 * This module is pure; `announcer.ts` does the I/O.
 */
export interface CompletenessState {
  /** Newest announced hour key, or null before the first announcement. */
  announcedThrough: string | null;
}

export interface PartitionProgress {
  partition: number;
  /** Newest record time committed on the partition (epoch ms), or null when nothing was. */
  reachedMs: number | null;
  /** The committed offset is at the high watermark snapshotted for this run. */
  caughtUp: boolean;
}

export interface CompletenessOptions {
  /** A caught-up partition counts as having reached now minus this. */
  idleGraceMs: number;
  /** Never announce hours before the one containing this time. */
  startMs?: number;
  /**
   * The topic's oldest time, from Kafka (see `earliestMs` of a commit): the first hour when nothing
   * was announced yet and no start hour is set. Older records are written and counted as late.
   */
  firstMs?: number;
  /** Earliest hour (epoch ms in it) that has committed data not yet announced: the first hour without `firstMs`. */
  earliestPendingMs?: number;
}

export interface Announcements {
  /** Hours that became complete now, oldest first. */
  hours: HourBucket[];
  state: CompletenessState;
  /** The watermark used (epoch ms), or null when some partition holds everything back. */
  watermarkMs: number | null;
}

export function initialCompletenessState(): CompletenessState {
  return { announcedThrough: null };
}

/** The topic's watermark: min over partitions of the time each has reached. */
export function topicWatermark(
  progress: PartitionProgress[],
  nowMs: number,
  idleGraceMs: number,
): number | null {
  if (progress.length === 0) return null;
  let watermark = Number.POSITIVE_INFINITY;
  for (const p of progress) {
    let reached = p.reachedMs;
    if (p.caughtUp) reached = Math.max(reached ?? Number.NEGATIVE_INFINITY, nowMs - idleGraceMs);
    if (reached === null) return null;
    watermark = Math.min(watermark, reached);
  }
  return watermark;
}

export function nextAnnouncements(
  state: CompletenessState,
  progress: PartitionProgress[],
  nowMs: number,
  options: CompletenessOptions,
): Announcements {
  const reachedMs = topicWatermark(progress, nowMs, options.idleGraceMs);
  if (reachedMs === null) return { hours: [], state, watermarkMs: reachedMs };
  const watermarkMs = Math.min(reachedMs, nowMs);

  // The first hour still to announce.
  let fromMs: number | undefined;
  if (state.announcedThrough !== null) fromMs = hourStartMs(parseHourKey(state.announcedThrough)) + HOUR_MS;
  else if (options.startMs !== undefined) fromMs = floorHour(options.startMs);
  else if (options.firstMs !== undefined) fromMs = floorHour(options.firstMs);
  else if (options.earliestPendingMs !== undefined) fromMs = floorHour(options.earliestPendingMs);
  if (fromMs === undefined) return { hours: [], state, watermarkMs };
  if (options.startMs !== undefined) fromMs = Math.max(fromMs, floorHour(options.startMs));

  const hours: HourBucket[] = [];
  // An hour [start, start + 1 h) is complete once the watermark reaches its end.
  for (let start = fromMs; start + HOUR_MS <= watermarkMs; start += HOUR_MS) hours.push(hourOf(start));
  const last = hours.at(-1);
  return {
    hours,
    state: last === undefined ? state : { ...state, announcedThrough: hourKey(last) },
    watermarkMs,
  };
}

function floorHour(ms: number): number {
  return Math.floor(ms / HOUR_MS) * HOUR_MS;
}
