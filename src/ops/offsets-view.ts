import type { FileSystem } from '../hdfs/filesystem.js';
import type { CommittedOffsets } from '../ingest/commit.js';
import type { StatePaths } from '../ingest/state-store.js';
import { type LoadedJob, topicMatcher } from '../job/config.js';
import type { KafkaSource } from '../kafka/client.js';
import { lastCommit } from './status.js';

/** `mwingest offsets show`: per partition, the resume point in the state dir beside the log's bounds. */
export interface PartitionOffsetsView {
  topic: string;
  partition: number;
  /** End offset of the newest offsets document: where the next run starts; null when never committed. */
  committed: string | null;
  logStart: string;
  logEnd: string;
  /** Messages between the resume point (or the log start) and the log end; null when the resume point is past the end. */
  lag: string | null;
  /** What is wrong with the resume point, if anything (past the log end, before the log start). */
  problem: string | null;
  lastCommitAt: string | null;
  lastCommitRunId: string | null;
  lastCommitToken: number | null;
  /** Set when the resume point was put there by `mwingest offsets set | reset`: the audit record's id. */
  resetBy: string | null;
}

export async function collectOffsets(
  sources: { loaded: LoadedJob; fs: FileSystem; paths: StatePaths; source: KafkaSource },
  filter: { topic?: string; partition?: number } = {},
): Promise<PartitionOffsetsView[]> {
  const matches = topicMatcher(sources.loaded.config);
  const topics =
    filter.topic !== undefined ? [filter.topic] : (await sources.source.listTopics()).filter(matches).sort();
  const views: PartitionOffsetsView[] = [];
  for (const topic of topics) {
    for (const log of await sources.source.partitionOffsets(topic)) {
      if (filter.partition !== undefined && log.partition !== filter.partition) continue;
      const last = (await lastCommit(sources.fs, sources.paths, topic, log.partition)) as
        | (CommittedOffsets & { reset?: { auditId: string } })
        | undefined;
      const committed = last === undefined ? undefined : BigInt(last.endOffset);
      const resume = committed ?? log.earliest;
      let problem: string | null = null;
      if (committed !== undefined && committed > log.latest)
        problem = `the committed offset ${committed} is beyond the log end ${log.latest} (topic recreated or log truncated?)`;
      else if (committed !== undefined && committed < log.earliest)
        problem = `offsets ${committed}–${log.earliest - 1n} expired from Kafka before they were read`;
      views.push({
        topic,
        partition: log.partition,
        committed: committed?.toString() ?? null,
        logStart: log.earliest.toString(),
        logEnd: log.latest.toString(),
        lag:
          resume > log.latest
            ? null
            : (log.latest - (resume < log.earliest ? log.earliest : resume)).toString(),
        problem,
        lastCommitAt: last?.committedAt ?? null,
        lastCommitRunId: last?.runId ?? null,
        lastCommitToken: last?.token ?? null,
        resetBy: last?.reset?.auditId ?? null,
      });
    }
  }
  return views;
}

export function formatOffsets(views: PartitionOffsetsView[]): string {
  if (views.length === 0) return 'no matching topic-partitions';
  const header = ['topic', 'partition', 'committed', 'log start', 'log end', 'lag', 'last commit'];
  const rows = views.map((v) => [
    v.topic,
    String(v.partition),
    v.committed ?? '— (never)',
    v.logStart,
    v.logEnd,
    v.lag ?? '?',
    v.lastCommitAt === null
      ? ''
      : `${v.lastCommitAt}${v.resetBy === null ? ` run ${v.lastCommitRunId} token ${v.lastCommitToken}` : ` set by hand (audit ${v.resetBy})`}`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === 1 || (i >= 2 && i <= 5) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  const lines = [line(header), ...rows.map(line)];
  for (const v of views) if (v.problem !== null) lines.push(`! ${v.topic}/${v.partition}: ${v.problem}`);
  return lines.join('\n');
}
