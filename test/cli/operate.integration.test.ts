/**
 * The operator's commands against the real stack (Kafka, WebHDFS, Redis), run as a user runs them
 * (bin/mwingest.js): a one-shot `mwingest run` is recorded as the job's last run and writes a
 * node_exporter textfile; `mwingest offsets`, `mwingest errors` and `mwingest explain` read and
 * mend what the run left.
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { type PlannedMessage, planTraffic } from '../../src/demo/traffic.js';
import type { FileSystem } from '../../src/hdfs/filesystem.js';
import { openFileSystem } from '../../src/hdfs/open.js';
import { hiveQueueName } from '../../src/hive/queue.js';
import { HOUR_MS } from '../../src/hours/hour.js';
import type { RunReport } from '../../src/ingest/run-report.js';
import type { LoadedJob } from '../../src/job/config.js';
import type { KafkaSink } from '../../src/kafka/client.js';
import { openKafkaSink } from '../../src/kafka/open.js';
import type { JobStatus } from '../../src/ops/status.js';
import { MessageCodec } from '../../src/schemas/codec.js';
import { SchemaRegistry, schemaNameOfTopic } from '../../src/schemas/registry.js';
import { runMwingest } from '../support/cli.js';
import { localTemp, mixedRegistryRoot, produceMessages, writeTestJob } from '../support/ingest.js';
import { parseExposition, sampleValue } from '../support/prometheus.js';
import { requireStack, type StackConfig, uniqueName } from '../support/stack.js';

const PARTITIONS = 2;

describe('operating a job from the command line (real stack)', () => {
  let stack: StackConfig;
  let sink: KafkaSink;
  let fs: FileSystem;
  let redis: Redis;
  let loaded: LoadedJob;
  let prefix: string;
  let topic: string;
  let hdfsBase: string;
  let produced: PlannedMessage[] = [];
  let report: RunReport;
  let textfile: string;
  const H = Math.floor(Date.now() / HOUR_MS) * HOUR_MS;
  const env = () => ({ MWINGEST_REDIS_URL: stack.redisUrl, MWINGEST_LOG_LEVEL: 'silent' });

  before(async () => {
    stack = await requireStack(['kafka', 'webhdfs', 'redis']);
    prefix = uniqueName('operate');
    hdfsBase = `/mwingest-test/${prefix}`;
    topic = `${prefix}_EditAttempt`;
    sink = await openKafkaSink({ brokers: stack.kafkaBrokers });
    await sink.createTopic(topic, PARTITIONS);
    const root = await mixedRegistryRoot();
    const registry = await SchemaRegistry.load(root);
    loaded = await writeTestJob({ name: prefix, prefix, stack, registry: root, hdfsBase });
    fs = await openFileSystem(loaded.config.fileSystem);
    redis = new Redis(stack.redisUrl, { maxRetriesPerRequest: null });
    produced = planTraffic(registry, new MessageCodec(registry), {
      topics: [{ topic, schemaName: schemaNameOfTopic(topic), partitions: PARTITIONS }],
      messagesPerTopic: 400,
      fromMs: H - 4 * HOUR_MS,
      toMs: H - 2 * HOUR_MS,
      badRatio: 0.03,
      seed: 16,
    });
    await produceMessages(sink, produced);
    textfile = join(await localTemp('mwingest-textfile'), 'mwingest.prom');
  });

  after(async () => {
    await sink?.deleteTopic(topic).catch(() => undefined);
    await sink?.close();
    await fs?.delete(hdfsBase, { recursive: true }).catch(() => undefined);
    await fs?.close();
    if (redis) {
      await new Queue(hiveQueueName(loaded.config.name), { connection: redis })
        .obliterate({ force: true })
        .catch(() => undefined);
      const keys = await redis.keys(`mwingest:${loaded.config.name}:*`);
      if (keys.length > 0) await redis.del(...keys);
      redis.disconnect();
    }
  });

  test('a one-shot run is recorded as the last run and writes a node_exporter textfile', async () => {
    const run = await runMwingest(
      ['run', '--job', loaded.path, '--json', '--no-progress', '--metrics-textfile', textfile],
      { env: env() },
    );
    assert.equal(run.code, 0, run.stderr);
    report = JSON.parse(run.stdout) as RunReport;
    assert.equal(report.totals.read, produced.length);

    const status = await runMwingest(['status', '--job', loaded.path, '--json'], { env: env() });
    assert.equal(status.code, 0, status.stderr);
    const last = (JSON.parse(status.stdout) as JobStatus).lastRuns;
    assert.equal(last.lastRunId, report.runId, 'status shows the one-shot run as the last run');
    assert.equal(last.lastStatus, 'succeeded');
    assert.equal(last.lastSuccessRunId, report.runId);
    const text = await runMwingest(['status', '--job', loaded.path], { env: env() });
    assert.doesNotMatch(text.stdout, /none recorded|never/);

    const samples = parseExposition(await readFile(textfile, 'utf8'));
    const job = { ingest_job: loaded.config.name };
    assert.equal(sampleValue(samples, 'mwingest_last_run_succeeded', job), 1);
    assert.equal(
      sampleValue(samples, 'mwingest_last_successful_run_timestamp_seconds', job),
      Date.parse(report.finishedAt) / 1000,
    );
    assert.equal(
      sampleValue(samples, 'mwingest_records_written_total', { ...job, topic }),
      report.totals.written,
    );
    assert.equal(
      sampleValue(samples, 'mwingest_error_records_total', { ...job, topic }),
      report.totals.errors,
    );
    assert.equal(sampleValue(samples, 'mwingest_runs_total', { ...job, status: 'succeeded' }), 1);
    assert.equal(sampleValue(samples, 'mwingest_consumer_lag_offsets', { ...job, topic }), 0);
    assert.equal(
      samples.filter((s) => s.name.startsWith('process_')).length,
      0,
      "no process metrics: node_exporter has the host's",
    );
    const leftovers = (await readdir(join(textfile, '..'))).filter((name) => name !== 'mwingest.prom');
    assert.deepEqual(leftovers, [], 'no temp file is left beside the textfile');
  });
});
