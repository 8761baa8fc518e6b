import type { Logger } from 'pino';
import { describeError, isMwiError, MwiError } from '../errors.js';
import type { FileSystem } from '../hdfs/filesystem.js';
import { HOUR_MS } from '../hours/hour.js';
import type { JobConfig } from '../job/config.js';
import type { Lease } from '../job/lease.js';
import type { KafkaRecord, KafkaSource } from '../kafka/client.js';
import { kafkaTimeMs } from '../kafka/timestamp.js';
import type { MessageCodec } from '../schemas/codec.js';
import type { ErrorRecordCode } from '../writers/error-file.js';
import { HourFiles } from '../writers/hour-files.js';
import {
  type AbsentRange,
  type AttemptOf,
  applyManifest,
  assertNoNewerAttempt,
  type CommitManifest,
  type CommittedOffsets,
  claimManifest,
  discardUnclaimed,
  MANIFEST_VERSION,
  type ManifestFile,
  type PartitionCounts,
  pruneCommitHistory,
  recoverPartition,
  removeSupersededAttempts,
} from './commit.js';
import { failPoint } from './failpoints.js';
import {
  accountedOf,
  equationOf,
  type PartitionProgress,
  type PartitionResult,
  type PartitionTask,
  partitionErrorOf,
  resultOf,
  revisionCounts,
} from './partition-result.js';
import { type CutoverRule, decideStarts, importedBefore, type StartPosition } from './start-position.js';
import type { StatePaths } from './state-store.js';
import { writeJsonAtomically } from './state-store.js';
import { decodeMessage, type TopicPlan } from './topic-plan.js';

/**
 * One topic-partition of one run: read [resume offset, end offset), write hour files, commit.
 * Each state of the writer is one function below; `ingestPartition` walks them in order:
 *
 *   recovering → planning → writing → closed → checked → manifest written → committed
 */

export interface PartitionTaskContext {
  job: JobConfig;
  fs: FileSystem;
  paths: StatePaths;
  source: KafkaSource;
  codec: MessageCodec;
  plan: TopicPlan;
  runId: string;
  lease: Lease;
  log: Logger;
  signal?: AbortSignal;
  /** Wall-clock deadline for reading (epoch ms), from `limits.maxRunSeconds`. */
  readDeadline?: number;
  /** Called after each batch with the records and bytes just read. */
  onProgress?: (records: number, bytes: number) => void;
  /** Where the partition starts when it was never committed. @defaultValue earliest */
  startPosition?: StartPosition;
}

interface Progress extends PartitionProgress {
  /** Oldest time on which a committed record's own time and Kafka's time agree (see `agreedTimes`). */
  earliestMs: number | null;
  /** This attempt: its temp directory and the point its commit claims. */
  attempt: AttemptOf;
  /** The next offset the read expects. */
  expected: bigint;
  /** The hour files and the error file being written. */
  files: HourFiles;
  /** A cut-over's rule still in force for this range, and its skip test. */
  cutover?: CutoverRule;
  importedBefore?: (offset: bigint, hourIndex: number) => boolean | Promise<boolean>;
}

export async function ingestPartition(
  ctx: PartitionTaskContext,
  task: PartitionTask,
): Promise<PartitionResult> {
  const recovered = await recovering(ctx, task);
  const planned = planning(ctx, task, recovered.resumeOffset, recovered.last?.reachedMs ?? null);
  if ('progress' in planned) planned.progress.earliestMs = recovered.last?.earliestMs ?? null;
  if ('result' in planned) return planned.result;
  const progress = planned.progress;
  const cutover = recovered.last?.cutover;
  if (cutover !== undefined && progress.start < BigInt(cutover.throughOffset)) {
    progress.cutover = cutover;
    progress.importedBefore = importedBefore(ctx.fs, ctx.plan, cutover);
  }
  try {
    await writing(ctx, task, progress);
    const files = await closing(progress);
    checking(ctx, task, progress);
    const manifest = await writingManifest(ctx, task, progress, files);
    await committing(ctx, progress.attempt, manifest);
    return resultOf(task, progress, 'committed', ctx.lease.token, files);
  } catch (error) {
    await abandon(ctx, progress);
    const result = resultOf(task, progress, 'failed', ctx.lease.token);
    result.error = partitionErrorOf(error);
    if (isMwiError(error) && !error.canRetry && error.code !== 'MWI_RUN_ERROR_RATIO') {
      ctx.log.error({ err: error, topic: task.topic, partition: task.partition }, 'partition failed');
    }
    return result;
  }
}

