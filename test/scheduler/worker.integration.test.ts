/**
 * `mwingest worker` against the real Kafka, HDFS and Redis: the metrics operators alert on follow
 * the data; a permanent failure fails its task at once with the reason while a transient one is
 * retried; SIGTERM abandons a task safely and releases its lease; Redis restarted (and emptied) in
 * the middle of a run loses nothing.
 *
 * The last test stops the stack's Redis (`redis-cli shutdown nosave`) and starts it again at once;
 * the integration suite runs one file at a time.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { after, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { decodeError } from '../../src/errors.js';
import { LeaseManager } from '../../src/job/lease.js';
import { createIngestMetrics } from '../../src/ops/metrics.js';
import { lastRuns, partitionsQueueName } from '../../src/scheduler/run-flow-state.js';
import { triggerRun } from '../../src/scheduler/schedule.js';
import { startIngestWorker } from '../../src/scheduler/worker.js';
import { VERSION } from '../../src/version.js';
import { listFilesRecursively, quietLog } from '../support/ingest.js';
import { parseExposition, sampleValue } from '../support/prometheus.js';
import {
  assertExactlyProduced,
  assertSingleOwnerChains,
  createTestJob,
  eventually,
  isMessage,
  nextFinishedRun,
  spawnWorker,
  stopAll,
  type TestJob,
  type WorkerProcess,
} from './worker-harness.js';

const execFileAsync = promisify(execFile);
const jobs: TestJob[] = [];
const workers: WorkerProcess[] = [];

after(async () => {
  await stopAll(workers);
  for (const job of jobs) await job.cleanup();
});

/** Prometheus text → value of the series whose name and labels match (sum of all that match). */
async function scrape(
  url: string,
): Promise<(name: string, labels?: Record<string, string>) => number | undefined> {
  const samples = parseExposition(await (await fetch(url)).text());
  return (name, labels) => sampleValue(samples, name, labels);
}

