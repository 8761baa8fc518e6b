import { isMwiError, MwiError } from '../errors.js';
import type { FileSystem } from '../hdfs/filesystem.js';
import type { FinishedFile } from '../writers/hour-files.js';
import { failPoint } from './failpoints.js';
import {
  listNumbered,
  padOffset,
  pruneNumbered,
  readJson,
  type StatePaths,
  writeJsonAtomically,
} from './state-store.js';

/**
 * The commit protocol of one topic-partition, in the order of its effects:
 *
 *   1. every temp file is closed (the caller)
 *   2. the manifest is **claimed**: written to a temp name and renamed to
 *      `manifests/<startOffset>.json`. Rename never replaces, so of two owners that read from the
 *      same start offset exactly one can claim it; the other is fenced (`MWI_FENCED`).
 *   3. each temp file is renamed to its final name (idempotent: a final file that exists is done)
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
}

/** What `offsets/<endOffset>.json` holds: the manifest of the commit that moved the offset. */
export interface CommittedOffsets extends CommitManifest {
  committedAt: string;
}

/** Step 2: claims the range. Throws `MWI_FENCED` when another owner committed from this offset. */
export async function claimManifest(
  fs: FileSystem,
  paths: StatePaths,
  manifest: CommitManifest,
): Promise<void> {
  const path = paths.manifest(manifest.topic, manifest.partition, BigInt(manifest.startOffset));
  try {
    await writeJsonAtomically(fs, path, manifest);
  } catch (error) {
    if (isMwiError(error, 'MWI_FS_ALREADY_EXISTS')) {
      const other = await readJson<CommitManifest>(fs, path).catch(() => undefined);
      throw new MwiError(
        'MWI_FENCED',
        `${manifest.topic}/${manifest.partition}: offsets from ${manifest.startOffset} were already claimed by ` +
          `${other ? `${other.owner} (token ${other.token}, run ${other.runId})` : 'another owner'}; ` +
          'this owner is stale and its files are discarded',
        { details: { path } },
      );
    }
    throw error;
  }
  failPoint('manifest-written');
}

/** Steps 3 and 4, idempotent: safe to repeat after a crash at any point. */
export async function applyManifest(
  fs: FileSystem,
  paths: StatePaths,
  manifest: CommitManifest,
): Promise<void> {
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

/** The owner of one task's temp files: whose claim may need them. */
export interface TempOwner {
  topic: string;
  partition: number;
  runId: string;
  /** The fencing token of the owner's lease. */
  token: number;
}

/**
 * After a failed commit: deletes the owner's temp dir, so the range is read again next run — unless
 * a manifest of its own claims `startOffset` (the failure came after the claim), whose roll-forward
 * needs the temp files. Cannot tell: keeps them (the safe side). Never throws.
 */
export async function discardUnclaimed(
  fs: FileSystem,
  paths: StatePaths,
  owner: TempOwner,
  startOffset: bigint,
): Promise<void> {
  const path = paths.manifest(owner.topic, owner.partition, startOffset);
  const claimed = await fs.exists(path).catch(() => true);
  if (claimed && (await ownsManifest(fs, path, owner))) return;
  await fs
    .delete(paths.tmp(owner.runId, owner.topic, owner.partition), { recursive: true })
    .catch(() => false);
}

async function ownsManifest(fs: FileSystem, path: string, owner: TempOwner): Promise<boolean> {
  try {
    const manifest = await readJson<CommitManifest>(fs, path);
    return manifest.runId === owner.runId && manifest.token === owner.token;
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
  /** Temp directories of earlier runs that were removed (no manifest referenced them). */
  removedTemp: string[];
}

/**
 * Brings one partition to a clean state before it is read: rolls pending manifests forward, then
 * removes temp files of earlier runs, and returns the resume offset from the newest offsets
 * document (never from scanning the output tree).
 */
export async function recoverPartition(
  fs: FileSystem,
  paths: StatePaths,
  topic: string,
  partition: number,
  currentRunId: string,
): Promise<PartitionRecovery> {
  const offsetNames = new Set(await listNumbered(fs, paths.offsets(topic, partition)));
  const rolledForward: string[] = [];
  for (const name of await listNumbered(fs, paths.manifests(topic, partition))) {
    const manifest = await readJson<CommitManifest>(fs, `${paths.manifests(topic, partition)}/${name}`);
    if (offsetNames.has(`${padOffset(BigInt(manifest.endOffset))}.json`)) continue;
    await applyManifest(fs, paths, manifest);
    offsetNames.add(`${padOffset(BigInt(manifest.endOffset))}.json`);
    rolledForward.push(name);
  }

  const removedTemp: string[] = [];
  for (const runId of await listDirectories(fs, paths.tmpRoot())) {
    if (runId === currentRunId) continue;
    const dir = paths.tmp(runId, topic, partition);
    if (await fs.delete(dir, { recursive: true })) removedTemp.push(dir);
  }

  const newest = [...offsetNames].sort().at(-1);
  if (newest === undefined) return { resumeOffset: undefined, last: undefined, rolledForward, removedTemp };
  const last = await readJson<CommittedOffsets>(fs, `${paths.offsets(topic, partition)}/${newest}`);
  return { resumeOffset: BigInt(last.endOffset), last, rolledForward, removedTemp };
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
