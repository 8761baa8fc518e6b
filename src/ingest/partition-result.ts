import { describeError, type ErrorCode, isMwiError } from '../errors.js';
import type { AbsentRange, ManifestFile, PartitionCounts } from './commit.js';

/** One topic-partition's share of a run: what `ingestPartition` is asked to do. */
export interface PartitionTask {
  topic: string;
  partition: number;
  /** Log start offset when the run started. */
  earliest: bigint;
  /** High watermark snapshotted when the run started: nothing at or after it is read. */
  endOffset: bigint;
}

export type PartitionStatus = 'committed' | 'up-to-date' | 'failed';

export interface PartitionResult {
  topic: string;
  partition: number;
  status: PartitionStatus;
  startOffset: string;
  endOffset: string;
  /** High watermark at run start. */
  highWatermark: string;
  counts: PartitionCounts;
  /** `end − start = written + errors + absent + expired`, with the numbers. */
  equation: string;
  expiredRange?: { from: string; to: string };
  /** The first ranges Kafka skipped, each with its reason (`counts.absent` counts them all). */
  absentRanges?: AbsentRange[];
  files: number;
  hours: Record<string, number>;
  lateHours: Record<string, number>;
  revisions: Record<string, number>;
  bytesRead: number;
  /** Bytes of the hour files committed (error files not included). */
  bytesWritten: number;
  reachedMs: number | null;
  /** The committed offset equals the high watermark snapshot. */
  caughtUp: boolean;
  token: number;
  error?: { code: ErrorCode; message: string; canRetry: boolean };
}

/** What a partition task has done so far, as far as its result tells. */
export interface PartitionProgress {
  start: bigint;
  end: bigint;
  counts: PartitionCounts;
  expiredRange?: { from: string; to: string };
  absentRanges: AbsentRange[];
  hourCounts: Record<string, number>;
  lateHours: Record<string, number>;
  /** Records per writer revision (counted by id; strings only in the manifest and report). */
  revisions: Map<bigint, number>;
  reachedMs: number | null;
  bytesRead: number;
}

/** Records per writer revision, keyed by the revision's decimal string. */
export function revisionCounts(progress: PartitionProgress): Record<string, number> {
  return Object.fromEntries([...progress.revisions].map(([revision, n]) => [revision.toString(), n]));
}

/** `end − start = written + errors + absent + expired (+ already imported)`, with the numbers. */
export function equationOf(progress: PartitionProgress): string {
  const { counts } = progress;
  const span = progress.end - progress.start;
  const expired = counts.expired > 0 ? ` + ${counts.expired} expired` : '';
  const imported = counts.imported ? ` + ${counts.imported} already imported` : '';
  return (
    `${progress.end} − ${progress.start} = ${span}; ${counts.written} written + ${counts.errors} errors + ` +
    `${counts.absent} absent${expired}${imported} = ${accountedOf(counts)}`
  );
}

/** Offsets a range's counts account for: every offset is written, an error, absent, expired or already imported. */
export function accountedOf(counts: PartitionCounts): number {
  return counts.written + counts.errors + counts.absent + counts.expired + (counts.imported ?? 0);
}

/** The result of a task that got as far as `progress`; `token` is its lease's fencing token. */
export function resultOf(
  task: PartitionTask,
  progress: PartitionProgress,
  status: PartitionStatus,
  token: number,
  files: readonly ManifestFile[] = [],
): PartitionResult {
  return {
    topic: task.topic,
    partition: task.partition,
    status,
    startOffset: progress.start.toString(),
    endOffset: progress.end.toString(),
    highWatermark: task.endOffset.toString(),
    counts: { ...progress.counts },
    equation: equationOf(progress),
    ...(progress.expiredRange ? { expiredRange: progress.expiredRange } : {}),
    ...(progress.absentRanges.length > 0 ? { absentRanges: progress.absentRanges } : {}),
    files: files.length,
    hours: progress.hourCounts,
    lateHours: progress.lateHours,
    revisions: revisionCounts(progress),
    bytesRead: progress.bytesRead,
    bytesWritten: files.reduce((sum, file) => (file.kind === 'data' ? sum + file.bytes : sum), 0),
    reachedMs: progress.reachedMs,
    caughtUp: status !== 'failed' && progress.end === task.endOffset,
    token,
  };
}

/** A partition that failed before it could be read (recovery or lease errors). */
export function failedBeforeStart(task: PartitionTask, error: unknown): PartitionResult {
  return {
    topic: task.topic,
    partition: task.partition,
    status: 'failed',
    startOffset: '',
    endOffset: '',
    highWatermark: task.endOffset.toString(),
    counts: { read: 0, written: 0, errors: 0, absent: 0, expired: 0, late: 0 },
    equation: 'not started',
    files: 0,
    hours: {},
    lateHours: {},
    revisions: {},
    bytesRead: 0,
    bytesWritten: 0,
    reachedMs: null,
    caughtUp: false,
    token: 0,
    error: partitionErrorOf(error),
  };
}

/** What a result says about the error a task failed with. */
export function partitionErrorOf(error: unknown): NonNullable<PartitionResult['error']> {
  return {
    code: isMwiError(error) ? error.code : 'MWI_INTERNAL',
    message: describeError(error),
    canRetry: isMwiError(error) && error.canRetry,
  };
}