describe('mwingest worker', () => {
  test('the metrics endpoint shows lag and last success moving with the data', {
    timeout: 120_000,
  }, async () => {
    const job = await createTestJob('wmetrics', {
      schemas: ['EditAttempt', 'SearchSatisfaction'],
      partitions: 2,
    });
    jobs.push(job);
    const worker = spawnWorker(job, { metricsPort: 0, statusInterval: 0.5 });
    workers.push(worker);
    const serving = await worker.waitForLine(isMessage('serving metrics'));
    const url = String(serving.metrics);
    const metric = async (name: string, labels?: Record<string, string>) => (await scrape(url))(name, labels);

    await eventually('gauges for the empty topics', async () =>
      (await metric('mwingest_consumer_lag_offsets')) === 0 ? true : undefined,
    );
    assert.equal(
      await metric('mwingest_last_successful_run_timestamp_seconds'),
      undefined,
      'no run has succeeded yet',
    );

    const first = await job.produce(1000, { hours: 3 });
    await eventually('lag to show what was produced', async () =>
      (await metric('mwingest_consumer_lag_offsets')) === first.length ? true : undefined,
    );
    assert.equal(
      await metric('mwingest_consumer_lag_offsets', { topic: job.topics[0]!, partition: '0' }),
      first.filter((m) => m.topic === job.topics[0] && m.partition === 0).length,
    );

    const triggered = Date.now() / 1000;
    await triggerRun(job.redis, job.loaded.config);
    await nextFinishedRun(job.redis, job.name, undefined);
    const success1 = await eventually('lag 0 and a last success after the run', async () => {
      const read = await scrape(url);
      const success = read('mwingest_last_successful_run_timestamp_seconds');
      return read('mwingest_consumer_lag_offsets') === 0 && success !== undefined ? success : undefined;
    });
    assert.ok(success1 >= triggered, 'the last success is the run just triggered');
    const good = first.filter((m) => !m.bad).length;
    assert.equal(await metric('mwingest_records_written_total'), good);
    assert.equal(await metric('mwingest_error_records_total'), first.length - good);
    assert.equal(await metric('mwingest_last_run_succeeded'), 1);
    assert.equal(await metric('mwingest_consumer_lag_seconds'), 0, 'caught up: no lag in seconds');
    assert.ok((await metric('mwingest_run_duration_seconds_count')) === 1);
    const samples = parseExposition(await (await fetch(url)).text());
    assert.deepEqual(
      samples.filter((s) => 'job' in s.labels || 'instance' in s.labels),
      [],
      "Prometheus's own target labels are never ours",
    );
    assert.equal(sampleValue(samples, 'mwingest_build_info', { version: VERSION }), 1);
    let avroBytes = 0;
    for (const path of await listFilesRecursively(job.fs, job.loaded.config.output.root))
      if (path.endsWith('.avro')) avroBytes += (await job.fs.stat(path))!.length;
    assert.ok(avroBytes > 0);
    assert.equal(sampleValue(samples, 'mwingest_bytes_written_total'), avroBytes, 'the hour files on HDFS');
    const webhdfs = (labels: Record<string, string>) =>
      sampleValue(samples, 'mwingest_webhdfs_request_duration_seconds_count', labels) ?? 0;
    assert.ok(
      webhdfs({ op: 'CREATE', server: 'datanode', outcome: 'success' }) >= 1,
      'hour-file uploads timed',
    );
    assert.ok(webhdfs({ op: 'RENAME', server: 'namenode', outcome: 'success' }) >= 1, 'commit renames timed');
    assert.ok(
      (await metric('mwingest_hive_partition_jobs', { state: 'waiting' }))! > 0,
      'complete hours queued their partition adds',
    );

    const second = await job.produce(300, { hours: 1, seed: 7 });
    const lagSeconds = await eventually('lag to grow again, in offsets and seconds', async () => {
      const read = await scrape(url);
      return read('mwingest_consumer_lag_offsets') === second.length
        ? read('mwingest_consumer_lag_seconds')
        : undefined;
    });
    assert.ok(lagSeconds! > 0, 'the newest committed record is older than now');
    await triggerRun(job.redis, job.loaded.config);
    const success2 = await eventually('a later last success', async () => {
      const value = await metric('mwingest_last_successful_run_timestamp_seconds');
      return value !== undefined && value > success1 ? value : undefined;
    });
    assert.ok(success2 > success1);
    await eventually('lag back to 0', async () =>
      (await metric('mwingest_consumer_lag_offsets')) === 0 ? true : undefined,
    );
    worker.kill('SIGTERM');
    assert.equal(await worker.exited, 0);
  });

  test('a permanent failure fails its task at once with the reason; a busy partition is retried until free', {
    timeout: 120_000,
  }, async () => {
    const job = await createTestJob('wfail', {
      schemas: ['EditAttempt', 'SearchSatisfaction'],
      partitions: 1,
      extra: { limits: { errorRatio: 0.05 }, leases: { ttlSeconds: 3 } },
    });
    jobs.push(job);
    const [bad, busy] = job.topics as [string, string];
    await job.produce(400, { topics: [bad], badRatio: 0.5 });
    await job.produce(400, { topics: [busy], seed: 5 });
    // Someone else (a `mwingest run` elsewhere) holds the good topic's partition for a while.
    const holder = new LeaseManager(job.redis, `mwingest:${job.name}`, {
      ttlMs: 30_000,
      owner: 'test/elsewhere',
    });
    const held = (await holder.tryAcquire(`partition:${busy}:0`))!;
    const worker = await startIngestWorker({
      loaded: job.loaded,
      log: quietLog,
      metrics: createIngestMetrics(undefined, { processMetrics: false }),
    });
    try {
      await triggerRun(job.redis, job.loaded.config);
      const partitions = new Queue(partitionsQueueName(job.name), { connection: job.redis });
      try {
        const retried = await eventually('the busy partition to be retried', async () => {
          const jobs = await partitions.getDelayed();
          return jobs.find((j) => j.data.topic === busy && j.attemptsMade >= 1);
        });
        const busyError = decodeError(retried.failedReason);
        assert.equal(busyError.code, 'MWI_PARTITION_BUSY');
        assert.equal(busyError.canRetry, true);
        assert.match(busyError.message, /test\/elsewhere/);
        await held.release();
        const last = await nextFinishedRun(job.redis, job.name, undefined);
        assert.equal(last.lastStatus, 'failed');
        assert.ok(
          last.lastProblems!.some((p) => p.includes(bad) && p.includes('MWI_RUN_ERROR_RATIO')),
          last.lastProblems!.join('\n'),
        );
        assert.ok(
          !last.lastProblems!.some((p) => p.includes(busy)),
          'the busy partition succeeded once free',
        );
        const failed = (await partitions.getFailed()).find((j) => j.data.topic === bad)!;
        assert.equal(failed.attemptsMade, 1, 'no retry for a permanent failure');
        const ratioError = decodeError(failed.failedReason);
        assert.equal(ratioError.code, 'MWI_RUN_ERROR_RATIO');
        assert.match(ratioError.message, /limits\.errorRatio/);
        const done = (await partitions.getCompleted()).find((j) => j.data.topic === busy)!;
        assert.ok(done.attemptsMade >= 1, 'the busy partition went through at least one retry');
        assert.equal(done.returnvalue.status, 'committed');
      } finally {
        await partitions.close();
      }
      // `mwingest status` says the last run failed and why (exit code 1).
      const status = spawn(
        process.execPath,
        ['bin/mwingest.js', 'status', '--job', job.loaded.path, '--json'],
        {
          env: { ...process.env, MWINGEST_FROM_SOURCE: '1' },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let out = '';
      status.stdout.on('data', (chunk) => {
        out += chunk;
      });
      const [code] = await once(status, 'exit');
      assert.equal(code, 1);
      const parsed = JSON.parse(out);
      assert.equal(parsed.lastRuns.lastStatus, 'failed');
      assert.ok(parsed.lastRuns.lastProblems.some((p: string) => p.includes('MWI_RUN_ERROR_RATIO')));
      assert.equal(parsed.topics.find((t: { topic: string }) => t.topic === busy).lag, '0');
    } finally {
      await worker.close();
    }
  });

  test('SIGTERM: the worker abandons its task before the commit, releases the lease at once, another finishes the run', {
    timeout: 120_000,
  }, async () => {
    // A long lease: the next worker must not have to wait for it to expire.
    const job = await createTestJob('wterm', {
      schemas: ['EditAttempt'],
      partitions: 2,
      extra: { leases: { ttlSeconds: 60 } },
    });
    jobs.push(job);
    await job.produce(20_000, { hours: 3 });
    const first = spawnWorker(job, { shutdownGrace: 0 });
    workers.push(first);
    await first.waitForLine(isMessage('worker running'));
    await triggerRun(job.redis, job.loaded.config);
    const leased = await first.waitForLine(isMessage('partition lease taken'));
    first.kill('SIGTERM');
    assert.equal(await first.exited, 0, 'a clean exit');
    assert.ok(
      first.lines.some(
        isMessage('worker shutting down: partition task abandoned before its commit and queued again'),
      ),
      'the task in flight was abandoned and queued again',
    );
    const leases = new LeaseManager(job.redis, `mwingest:${job.name}`);
    assert.equal(
      await leases.holder(`partition:${String(leased.topic)}:${String(leased.partition)}`),
      undefined,
      'the lease was released, not left to expire',
    );

    const startedAt = Date.now();
    const second = spawnWorker(job);
    workers.push(second);
    const last = await nextFinishedRun(job.redis, job.name, undefined);
    assert.equal(last.lastStatus, 'succeeded', (last.lastProblems ?? []).join('\n'));
    assert.ok(Date.now() - startedAt < 45_000, 'the run finished without waiting for the 60 s lease');
    assert.ok(
      second.lines.some((l) => l.msg === 'partition task done' && l.partition === leased.partition),
      'the other worker did the abandoned task',
    );
    await assertSingleOwnerChains(job);
    await assertExactlyProduced(job);
    second.kill('SIGTERM');
    assert.equal(await second.exited, 0);
  });

  test('Redis restarted and emptied mid-run: the workers carry on, the next run completes, nothing is lost', {
    timeout: 180_000,
  }, async () => {
    const job = await createTestJob('wredis', {
      schemas: ['EditAttempt', 'SearchSatisfaction'],
      partitions: 2,
      extra: { leases: { ttlSeconds: 3 } },
    });
    jobs.push(job);
    await job.produce(8000, { hours: 3 });
    const pair = [spawnWorker(job), spawnWorker(job)];
    workers.push(...pair);
    await Promise.all(pair.map((w) => w.waitForLine(isMessage('worker running'))));
    await triggerRun(job.redis, job.loaded.config);
    // Wait for one task to have committed, so the restart falls between commits of the same run.
    await Promise.race(pair.map((w) => w.waitForLine(isMessage('partition task done'))));
    assert.equal(
      (await lastRuns(job.redis, job.name)).lastRunId,
      undefined,
      'the run is still going when Redis goes away',
    );
    await restartRedis(job.stack.redisUrl);

    await sleep(3_000);
    for (const worker of pair)
      assert.equal(worker.child.exitCode, null, `worker ${worker.pid} survived the Redis restart`);
    // Redis came back empty: the run, the queues and the schedule are gone. Fire a new run.
    const before = (await lastRuns(job.redis, job.name)).lastRunId;
    await triggerRun(job.redis, job.loaded.config);
    const last = await nextFinishedRun(job.redis, job.name, before, 120_000);
    assert.equal(last.lastStatus, 'succeeded', (last.lastProblems ?? []).join('\n'));
    await assertSingleOwnerChains(job);
    await assertExactlyProduced(job);
    // Every hour with data that was complete when the run after the restart started is announced,
    // those whose commits the lost run made included (completeness idle grace: the default 600 s).
    const completeBefore = Date.parse(last.lastStartedAt!) - 600_000;
    const hourDirs = new Set(
      (await listFilesRecursively(job.fs, `${job.hdfsBase}/raw`))
        .filter((path) => path.endsWith('.avro'))
        .map((path) => path.slice(0, path.lastIndexOf('/'))),
    );
    let complete = 0;
    for (const dir of hourDirs) {
      const [year, month, day, hour] = dir.split('/').slice(-4).map(Number);
      if (Date.UTC(year!, month! - 1, day, hour! + 1) > completeBefore) continue;
      complete += 1;
      assert.ok(await job.fs.exists(`${dir}/_IMPORTED`), `${dir} is announced`);
    }
    assert.ok(complete > 0, 'some hours were complete');
  });
});

/** Stops the stack's Redis without saving and starts it again at once, as the stack runs it. */
async function restartRedis(url: string): Promise<void> {
  const { port } = new URL(url);
  await execFileAsync('redis-cli', ['-p', port || '6379', 'shutdown', 'nosave']).catch(() => undefined);
  await execFileAsync('redis-server', [
    '--daemonize',
    'yes',
    '--bind',
    '127.0.0.1',
    '--port',
    port || '6379',
    '--save',
    '',
    '--appendonly',
    'no',
  ]);
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => {});
  await eventually(
    'Redis to answer again',
    async () => {
      try {
        if (probe.status !== 'ready') await probe.connect();
        return (await probe.ping()) === 'PONG' ? true : undefined;
      } catch {
        probe.disconnect();
        return undefined;
      }
    },
    20_000,
    100,
  );
  probe.disconnect();
}
