import { isMwiError, MwiError } from '../errors.js';
import type { FileSystem } from '../hdfs/filesystem.js';
import type { FinishedFile } from '../writers/hour-files.js';
import { failPoint } from './failpoints.js';
import type { CutoverRule } from './start-position.js';
import {
  type Attempt,
  listNumbered,
  padOffset,
  parseAttemptName,
  pruneNumbered,
  readJson,
  type StatePaths,
  writeJsonAtomically,
} from './state-store.js';

/**
 * The commit protocol of one topic-partition, in the order of its effects:
 *
 *   1. every temp file is closed (the caller); temp files live in the attempt's own directory
 *      `tmp/<topic>/<partition>/<claim key>-<token>-<runId>`, which no other attempt writes or deletes
 *   2. the manifest is **claimed**: written to a temp name and renamed to `manifests/<claim key>.json`,
 *      the claim key being the resume offset (0 for a partition's first commit). Rename never
 *      replaces, so of two owners that resume from the same point exactly one can claim it; the other
 *      is fenced (`MWI_FENCED`). Before the claim the owner checks that no attempt with a newer
 *      fencing token exists: a stale owner that wakes up after another took over claims nothing.
 *   3. each temp file is renamed to its final name (idempotent: a final file that exists is done),
 *      after checking that the claim on storage is this manifest's (same token and run)
 *   4. the offsets document `offsets/<endOffset>.json` is written: the resume point moves
 *
 * A crash anywhere leaves either no manifest (temp files are garbage, the range is read again)
 * or a claimed manifest without its offsets document, which `recoverPartition` rolls forward.
 * Final names carry topic, partition and offsets, so a repeated commit can never make a copy.
 */

export const MANIFEST_VERSION = 1;

/** A file a commit renames from its temp name to its final name (written by `HourFiles`). */
export type ManifestFile = FinishedFile;

/** Offsets [from, to) that Kafka skipped, and how it showed it. */
export interface AbsentRange {
  from: string;
  to: string;
  /**
   * `between-records`: Kafka returned records before and after them, not these (compacted away, or
   * transaction markers). `after-last-record`: Kafka's fetch position passed them after the last
   * record it returned (a trailing transaction marker, or a compacted tail).
   */
  reason: 'between-records' | 'after-last-record';
}

export interface PartitionCounts {
  /** Records the log returned in [start, end). */
  read: number;
  written: number;
  errors: number;
  /** Offsets in [start, end) Kafka skipped (compaction, transaction markers); the ranges are `absentRanges`. */
  absent: number;
  /** Offsets that expired from Kafka before they were read (`expiredOffsets: "report"`). */
  expired: number;
  /** Written records whose hour had already been announced. */
  late: number;
  /**
   * Records skipped because their hour was imported before a cut-over (`startPosition:
   * "after-imported"`, src/ingest/start-position.ts); absent when none were.
   */
  imported?: number;
}

export interface CommitManifest {
  version: typeof MANIFEST_VERSION;
  job: string;
  runId: string;
  topic: string;
  partition: number;
  /** The lease holder and its fencing token. */
  owner: string;
  token: number;
  /** Offsets covered: [startOffset, endOffset). Decimal strings: offsets are int64. */
  startOffset: string;
  endOffset: string;
  /** When offsets expired before being read: the lost range [from, to). */
  expiredRange?: { from: string; to: string };
  files: ManifestFile[];
  counts: PartitionCounts;
  /** The first absent ranges (at most 100; `counts.absent` counts them all), each with its reason. */
  absentRanges?: AbsentRange[];
  /** Records per hour key. */
  hours: Record<string, number>;
  /** Late records per hour key. */
  lateHours: Record<string, number>;
  /** Records per writer schema revision. */
  revisions: Record<string, number>;
  /** Newest record time committed on this partition so far (epoch ms), across all commits. */
  reachedMs: number | null;
  /**
   * Oldest time on which a committed record's own time and its Kafka timestamp agree, across all
   * commits (the topic's first hour comes from it). Absent in manifests written before it existed.
   */
  earliestMs?: number | null;
  createdAt: string;
  /** Where a partition that was never committed started (the start position's offsets document). */
  startPosition?: string;
  /** Carried from commit to commit until the offsets pass the cut-over's log end. */
  cutover?: CutoverRule;
}

