import { randomUUID } from 'node:crypto';
import { isMwiError } from '../errors.js';
import type { FileSystem } from '../hdfs/filesystem.js';

/**
 * Where a job keeps its state, on the same file system as its data (guarantee 2):
 *
 * ```
 * <stateDir>/<job>/
 *   partitions/<topic>/<partition>/manifests/<claim key>.json     write-ahead manifest of one commit (key: its resume offset)
 *   partitions/<topic>/<partition>/offsets/<endOffset>.json       committed offset (the resume point)
 *   tmp/<topic>/<partition>/<attempt>/…                            files being written by one attempt
 *   errors/<topic>/<partition>/<topic>.<partition>.<first>-<last>.errors.jsonl
 *   completeness/<topic>/<sequence>.json                          announced hours and counts
 *   reports/<runId>.json, reports/latest.json                     run reports
 *   schedule.json                                                 the operator's last schedule decision (src/scheduler/schedule-keeper.ts)
 * ```
 *
 * Offsets are zero-padded to 20 digits in file names so that names sort like numbers.
 */
export class StatePaths {
  readonly base: string;

  constructor(stateDir: string, jobName: string) {
    this.base = `${stateDir.replace(/\/+$/, '')}/${jobName}`;
  }

  partition(topic: string, partition: number): string {
    return `${this.base}/partitions/${topic}/${partition}`;
  }
  manifests(topic: string, partition: number): string {
    return `${this.partition(topic, partition)}/manifests`;
  }
  manifest(topic: string, partition: number, startOffset: bigint): string {
    return `${this.manifests(topic, partition)}/${padOffset(startOffset)}.json`;
  }
  offsets(topic: string, partition: number): string {
    return `${this.partition(topic, partition)}/offsets`;
  }
  offsetFile(topic: string, partition: number, endOffset: bigint): string {
    return `${this.offsets(topic, partition)}/${padOffset(endOffset)}.json`;
  }
  tmpRoot(): string {
    return `${this.base}/tmp`;
  }
  /** The temp directories of every attempt at a partition. */
  attempts(topic: string, partition: number): string {
    return `${this.base}/tmp/${topic}/${partition}`;
  }
  /** One attempt's own temp directory: no other attempt ever writes or deletes in it. */
  attempt(topic: string, partition: number, attempt: Attempt): string {
    return `${this.attempts(topic, partition)}/${attemptName(attempt)}`;
  }
  errors(topic: string, partition: number): string {
    return `${this.base}/errors/${topic}/${partition}`;
  }
  completeness(topic: string): string {
    return `${this.base}/completeness/${topic}`;
  }
  reports(): string {
    return `${this.base}/reports`;
  }
}

/**
 * One attempt at a partition: a run's task under one lease (its fencing token), reading from the
 * offset its commit will claim (`claimKey`: the resume offset, or 0 for a partition's first commit,
 * so that two first commits from different log starts still compete for one name).
 */
export interface Attempt {
  runId: string;
  token: number;
  claimKey: bigint;
}

/** `<claim key, 20 digits>-<token>-<runId>`: sorts by claim key, and says whose it is. */
export function attemptName(attempt: Attempt): string {
  return `${padOffset(attempt.claimKey)}-${attempt.token}-${attempt.runId}`;
}

export function parseAttemptName(name: string): Attempt | undefined {
  const match = /^(\d{20})-(\d+)-(.+)$/.exec(name);
  if (match === null) return undefined;
  return { claimKey: BigInt(match[1]!), token: Number(match[2]), runId: match[3]! };
}

export function padOffset(offset: bigint): string {
  return offset.toString().padStart(20, '0');
}

/**
 * Writes a small JSON document atomically: to a unique temp name beside it, then renamed.
 * Refuses to replace an existing document (`MWI_FS_ALREADY_EXISTS`) — which is what makes a
 * manifest claim a compare-and-set.
 */
export async function writeJsonAtomically(fs: FileSystem, path: string, value: unknown): Promise<void> {
  const dir = path.slice(0, path.lastIndexOf('/'));
  const temp = `${dir}/.${path.slice(dir.length + 1)}.${randomUUID().slice(0, 8)}.tmp`;
  await fs.mkdirs(dir);
  try {
    await fs.writeFile(temp, `${JSON.stringify(value, jsonReplacer, 2)}\n`);
    await fs.rename(temp, path);
  } catch (error) {
    // Also after a failed write: its answer may have been lost after the file was written.
    await fs.delete(temp).catch(() => false);
    throw error;
  }
}

export async function readJson<T>(fs: FileSystem, path: string): Promise<T> {
  return JSON.parse((await fs.readFile(path)).toString('utf8')) as T;
}

/** Lists a directory's file names, or `[]` when the directory does not exist. */
export async function listNames(fs: FileSystem, dir: string): Promise<string[]> {
  try {
    return (await fs.list(dir)).filter((status) => status.type === 'file').map((status) => status.name);
  } catch (error) {
    if (isMwiError(error, 'MWI_FS_NOT_FOUND')) return [];
    throw error;
  }
}

/** Names of `<padded number>.json` documents in a directory, ascending (temp files excluded). */
export async function listNumbered(fs: FileSystem, dir: string): Promise<string[]> {
  return (await listNames(fs, dir)).filter((name) => /^\d{20}\.json$/.test(name)).sort();
}

/** Deletes all but the newest `keep` numbered documents of a directory. */
export async function pruneNumbered(fs: FileSystem, dir: string, keep: number): Promise<void> {
  const names = await listNumbered(fs, dir);
  for (const name of names.slice(0, Math.max(0, names.length - keep))) {
    await fs.delete(`${dir}/${name}`);
  }
}

/** bigint → decimal string, so state files stay exact and readable. */
export function jsonReplacer(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}
