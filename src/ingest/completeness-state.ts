import type { FileSystem } from '../hdfs/filesystem.js';
import { type CompletenessState, initialCompletenessState } from '../hours/completeness.js';
import { listNumbered, readJson, type StatePaths } from './state-store.js';

/**
 * A topic's completeness state document, `<state>/<job>/completeness/<topic>/<sequence>.json`: what
 * the announcer (announcer.ts) has announced and counted so far. The topic plan reads it for the
 * announced-through hour (records at or before it are late), `mwingest status` for the pending hours.
 */
export interface TopicCompleteness {
  topic: string;
  /** Bumped on every save; names the state document. */
  sequence: number;
  /** The pure completeness state (announced-through, first hour). */
  engine: CompletenessState;
  announcedThrough: string | null;
  /** Per partition, the end offset of the last commit whose counts are included below. */
  countedThrough: Record<string, string>;
  /** Records per hour not yet announced. */
  pendingCounts: Record<string, number>;
  /** Late records per announced hour. */
  late: Record<string, number>;
  /** The most recent announcements, newest last. */
  announced: { hour: string; records: number; at: string }[];
  updatedAt: string;
}

/** The newest saved state of `topic`, or the initial one when none was saved yet. */
export async function loadCompletenessState(
  fs: FileSystem,
  paths: StatePaths,
  topic: string,
): Promise<TopicCompleteness> {
  const dir = paths.completeness(topic);
  const newest = (await listNumbered(fs, dir)).at(-1);
  if (newest !== undefined) return readJson<TopicCompleteness>(fs, `${dir}/${newest}`);
  const engine = initialCompletenessState();
  return {
    topic,
    sequence: 0,
    engine,
    announcedThrough: null,
    countedThrough: {},
    pendingCounts: {},
    late: {},
    announced: [],
    updatedAt: new Date(0).toISOString(),
  };
}
