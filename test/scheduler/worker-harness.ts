/**
 * Helpers for the tests of scheduled, distributed runs against the real stack: a job on fresh
 * topics and HDFS paths, `mwingest worker` processes (real child processes, killed for real), the
 * run state in Redis, and the checks every such test ends with — the hour files hold exactly what
 * was produced, and each partition's commits form one chain of disjoint ranges whose files are
 * exactly the files in the hour directories.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { type PlannedMessage, planTraffic } from '../../src/demo/traffic.js';
import type { FileSystem } from '../../src/hdfs/filesystem.js';
import { openFileSystem } from '../../src/hdfs/open.js';
import { hiveQueueName } from '../../src/hive/queue.js';
import { HOUR_MS } from '../../src/hours/hour.js';
import type { CommitManifest } from '../../src/ingest/commit.js';
import type { RunReport } from '../../src/ingest/run-report.js';
import { readJson } from '../../src/ingest/state-store.js';
import type { LoadedJob } from '../../src/job/config.js';
import type { KafkaSink } from '../../src/kafka/client.js';
import { openKafkaSink } from '../../src/kafka/open.js';
import {
  type LastRuns,
  lastRuns,
  partitionsQueueName,
  runStateKeys,
  runsQueueName,
} from '../../src/scheduler/run-flow-state.js';
import { MessageCodec } from '../../src/schemas/codec.js';
import { SchemaRegistry, schemaNameOfTopic } from '../../src/schemas/registry.js';
import {
  decodeContainer,
  expectedReaderBytes,
  listFilesRecursively,
  mixedRegistryRoot,
  multiset,
  produceMessages,
  writeTestJob,
} from '../support/ingest.js';
import { requireStack, type StackConfig, uniqueName } from '../support/stack.js';

const projectRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface TestJob {
  stack: StackConfig;
  loaded: LoadedJob;
  name: string;
  topics: string[];
  partitions: number;
  fs: FileSystem;
  redis: Redis;
  sink: KafkaSink;
  registry: SchemaRegistry;
  codec: MessageCodec;
  hdfsBase: string;
  produced: PlannedMessage[];
  /** Produces `perTopic` messages to every topic with record times in [now − hours, now − 1 min). */
  produce(
    perTopic: number,
    options?: {
      hours?: number;
      fromMs?: number;
      toMs?: number;
      seed?: number;
      badRatio?: number;
      topics?: string[];
    },
  ): Promise<PlannedMessage[]>;
  cleanup(): Promise<void>;
}

/** A job named `<label>-…` on fresh topics `<name>_<Schema>` and a fresh HDFS directory. */
export async function createTestJob(
  label: string,
  options: { schemas: string[]; partitions: number; extra?: Record<string, unknown> },
): Promise<TestJob> {
  const stack = await requireStack(['kafka', 'webhdfs', 'redis']);
  const name = uniqueName(label)
    .toLowerCase()
    .replace(/[^a-z0-9_-]/g, '-');
  const hdfsBase = `/mwingest-test/${name}`;
  const registryRoot = await mixedRegistryRoot();
  const loaded = await writeTestJob({
    name,
    prefix: name,
    stack,
    registry: registryRoot,
    hdfsBase,
    extra: options.extra ?? {},
  });
  const topics = options.schemas.map((schema) => `${name}_${schema}`);
  const sink = await openKafkaSink({ brokers: stack.kafkaBrokers });
  for (const topic of topics) await sink.createTopic(topic, options.partitions);
  const registry = await SchemaRegistry.load(registryRoot);
  const codec = new MessageCodec(registry);
  const fs = await openFileSystem(loaded.config.fileSystem);
  const redis = new Redis(stack.redisUrl, { maxRetriesPerRequest: null });
  redis.on('error', () => {}); // the Redis-restart test takes it away on purpose
  const produced: PlannedMessage[] = [];
  return {
    stack,
    loaded,
    name,
    topics,
    partitions: options.partitions,
    fs,
    redis,
    sink,
    registry,
    codec,
    hdfsBase,
    produced,
    async produce(perTopic, produceOptions = {}) {
      const now = Date.now();
      const spec = (produceOptions.topics ?? topics).map((topic) => ({
        topic,
        schemaName: schemaNameOfTopic(topic),
        partitions: options.partitions,
      }));
      const messages = planTraffic(registry, codec, {
        topics: spec,
        messagesPerTopic: perTopic,
        fromMs: produceOptions.fromMs ?? now - (produceOptions.hours ?? 4) * HOUR_MS,
        toMs: produceOptions.toMs ?? now - 60_000,
        badRatio: produceOptions.badRatio ?? 0.01,
        seed: produceOptions.seed ?? produced.length + 1,
      });
      await produceMessages(sink, messages);
      produced.push(...messages);
      return messages;
    },
    async cleanup() {
      for (const queue of [runsQueueName(name), partitionsQueueName(name), hiveQueueName(name)]) {
        const q = new Queue(queue, { connection: redis });
        await q.obliterate({ force: true }).catch(() => undefined);
        await q.close();
      }
      const keys = await redis.keys(`mwingest:${name}:*`).catch(() => []);
      if (keys.length > 0) await redis.del(...keys);
      for (const topic of topics) await sink.deleteTopic(topic).catch(() => undefined);
      await sink.close();
      await fs.delete(hdfsBase, { recursive: true }).catch(() => undefined);
      await fs.close();
      redis.disconnect();
    },
  };
}