/** recovering: roll forward what a crashed owner left, find the resume offset. */
async function recovering(ctx: PartitionTaskContext, task: PartitionTask) {
  const recovery = await recoverPartition(ctx.fs, ctx.paths, task.topic, task.partition, {
    runId: ctx.runId,
    token: ctx.lease.token,
  });
  if (recovery.staleClaims.length > 0) {
    ctx.log.warn(
      { topic: task.topic, partition: task.partition, manifests: recovery.staleClaims },
      'removed claims of stale owners that did not continue the committed offsets',
    );
  }
  if (recovery.rolledForward.length > 0) {
    ctx.log.warn(
      { topic: task.topic, partition: task.partition, manifests: recovery.rolledForward },
      'rolled forward commits a crashed run had started',
    );
  }
  if (recovery.resumeOffset !== undefined || ctx.startPosition === undefined) return recovery;
  if (ctx.startPosition.kind === 'earliest') return recovery;
  const marker = await writingStartPosition(ctx, task, ctx.startPosition);
  return { ...recovery, resumeOffset: BigInt(marker.endOffset), last: marker };
}

/**
 * A partition never committed, with a start position other than the log start: its decision is
 * written as the partition's first offsets document before anything is read, so the next run
 * starts from the same place even when this one commits nothing (`latest` on an idle partition).
 */
async function writingStartPosition(
  ctx: PartitionTaskContext,
  task: PartitionTask,
  position: StartPosition,
): Promise<CommittedOffsets> {
  const logs = await ctx.source.partitionOffsets(task.topic);
  const decision = (await decideStarts(ctx, ctx.plan, logs, position)).get(task.partition);
  if (decision === undefined) {
    throw new MwiError('MWI_KAFKA_PROTOCOL', `Kafka did not list ${task.topic}/${task.partition}`);
  }
  await ctx.lease.assertHeld();
  const now = new Date().toISOString();
  const marker: CommittedOffsets = {
    version: MANIFEST_VERSION,
    job: ctx.job.name,
    runId: ctx.runId,
    topic: task.topic,
    partition: task.partition,
    owner: ctx.lease.owner,
    token: ctx.lease.token,
    startOffset: decision.offset.toString(),
    endOffset: decision.offset.toString(),
    files: [],
    counts: { read: 0, written: 0, errors: 0, absent: 0, expired: 0, late: 0 },
    hours: {},
    lateHours: {},
    revisions: {},
    reachedMs: null,
    createdAt: now,
    committedAt: now,
    startPosition: decision.position,
    ...(decision.cutover === undefined ? {} : { cutover: decision.cutover }),
  };
  await writeJsonAtomically(
    ctx.fs,
    ctx.paths.offsetFile(task.topic, task.partition, decision.offset),
    marker,
  );
  ctx.log.info(
    { topic: task.topic, partition: task.partition, offset: marker.startOffset, position: decision.position },
    'partition starts at its start position',
  );
  return marker;
}

/** planning: the range to read, and what to do about offsets that expired before we got to them. */
function planning(
  ctx: PartitionTaskContext,
  task: PartitionTask,
  resumeOffset: bigint | undefined,
  reachedMs: number | null,
): { progress: Progress } | { result: PartitionResult } {
  const counts: PartitionCounts = { read: 0, written: 0, errors: 0, absent: 0, expired: 0, late: 0 };
  if (resumeOffset !== undefined && resumeOffset > task.endOffset) {
    const progress = emptyProgress(ctx, task, resumeOffset, resumeOffset, counts, reachedMs, resumeOffset);
    const result = resultOf(task, progress, 'failed', ctx.lease.token);
    result.error = beyondLogEnd(ctx, task, resumeOffset);
    ctx.log.error({ topic: task.topic, partition: task.partition, ...result.error }, 'partition failed');
    return { result };
  }
  let start = resumeOffset ?? task.earliest;
  let expiredRange: Progress['expiredRange'];
  if (start < task.earliest) {
    expiredRange = { from: start.toString(), to: task.earliest.toString() };
    if (ctx.job.expiredOffsets === 'fail') {
      const message =
        `${task.topic}/${task.partition}: offsets ${start}–${task.earliest - 1n} (${task.earliest - start} messages) ` +
        'expired from Kafka before they were read: that data is lost. Set "expiredOffsets": "report" in the job ' +
        'to accept the loss and continue from the earliest offset.';
      const progress = emptyProgress(ctx, task, start, start, counts, reachedMs, resumeOffset);
      progress.expiredRange = expiredRange;
      const result = resultOf(task, progress, 'failed', ctx.lease.token);
      result.error = { code: 'MWI_OFFSETS_EXPIRED', message, canRetry: false };
      ctx.log.error({ topic: task.topic, partition: task.partition, expiredRange }, message);
      return { result };
    }
    counts.expired = Number(task.earliest - start);
    ctx.log.warn(
      { topic: task.topic, partition: task.partition, expiredRange },
      'offsets expired before being read',
    );
    start = task.earliest;
  }
  let end = task.endOffset;
  const max = ctx.job.limits.maxRecordsPerRun;
  if (max !== undefined && end - start > BigInt(max)) end = start + BigInt(max);
  const progress = emptyProgress(ctx, task, resumeOffset ?? start, end, counts, reachedMs, resumeOffset);
  progress.start = start - BigInt(counts.expired);
  progress.expected = start;
  if (expiredRange) progress.expiredRange = expiredRange;
  if (start >= end && counts.expired === 0)
    return { result: resultOf(task, progress, 'up-to-date', ctx.lease.token) };
  return { progress };
}

