import { type Channel, channel } from 'node:diagnostics_channel';
import { performance } from 'node:perf_hooks';

/**
 * How long requests to the outside take, published on `node:diagnostics_channel` channels: the
 * WebHDFS and Hive clients publish without knowing who listens, and the metrics (src/ops) subscribe
 * and turn each message into a histogram sample. Nothing is measured while nobody listens.
 */
export type RequestOutcome = 'success' | 'error';

/** One WebHDFS HTTP exchange, on `webhdfsRequests`. */
export interface WebHdfsRequestTiming {
  /** The WebHDFS operation: `CREATE`, `RENAME`, `LISTSTATUS`, … */
  op: string;
  /** `namenode`, or `datanode` for the data step of CREATE and APPEND. */
  server: 'namenode' | 'datanode';
  outcome: RequestOutcome;
  seconds: number;
}

/** One HQL statement (connecting included when it had to connect), on `hiveRequests`. */
export interface HiveRequestTiming {
  /** The statement's kind: `ALTER TABLE`, `SHOW PARTITIONS`, `SELECT`, … (`OTHER` otherwise). */
  op: string;
  outcome: RequestOutcome;
  seconds: number;
}

/** The NameNode a WebHDFS client now calls, on `webhdfsNameNodes` (when it first answers, and on each failover). */
export interface WebHdfsActiveNameNode {
  /** The HA nameservice (or the only NameNode's address). */
  nameservice: string;
  namenodes: string[];
  active: string;
}

export const WEBHDFS_REQUESTS = 'mwingest:webhdfs:request';
export const WEBHDFS_NAMENODES = 'mwingest:webhdfs:namenode';
export const HIVE_REQUESTS = 'mwingest:hive:request';
export const webhdfsRequests: Channel = channel(WEBHDFS_REQUESTS);
export const webhdfsNameNodes: Channel = channel(WEBHDFS_NAMENODES);
export const hiveRequests: Channel = channel(HIVE_REQUESTS);

/** Settles as `work` does, and publishes on `target` how long it took and whether it failed. */
export function timeRequest<T, Labels extends object>(
  target: Channel,
  labels: Labels,
  work: Promise<T>,
): Promise<T> {
  if (!target.hasSubscribers) return work;
  const started = performance.now();
  const publish = (outcome: RequestOutcome) =>
    target.publish({ ...labels, outcome, seconds: (performance.now() - started) / 1000 });
  return work.then(
    (value) => {
      publish('success');
      return value;
    },
    (error: unknown) => {
      publish('error');
      throw error;
    },
  );
}

const TWO_WORD_KINDS = new Set(['ALTER', 'CREATE', 'DROP', 'SHOW', 'DESCRIBE', 'MSCK']);

/**
 * A statement's kind for a metric label: its first keyword, two for DDL (`ALTER TABLE`). Never
 * the statement's names or values, so the label has a handful of values.
 */
export function hqlKind(statement: string): string {
  const [first = '', second = ''] = statement
    .replace(/^\s*(--[^\n]*\n\s*)*/, '')
    .trim()
    .split(/\s+/, 2)
    .map((word) => word.toUpperCase());
  if (!/^[A-Z]+$/.test(first)) return 'OTHER';
  return TWO_WORD_KINDS.has(first) && /^[A-Z]+$/.test(second) ? `${first} ${second}` : first;
}