/** A `mwingest worker` child process and the JSON log lines it wrote so far. */
export interface WorkerProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly lines: Record<string, unknown>[];
  /** Resolves with the first log line (already written or to come) that matches. */
  waitForLine(
    match: (line: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  /** Resolves with the exit code (or signal name). */
  readonly exited: Promise<number | string>;
  kill(signal: NodeJS.Signals): void;
}

export function spawnWorker(
  job: Pick<TestJob, 'loaded' | 'stack'>,
  options: {
    concurrency?: number;
    metricsPort?: number;
    statusInterval?: number;
    shutdownGrace?: number;
    scheduleCheck?: number;
    env?: Record<string, string>;
  } = {},
): WorkerProcess {
  const args = [
    join(projectRoot, 'bin', 'mwingest.js'),
    'worker',
    '--job',
    job.loaded.path,
    '--redis',
    job.stack.redisUrl,
  ];
  if (options.concurrency !== undefined) args.push('--concurrency', String(options.concurrency));
  if (options.metricsPort !== undefined) args.push('--metrics-port', String(options.metricsPort));
  if (options.statusInterval !== undefined) args.push('--status-interval', String(options.statusInterval));
  if (options.shutdownGrace !== undefined) args.push('--shutdown-grace', String(options.shutdownGrace));
  if (options.scheduleCheck !== undefined) args.push('--schedule-check', String(options.scheduleCheck));
  const child = spawn(process.execPath, args, {
    cwd: projectRoot,
    env: { ...process.env, MWINGEST_FROM_SOURCE: '1', MWINGEST_LOG_LEVEL: 'info', ...options.env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const lines: Record<string, unknown>[] = [];
  const waiters: {
    match: (line: Record<string, unknown>) => boolean;
    resolve: (line: Record<string, unknown>) => void;
  }[] = [];
  let buffered = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => {
    buffered += chunk;
    let newline = buffered.indexOf('\n');
    while (newline >= 0) {
      const text = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      newline = buffered.indexOf('\n');
      let line: Record<string, unknown>;
      try {
        line = JSON.parse(text) as Record<string, unknown>;
      } catch {
        line = { msg: text, raw: true };
      }
      lines.push(line);
      if (process.env.MWINGEST_TEST_LOG === 'debug') process.stderr.write(`[worker ${child.pid}] ${text}\n`);
      for (const waiter of [...waiters]) {
        if (waiter.match(line)) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(line);
        }
      }
    }
  });
  const exited = once(child, 'exit').then(([code, signal]) => (code ?? signal) as number | string);
  return {
    child,
    pid: child.pid!,
    lines,
    waitForLine(match, timeoutMs = 60_000) {
      const seen = lines.find(match);
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          reject(
            new Error(
              `worker ${child.pid}: no matching log line within ${timeoutMs} ms; last lines:\n${lines
                .slice(-8)
                .map((l) => JSON.stringify(l))
                .join('\n')}`,
            ),
          );
        }, timeoutMs);
        waiters.push({
          match,
          resolve: (line) => {
            clearTimeout(timer);
            resolve(line);
          },
        });
      });
    },
    exited,
    kill(signal) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
  };
}

export const isMessage = (msg: string) => (line: Record<string, unknown>) => line.msg === msg;

/** Stops workers that are still running (SIGKILL) and waits for them. */
export async function stopAll(workers: WorkerProcess[]): Promise<void> {
  for (const worker of workers) worker.kill('SIGKILL');
  await Promise.all(workers.map((worker) => worker.exited));
}

/** Polls until `check` returns a value other than undefined. */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 60_000,
  everyMs = 250,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    await sleep(everyMs);
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${String(lastError)})` : ''}`,
  );
}

/** Waits until a run other than `previousRunId` has finished, and returns the shared last-run record. */
export async function nextFinishedRun(
  redis: Redis,
  jobName: string,
  previousRunId: string | undefined,
  timeoutMs = 90_000,
): Promise<LastRuns> {
  return eventually(
    'the next run to finish',
    async () => {
      const last = await lastRuns(redis, jobName);
      return last.lastRunId !== undefined && last.lastRunId !== previousRunId ? last : undefined;
    },
    timeoutMs,
  );
}

export async function runReport(job: TestJob, runId: string): Promise<RunReport> {
  return readJson<RunReport>(
    job.fs,
    `${job.loaded.config.output.stateDir}/${job.name}/reports/${runId}.json`,
  );
}

