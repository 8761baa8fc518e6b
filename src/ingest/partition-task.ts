import type { Logger } from 'pino';
import { describeError, isMwiError, MwiError } from '../errors.js';
import type { FileSystem, FileWriter } from '../hdfs/filesystem.js';
import { HOUR_MS } from '../hours/hour.js';
import type { JobConfig } from '../job/config.js';
import type { Lease } from '../job/lease.js';
import type { KafkaRecord, KafkaSource } from '../kafka/client.js';
import type { DecodeResult, IngestDecodeResult, MessageCodec } from '../schemas/codec.js';
import { ErrorFileWriter } from '../writers/error-file.js';
import type { RecordFileWriter } from '../writers/record-writer.js';
import {
  applyManifest,
  type CommitManifest,
  claimManifest,
  MANIFEST_VERSION,
  type ManifestFile,
  type PartitionCounts,
  pruneCommitHistory,
  recoverPartition,
} from './commit.js';
import { failPoint } from './failpoints.js';
import type { StatePaths } from './state-store.js';
import type { TopicPlan } from './topic-plan.js';

/**
 * One topic-partition of one run: read [resume offset, end offset), write hour files, commit.
 * Each state of the writer is one function below; `ingestPartition` walks them in order:
 *
 *   recovering → planning → writing → closed → checked → manifest written → committed
 */

export interface PartitionTask {
  topic: string;
  partition: number;
  /** Log start offset when the run started. */
  earliest: bigint;
  /** High watermark snapshotted when the run started: nothing at or after it is read. */
  endOffset: bigint;
}

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
  error?: { code: string; message: string; canRetry: boolean };
}

interface HourFile {
  hourIndex: number;
  tempPath: string;
  sink: FileWriter;
  writer: RecordFileWriter;
  first: bigint;
  last: bigint;
  /** `counts.read` when a record last went into this file: the least recently used one is closed first. */
  lastUsed: number;
}

// Hour files open at once per partition are bounded (`plan.maxOpenFiles`): a backlog spread over
// many hours (a replay, a producer with a bad clock) would otherwise hold a buffer and a connection
// per hour. Past the bound the least recently used file is finished, and a later record for its
// hour starts a second file (names carry offset ranges, so the two never collide).

interface Progress {
  start: bigint;
  end: bigint;
  expected: bigint;
  counts: PartitionCounts;
  expiredRange?: { from: string; to: string };
  /** Open hour files by hour index. */
  hours: Map<number, HourFile>;
  /** Hour files already finished to stay under `plan.maxOpenFiles`, complete on the file system. */
  finished: ManifestFile[];
  hourCounts: Record<string, number>;
  lateHours: Record<string, number>;
  /** Records per writer revision (counted by id; strings only in the manifest and report). */
  revisions: Map<bigint, number>;
  errors: ErrorFileWriter;
  reachedMs: number | null;
  bytesRead: number;
  /** Temp files are closed: from here on they may be needed by a roll-forward and are never aborted. */
  closed: boolean;
}

export async function ingestPartition(
  ctx: PartitionTaskContext,
  task: PartitionTask,
): Promise<PartitionResult> {
  const recovered = await recovering(ctx, task);
  const planned = planning(ctx, task, recovered.resumeOffset, recovered.last?.reachedMs ?? null);
  if ('result' in planned) return planned.result;
  const progress = planned.progress;
  try {
    await writing(ctx, task, progress);
    const files = await closing(ctx, task, progress);
    checking(ctx, task, progress);
    const manifest = await writingManifest(ctx, task, progress, files);
    await committing(ctx, manifest);
    return resultOf(ctx, task, progress, 'committed', files);
  } catch (error) {
    await abandon(ctx, task, progress);
    const result = resultOf(ctx, task, progress, 'failed');
    result.error = {
      code: isMwiError(error) ? error.code : 'MWI_INTERNAL',
      message: describeError(error),
      canRetry: isMwiError(error) && error.canRetry,
    };
    if (isMwiError(error) && !error.canRetry && error.code !== 'MWI_RUN_ERROR_RATIO') {
      ctx.log.error({ err: error, topic: task.topic, partition: task.partition }, 'partition failed');
    }
    return result;
  }
}

/** recovering: roll forward what a crashed owner left, find the resume offset. */
async function recovering(ctx: PartitionTaskContext, task: PartitionTask) {
  const recovery = await recoverPartition(ctx.fs, ctx.paths, task.topic, task.partition, ctx.runId);
  if (recovery.rolledForward.length > 0) {
    ctx.log.warn(
      { topic: task.topic, partition: task.partition, manifests: recovery.rolledForward },
      'rolled forward commits a crashed run had started',
    );
  }
  return recovery;
}