/**
 * The committed offset is past the log end: the topic was deleted and recreated, or an unclean
 * leader election truncated the log. Reading on would skip the new log's records and report the
 * partition up to date forever, so it fails until an operator says where to read from.
 */
function beyondLogEnd(
  ctx: PartitionTaskContext,
  task: PartitionTask,
  committed: bigint,
): NonNullable<PartitionResult['error']> {
  const { topic, partition, earliest, endOffset } = task;
  return {
    code: 'MWI_OFFSETS_BEYOND_LOG_END',
    message:
      `${topic}/${partition}: the committed offset ${committed} is past the log end ${endOffset} ` +
      `(the log starts at ${earliest}): the topic was deleted and recreated, or its log truncated. ` +
      `Nothing was read and no hour past this partition's progress is announced. Records at offsets ` +
      `${earliest}–${endOffset - 1n} of the new log were never read${endOffset > earliest ? '' : ' (it is empty)'}. ` +
      `Choose where to read from, then run again: mwingest offsets reset --job <job file> --topic ${topic} ` +
      `--partition ${partition} --to earliest (or --to latest, an ISO time, or an offset). Job ${ctx.job.name}.`,
    canRetry: false,
  };
}

function emptyProgress(
  ctx: PartitionTaskContext,
  task: PartitionTask,
  start: bigint,
  end: bigint,
  counts: PartitionCounts,
  reachedMs: number | null,
  resumeOffset: bigint | undefined,
): Progress {
  const attempt: AttemptOf = {
    topic: task.topic,
    partition: task.partition,
    runId: ctx.runId,
    token: ctx.lease.token,
    claimKey: resumeOffset ?? 0n,
  };
  return {
    attempt,
    start,
    end,
    expected: start,
    counts,
    files: new HourFiles(ctx.fs, ctx.plan, {
      topic: task.topic,
      partition: task.partition,
      tempDir: ctx.paths.attempt(task.topic, task.partition, attempt),
      errorsDir: ctx.paths.errors(task.topic, task.partition),
    }),
    absentRanges: [],
    hourCounts: {},
    lateHours: {},
    revisions: new Map(),
    reachedMs,
    earliestMs: null,
    bytesRead: 0,
  };
}

/** writing: decode, bucket by the record's own hour, append to that hour's temp file. */
async function writing(ctx: PartitionTaskContext, task: PartitionTask, progress: Progress): Promise<void> {
  if (progress.expected >= progress.end) return;
  const range = { topic: task.topic, partition: task.partition, from: progress.expected, to: progress.end };
  for await (const batch of ctx.source.read(range, ctx.signal)) {
    let batchBytes = 0;
    for (const record of batch) {
      if (record.offset < progress.expected || record.offset >= progress.end) continue;
      if (record.offset > progress.expected) markAbsent(progress, record.offset, 'between-records');
      progress.expected = record.offset + 1n;
      progress.counts.read += 1;
      batchBytes += record.value?.length ?? 0;
      const pending = writeRecord(ctx, progress, record);
      if (pending !== undefined) await pending;
    }
    progress.bytesRead += batchBytes;
    await progress.files.flushErrors();
    ctx.onProgress?.(batch.length, batchBytes);
    failPoint('reading');
    if (ctx.readDeadline !== undefined && Date.now() > ctx.readDeadline) {
      // Stop early but consistently: the commit covers exactly what was read.
      progress.end = progress.expected;
      break;
    }
  }
  // A read that stopped because it was aborted (lease lost, shutdown) has not seen the rest of the
  // range: counting it as absent would commit a gap.
  if (ctx.signal?.aborted) {
    throw new MwiError(
      'MWI_TASK_ABORTED',
      `${task.topic}/${task.partition}: reading stopped at offset ${progress.expected} of ${progress.end} ` +
        `(${describeError(ctx.signal.reason ?? 'aborted')}); nothing was committed, the next run reads the range again`,
      { canRetry: true },
    );
  }
  // Offsets after the last record that Kafka's fetch position passed without a record (a trailing
  // transaction marker, a compacted tail): the reader ends normally only when the log covered the
  // whole range, and throws when the log ended before it.
  if (progress.expected < progress.end) markAbsent(progress, progress.end, 'after-last-record');
}

