import type { FileSystem } from '../hdfs/filesystem.js';
import { hourKey, hourOf } from '../hours/hour.js';
import { listNames, type StatePaths } from '../ingest/state-store.js';
import type { ErrorRecord } from '../writers/error-file.js';

/**
 * The error records of a job (`<stateDir>/<job>/errors/<topic>/<p>/*.errors.jsonl`), read back for
 * `mwingest errors` and `mwingest explain`. A bad message usually has no time of its own that can be
 * trusted, so an error record's hour is the UTC hour of its Kafka timestamp.
 */
export interface ErrorFilter {
  topics: string[];
  partition?: number;
  /** Hour key (`2026-12-07T14`) of the Kafka timestamp. */
  hour?: string;
  code?: string;
  /** Only the record at this offset (needs `partition`). */
  offset?: bigint;
}

export interface ErrorRecordWithHour extends ErrorRecord {
  /** UTC hour of the Kafka timestamp; null when Kafka's timestamp is not a time. */
  hour: string | null;
  /** The error file it came from. */
  file: string;
}

/** Every error record matching `filter`, in topic, partition and offset order. */
export async function readErrorRecords(
  fs: FileSystem,
  paths: StatePaths,
  filter: ErrorFilter,
  onRecord?: (record: ErrorRecordWithHour) => void,
): Promise<ErrorRecordWithHour[]> {
  const found: ErrorRecordWithHour[] = [];
  for (const topic of filter.topics) {
    const partitions = await partitionsWithErrors(fs, paths, topic);
    for (const partition of partitions) {
      if (filter.partition !== undefined && partition !== filter.partition) continue;
      const dir = paths.errors(topic, partition);
      const files = (await listNames(fs, dir))
        .map((name) => ({ name, range: offsetsOfFile(name) }))
        .filter((f): f is { name: string; range: [bigint, bigint] } => f.range !== undefined)
        .sort((a, b) => (a.range[0] < b.range[0] ? -1 : a.range[0] > b.range[0] ? 1 : 0));
      for (const { name, range } of files) {
        if (filter.offset !== undefined && (filter.offset < range[0] || filter.offset > range[1])) continue;
        const text = (await fs.readFile(`${dir}/${name}`)).toString('utf8');
        for (const line of text.split('\n')) {
          if (line === '') continue;
          const record = JSON.parse(line) as ErrorRecord;
          const hour =
            record.kafkaTimestamp === null ? null : hourKey(hourOf(Date.parse(record.kafkaTimestamp)));
          if (filter.hour !== undefined && hour !== filter.hour) continue;
          if (filter.code !== undefined && record.code !== filter.code) continue;
          if (filter.offset !== undefined && BigInt(record.offset) !== filter.offset) continue;
          const withHour = { ...record, hour, file: `${dir}/${name}` };
          if (onRecord === undefined) found.push(withHour);
          else onRecord(withHour);
        }
      }
    }
  }
  return found;
}

async function partitionsWithErrors(fs: FileSystem, paths: StatePaths, topic: string): Promise<number[]> {
  const dir = paths.errors(topic, 0).replace(/\/0$/, '');
  if (!(await fs.exists(dir))) return [];
  return (await fs.list(dir))
    .filter((s) => s.type === 'directory' && /^\d+$/.test(s.name))
    .map((s) => Number(s.name))
    .sort((a, b) => a - b);
}

/** `<topic>.<p>.<first>-<last>.errors.jsonl` → [first, last]. */
function offsetsOfFile(name: string): [bigint, bigint] | undefined {
  const match = /\.(\d+)-(\d+)\.errors\.jsonl$/.exec(name);
  return match === null ? undefined : [BigInt(match[1]!), BigInt(match[2]!)];
}

/** Counts by topic, hour and code, for the summary `mwingest errors list` prints first. */
export function summariseErrors(
  records: ErrorRecordWithHour[],
): { topic: string; hour: string; code: string; count: number }[] {
  const counts = new Map<string, number>();
  for (const r of records) {
    const key = `${r.topic}\u0000${r.hour ?? 'no Kafka time'}\u0000${r.code}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts]
    .map(([key, count]) => {
      const [topic, hour, code] = key.split('\u0000') as [string, string, string];
      return { topic, hour, code, count };
    })
    .sort(
      (a, b) =>
        a.topic.localeCompare(b.topic) || a.hour.localeCompare(b.hour) || a.code.localeCompare(b.code),
    );
}

/** The raw bytes as `hexdump -C` shows them: offset, 16 bytes in hex, the printable ones. */
export function hexDump(bytes: Buffer): string {
  const lines: string[] = [];
  for (let at = 0; at < bytes.length; at += 16) {
    const row = bytes.subarray(at, at + 16);
    const hex = [...row].map((b) => b.toString(16).padStart(2, '0'));
    const left = hex.slice(0, 8).join(' ');
    const right = hex.slice(8).join(' ');
    const ascii = [...row].map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
    lines.push(`${at.toString(16).padStart(8, '0')}  ${left.padEnd(23)}  ${right.padEnd(23)}  |${ascii}|`);
  }
  return lines.join('\n');
}