/** planning: the range to read, and what to do about offsets that expired before we got to them. */
function planning(
  ctx: PartitionTaskContext,
  task: PartitionTask,
  resumeOffset: bigint | undefined,
  reachedMs: number | null,
): { progress: Progress } | { result: PartitionResult } {
  const counts: PartitionCounts = { read: 0, written: 0, errors: 0, absent: 0, expired: 0, late: 0 };
  let start = resumeOffset ?? task.earliest;
  let expiredRange: Progress['expiredRange'];
  if (start < task.earliest) {
    expiredRange = { from: start.toString(), to: task.earliest.toString() };
    if (ctx.job.expiredOffsets === 'fail') {
      const message =
        `${task.topic}/${task.partition}: offsets ${start}–${task.earliest - 1n} (${task.earliest - start} messages) ` +
        'expired from Kafka before they were read: that data is lost. Set "expiredOffsets": "report" in the job ' +
        'to accept the loss and continue from the earliest offset.';
      const progress = emptyProgress(ctx, task, start, start, counts, reachedMs);
      progress.expiredRange = expiredRange;
      const result = resultOf(ctx, task, progress, 'failed');
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
  const progress = emptyProgress(ctx, task, resumeOffset ?? start, end, counts, reachedMs);
  progress.start = start - BigInt(counts.expired);
  progress.expected = start;
  if (expiredRange) progress.expiredRange = expiredRange;
  if (start >= end && counts.expired === 0) return { result: resultOf(ctx, task, progress, 'up-to-date') };
  return { progress };
}

function emptyProgress(
  ctx: PartitionTaskContext,
  task: PartitionTask,
  start: bigint,
  end: bigint,
  counts: PartitionCounts,
  reachedMs: number | null,
): Progress {
  return {
    start,
    end,
    expected: start,
    counts,
    hours: new Map(),
    finished: [],
    hourCounts: {},
    lateHours: {},
    revisions: new Map(),
    errors: new ErrorFileWriter(
      ctx.fs,
      `${ctx.paths.tmp(ctx.runId, task.topic, task.partition)}/errors.jsonl`,
    ),
    reachedMs,
    bytesRead: 0,
    closed: false,
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
      progress.counts.absent += Number(record.offset - progress.expected);
      progress.expected = record.offset + 1n;
      progress.counts.read += 1;
      batchBytes += record.value?.length ?? 0;
      const pending = writeRecord(ctx, task, progress, record);
      if (pending !== undefined) await pending;
    }
    progress.bytesRead += batchBytes;
    await progress.errors.flush();
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
  // Offsets after the last record that the log did not return (e.g. a trailing transaction marker).
  if (progress.expected < progress.end) {
    progress.counts.absent += Number(progress.end - progress.expected);
    progress.expected = progress.end;
  }
}

/** Returns a promise only when the record needs I/O first (a new hour file, a full block). */
function writeRecord(
  ctx: PartitionTaskContext,
  task: PartitionTask,
  progress: Progress,
  record: KafkaRecord,
): Promise<void> | undefined {
  const { plan } = ctx;
  if (record.value === null) {
    addError(
      progress,
      task,
      record,
      'TOMBSTONE',
      'the message has no value (a tombstone); expected an Avro event',
    );
    return undefined;
  }
  const decoded = plan.acceptsEncoded
    ? ctx.codec.decodeForIngest(record.value, {
        schemaName: plan.schemaName,
        readerRevision: plan.reader.revision,
        timestampField: plan.timestampField,
      })
    : withTimestamp(
        ctx.codec.decode(record.value, { schemaName: plan.schemaName, readerRevision: plan.reader.revision }),
        plan.timestampField,
      );
  if (!decoded.ok) {
    addError(progress, task, record, decoded.code, decoded.message, decoded.revision);
    return undefined;
  }
  const time = plan.parseTimestamp(decoded.timestamp);
  if (!time.ok) {
    addError(progress, task, record, time.code, time.message, decoded.revision);
    return undefined;
  }
  progress.revisions.set(decoded.revision, (progress.revisions.get(decoded.revision) ?? 0) + 1);
  if (progress.reachedMs === null || time.epochMs > progress.reachedMs) progress.reachedMs = time.epochMs;

  const hourIndex = Math.floor(time.epochMs / HOUR_MS);
  // The body goes in as it is when it already is the reader's encoding and the format takes it.
  const encoded = plan.acceptsEncoded && decoded.bodyIsReaderEncoding;
  const value = encoded ? decoded.body : decoded.record;
  const file = progress.hours.get(hourIndex);
  if (file === undefined) {
    return openHourFile(ctx, task, progress, hourIndex).then((opened) =>
      append(progress, plan, opened, record.offset, value, encoded),
    );
  }
  return append(progress, plan, file, record.offset, value, encoded);
}

/** A full decode with the time field read from the record (formats that need every value). */
function withTimestamp(result: DecodeResult, field: string): IngestDecodeResult {
  if (!result.ok) return result;
  let value: unknown = result.record;
  for (const part of field.split('.'))
    value =
      value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[part] : undefined;
  return { ...result, timestamp: value };
}

function append(
  progress: Progress,
  plan: TopicPlan,
  file: HourFile,
  offset: bigint,
  value: unknown,
  encoded: boolean,
): Promise<void> | undefined {
  file.last = offset;
  file.lastUsed = progress.counts.read;
  progress.counts.written += 1;
  const key = plan.hourKey(file.hourIndex);
  progress.hourCounts[key] = (progress.hourCounts[key] ?? 0) + 1;
  if (plan.announcedThrough !== undefined && file.hourIndex <= plan.announcedThrough) {
    progress.counts.late += 1;
    progress.lateHours[key] = (progress.lateHours[key] ?? 0) + 1;
  }
  const pending = encoded ? file.writer.appendEncoded(value as Buffer) : file.writer.append(value);
  return pending instanceof Promise ? pending : undefined;
}

async function openHourFile(
  ctx: PartitionTaskContext,
  task: PartitionTask,
  progress: Progress,
  hourIndex: number,
): Promise<HourFile> {
  if (progress.hours.size >= ctx.plan.maxOpenFiles) await finishLeastRecentlyUsed(ctx, task, progress);
  const first = progress.expected - 1n;
  const tempPath = `${ctx.paths.tmp(ctx.runId, task.topic, task.partition)}/${ctx.plan.hourKey(hourIndex)}.${first}.${ctx.plan.extension}`;
  const sink = await ctx.fs.create(tempPath, { overwrite: true });
  const writer = ctx.plan.createWriter(sink);
  const file: HourFile = {
    hourIndex,
    tempPath,
    sink,
    writer,
    first,
    last: first,
    lastUsed: progress.counts.read,
  };
  progress.hours.set(hourIndex, file);
  return file;
}

async function finishLeastRecentlyUsed(
  ctx: PartitionTaskContext,
  task: PartitionTask,
  progress: Progress,
): Promise<void> {
  let oldest: HourFile | undefined;
  for (const file of progress.hours.values())
    if (oldest === undefined || file.lastUsed < oldest.lastUsed) oldest = file;
  if (oldest === undefined) return;
  progress.hours.delete(oldest.hourIndex);
  progress.finished.push(await finishHourFile(ctx, task, oldest));
}

async function finishHourFile(
  ctx: PartitionTaskContext,
  task: PartitionTask,
  file: HourFile,
): Promise<ManifestFile> {
  const { records, bytes } = await file.writer.finish();
  await file.sink.close();
  return {
    kind: 'data',
    temp: file.tempPath,
    final: `${ctx.plan.hourDir(file.hourIndex)}/${task.topic}.${task.partition}.${file.first}-${file.last}.${ctx.plan.extension}`,
    hour: ctx.plan.hourKey(file.hourIndex),
    records,
    firstOffset: file.first.toString(),
    lastOffset: file.last.toString(),
    bytes,
  };
}

function addError(
  progress: Progress,
  task: PartitionTask,
  record: KafkaRecord,
  code: string,
  message: string,
  revision?: bigint,
): void {
  progress.counts.errors += 1;
  progress.errors.add(record.offset, {
    topic: task.topic,
    partition: task.partition,
    offset: record.offset.toString(),
    kafkaTimestamp: new Date(record.timestamp).toISOString(),
    code,
    message,
    ...(revision === undefined ? {} : { revision: revision.toString() }),
    raw: record.value === null ? null : record.value.toString('base64'),
  });
}

/** closed: every temp file complete on the file system. */
async function closing(
  ctx: PartitionTaskContext,
  task: PartitionTask,
  progress: Progress,
): Promise<ManifestFile[]> {
  const files: ManifestFile[] = [...progress.finished];
  const ordered = [...progress.hours.values()].sort((a, b) => a.hourIndex - b.hourIndex);
  for (const file of ordered) {
    files.push(await finishHourFile(ctx, task, file));
    progress.hours.delete(file.hourIndex); // only once finished: a failure leaves it for `abandon`
  }
  files.sort((a, b) =>
    a.hour! < b.hour! ? -1 : a.hour! > b.hour! ? 1 : Number(BigInt(a.firstOffset) - BigInt(b.firstOffset)),
  );
  const errorBytes = await progress.errors.finish();
  if (errorBytes !== undefined) {
    const { firstOffset, lastOffset, records, tempPath } = progress.errors;
    files.push({
      kind: 'errors',
      temp: tempPath,
      final: `${ctx.paths.errors(task.topic, task.partition)}/${task.topic}.${task.partition}.${firstOffset}-${lastOffset}.errors.jsonl`,
      records,
      firstOffset: String(firstOffset),
      lastOffset: String(lastOffset),
      bytes: errorBytes,
    });
  }
  progress.closed = true;
  failPoint('files-closed');
  return files;
}

/** checked: the accounting equation and the error ratio, before anything becomes visible. */
function checking(ctx: PartitionTaskContext, task: PartitionTask, progress: Progress): void {
  const { counts } = progress;
  const span = progress.end - progress.start;
  const accounted = BigInt(counts.written + counts.errors + counts.absent + counts.expired);
  if (span !== accounted || counts.read !== counts.written + counts.errors) {
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
    files,
    counts: progress.counts,
    hours: progress.hourCounts,
    lateHours: progress.lateHours,
    revisions: revisionCounts(progress),
    reachedMs: progress.reachedMs,
    createdAt: new Date().toISOString(),
  };
  await claimManifest(ctx.fs, ctx.paths, manifest);
  return manifest;
}

/** committed: files renamed into their hours, offsets moved, temp dir gone. */
async function committing(ctx: PartitionTaskContext, manifest: CommitManifest): Promise<void> {
  await applyManifest(ctx.fs, ctx.paths, manifest);
  await ctx.fs.delete(ctx.paths.tmp(ctx.runId, manifest.topic, manifest.partition), { recursive: true });
  await pruneCommitHistory(ctx.fs, ctx.paths, manifest.topic, manifest.partition);
}

/** Failure before the claim: discard temp files; the range is read again next run. */
async function abandon(ctx: PartitionTaskContext, task: PartitionTask, progress: Progress): Promise<void> {
  if (!progress.closed) {
    for (const file of progress.hours.values()) {
      await file.writer.abort().catch(() => undefined);
      await file.sink.abort();
    }
    await progress.errors.abort();
  }
  const claimed = await ctx.fs
    .exists(ctx.paths.manifest(task.topic, task.partition, progress.start))
    .catch(() => true);
  // A claimed manifest of our own needs its temp files for the roll-forward; keep them.
  const ownClaim = claimed && (await ownsManifest(ctx, task, progress.start));
  if (!ownClaim) {
    await ctx.fs
      .delete(ctx.paths.tmp(ctx.runId, task.topic, task.partition), { recursive: true })
      .catch(() => false);
  }
}

async function ownsManifest(ctx: PartitionTaskContext, task: PartitionTask, start: bigint): Promise<boolean> {
  try {
    const text = await ctx.fs.readFile(ctx.paths.manifest(task.topic, task.partition, start));
    const manifest = JSON.parse(text.toString('utf8')) as CommitManifest;
    return manifest.runId === ctx.runId && manifest.token === ctx.lease.token;
  } catch {
    return true; // cannot tell: keeping temp files is the safe side
  }
}

function revisionCounts(progress: Progress): Record<string, number> {
  return Object.fromEntries([...progress.revisions].map(([revision, n]) => [revision.toString(), n]));
}

function equationOf(progress: Progress): string {
  const { counts } = progress;
  const span = progress.end - progress.start;
  const expired = counts.expired > 0 ? ` + ${counts.expired} expired` : '';
  return (
    `${progress.end} − ${progress.start} = ${span}; ${counts.written} written + ${counts.errors} errors + ` +
    `${counts.absent} absent${expired} = ${counts.written + counts.errors + counts.absent + counts.expired}`
  );
}

function resultOf(
  ctx: PartitionTaskContext,
  task: PartitionTask,
  progress: Progress,
  status: PartitionStatus,
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
    files: files.length,
    hours: progress.hourCounts,
    lateHours: progress.lateHours,
    revisions: revisionCounts(progress),
    bytesRead: progress.bytesRead,
    bytesWritten: files.reduce((sum, file) => (file.kind === 'data' ? sum + file.bytes : sum), 0),
    reachedMs: progress.reachedMs,
    caughtUp: status !== 'failed' && progress.end === task.endOffset,
    token: ctx.lease.token,
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
    error: {
      code: isMwiError(error) ? error.code : 'MWI_INTERNAL',
      message: describeError(error),
      canRetry: isMwiError(error) && error.canRetry,
    },
  };
}
