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
import { createTimestampParser } from '../../../src/hours/timestamp.js';
import { MessageCodec } from '../../../src/schemas/codec.js';
import { SchemaRegistry } from '../../../src/schemas/registry.js';
import type { RecordBlock } from '../batch-reader/record-batches.js';

export interface ReadSpec {
  brokers: string[];
  topic: string;
  partitions: { partition: number; from: string; to: string }[];
  /** Hash every value, to check a codec round trip (off when measuring throughput). */
  verify: boolean;
  /**
   * Also do what the ingest does to each record before writing it: the 9-byte header, the body
   * check against the writer schema and the time field (`MessageCodec.decodeForIngest`).
   */
  check?: { registry: string; schemaName: string };
  /** Threads to spread the partitions over (readers that can run in worker threads). @defaultValue 1 */
  threads?: number;
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
/**
 * The batch reader's limits (KBENCH_PARTITION_BYTES, KBENCH_FETCH_BYTES override them): with the
 * limits above it peaked at ~310 MiB for no gain in speed; with these at ~220 MiB, slightly faster.
 */
export const BATCH_PARTITION_MAX_BYTES = Number(process.env.KBENCH_PARTITION_BYTES ?? 2 * 1024 * 1024);
export const BATCH_FETCH_MAX_BYTES = Number(process.env.KBENCH_FETCH_BYTES ?? 8 * 1024 * 1024);

export function readSpec(): ReadSpec {
  const raw = process.argv[2];
  if (raw === undefined) throw new Error('usage: reader <ReadSpec JSON>');
  return JSON.parse(raw) as ReadSpec;
}

/** The ingest's per-record work before writing: header, body check, time field. */
export class IngestCheck {
  private constructor(
    private readonly codec: MessageCodec,
    private readonly options: { schemaName: string; readerRevision: bigint; timestampField: string },
  ) {}
  private readonly parse = createTimestampParser({ field: 'ts', format: 'unix_seconds' });
  failures = 0;

  static async load(check: NonNullable<ReadSpec['check']>): Promise<IngestCheck> {
    const registry = await SchemaRegistry.load(check.registry);
    const reader = registry.latest(check.schemaName);
    if (reader === undefined) throw new Error(`no schema ${check.schemaName} in ${check.registry}`);
    return new IngestCheck(new MessageCodec(registry), {
      schemaName: check.schemaName,
      readerRevision: reader.revision,
      timestampField: 'ts',
    });
  }

  check(value: Buffer): void {
    const result = this.codec.decodeForIngest(value, this.options);
    if (!result.ok || !this.parse(result.timestamp).ok) this.failures += 1;
  }
}

/** Counts what a client delivered, checks each partition's offsets ascend inside its range, and knows when all are done. */
export class Tally {
  records = 0;
  valueBytes = 0;
  started = performance.now();
  private readonly next = new Map<number, bigint>();
  private readonly end = new Map<number, bigint>();
  private readonly hashes = new Map<number, Hash>();
  private remaining: number;
  /** Set by {@link Tally.create} when the spec asks for the ingest's checks. */
  private checker: IngestCheck | undefined;

  constructor(private readonly spec: ReadSpec) {
    for (const { partition, from, to } of spec.partitions) {
      this.next.set(partition, BigInt(from));
      this.end.set(partition, BigInt(to));
      if (spec.verify) this.hashes.set(partition, createHash('sha256'));
    }
    this.remaining = spec.partitions.filter((p) => BigInt(p.from) < BigInt(p.to)).length;
  }

  static async create(spec: ReadSpec): Promise<Tally> {
    const tally = new Tally(spec);
    if (spec.check !== undefined) tally.checker = await IngestCheck.load(spec.check);
    tally.started = performance.now();
    return tally;
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
    if (value) {
      this.hashes.get(partition)?.update(value);
      this.checker?.check(value);
    }
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

  /**
   * Records a block of the batch reader: offsets are numbers there, and a value is sliced out of
   * the block only to hash or check it.
   */
  addBlock(partition: number, block: RecordBlock): void {
    const next = this.next.get(partition);
    if (next === undefined) throw new Error(`records from partition ${partition}, which was not asked for`);
    const end = Number(this.end.get(partition)!);
    let expected = Number(next);
    const hash = this.hashes.get(partition);
    const { offsets, valueStarts, valueLengths, data } = block;
    for (let i = 0; i < block.count; i++) {
      const offset = offsets[i]!;
      if (offset < expected || offset >= end)
        throw new Error(
          `partition ${partition}: offset ${offset} again, out of order or past the end ${end}`,
        );
      expected = offset + 1;
      const length = valueLengths[i]!;
      if (length > 0) {
        this.valueBytes += length;
        if (hash !== undefined || this.checker !== undefined) {
          const value = data.subarray(valueStarts[i]!, valueStarts[i]! + length);
          hash?.update(value);
          this.checker?.check(value);
        }
      }
    }
    this.records += block.count;
    this.next.set(partition, BigInt(expected));
    if (expected >= end && next < BigInt(end)) this.remaining -= 1;
  }

  /** sha256 of one partition's values so far (for readers that merge partitions from threads). */
  partitionDigest(partition: number): Buffer | undefined {
    return this.hashes.get(partition)?.digest();
  }

  /** Fails when records failed the ingest's check (with `check`). */
  assertChecked(): void {
    if (this.checker !== undefined && this.checker.failures > 0)
      throw new Error(`${this.checker.failures} records failed the ingest's check`);
  }

  result(client: string): ReadResult {
    this.assertChecked();
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

/** What a reader thread reports for each of its partitions. */
export interface PartitionResult {
  partition: number;
  records: number;
  valueBytes: number;
  /** sha256 of the partition's values in offset order (with `verify`). */
  digest?: string;
}

/** The per-partition results of single-partition tallies (see readers/batches.ts). */
export function partitionResults(tallies: Map<number, Tally>): PartitionResult[] {
  return [...tallies].map(([partition, tally]) => {
    tally.assertChecked();
    const digest = tally.partitionDigest(partition)?.toString('hex');
    return {
      partition,
      records: tally.records,
      valueBytes: tally.valueBytes,
      ...(digest === undefined ? {} : { digest }),
    };
  });
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
