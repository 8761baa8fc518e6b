import type { PartitionResult } from './partition-result.js';

/** What one ingest run did, per topic and partition; printed, and saved as JSON in the state dir. */
export interface RunReport {
  job: string;
  runId: string;
  status: 'succeeded' | 'failed' | 'skipped';
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  /** Why the run failed or was skipped, one sentence each. */
  problems: string[];
  totals: {
    read: number;
    written: number;
    errors: number;
    late: number;
    absent: number;
    expired: number;
    /** Records skipped because their hour was imported before a cut-over (`after-imported`). */
    imported: number;
    bytesRead: number;
    files: number;
    recordsPerSecond: number;
  };
  topics: TopicReport[];
}

export interface TopicReport {
  topic: string;
  schemaName: string;
  readerRevision: string | null;
  status: 'succeeded' | 'failed';
  /** Records written per writer revision. */
  revisions: Record<string, number>;
  partitions: PartitionResult[];
  /** Hours announced by this run (`_IMPORTED` written, Hive job queued). */
  announced: string[];
  /** Hour keys that got late records, with counts. */
  late: Record<string, number>;
  /** Newest hour announced so far, and the completeness watermark. */
  announcedThrough: string | null;
  problem?: string;
}

export function totalsOf(topics: TopicReport[], durationMs: number): RunReport['totals'] {
  const totals = {
    read: 0,
    written: 0,
    errors: 0,
    late: 0,
    absent: 0,
    expired: 0,
    imported: 0,
    bytesRead: 0,
    files: 0,
  };
  for (const topic of topics) {
    for (const p of topic.partitions) {
      totals.read += p.counts.read;
      totals.written += p.counts.written;
      totals.errors += p.counts.errors;
      totals.late += p.counts.late;
      totals.absent += p.counts.absent;
      totals.expired += p.counts.expired;
      totals.imported += p.counts.imported ?? 0;
      totals.bytesRead += p.bytesRead;
      totals.files += p.files;
    }
  }
  return { ...totals, recordsPerSecond: durationMs > 0 ? Math.round((totals.read * 1000) / durationMs) : 0 };
}

/** The report as a person reads it in a terminal. */
export function formatRunReport(report: RunReport): string {
  const lines: string[] = [];
  const t = report.totals;
  lines.push(
    `run ${report.runId} of job ${report.job}: ${report.status.toUpperCase()} in ${(report.durationMs / 1000).toFixed(1)} s`,
    `  ${t.read} read = ${t.written} written + ${t.errors} errors` +
      `${t.imported ? ` + ${t.imported} already imported (skipped)` : ''}` +
      `${t.absent ? ` (+ ${t.absent} offsets absent from the log)` : ''}` +
      `${t.expired ? ` (+ ${t.expired} EXPIRED before read)` : ''}; ${t.late} late; ${t.files} files; ` +
      `${t.recordsPerSecond.toLocaleString('en-US')} rec/s, ${(t.bytesRead / 1e6).toFixed(1)} MB`,
  );
  for (const topic of report.topics) {
    lines.push(
      '',
      `${topic.topic} (${topic.schemaName}, reader ${topic.readerRevision ?? '—'}): ${topic.status}`,
    );
    if (topic.problem) lines.push(`  ! ${topic.problem}`);
    for (const p of topic.partitions) {
      const mark = p.status === 'failed' ? '✗' : p.status === 'committed' ? '✓' : '·';
      lines.push(
        `  ${mark} partition ${p.partition}: offsets ${p.startOffset} → ${p.endOffset} of ${p.highWatermark}; ${p.equation}` +
          `${p.counts.late ? `; ${p.counts.late} late` : ''}`,
      );
      if (p.expiredRange)
        lines.push(
          `      expired before read: offsets ${p.expiredRange.from}–${BigInt(p.expiredRange.to) - 1n}`,
        );
      if (p.error) lines.push(`      ${p.error.code}: ${p.error.message}`);
    }
    if (topic.announced.length > 0) {
      lines.push(`  announced ${topic.announced.length} hour(s): ${summariseHours(topic.announced)}`);
    }
    const late = Object.entries(topic.late);
    if (late.length > 0)
      lines.push(`  late records for announced hours: ${late.map(([h, n]) => `${h} (${n})`).join(', ')}`);
  }
  if (report.problems.length > 0) {
    lines.push('', 'problems:');
    for (const problem of report.problems) lines.push(`  - ${problem}`);
  }
  return lines.join('\n');
}

function summariseHours(hours: string[]): string {
  if (hours.length <= 4) return hours.join(', ');
  return `${hours[0]} … ${hours.at(-1)}`;
}
