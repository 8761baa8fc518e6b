import type { FileSystem } from '../hdfs/filesystem.js';
import { topicWatermark } from '../hours/completeness.js';
import { HOUR_MS, hourStartMs, parseHourKey } from '../hours/hour.js';
import type { CommittedOffsets } from '../ingest/commit.js';
import { loadCompletenessState } from '../ingest/completeness-state.js';
import { listNumbered, padOffset, readJson, type StatePaths } from '../ingest/state-store.js';
import type { TopicPlan } from '../ingest/topic-plan.js';
import type { LoadedJob } from '../job/config.js';
import type { KafkaSource } from '../kafka/client.js';
import { readErrorRecords } from './error-records.js';

/**
 * `mwingest explain HOUR`: why an hour of a topic is complete or not. An hour is complete when
 * every partition has moved past its end (the newest record time it committed, or now minus
 * `completeness.idleGraceSeconds` for a partition caught up with its log); this lays that rule out
 * per partition, with what is in the hour's directory, its late records and its errors.
 */
export interface HourFileView {
  name: string;
  bytes: number;
  /** Records in the file, from the commit that wrote it; null when that commit's document is gone. */
  records: number | null;
  firstOffset: string;
  lastOffset: string;
}

export interface PartitionHourView {
  partition: number;
  committed: string | null;
  logEnd: string;
  caughtUp: boolean;
  /** Newest record time committed (ISO), null when none. */
  reachedAt: string | null;
  /** The time completeness counts for it: `reachedAt`, or now − idle grace when caught up. */
  countsAsReached: string | null;
  /** This partition has not moved past the end of the hour. */
  holdsBack: boolean;
  files: HourFileView[];
  records: number;
}

export interface TopicHourView {
  topic: string;
  hour: string;
  hourDir: string;
  complete: boolean;
  /** One sentence: why. */
  reason: string;
  imported: { records: number | null; announcedAt: string | null } | null;
  hivePartitionAdded: boolean;
  announcedThrough: string | null;
  /** Min over partitions of what each counts as having reached (ISO); null when one holds everything back. */
  watermark: string | null;
  /** Records committed for the hour and not yet announced. */
  pendingRecords: number;
  lateRecords: number;
  errors: { code: string; count: number }[];
  partitions: PartitionHourView[];
}

export interface ExplainSources {
  loaded: LoadedJob;
  fs: FileSystem;
  paths: StatePaths;
  source: KafkaSource;
}

export async function explainHour(
  sources: ExplainSources,
  plan: TopicPlan,
  hour: string,
  now = Date.now(),
): Promise<TopicHourView> {
  const { fs, paths, loaded } = sources;
  const topic = plan.topic;
  const startMs = hourStartMs(parseHourKey(hour));
  const endMs = startMs + HOUR_MS;
  const hourDir = plan.hourDir(Math.floor(startMs / HOUR_MS));
  const graceMs = loaded.config.completeness.idleGraceSeconds * 1000;
  const state = await loadCompletenessState(fs, paths, topic);
  const files = await hourFiles(fs, hourDir);

  const partitions: PartitionHourView[] = [];
  for (const log of await sources.source.partitionOffsets(topic)) {
    const offsetNames = await listNumbered(fs, paths.offsets(topic, log.partition));
    const newest = offsetNames.at(-1);
    const last =
      newest === undefined
        ? undefined
        : await readJson<CommittedOffsets>(fs, `${paths.offsets(topic, log.partition)}/${newest}`);
    const committed = last === undefined ? undefined : BigInt(last.endOffset);
    const caughtUp = (committed ?? log.earliest) >= log.latest;
    const reached = last?.reachedMs ?? null;
    const counts = caughtUp ? Math.max(reached ?? Number.NEGATIVE_INFINITY, now - graceMs) : reached;
    const own = files.filter((f) => f.partition === log.partition);
    const views: HourFileView[] = [];
    for (const file of own)
      views.push(await withRecordCount(fs, paths, topic, log.partition, offsetNames, file));
    partitions.push({
      partition: log.partition,
      committed: committed?.toString() ?? null,
      logEnd: log.latest.toString(),
      caughtUp,
      reachedAt: reached === null ? null : new Date(reached).toISOString(),
      countsAsReached: counts === null ? null : new Date(counts).toISOString(),
      holdsBack: counts === null || counts < endMs,
      files: views,
      records: views.reduce((sum, f) => sum + (f.records ?? 0), 0),
    });
  }
  const watermarkMs = topicWatermark(
    partitions.map((p) => ({
      partition: p.partition,
      reachedMs: p.reachedAt === null ? null : Date.parse(p.reachedAt),
      caughtUp: p.caughtUp,
    })),
    now,
    graceMs,
  );
  const imported = await readFlag(fs, `${hourDir}/_IMPORTED`);
  const errors = new Map<string, number>();
  await readErrorRecords(fs, paths, { topics: [topic], hour }, (r) =>
    errors.set(r.code, (errors.get(r.code) ?? 0) + 1),
  );
  const view: TopicHourView = {
    topic,
    hour,
    hourDir,
    complete: imported !== null,
    reason: '',
    imported,
    hivePartitionAdded: await fs.exists(`${hourDir}/_SUCCESS`),
    announcedThrough: state.announcedThrough,
    watermark: watermarkMs === null ? null : new Date(watermarkMs).toISOString(),
    pendingRecords: state.pendingCounts[hour] ?? 0,
    lateRecords: state.late[hour] ?? 0,
    errors: [...errors]
      .map(([code, count]) => ({ code, count }))
      .sort((a, b) => a.code.localeCompare(b.code)),
    partitions,
  };
  view.reason = reasonOf(view, { endMs, now, startHour: loaded.config.completeness.startHour });
  return view;
}

