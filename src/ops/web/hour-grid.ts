import { HOUR_MS, hourKey, hourOf } from '../../hours/hour.js';
import type { JobStatus, TopicState } from '../status.js';

/**
 * The page an operator opens first: for each hour and topic, is the hour complete (`_IMPORTED`
 * written and its Hive partition added), pending (data committed but the hour not complete yet, or
 * its partition add still queued or retrying), late (complete, but records arrived after it was
 * announced) or failed (its partition add failed for good)? Pure: built from a {@link JobStatus}.
 */
export type HourCellState = 'complete' | 'pending' | 'late' | 'failed' | 'empty';

export interface HourCell {
  state: HourCellState;
  /** For a pending hour: what it waits for. */
  waitingFor?: 'completeness' | 'hive';
  /** Records committed for the hour (as counted when announced, or so far). */
  records: number;
  late: number;
  /** One sentence for the tooltip. */
  detail: string;
}

export interface HourGrid {
  /** Hour keys, newest first. */
  hours: string[];
  topics: string[];
  cells: Map<string, Map<string, HourCell>>;
  totals: Record<HourCellState, number>;
}

export function hourGrid(status: JobStatus, options: { hours?: number; now?: number } = {}): HourGrid {
  const now = options.now ?? Date.parse(status.at);
  const count = options.hours ?? 48;
  const current = Math.floor(now / HOUR_MS) * HOUR_MS;
  const hours = Array.from({ length: count }, (_, i) => hourKey(hourOf(current - i * HOUR_MS)));
  const currentKey = hours[0]!;
  const hive = new Map<string, { state: string; reason: string | undefined }>();
  for (const item of status.partitionJobs?.pending ?? [])
    hive.set(`${item.topic} ${item.hour}`, { state: item.state, reason: item.reason });
  const totals: Record<HourCellState, number> = { complete: 0, pending: 0, late: 0, failed: 0, empty: 0 };
  const cells = new Map<string, Map<string, HourCell>>();
  for (const topic of status.topics) {
    const row = new Map<string, HourCell>();
    const announced = new Map(topic.announced.map((a) => [a.hour, a.records]));
    for (const hour of hours) {
      const cell = cellOf(topic, hour, announced, hive.get(`${topic.topic} ${hour}`), hour === currentKey);
      totals[cell.state] += 1;
      row.set(hour, cell);
    }
    cells.set(topic.topic, row);
  }
  return { hours, topics: status.topics.map((t) => t.topic), cells, totals };
}

function cellOf(
  topic: TopicState,
  hour: string,
  announced: Map<string, number>,
  hive: { state: string; reason: string | undefined } | undefined,
  isCurrentHour: boolean,
): HourCell {
  const late = topic.late[hour] ?? 0;
  // Every announced hour is in the list, those without data too; hours before the first one never were.
  const isAnnounced = announced.has(hour);
  const records = isAnnounced ? (announced.get(hour) ?? 0) : (topic.pendingHours[hour] ?? 0);
  if (hive?.state === 'failed') {
    return {
      state: 'failed',
      records,
      late,
      detail: `the Hive partition add failed for good: ${hive.reason ?? 'no reason recorded'}`,
    };
  }
  if (isAnnounced) {
    if (hive !== undefined) {
      const why = hive.reason === undefined ? '' : ` (last failure: ${hive.reason})`;
      return {
        state: 'pending',
        waitingFor: 'hive',
        records,
        late,
        detail: `complete (_IMPORTED written); Hive partition add ${hive.state}${why}`,
      };
    }
    if (late > 0) {
      return {
        state: 'late',
        records,
        late,
        detail: `complete, but ${late} record(s) arrived after the hour was announced`,
      };
    }
    return {
      state: 'complete',
      records,
      late,
      detail: `complete: ${records} record(s), _IMPORTED written, partition add done`,
    };
  }
  if (records > 0) {
    return {
      state: 'pending',
      waitingFor: 'completeness',
      records,
      late,
      detail: `${records} record(s) committed; waiting for every partition to move past the hour`,
    };
  }
  if (!isCurrentHour && topic.lastCompleteHour !== null && hour > topic.lastCompleteHour) {
    return {
      state: 'pending',
      waitingFor: 'completeness',
      records,
      late,
      detail: 'no records yet; waiting for every partition to move past the hour',
    };
  }
  return {
    state: 'empty',
    records,
    late,
    detail: isCurrentHour ? 'the current hour' : 'no data, nothing announced',
  };
}
