/**
 * Scale-out: records/s of one run spread over 1, 2 and 4 `mwingest worker` processes, end to end
 * from the real Kafka to the real HDFS (WebHDFS) with Redis leases, on whatever machine runs it.
 *
 *   node --import tsx bench/scale-out.ts [messagesPerTopic=100000] [workers=1,2,4] [concurrency=1]
 *
 * One backlog (2 topics × 8 partitions of realistic EditAttempt and SearchSatisfaction messages,
 * 1 % malformed, over 2 hours) is produced once; each worker count then ingests all of it as a
 * fresh job (own state and output directories). The rate is records read / run duration (tick to
 * saved report). CPU seconds are sampled from /proc for the workers and for the stack's services
 * (Kafka, NameNode, DataNode, Redis) to show where the machine's cores went. Results are printed and
 * written to bench/results/scale-out.json.
 */
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { planTraffic } from '../src/demo/traffic.js';
import { openFileSystem } from '../src/hdfs/open.js';
import { hiveQueueName } from '../src/hive/queue.js';
import { HOUR_MS } from '../src/hours/hour.js';
import type { RunReport } from '../src/ingest/run-report.js';
import { readJson } from '../src/ingest/state-store.js';
import { openKafkaSink } from '../src/kafka/open.js';
import { lastRuns, partitionsQueueName, runsQueueName } from '../src/scheduler/run-flow-state.js';
import { triggerRun } from '../src/scheduler/schedule.js';
import { MessageCodec } from '../src/schemas/codec.js';
import { defaultRegistryRoot, SchemaRegistry, schemaNameOfTopic } from '../src/schemas/registry.js';
import { isMessage, spawnWorker } from '../test/scheduler/worker-harness.js';
import { produceMessages, writeTestJob } from '../test/support/ingest.js';
import { requireStack, uniqueName } from '../test/support/stack.js';

const perTopic = Number(process.argv[2] ?? 100_000);
const counts = (process.argv[3] ?? '1,2,4').split(',').map(Number);
const concurrency = Number(process.argv[4] ?? 1);
const PARTITIONS = 8;

const stack = await requireStack(['kafka', 'webhdfs', 'redis']);
const prefix = uniqueName('bscale').toLowerCase();
const registry = await SchemaRegistry.load(defaultRegistryRoot());
const codec = new MessageCodec(registry);
const sink = await openKafkaSink({ brokers: stack.kafkaBrokers });
const topics = ['EditAttempt', 'SearchSatisfaction'].map((schema) => `${prefix}_${schema}`);
const redis = new Redis(stack.redisUrl, { maxRetriesPerRequest: null });

interface Result {
  workers: number;
  concurrency: number;
  records: number;
  bytes: number;
  runSeconds: number;
  recordsPerSecond: number;
  cpuSeconds: Record<string, number>;
  /** CPU seconds used by the sampled processes, per second of run, per core of the machine. */
  sampledBusy: number;
  /** The whole machine's busy share (/proc/stat) during the run: the rest is other people's work. */
  machineBusy: number;
}

