import { randomBytes } from 'node:crypto';
import { hostname, userInfo } from 'node:os';
import { MwiError } from '../errors.js';
import type { FileSystem } from '../hdfs/filesystem.js';
import type { LoadedJob } from '../job/config.js';
import { leaseNames } from '../job/context.js';
import type { Lease, LeaseManager } from '../job/lease.js';
import type { KafkaSource, PartitionOffsets } from '../kafka/client.js';
import { describeTarget, type OffsetTarget, resolveOffsetTarget } from '../kafka/offset-target.js';
import { type CommittedOffsets, MANIFEST_VERSION, recoverPartition } from './commit.js';
import { loadCompletenessState } from './completeness-state.js';
import { listNumbered, padOffset, readJson, type StatePaths, writeJsonAtomically } from './state-store.js';

/**
 * `mwingest offsets set | reset`: moves a partition's resume point by hand, the recovery path when
 * the committed offset no longer fits the log (topic recreated, log truncated) and the way to skip
 * or re-read a range on purpose.
 *
 * The new resume point is an offsets document like a commit's (no files, no counts), so the next
 * run reads from it. Commits beyond it (offsets documents ending after it, manifests starting at or
 * after it) are moved to `partitions/<topic>/<p>/superseded/<auditId>/`, never deleted: a later
 * commit from the same offsets must be able to claim them again. Each change leaves an audit record
 * in `<stateDir>/<job>/audit/`. It holds the job's run lease and the partition's lease while it works,
 * so no run can start or commit meanwhile, and it is refused while either is held.
 */

export interface OffsetResetSources {
  loaded: LoadedJob;
  fs: FileSystem;
  paths: StatePaths;
  source: KafkaSource;
  leases: LeaseManager;
}

export interface OffsetResetRequest {
  topic: string;
  partition: number;
  target: OffsetTarget;
  /** What the operator typed, for the audit record. */
  command: string;
  /** Why (free text, for the audit record). */
  reason?: string;
  dryRun?: boolean;
}

/** The audit record of one change (also what `--json` prints). */
export interface OffsetAuditRecord {
  id: string;
  at: string;
  user: string;
  host: string;
  command: string;
  reason: string | null;
  job: string;
  topic: string;
  partition: number;
  target: string;
  /** The resume point before (end of the newest offsets document), null when never committed. */
  from: string | null;
  to: string;
  log: { earliest: string; latest: string };
  /** Messages the next run skips (positive) or reads again (negative) compared with before. */
  skipped: string;
  /** State documents moved aside, relative to the partition's state directory. */
  superseded: string[];
  dryRun: boolean;
}