/** What `offsets/<endOffset>.json` holds: the manifest of the commit that moved the offset. */
export interface CommittedOffsets extends CommitManifest {
  committedAt: string;
}

/** The manifest path a commit that resumes from `claimKey` claims. */
export function claimPath(paths: StatePaths, topic: string, partition: number, claimKey: bigint): string {
  return paths.manifest(topic, partition, claimKey);
}

/**
 * Step 2, the fencing half: refuses (`MWI_FENCED`) when an attempt with a newer fencing token than
 * `attempt` has started on the partition — its temp directory is the mark it leaves on storage.
 */
export async function assertNoNewerAttempt(
  fs: FileSystem,
  paths: StatePaths,
  topic: string,
  partition: number,
  attempt: Pick<Attempt, 'token'>,
  listed?: Attempt[],
): Promise<void> {
  const attempts = listed ?? (await listAttempts(fs, paths, topic, partition));
  const newer = attempts.find((a) => a.token > attempt.token);
  if (newer !== undefined) {
    throw new MwiError(
      'MWI_FENCED',
      `${topic}/${partition}: a newer owner (token ${newer.token}, run ${newer.runId}) has taken this partition ` +
        `over from token ${attempt.token}; this owner is stale, commits nothing and leaves the new owner's files alone`,
      { details: { token: attempt.token, newerToken: newer.token } },
    );
  }
}

/**
 * Step 2: claims the range. Throws `MWI_FENCED` when another owner claimed the same resume point.
 * Finding its own claim (a retried rename whose first answer was lost) counts as claimed.
 */
export async function claimManifest(
  fs: FileSystem,
  paths: StatePaths,
  manifest: CommitManifest,
  claimKey: bigint,
): Promise<void> {
  const path = claimPath(paths, manifest.topic, manifest.partition, claimKey);
  try {
    await writeJsonAtomically(fs, path, manifest);
  } catch (error) {
    if (!isMwiError(error, 'MWI_FS_ALREADY_EXISTS')) throw error;
    const other = await readJson<CommitManifest>(fs, path).catch(() => undefined);
    if (other !== undefined && sameOwner(other, manifest)) return;
    const by = other ? `${other.owner} (token ${other.token}, run ${other.runId})` : 'another owner';
    const stale = other === undefined || other.token > manifest.token;
    throw new MwiError(
      'MWI_FENCED',
      `${manifest.topic}/${manifest.partition}: the commit resuming from offset ${claimKey} was already claimed by ${by}; ` +
        (stale
          ? `this owner (token ${manifest.token}) is stale and its files are discarded`
          : `that older owner slipped past its lease; its commit is complete and the next attempt rolls it forward`),
      {
        details: { path, token: manifest.token, ...(other ? { claimedBy: other.token } : {}) },
        canRetry: !stale,
      },
    );
  }
  failPoint('manifest-written');
}

function sameOwner(a: Pick<CommitManifest, 'runId' | 'token'>, b: Pick<CommitManifest, 'runId' | 'token'>) {
  return a.runId === b.runId && a.token === b.token;
}

/**
 * Steps 3 and 4, idempotent: safe to repeat after a crash at any point. Applies nothing unless the
 * claim at `claimKey` is this very manifest (same fencing token and run).
 */
export async function applyManifest(
  fs: FileSystem,
  paths: StatePaths,
  manifest: CommitManifest,
  claimKey: bigint,
): Promise<void> {
  const path = claimPath(paths, manifest.topic, manifest.partition, claimKey);
  const claimed = await readJson<CommitManifest>(fs, path);
  if (!sameOwner(claimed, manifest)) {
    throw new MwiError(
      'MWI_FENCED',
      `${manifest.topic}/${manifest.partition}: ${path} is the claim of token ${claimed.token} (run ${claimed.runId}), ` +
        `not of token ${manifest.token} (run ${manifest.runId}); nothing of it was applied`,
      { details: { path } },
    );
  }
  const madeDirs = new Set<string>();
  for (const file of manifest.files) {
    const dir = file.final.slice(0, file.final.lastIndexOf('/'));
    if (!madeDirs.has(dir)) {
      await fs.mkdirs(dir);
      madeDirs.add(dir);
    }
    await renameIdempotent(fs, file);
    failPoint('renamed-one');
  }
  failPoint('renamed-all');
  const offsetsPath = paths.offsetFile(manifest.topic, manifest.partition, BigInt(manifest.endOffset));
  const committed: CommittedOffsets = { ...manifest, committedAt: new Date().toISOString() };
  try {
    await writeJsonAtomically(fs, offsetsPath, committed);
  } catch (error) {
    if (!isMwiError(error, 'MWI_FS_ALREADY_EXISTS')) throw error;
    const existing = await readJson<CommittedOffsets>(fs, offsetsPath);
    if (!sameOwner(existing, manifest)) {
      throw new MwiError(
        'MWI_FENCED',
        `${manifest.topic}/${manifest.partition}: ${offsetsPath} was written by token ${existing.token} (run ` +
          `${existing.runId}), not by the commit of token ${manifest.token}; two commits reached one offset`,
        { details: { path: offsetsPath } },
      );
    }
  }
  failPoint('offsets-written');
}