const results: Result[] = [];
try {
  for (const topic of topics) await sink.createTopic(topic, PARTITIONS);
  const now = Date.now();
  process.stderr.write(
    `producing ${perTopic * topics.length} messages to ${topics.length} topics × ${PARTITIONS} partitions…\n`,
  );
  for (let i = 0; i < perTopic; i += 50_000) {
    const messages = planTraffic(registry, codec, {
      topics: topics.map((topic) => ({
        topic,
        schemaName: schemaNameOfTopic(topic),
        partitions: PARTITIONS,
      })),
      messagesPerTopic: Math.min(50_000, perTopic - i),
      fromMs: now - 2 * HOUR_MS,
      toMs: now - 60_000,
      seed: i + 1,
    });
    await produceMessages(sink, messages);
  }

  for (const workers of counts) {
    const name = `${prefix}-w${workers}c${concurrency}`;
    const hdfsBase = `/mwingest-bench/${name}`;
    const loaded = await writeTestJob({
      name,
      prefix,
      stack,
      registry: defaultRegistryRoot(),
      hdfsBase,
      extra: { limits: { errorRatio: 0.05 } },
    });
    const processes = Array.from({ length: workers }, () =>
      spawnWorker({ loaded, stack }, { concurrency, statusInterval: 3600 }),
    );
    try {
      await Promise.all(processes.map((p) => p.waitForLine(isMessage('worker running'))));
      const services = await servicePids();
      const before = await cpuSeconds([...processes.map((p) => ['worker', p.pid] as const), ...services]);
      const machineBefore = await machineTicks();
      const started = Date.now();
      await triggerRun(redis, loaded.config);
      let runId: string | undefined;
      while (runId === undefined) {
        await new Promise((resolve) => setTimeout(resolve, 200));
        runId = (await lastRuns(redis, name)).lastRunId;
        if (Date.now() - started > 30 * 60_000) throw new Error('the run did not finish within 30 minutes');
      }
      const wall = (Date.now() - started) / 1000;
      const machineAfter = await machineTicks();
      const after = await cpuSeconds([...processes.map((p) => ['worker', p.pid] as const), ...services]);
      const fs = await openFileSystem(loaded.config.fileSystem);
      const report = await readJson<RunReport>(fs, `${hdfsBase}/state/${name}/reports/${runId}.json`);
      if (report.status !== 'succeeded') throw new Error(`run failed: ${report.problems.join('; ')}`);
      const cpu: Record<string, number> = {};
      for (const [label, seconds] of Object.entries(after))
        cpu[label] = round(seconds - (before[label] ?? 0));
      const runSeconds = report.durationMs / 1000;
      const total = Object.values(cpu).reduce((a, b) => a + b, 0);
      results.push({
        workers,
        concurrency,
        records: report.totals.read,
        bytes: report.totals.bytesRead,
        runSeconds: round(runSeconds),
        recordsPerSecond: Math.round(report.totals.read / runSeconds),
        cpuSeconds: cpu,
        sampledBusy: round(total / wall / cpus().length),
        machineBusy: round((machineAfter.busy - machineBefore.busy) / (machineAfter.all - machineBefore.all)),
      });
      process.stderr.write(
        `${workers} worker(s): ${report.totals.read} records in ${runSeconds.toFixed(1)} s\n`,
      );
      await fs.delete(hdfsBase, { recursive: true });
      await fs.close();
    } finally {
      for (const p of processes) p.kill('SIGTERM');
      await Promise.all(processes.map((p) => p.exited));
      for (const queue of [runsQueueName(name), partitionsQueueName(name), hiveQueueName(name)]) {
        const q = new Queue(queue, { connection: redis });
        await q.obliterate({ force: true });
        await q.close();
      }
      const keys = await redis.keys(`mwingest:${name}:*`);
      if (keys.length > 0) await redis.del(...keys);
    }
  }
} finally {
  for (const topic of topics) await sink.deleteTopic(topic).catch(() => undefined);
  await sink.close();
  redis.disconnect();
}

const lines = [
  `scale-out: ${topics.length} topics × ${PARTITIONS} partitions, ${perTopic * topics.length} messages, ${cpus().length} cores, worker concurrency ${concurrency}`,
  'workers  records/s  run s  speed-up  ours busy  machine busy  CPU s: workers / kafka / namenode / datanode / redis',
];
for (const r of results) {
  const c = r.cpuSeconds;
  lines.push(
    `${String(r.workers).padStart(7)}  ${String(r.recordsPerSecond).padStart(9)}  ${r.runSeconds.toFixed(1).padStart(5)}  ` +
      `${(r.recordsPerSecond / results[0]!.recordsPerSecond).toFixed(2).padStart(8)}  ${`${Math.round(r.sampledBusy * 100)} %`.padStart(9)}  ` +
      `${`${Math.round(r.machineBusy * 100)} %`.padStart(12)}  ` +
      `${c.worker ?? 0} / ${c.kafka ?? 0} / ${c.namenode ?? 0} / ${c.datanode ?? 0} / ${c.redis ?? 0}`,
  );
}
process.stdout.write(`${lines.join('\n')}\n`);
await mkdir(join(import.meta.dirname, 'results'), { recursive: true });
await writeFile(
  join(import.meta.dirname, 'results', 'scale-out.json'),
  `${JSON.stringify({ at: new Date().toISOString(), perTopic, results }, null, 2)}\n`,
);

/** The stack's service processes, found by their command lines (read from /proc; nothing is signalled). */
async function servicePids(): Promise<(readonly [string, number])[]> {
  const found: (readonly [string, number])[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    const label = cmdline.includes('kafka.Kafka')
      ? 'kafka'
      : cmdline.includes('hdfs.server.namenode.NameNode')
        ? 'namenode'
        : cmdline.includes('hdfs.server.datanode.DataNode')
          ? 'datanode'
          : cmdline.startsWith('redis-server')
            ? 'redis'
            : undefined;
    if (label !== undefined) found.push([label, Number(entry)] as const);
  }
  return found;
}

/** Busy and total jiffies of all cores (first line of /proc/stat). */
async function machineTicks(): Promise<{ busy: number; all: number }> {
  const [cpu] = (await readFile('/proc/stat', 'utf8')).split('\n');
  const values = cpu!.trim().split(/\s+/).slice(1).map(Number);
  const all = values.reduce((a, b) => a + b, 0);
  const idle = (values[3] ?? 0) + (values[4] ?? 0);
  return { busy: all - idle, all };
}

/** utime + stime of each process, summed per label, in seconds. */
async function cpuSeconds(processes: (readonly [string, number])[]): Promise<Record<string, number>> {
  const ticks = 100; // USER_HZ on Linux
  const totals: Record<string, number> = {};
  for (const [label, pid] of processes) {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
    if (stat === undefined) continue;
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const seconds = (Number(fields[11]) + Number(fields[12])) / ticks;
    totals[label] = (totals[label] ?? 0) + seconds;
  }
  return totals;
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}
