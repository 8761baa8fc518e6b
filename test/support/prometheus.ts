/**
 * Reading what mwingest exposes to Prometheus, for tests: the text exposition parsed into samples,
 * and a registry with every metric mwingest serves, each with at least one sample, so the names and
 * labels that dashboards and alerts may use can be listed.
 */
import { channel } from 'node:diagnostics_channel';
import { Registry } from 'prom-client';
import { partitionMetrics } from '../../src/hive/worker.js';
import type { PartitionResult } from '../../src/ingest/partition-result.js';
import { createIngestMetrics } from '../../src/ops/metrics.js';
import type { JobStatus } from '../../src/ops/status.js';
import { HIVE_REQUESTS, WEBHDFS_REQUESTS } from '../../src/request-timing.js';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Prometheus text format → samples (comment lines skipped); a line that is not a sample throws. */
export function parseExposition(text: string): Sample[] {
  return text
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
      if (match === null) throw new Error(`not a Prometheus sample line: ${line}`);
      const labels = Object.fromEntries(
        [...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1]!, m[2]!]),
      );
      return { name: match[1]!, labels, value: Number(match[3]) };
    });
}

/** Sum of the samples named `name` whose labels include `labels`; undefined when none matches. */
export function sampleValue(
  samples: Sample[],
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const found = samples.filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  return found.length === 0 ? undefined : found.reduce((sum, s) => sum + s.value, 0);
}

/** A partition task's result as the run reports it: 1000 records read, 990 written, 10 bad. */
export function samplePartitionResult(topic: string): PartitionResult {
  return {
    topic,
    partition: 0,
    status: 'committed',
    startOffset: '0',
    endOffset: '1000',
    highWatermark: '1000',
    counts: { read: 1000, written: 990, errors: 10, absent: 0, expired: 0, late: 3 },
    equation: '1000 − 0 = 1000; 990 written + 10 errors + 0 absent = 1000',
    files: 3,
    hours: { '2026-11-22T13': 500, '2026-11-22T14': 490 },
    lateHours: { '2026-11-22T12': 3 },
    revisions: { '111448028943': 990 },
    bytesRead: 190_000,
    bytesWritten: 61_234,
    reachedMs: Date.parse('2026-11-22T14:59:00Z'),
    caughtUp: true,
    token: 7,
  };
}

/** A job's status with every gauge set: two partitions of one topic, a last run, queued Hive jobs. */
export function sampleJobStatus(job: string, topic: string): JobStatus {
  const partition = (n: number, lag: number) => ({
    partition: n,
    earliest: '0',
    highWatermark: String(1000 + lag),
    committedOffset: '1000',
    lag: String(lag),
    lagSeconds: lag === 0 ? 0 : 1800,
    reachedAt: '2026-11-22T14:59:00.000Z',
    lastCommitAt: '2026-11-22T15:16:00.000Z',
    lastCommitRunId: '20261122T151500Z-abcdef',
    lastCommitOwner: 'host:1',
    lastCommitToken: 7,
  });
  return {
    job,
    at: '2026-11-22T15:30:00.000Z',
    schedule: { pattern: '15 * * * *', tz: 'UTC', next: '2026-11-22T16:15:00.000Z' },
    currentRun: null,
    lastRuns: {
      lastRunId: '20261122T151500Z-abcdef',
      lastStatus: 'succeeded',
      lastFinishedAt: '2026-11-22T15:16:04.000Z',
      lastSuccessRunId: '20261122T151500Z-abcdef',
      lastSuccessAt: '2026-11-22T15:16:04.000Z',
      skippedTicks: 0,
    },
    skippedTicks: [],
    topics: [
      {
        topic,
        schemaName: topic.replace(/^[^_]*_/, ''),
        partitions: [partition(0, 0), partition(1, 25)],
        lag: '25',
        lastCompleteHour: '2026-11-22T13',
        lastCompleteHourEndMs: Date.parse('2026-11-22T14:00:00Z'),
        hoursPendingCompleteness: 1,
        pendingHours: { '2026-11-22T14': 490 },
        late: {},
        announced: [],
      },
    ],
    partitionJobs: {
      queue: `mwingest-${job}-hive`,
      counts: { waiting: 2, active: 0, delayed: 1, failed: 0, completed: 40 },
      pending: [],
    },
    problems: [],
  };
}

/**
 * One registry with everything a worker and a hive worker serve, every metric given a sample the
 * way the running processes give them (a partition task, a run, a status refresh, a WebHDFS
 * request, a Hive statement, a partition add). `close()` stops its histograms listening.
 */
export function exercisedRegistry(job = 'analytics', topic = 'mediawiki_ApiAction') {
  const registry = new Registry();
  const metrics = createIngestMetrics(registry);
  metrics.partitionTask(job, samplePartitionResult(topic));
  metrics.taskOutcome(job, 'committed');
  metrics.runFinished(job, 'succeeded', 4200);
  metrics.tickSkipped(job);
  metrics.statusRefreshFailed(job);
  metrics.applyStatus(sampleJobStatus(job, topic));
  channel(WEBHDFS_REQUESTS).publish({ op: 'CREATE', server: 'datanode', outcome: 'success', seconds: 0.2 });
  channel(HIVE_REQUESTS).publish({ op: 'ALTER TABLE', outcome: 'success', seconds: 0.8 });
  const hive = partitionMetrics(registry);
  hive.added.inc({ ingest_job: job, table: 'apiaction' });
  hive.failures.inc({ ingest_job: job, table: 'apiaction' });
  return { registry, close: () => metrics.close() };
}

/** Series names `registry` exposes (histograms as _bucket, _sum and _count), each with its label names. */
export async function catalogOf(registry: Registry): Promise<Map<string, Set<string>>> {
  const catalog = new Map<string, Set<string>>();
  for (const sample of parseExposition(await registry.metrics())) {
    const labels = catalog.get(sample.name) ?? new Set<string>();
    for (const label of Object.keys(sample.labels)) labels.add(label);
    catalog.set(sample.name, labels);
  }
  return catalog;
}

const NOT_METRICS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'and',
  'or',
  'unless',
  'offset',
  'inf',
  'nan',
]);

/** One instant or range selector of a PromQL expression: the metric and the labels it matches on. */
export interface Selector {
  metric: string;
  matchers: string[];
}

/**
 * The selectors of a PromQL expression and the labels of its `by`/`without`/`on`/`ignoring`
 * clauses. Enough PromQL for the rule file and the dashboard: strings, matchers, ranges, grouping
 * clauses and function calls are told apart; it is not a validating parser (promtool is one).
 */
export function promqlParts(expr: string): { selectors: Selector[]; grouping: string[] } {
  const grouping: string[] = [];
  let rest = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  rest = rest.replace(
    /\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g,
    (_, list: string) => {
      grouping.push(
        ...list
          .split(',')
          .map((label) => label.trim())
          .filter((label) => label !== ''),
      );
      return ' ';
    },
  );
  rest = rest.replace(/\[[^\]]*\]/g, ' ');
  const selectors: Selector[] = [];
  for (const match of rest.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\(|\{([^}]*)\})?/g)) {
    const [, name, after, body] = match;
    if (after === '(' || NOT_METRICS.has(name!.toLowerCase())) continue;
    const matchers = [...(body ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)/g)].map(
      (m) => m[1]!,
    );
    selectors.push({ metric: name!, matchers });
  }
  return { selectors, grouping };
}
