/**
 * What every benchmark reader shares: it is started as its own process (so its CPU time and peak
 * memory are its own) with one JSON argument, a {@link ReadSpec}: read these partitions of this
 * topic from `from` up to `to` (exclusive, an end offset snapshotted before the run), with explicit
 * assignment where the client allows it. It prints one JSON line, a {@link ReadResult}.
 *
 * Every client is configured alike: up to 8 MiB per partition and 32 MiB per fetch, no auto-commit.
 */
import { createHash, type Hash } from 'node:crypto';
import { performance } from 'node:perf_hooks';

export interface ReadSpec {
  brokers: string[];
  topic: string;
  partitions: { partition: number; from: string; to: string }[];
  /** Hash every value, to check a codec round trip (off when measuring throughput). */
  verify: boolean;
}

export interface ReadResult {
  client: string;
  records: number;
  valueBytes: number;
  /** From just before connecting to the last record of the range. */
  readMs: number;
  /** sha256 over the values of each partition in offset order (with `verify`). */
  digest?: string;
}

export const PARTITION_MAX_BYTES = 8 * 1024 * 1024;
export const FETCH_MAX_BYTES = 32 * 1024 * 1024;

export function readSpec(): ReadSpec {
  const raw = process.argv[2];
  if (raw === undefined) throw new Error('usage: reader <ReadSpec JSON>');
  return JSON.parse(raw) as ReadSpec;
}

/** Counts what a client delivered, checks each partition's offsets ascend inside its range, and knows when all are done. */
export class Tally {
  records = 0;
  valueBytes = 0;
  readonly started = performance.now();
  private readonly next = new Map<number, bigint>();
  private readonly end = new Map<number, bigint>();
  private readonly hashes = new Map<number, Hash>();
  private remaining: number;

  constructor(private readonly spec: ReadSpec) {
    for (const { partition, from, to } of spec.partitions) {
      this.next.set(partition, BigInt(from));
      this.end.set(partition, BigInt(to));
      if (spec.verify) this.hashes.set(partition, createHash('sha256'));
    }
    this.remaining = spec.partitions.filter((p) => BigInt(p.from) < BigInt(p.to)).length;
  }

  /** Records one message; returns true when it was the last one this partition needed. */
  add(partition: number, offset: bigint, value: Buffer | null | undefined): boolean {
    const next = this.next.get(partition);
    const end = this.end.get(partition)!;
    if (next === undefined) throw new Error(`record from partition ${partition}, which was not asked for`);
    if (offset >= end) return false;
    if (offset < next)
      throw new Error(`partition ${partition}: offset ${offset} again or out of order (expected ≥ ${next})`);
    this.next.set(partition, offset + 1n);
    this.records += 1;
    this.valueBytes += value?.length ?? 0;
    if (value) this.hashes.get(partition)?.update(value);
    if (offset + 1n >= end) {
      this.remaining -= 1;
      return true;
    }
    return false;
  }

  isDone(partition?: number): boolean {
    if (partition !== undefined) return this.next.get(partition)! >= this.end.get(partition)!;
    return this.remaining === 0;
  }

  result(client: string): ReadResult {
    const result: ReadResult = {
      client,
      records: this.records,
      valueBytes: this.valueBytes,
      readMs: performance.now() - this.started,
    };
    if (this.spec.verify) {
      const all = createHash('sha256');
      for (const partition of [...this.hashes.keys()].sort((a, b) => a - b))
        all.update(this.hashes.get(partition)!.digest());
      result.digest = all.digest('hex');
    }
    return result;
  }
}

export function report(result: ReadResult): void {
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

/** A dynamic import, so the bench still typechecks and runs the other clients when one is not installed. */
export async function importClient<T>(name: string): Promise<T> {
  const loaded = (await import(name)) as Record<string, unknown>;
  // A CommonJS package's exports arrive as `default`.
  const commonJs = loaded.default;
  return (typeof commonJs === 'object' && commonJs !== null ? { ...commonJs, ...loaded } : loaded) as T;
}