const MAX_ABSENT_RANGES = 100;

/** Offsets [expected, to) that Kafka skipped: counted, and the first ranges kept with their reason. */
function markAbsent(progress: Progress, to: bigint, reason: AbsentRange['reason']): void {
  progress.counts.absent += Number(to - progress.expected);
  if (progress.absentRanges.length < MAX_ABSENT_RANGES)
    progress.absentRanges.push({ from: progress.expected.toString(), to: to.toString(), reason });
  progress.expected = to;
}

/** Returns a promise only when the record needs I/O first (a new hour file, a full block). */
function writeRecord(
  ctx: PartitionTaskContext,
  progress: Progress,
  record: KafkaRecord,
): Promise<void> | undefined {
  const { plan } = ctx;
  if (record.value === null) {
    addError(progress, record, 'TOMBSTONE', 'the message has no value (a tombstone); expected an Avro event');
    return undefined;
  }
  const decoded = decodeMessage(plan, ctx.codec, record.value);
  if (!decoded.ok) {
    addError(progress, record, decoded.code, decoded.message, decoded.revision);
    return undefined;
  }
  const time = plan.parseTimestamp(decoded.timestamp);
  if (!time.ok) {
    addError(progress, record, time.code, time.message, decoded.revision);
    return undefined;
  }
  const hourIndex = Math.floor(time.epochMs / HOUR_MS);
  // The body goes in as it is when it already is the reader's encoding and the format takes it.
  const encoded = plan.acceptsEncoded && decoded.bodyIsReaderEncoding;
  const value = encoded ? decoded.body : decoded.record;
  // A record of an hour imported before a cut-over is neither written nor moves the partition's times.
  const append = () => {
    progress.revisions.set(decoded.revision, (progress.revisions.get(decoded.revision) ?? 0) + 1);
    advanceTimes(progress, time.epochMs, record.timestamp);
    countWritten(progress, plan, hourIndex);
    return progress.files.append(hourIndex, record.offset, value, encoded);
  };
  const imported = progress.importedBefore?.(record.offset, hourIndex) ?? false;
  if (imported === false) return append();
  if (imported === true) return countImported(progress);
  return imported.then((yes) => (yes ? countImported(progress) : append()));
}

/** A record of an hour imported before the cut-over: counted, not written a second time. */
function countImported(progress: Progress): undefined {
  progress.counts.imported = (progress.counts.imported ?? 0) + 1;
  return undefined;
}

/**
 * A partition's progress in time, robust to a record whose clock is wrong: a record moves the
 * partition's progress forward only as far as both its own time and Kafka's timestamp agree (the
 * earlier of the two), and its oldest time back only as far as both agree (the later of the two).
 * One record 5 h ahead, or from 2003, produced now, moves neither. Without a usable Kafka time
 * (−1, out of range) the record's own time counts for progress, and nothing for the oldest time.
 */
function advanceTimes(progress: Progress, recordMs: number, kafkaTimestamp: number): void {
  const kafkaMs = kafkaTimeMs(kafkaTimestamp);
  const progressMs = kafkaMs === undefined ? recordMs : Math.min(recordMs, kafkaMs);
  if (progress.reachedMs === null || progressMs > progress.reachedMs) progress.reachedMs = progressMs;
  if (kafkaMs === undefined) return;
  const oldestMs = Math.max(recordMs, kafkaMs);
  if (progress.earliestMs === null || oldestMs < progress.earliestMs) progress.earliestMs = oldestMs;
}

/** Counts a written record by its hour, and as late when its hour was already announced. */
function countWritten(progress: Progress, plan: TopicPlan, hourIndex: number): void {
  progress.counts.written += 1;
  const key = plan.hourKey(hourIndex);
  progress.hourCounts[key] = (progress.hourCounts[key] ?? 0) + 1;
  if (plan.announcedThrough !== undefined && hourIndex <= plan.announcedThrough) {
    progress.counts.late += 1;
    progress.lateHours[key] = (progress.lateHours[key] ?? 0) + 1;
  }
}