async function renameIdempotent(fs: FileSystem, file: ManifestFile): Promise<void> {
  try {
    await fs.rename(file.temp, file.final);
    return;
  } catch (error) {
    if (!isMwiError(error, 'MWI_FS_NOT_FOUND') && !isMwiError(error, 'MWI_FS_ALREADY_EXISTS')) throw error;
  }
  // Either an earlier attempt renamed it already, or both names exist. A final name is unique to its
  // topic, partition and offsets, so an existing final file holds exactly these records.
  if (await fs.exists(file.final)) {
    await fs.delete(file.temp).catch(() => false);
    return;
  }
  throw new MwiError(
    'MWI_HDFS_RENAME_FAILED',
    `cannot commit ${file.final}: neither it nor its temp file ${file.temp} exists; the manifest lists a ` +
      'file that was removed by hand. Restore it or delete the manifest to read the range again.',
    { details: { temp: file.temp, final: file.final } },
  );
}

/** One attempt at a partition, as the commit needs it. */
export interface AttemptOf extends Attempt {
  topic: string;
  partition: number;
}

/**
 * After a failed commit: deletes the attempt's own temp dir, so the range is read again next run —
 * unless its manifest holds the claim (the failure came after the claim), whose roll-forward needs
 * the temp files. Cannot tell: keeps them (the safe side). Never throws.
 */
export async function discardUnclaimed(fs: FileSystem, paths: StatePaths, attempt: AttemptOf): Promise<void> {
  const path = claimPath(paths, attempt.topic, attempt.partition, attempt.claimKey);
  const claimed = await fs.exists(path).catch(() => true);
  if (claimed && (await ownsManifest(fs, path, attempt))) return;
  await fs
    .delete(paths.attempt(attempt.topic, attempt.partition, attempt), { recursive: true })
    .catch(() => false);
}

async function ownsManifest(fs: FileSystem, path: string, attempt: Attempt): Promise<boolean> {
  try {
    return sameOwner(await readJson<CommitManifest>(fs, path), attempt);
  } catch {
    return true; // cannot tell: keeping temp files is the safe side
  }
}

export interface PartitionRecovery {
  /** Offset to resume from; `undefined` when the partition was never committed. */
  resumeOffset: bigint | undefined;
  /** The last commit, if any. */
  last: CommittedOffsets | undefined;
  /** Manifests that were rolled forward now. */
  rolledForward: string[];
  /** Claims that do not continue the chain of commits (a stale owner's), removed unapplied. */
  staleClaims: string[];
  /** Temp directories of earlier attempts that were removed (they can no longer claim anything). */
  removedTemp: string[];
}

/**
 * Brings one partition to a clean state before `attempt` reads it: rolls pending manifests forward,
 * removes the temp dirs of attempts that can no longer claim anything, and returns the resume offset
 * from the newest offsets document (never from scanning the output tree). Fenced (`MWI_FENCED`)
 * when an attempt with a newer token has started: then this one is stale and touches nothing more.
 * One listing of the partition's temp directory, whatever the number of past runs.
 */