function reasonOf(
  view: TopicHourView,
  at: { endMs: number; now: number; startHour: string | undefined },
): string {
  if (view.imported !== null) {
    return (
      `complete: _IMPORTED written${view.imported.announcedAt === null ? '' : ` at ${view.imported.announcedAt}`}` +
      `${view.imported.records === null ? '' : ` with ${view.imported.records} record(s)`}; ` +
      (view.hivePartitionAdded
        ? 'the Hive partition is added (_SUCCESS)'
        : 'the Hive partition add is not done yet (no _SUCCESS; mwingest hive status)')
    );
  }
  if (at.endMs > at.now)
    return `not complete: the hour has not ended yet (it ends at ${new Date(at.endMs).toISOString()})`;
  if (at.startHour !== undefined && at.endMs <= Date.parse(at.startHour))
    return `not announced: the hour is before completeness.startHour ${at.startHour}`;
  if (view.announcedThrough !== null && view.hour <= view.announcedThrough)
    return `announced (through ${view.announcedThrough}) but ${view.hourDir}/_IMPORTED is missing: it was removed, or the hour is older than the first announced one`;
  const holding = view.partitions.filter((p) => p.holdsBack);
  if (holding.length === 0)
    return 'every partition has moved past the hour: the next run announces it (writes _IMPORTED, queues the Hive partition add)';
  return `not complete: held back by ${holding
    .map((p) =>
      p.countsAsReached === null
        ? `partition ${p.partition} (nothing committed yet${p.caughtUp ? '' : `, ${BigInt(p.logEnd) - BigInt(p.committed ?? '0')} message(s) to read`})`
        : `partition ${p.partition} (reached ${p.countsAsReached}${p.caughtUp ? '' : `, ${BigInt(p.logEnd) - BigInt(p.committed ?? '0')} message(s) still to read`})`,
    )
    .join(', ')}; the hour ends at ${new Date(at.endMs).toISOString()}`;
}

interface HourFileName {
  name: string;
  bytes: number;
  partition: number;
  first: bigint;
  last: bigint;
}

async function hourFiles(fs: FileSystem, dir: string): Promise<HourFileName[]> {
  if (!(await fs.exists(dir))) return [];
  const found: HourFileName[] = [];
  for (const status of await fs.list(dir)) {
    const match = /\.(\d+)\.(\d+)-(\d+)\.[a-z]+$/.exec(status.name);
    if (status.type !== 'file' || match === null) continue;
    found.push({
      name: status.name,
      bytes: status.length,
      partition: Number(match[1]),
      first: BigInt(match[2]!),
      last: BigInt(match[3]!),
    });
  }
  return found.sort((a, b) => a.partition - b.partition || (a.first < b.first ? -1 : 1));
}

/** The record count of an hour file, from the offsets document of the commit that wrote it (the first one ending after it). */
async function withRecordCount(
  fs: FileSystem,
  paths: StatePaths,
  topic: string,
  partition: number,
  offsetNames: string[],
  file: HourFileName,
): Promise<HourFileView> {
  const after = padOffset(file.last);
  const name = offsetNames.find((n) => n > `${after}.json`);
  let records: number | null = null;
  if (name !== undefined) {
    const commit = await readJson<CommittedOffsets>(fs, `${paths.offsets(topic, partition)}/${name}`);
    records = commit.files.find((f) => f.final.endsWith(`/${file.name}`))?.records ?? null;
  }
  return {
    name: file.name,
    bytes: file.bytes,
    records,
    firstOffset: file.first.toString(),
    lastOffset: file.last.toString(),
  };
}

async function readFlag(fs: FileSystem, path: string): Promise<TopicHourView['imported']> {
  if (!(await fs.exists(path))) return null;
  try {
    const flag = JSON.parse((await fs.readFile(path)).toString('utf8')) as {
      records?: unknown;
      announcedAt?: unknown;
    };
    return {
      records: typeof flag.records === 'number' ? flag.records : null,
      announcedAt: typeof flag.announcedAt === 'string' ? flag.announcedAt : null,
    };
  } catch {
    // A flag written by another importer (Camus writes an empty one): it is there, its content unknown.
    return { records: null, announcedAt: null };
  }
}

export function formatExplanation(view: TopicHourView): string {
  const lines = [`${view.topic} ${view.hour}: ${view.reason}`, `  directory ${view.hourDir}`];
  lines.push(
    `  announced through ${view.announcedThrough ?? '— (nothing yet)'}; watermark ${view.watermark ?? '— (a partition holds everything back)'}`,
  );
  if (view.pendingRecords > 0)
    lines.push(`  ${view.pendingRecords} record(s) committed, waiting for the hour to be complete`);
  if (view.lateRecords > 0)
    lines.push(`  ${view.lateRecords} late record(s) written after the hour was announced`);
  for (const p of view.partitions) {
    lines.push(
      `  ${p.holdsBack ? '✗' : '✓'} partition ${p.partition}: committed ${p.committed ?? '— (never)'} of ${p.logEnd}` +
        `${p.caughtUp ? ' (caught up)' : ''}, reached ${p.reachedAt ?? '—'}` +
        `${p.countsAsReached !== p.reachedAt ? `, counts as ${p.countsAsReached ?? '—'}` : ''}; ` +
        `${p.files.length} file(s), ${p.records} record(s) in this hour`,
    );
    for (const f of p.files) lines.push(`      ${f.name}  ${f.records ?? '?'} record(s), ${f.bytes} bytes`);
  }
  if (view.errors.length > 0)
    lines.push(
      `  errors (by Kafka timestamp in this hour): ${view.errors.map((e) => `${e.code} ${e.count}`).join(', ')}`,
    );
  return lines.join('\n');
}