function addError(
  progress: Progress,
  record: KafkaRecord,
  code: ErrorRecordCode,
  message: string,
  revision?: bigint,
): void {
  progress.counts.errors += 1;
  progress.files.addError(record, code, message, revision);
}

/** closed: every temp file complete on the file system. */
async function closing(progress: Progress): Promise<ManifestFile[]> {
  const files = await progress.files.finish();
  failPoint('files-closed');
  return files;
}

/** checked: the accounting equation and the error ratio, before anything becomes visible. */
function checking(ctx: PartitionTaskContext, task: PartitionTask, progress: Progress): void {
  const { counts } = progress;
  const span = progress.end - progress.start;
  const accounted = BigInt(accountedOf(counts));
  if (span !== accounted || counts.read !== counts.written + counts.errors + (counts.imported ?? 0)) {
    throw new MwiError(
      'MWI_RUN_ACCOUNTING',
      `${task.topic}/${task.partition}: the records do not add up: ${equationOf(progress)} ` +
        `(read ${counts.read}). Nothing was committed; this is a bug — please report it with the run log.`,
    );
  }
  const ratio = counts.read === 0 ? 0 : counts.errors / counts.read;
  if (ratio > ctx.job.limits.errorRatio) {
    throw new MwiError(
      'MWI_RUN_ERROR_RATIO',
      `${task.topic}/${task.partition}: ${counts.errors} of ${counts.read} messages in offsets ` +
        `${progress.start}–${progress.end - 1n} are bad (${(ratio * 100).toFixed(2)}% > limits.errorRatio ` +
        `${ctx.job.limits.errorRatio * 100}%). Nothing was committed for this partition; look at the reasons with ` +
        '`mwingest validate --brokers … --topic … --partition … --offset …`, fix the cause (often a schema revision ' +
        'missing from the registry), then rerun.',
    );
  }
}

/** manifest written: claim [start, end) for this owner. */
async function writingManifest(
  ctx: PartitionTaskContext,
  task: PartitionTask,
  progress: Progress,
  files: ManifestFile[],
): Promise<CommitManifest> {
  await ctx.lease.assertHeld();
  const manifest: CommitManifest = {
    version: MANIFEST_VERSION,
    job: ctx.job.name,
    runId: ctx.runId,
    topic: task.topic,
    partition: task.partition,
    owner: ctx.lease.owner,
    token: ctx.lease.token,
    startOffset: progress.start.toString(),
    endOffset: progress.end.toString(),
    ...(progress.expiredRange ? { expiredRange: progress.expiredRange } : {}),
    ...(progress.absentRanges.length > 0 ? { absentRanges: progress.absentRanges } : {}),
    files,
    counts: progress.counts,
    hours: progress.hourCounts,
    lateHours: progress.lateHours,
    revisions: revisionCounts(progress),
    reachedMs: progress.reachedMs,
    earliestMs: progress.earliestMs,
    createdAt: new Date().toISOString(),
    ...(progress.cutover !== undefined && progress.end < BigInt(progress.cutover.throughOffset)
      ? { cutover: progress.cutover }
      : {}),
  };
  await assertNoNewerAttempt(ctx.fs, ctx.paths, task.topic, task.partition, progress.attempt);
  await claimManifest(ctx.fs, ctx.paths, manifest, progress.attempt.claimKey);
  return manifest;
}

/**
 * committed: files renamed into their hours, offsets moved, temp dirs gone. An owner that lost its
 * lease after the claim applies nothing: the next owner rolls the claim forward.
 */
async function committing(
  ctx: PartitionTaskContext,
  attempt: AttemptOf,
  manifest: CommitManifest,
): Promise<void> {
  await ctx.lease.assertHeld();
  await applyManifest(ctx.fs, ctx.paths, manifest, attempt.claimKey);
  await removeSupersededAttempts(ctx.fs, ctx.paths, attempt);
  await pruneCommitHistory(ctx.fs, ctx.paths, manifest.topic, manifest.partition);
}

/** Failure: discard what is open; the temp dir goes unless a claim of ours needs it for a roll-forward. */
async function abandon(ctx: PartitionTaskContext, progress: Progress): Promise<void> {
  await progress.files.abort();
  await discardUnclaimed(ctx.fs, ctx.paths, progress.attempt);
}