export async function recoverPartition(
  fs: FileSystem,
  paths: StatePaths,
  topic: string,
  partition: number,
  attempt: Pick<Attempt, 'runId' | 'token'>,
): Promise<PartitionRecovery> {
  const attempts = await listAttempts(fs, paths, topic, partition);
  await assertNoNewerAttempt(fs, paths, topic, partition, attempt, attempts);
  const offsetNames = new Set(await listNumbered(fs, paths.offsets(topic, partition)));
  let committedEnd = newestOffset(offsetNames);
  const rolledForward: string[] = [];
  const staleClaims: string[] = [];
  for (const name of await listNumbered(fs, paths.manifests(topic, partition))) {
    const path = `${paths.manifests(topic, partition)}/${name}`;
    const manifest = await readJson<CommitManifest>(fs, path);
    if (offsetNames.has(`${padOffset(BigInt(manifest.endOffset))}.json`)) continue;
    if (committedEnd !== undefined && BigInt(manifest.startOffset) < committedEnd) {
      // Offsets already committed by a newer owner: a claim that lost the race, never applied.
      await fs.delete(path);
      staleClaims.push(name);
      continue;
    }
    await applyManifest(fs, paths, manifest, BigInt(name.slice(0, 20)));
    offsetNames.add(`${padOffset(BigInt(manifest.endOffset))}.json`);
    committedEnd = BigInt(manifest.endOffset);
    rolledForward.push(name);
  }

  const newest = [...offsetNames].sort().at(-1);
  const last =
    newest === undefined
      ? undefined
      : await readJson<CommittedOffsets>(fs, `${paths.offsets(topic, partition)}/${newest}`);
  const resumeOffset = last === undefined ? undefined : BigInt(last.endOffset);
  // Attempts that resumed from an earlier point can never claim: that point is taken.
  const removedTemp = await removeAttempts(
    fs,
    paths,
    topic,
    partition,
    attempts,
    (a) => a.claimKey < (resumeOffset ?? 0n),
  );
  return { resumeOffset, last, rolledForward, staleClaims, removedTemp };
}

/**
 * After `attempt` committed: removes its temp dir and those of every attempt that resumed from the
 * same point or earlier (the point is claimed now, so they can never commit).
 */
export async function removeSupersededAttempts(
  fs: FileSystem,
  paths: StatePaths,
  attempt: AttemptOf,
): Promise<string[]> {
  const attempts = await listAttempts(fs, paths, attempt.topic, attempt.partition);
  return removeAttempts(
    fs,
    paths,
    attempt.topic,
    attempt.partition,
    attempts,
    (a) => a.claimKey <= attempt.claimKey && a.token <= attempt.token,
  );
}

async function removeAttempts(
  fs: FileSystem,
  paths: StatePaths,
  topic: string,
  partition: number,
  attempts: Attempt[],
  superseded: (attempt: Attempt) => boolean,
): Promise<string[]> {
  const removed: string[] = [];
  for (const attempt of attempts.filter(superseded)) {
    const dir = paths.attempt(topic, partition, attempt);
    if (await fs.delete(dir, { recursive: true })) removed.push(dir);
  }
  return removed;
}

async function listAttempts(
  fs: FileSystem,
  paths: StatePaths,
  topic: string,
  partition: number,
): Promise<Attempt[]> {
  return (await listDirectories(fs, paths.attempts(topic, partition))).flatMap((name) => {
    const attempt = parseAttemptName(name);
    return attempt === undefined ? [] : [attempt];
  });
}

/** The largest fencing token among the partition's attempt temp dirs, if any. */
export async function newestAttemptToken(
  fs: FileSystem,
  paths: StatePaths,
  topic: string,
  partition: number,
): Promise<number | undefined> {
  const tokens = (await listAttempts(fs, paths, topic, partition)).map((a) => a.token);
  return tokens.length === 0 ? undefined : Math.max(...tokens);
}

function newestOffset(offsetNames: Set<string>): bigint | undefined {
  const newest = [...offsetNames].sort().at(-1);
  return newest === undefined ? undefined : BigInt(newest.slice(0, 20));
}

/** Keeps the state directories of a partition small; the newest documents are all a resume needs. */
export async function pruneCommitHistory(
  fs: FileSystem,
  paths: StatePaths,
  topic: string,
  partition: number,
  keep = 200,
): Promise<void> {
  await pruneNumbered(fs, paths.offsets(topic, partition), keep);
  await pruneNumbered(fs, paths.manifests(topic, partition), keep);
}

async function listDirectories(fs: FileSystem, dir: string): Promise<string[]> {
  try {
    return (await fs.list(dir)).filter((status) => status.type === 'directory').map((status) => status.name);
  } catch (error) {
    if (isMwiError(error, 'MWI_FS_NOT_FOUND')) return [];
    throw error;
  }
}