export async function resetPartitionOffset(
  sources: OffsetResetSources,
  request: OffsetResetRequest,
): Promise<OffsetAuditRecord> {
  const { loaded, fs, paths, source, leases } = sources;
  const { topic, partition } = request;
  const log = await partitionLog(source, topic, partition);
  const to = (await resolveOffsetTarget(source, topic, [log], request.target)).get(partition)!;

  const held: Lease[] = [];
  try {
    if (!request.dryRun) {
      held.push(await acquireOrRefuse(leases, leaseNames.run, `a run of job ${loaded.config.name}`));
      held.push(
        await acquireOrRefuse(
          leases,
          leaseNames.partition(topic, partition),
          `partition ${topic}/${partition}`,
        ),
      );
      // Finish what a crashed run left (a claimed manifest without its offsets) before moving anything.
      await recoverPartition(fs, paths, topic, partition, {
        runId: 'offsets-reset',
        token: held[1]!.token,
      });
    }
    const offsetsDir = paths.offsets(topic, partition);
    const manifestsDir = paths.manifests(topic, partition);
    const offsetNames = await listNumbered(fs, offsetsDir);
    const newestName = offsetNames.at(-1);
    const current =
      newestName === undefined
        ? undefined
        : await readJson<CommittedOffsets>(fs, `${offsetsDir}/${newestName}`);
    const from = current === undefined ? null : BigInt(current.endOffset);
    const beyond = (name: string, inclusive: boolean) => {
      const offset = BigInt(name.slice(0, -'.json'.length));
      return inclusive ? offset >= to : offset > to;
    };
    const movedOffsets = offsetNames.filter((name) => beyond(name, false));
    const manifestNames = await listNumbered(fs, manifestsDir);
    const movedManifests = manifestNames.filter((name) => beyond(name, true));
    // The commit that spans the new resume point goes too: left alone, with its offsets document
    // moved, recovery would take it for a crashed commit and roll it forward again.
    const spanning = manifestNames.filter((name) => !beyond(name, true)).at(-1);
    if (spanning !== undefined) {
      const manifest = await readJson<CommittedOffsets>(fs, `${manifestsDir}/${spanning}`);
      if (BigInt(manifest.endOffset) > to) movedManifests.unshift(spanning);
    }
    const id = `${new Date()
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d+Z$/, 'Z')}-${randomBytes(3).toString('hex')}`;
    const record: OffsetAuditRecord = {
      id,
      at: new Date().toISOString(),
      user: safeUser(),
      host: hostname(),
      command: request.command,
      reason: request.reason ?? null,
      job: loaded.config.name,
      topic,
      partition,
      target: describeTarget(request.target),
      from: from?.toString() ?? null,
      to: to.toString(),
      log: { earliest: log.earliest.toString(), latest: log.latest.toString() },
      skipped: (to - (from ?? log.earliest)).toString(),
      superseded: [
        ...movedOffsets.map((name) => `offsets/${name}`),
        ...movedManifests.map((name) => `manifests/${name}`),
      ],
      dryRun: request.dryRun === true,
    };
    if (request.dryRun) return record;

    await writeJsonAtomically(fs, `${paths.base}/audit/${id}.json`, { ...record, state: 'started' });
    const aside = `${paths.partition(topic, partition)}/superseded/${id}`;
    for (const [dir, names, kind] of [
      [offsetsDir, movedOffsets, 'offsets'],
      [manifestsDir, movedManifests, 'manifests'],
    ] as const) {
      if (names.length === 0) continue;
      await fs.mkdirs(`${aside}/${kind}`);
      for (const name of names) await fs.rename(`${dir}/${name}`, `${aside}/${kind}/${name}`);
    }
    const partitionLease = held[1]!;
    if (!(await fs.exists(paths.offsetFile(topic, partition, to)))) {
      const now = new Date().toISOString();
      const marker: CommittedOffsets & { reset: { auditId: string; target: string } } = {
        version: MANIFEST_VERSION,
        job: loaded.config.name,
        runId: `offsets-reset-${id}`,
        topic,
        partition,
        owner: partitionLease.owner,
        token: partitionLease.token,
        startOffset: to.toString(),
        endOffset: to.toString(),
        files: [],
        counts: { read: 0, written: 0, errors: 0, absent: 0, expired: 0, late: 0 },
        hours: {},
        lateHours: {},
        revisions: {},
        // The newest record time seen stays what it was: the hours it moved past are announced already.
        reachedMs: current?.reachedMs ?? null,
        createdAt: now,
        committedAt: now,
        reset: { auditId: id, target: record.target },
      };
      await writeJsonAtomically(fs, paths.offsetFile(topic, partition, to), marker);
    }
    await rewindCompletenessCount(sources, topic, partition, to);
    await fs.writeFile(`${paths.base}/audit/${id}.json`, `${JSON.stringify(record, null, 2)}\n`, {
      overwrite: true,
    });
    return record;
  } finally {
    for (const lease of held.reverse()) await lease.release();
  }
}

/**
 * The announcer counts each commit's records once, remembering per partition the end offset counted
 * through; commits after a rewind end at or before that and must be counted again.
 */
async function rewindCompletenessCount(
  sources: OffsetResetSources,
  topic: string,
  partition: number,
  to: bigint,
): Promise<void> {
  const { fs, paths } = sources;
  const state = await loadCompletenessState(fs, paths, topic);
  const counted = state.countedThrough[String(partition)];
  if (counted === undefined || BigInt(counted) <= to) return;
  state.countedThrough[String(partition)] = to.toString();
  state.sequence += 1;
  state.updatedAt = new Date().toISOString();
  await writeJsonAtomically(
    fs,
    `${paths.completeness(topic)}/${padOffset(BigInt(state.sequence))}.json`,
    state,
  );
}

async function partitionLog(
  source: KafkaSource,
  topic: string,
  partition: number,
): Promise<PartitionOffsets> {
  const logs = await source.partitionOffsets(topic);
  const log = logs.find((p) => p.partition === partition);
  if (log === undefined) {
    throw new MwiError(
      'MWI_USAGE',
      `topic ${topic} has no partition ${partition} (it has ${logs.map((p) => p.partition).join(', ')})`,
    );
  }
  return log;
}

async function acquireOrRefuse(leases: LeaseManager, name: string, what: string): Promise<Lease> {
  const lease = await leases.tryAcquire(name);
  if (lease !== undefined) return lease;
  const holder = await leases.holder(name);
  throw new MwiError(
    'MWI_RUN_IN_PROGRESS',
    `${what} is in progress (lease held by ${holder?.owner ?? 'another process'}); offsets are not changed while it runs. ` +
      'Wait for it to finish (mwingest status --job …), then try again.',
  );
}

function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? 'unknown';
  }
}

/** The audit records of a job, oldest first. */
export async function listOffsetAudit(fs: FileSystem, paths: StatePaths): Promise<OffsetAuditRecord[]> {
  const dir = `${paths.base}/audit`;
  if (!(await fs.exists(dir))) return [];
  const names = (await fs.list(dir))
    .filter((s) => s.type === 'file' && s.name.endsWith('.json') && !s.name.startsWith('.'))
    .map((s) => s.name)
    .sort();
  const records: OffsetAuditRecord[] = [];
  for (const name of names) records.push(await readJson<OffsetAuditRecord>(fs, `${dir}/${name}`));
  return records;
}