export async function currentRunId(job: TestJob): Promise<string | null> {
  return job.redis.get(runStateKeys(job.name).current);
}

/**
 * Guarantee 1 across workers: per topic, the records in the hour files are exactly the good
 * messages produced (as the reader schema encodes them), none missing and none twice, and the
 * error files hold exactly the bad ones.
 */
export async function assertExactlyProduced(job: TestJob): Promise<void> {
  for (const topic of job.topics) {
    const reader = job.registry.latest(schemaNameOfTopic(topic))!;
    const produced = job.produced.filter((m) => m.topic === topic);
    const expected = multiset(
      produced.filter((m) => !m.bad).map((m) => expectedReaderBytes(job.registry, m, reader.revision)),
    );
    const actual: string[] = [];
    for (const path of await listFilesRecursively(job.fs, `${job.hdfsBase}/raw/${topic}`)) {
      if (!path.endsWith('.avro')) continue;
      const { records } = await decodeContainer(await job.fs.readFile(path));
      for (const record of records) actual.push(reader.type.toBuffer(record).toString('hex'));
    }
    const got = multiset(actual);
    let missing = 0;
    let extra = 0;
    for (const [key, n] of expected) missing += Math.max(0, n - (got.get(key) ?? 0));
    for (const [key, n] of got) extra += Math.max(0, n - (expected.get(key) ?? 0));
    assert.equal(
      actual.length,
      produced.length - produced.filter((m) => m.bad).length,
      `${topic}: record count in the hour files`,
    );
    assert.equal(missing, 0, `${topic}: ${missing} produced record(s) missing from the hour files`);
    assert.equal(
      extra,
      0,
      `${topic}: ${extra} record(s) in the hour files that were not produced (or twice)`,
    );
    let errorRecords = 0;
    for (const path of await listFilesRecursively(
      job.fs,
      `${job.hdfsBase}/state/${job.name}/errors/${topic}`,
    )) {
      if (path.endsWith('.errors.jsonl'))
        errorRecords += (await job.fs.readFile(path))
          .toString('utf8')
          .split('\n')
          .filter((l) => l !== '').length;
    }
    assert.equal(errorRecords, produced.filter((m) => m.bad).length, `${topic}: error records`);
  }
}

export interface PartitionCommits {
  topic: string;
  partition: number;
  manifests: CommitManifest[];
}

/**
 * Guarantee 3, from the storage side: for every partition, the committed manifests cover
 * [0, high watermark) as one chain of disjoint ranges with growing fencing tokens, and the files in
 * the hour directories are exactly the files those manifests list — a stale owner left nothing.
 */
export async function assertSingleOwnerChains(job: TestJob): Promise<PartitionCommits[]> {
  const state = `${job.hdfsBase}/state/${job.name}`;
  const listed = new Set<string>();
  const all: PartitionCommits[] = [];
  for (const topic of job.topics) {
    const produced = job.produced.filter((m) => m.topic === topic);
    for (let partition = 0; partition < job.partitions; partition++) {
      const dir = `${state}/partitions/${topic}/${partition}/manifests`;
      const manifests: CommitManifest[] = [];
      for (const path of (await listFilesRecursively(job.fs, dir))
        .filter((p) => /\/\d{20}\.json$/.test(p))
        .sort()) {
        manifests.push(await readJson<CommitManifest>(job.fs, path));
      }
      let next = 0n;
      let token = 0;
      for (const manifest of manifests) {
        assert.equal(
          BigInt(manifest.startOffset),
          next,
          `${topic}/${partition}: manifest ranges must be contiguous and disjoint`,
        );
        assert.ok(
          manifest.token > token,
          `${topic}/${partition}: fencing tokens grow along the chain (${token} then ${manifest.token})`,
        );
        assert.equal(
          await job.fs.exists(
            `${state}/partitions/${topic}/${partition}/offsets/${manifest.endOffset.padStart(20, '0')}.json`,
          ),
          true,
        );
        next = BigInt(manifest.endOffset);
        token = manifest.token;
        for (const file of manifest.files) listed.add(file.final);
      }
      const high = produced.filter((m) => m.partition === partition).length;
      assert.equal(next, BigInt(high), `${topic}/${partition}: the commits reach the high watermark`);
      all.push({ topic, partition, manifests });
    }
  }
  const present = new Set<string>();
  for (const topic of job.topics) {
    for (const path of await listFilesRecursively(job.fs, `${job.hdfsBase}/raw/${topic}`))
      if (path.endsWith('.avro')) present.add(path);
  }
  for (const path of await listFilesRecursively(job.fs, `${state}/errors`)) present.add(path);
  assert.deepEqual(
    [...present].sort(),
    [...listed].sort(),
    'the output holds exactly the files the manifests list',
  );
  return all;
}
