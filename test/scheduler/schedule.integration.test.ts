/**
 * The schedule against the real Redis, Kafka and HDFS: registering is idempotent and a new cron
 * replaces the old one; ticks advance runs; a tick that fires while a run is still going is skipped
 * and recorded, never queued behind it; a run bounded by `limits.maxRunSeconds` leaves the rest to
 * the next tick, which continues from the committed offsets; after the workers were down, one
 * tick catches up instead of one run per missed tick.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { Queue } from 'bullmq';
import { isMwiError } from '../../src/errors.js';
import type { RunReport } from '../../src/ingest/run-report.js';
import { readJson } from '../../src/ingest/state-store.js';
import { recentSkippedTicks, runInProgress, runsQueueName } from '../../src/scheduler/run-flow-state.js';
import {
  getSchedule,
  listSchedules,
  registerSchedule,
  removeSchedule,
} from '../../src/scheduler/schedule.js';
import { listFilesRecursively } from '../support/ingest.js';
import {
  assertExactlyProduced,
  assertSingleOwnerChains,
  createTestJob,
  eventually,
  isMessage,
  spawnWorker,
  stopAll,
  type TestJob,
  type WorkerProcess,
} from './worker-harness.js';

const jobs: TestJob[] = [];
const workers: WorkerProcess[] = [];

after(async () => {
  await stopAll(workers);
  for (const job of jobs) await job.cleanup();
});

describe('mwingest schedule', () => {
  test('registering twice keeps one schedule, a new cron replaces it, --remove removes it', async () => {
    const job = await createTestJob('sched-reg', { schemas: ['EditAttempt'], partitions: 1 });
    jobs.push(job);
    const runs = new Queue(runsQueueName(job.name), { connection: job.redis });
    try {
      const first = await registerSchedule(job.redis, job.loaded.config);
      assert.equal(first.previous, undefined);
      assert.equal(first.schedule.pattern, '15 * * * *', "the default is Camus's :15");
      assert.equal(first.schedule.tz, 'UTC');
      assert.equal(new Date(first.schedule.next!).getUTCMinutes(), 15);
      const again = await registerSchedule(job.redis, job.loaded.config);
      assert.equal(again.previous?.pattern, '15 * * * *');
      assert.equal(await runs.getJobSchedulersCount(), 1, 'registering again does not add a second schedule');
      assert.equal(await runs.getDelayedCount(), 1, 'one pending tick');

      const changed = await registerSchedule(job.redis, job.loaded.config, '*/10 * * * *');
      assert.equal(changed.schedule.pattern, '*/10 * * * *');
      assert.equal(await runs.getJobSchedulersCount(), 1);
      assert.equal(
        await runs.getDelayedCount(),
        1,
        'the old pending tick was replaced, not kept beside the new one',
      );
      const [delayed] = await runs.getDelayed();
      assert.equal(
        new Date(delayed!.timestamp + delayed!.delay).getUTCMinutes() % 10,
        0,
        'the pending tick follows the new cron',
      );
      assert.ok(
        (await listSchedules(job.redis)).some((s) => s.job === job.name && s.pattern === '*/10 * * * *'),
      );

      await assert.rejects(registerSchedule(job.redis, job.loaded.config, 'every hour'), (error) =>
        isMwiError(error, 'MWI_CONFIG_INVALID'),
      );
      assert.equal(
        (await getSchedule(job.redis, job.name))?.pattern,
        '*/10 * * * *',
        'a bad cron leaves the schedule as it was',
      );

      assert.equal(await removeSchedule(job.redis, job.name), true);
      assert.equal(await getSchedule(job.redis, job.name), undefined);
      assert.equal(await runs.getDelayedCount(), 0, 'no tick is left to fire');
      assert.equal(await removeSchedule(job.redis, job.name), false);
    } finally {
      await runs.close();
    }
  });

  test('ticks through a slow run: the tick during it is skipped, the next runs catch up; after downtime one tick catches up', {
    timeout: 240_000,
  }, async () => {
    // One worker takes the 8 partitions one after the other (each task costs a few hundred ms even
    // when small): a run lasts seconds while ticks come every second. Each run reads at most 2000
    // records per partition (and for at most 2 s), so the 5000 per partition need three runs.
    const job = await createTestJob('sched-tick', {
      schemas: ['EditAttempt'],
      partitions: 8,
      extra: {
        limits: { errorRatio: 0.2, maxRecordsPerRun: 2000, maxRunSeconds: 2 },
        leases: { ttlSeconds: 3 },
      },
    });
    jobs.push(job);
    await job.produce(40_000, { hours: 3 });
    const worker = spawnWorker(job);
    workers.push(worker);
    await worker.waitForLine(isMessage('worker running'));
    await registerSchedule(job.redis, job.loaded.config, '* * * * * *');

    const caughtUp = async () => {
      const reports = await loadReports(job);
      const last = reports.at(-1);
      return last !== undefined && last.totals.read > 0 && last.topics[0]!.partitions.every((p) => p.caughtUp)
        ? reports
        : undefined;
    };
    await eventually('the backlog to be ingested over several ticks', caughtUp, 150_000, 500);
    await eventually(
      'a skipped tick',
      async () => ((await recentSkippedTicks(job.redis, job.name)).length > 0 ? true : undefined),
      60_000,
    );

    // Downtime: the worker stops, ticks keep coming due, more data arrives.
    worker.kill('SIGTERM');
    assert.equal(await worker.exited, 0, 'SIGTERM stops the worker cleanly');
    const fresh = await job.produce(3000, { hours: 1, seed: 99 });
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    const runs = new Queue(runsQueueName(job.name), { connection: job.redis });
    try {
      const due = (await runs.getWaitingCount()) + (await runs.getDelayedCount());
      assert.ok(due <= 2, `missed ticks do not pile up (${due} tick(s) waiting or scheduled)`);
    } finally {
      await runs.close();
    }
    const back = spawnWorker(job);
    workers.push(back);
    // A run the SIGTERM interrupted is finished first (its tasks were queued again); then the first
    // run started after the downtime reads everything produced meanwhile, from the committed offsets.
    const firstStarted = await back.waitForLine(isMessage('run started'), 60_000);
    await back.waitForLine(
      (line) => line.msg === 'run finished' && line.runId === firstStarted.runId,
      60_000,
    );
    await removeSchedule(job.redis, job.name);
    const catchUp = await readJson<RunReport>(
      job.fs,
      `${job.hdfsBase}/state/${job.name}/reports/${String(firstStarted.runId)}.json`,
    );
    assert.equal(
      catchUp.totals.read,
      fresh.length,
      'one run after the downtime catches up with all the new data',
    );
    const runs2 = new Queue(runsQueueName(job.name), { connection: job.redis });
    try {
      // Ticks already due when the schedule was removed would start runs that the SIGTERM below
      // cuts short: drop them, then wait until no tick is being handled and no run is going.
      await runs2.drain(true);
      await eventually('the last run to end', async () =>
        (await runs2.getActiveCount()) === 0 &&
        (await runInProgress(job.redis, runs2, job.name)) === undefined
          ? true
          : undefined,
      );
    } finally {
      await runs2.close();
    }
    back.kill('SIGTERM');
    assert.equal(await back.exited, 0);

    const all = await loadReports(job);
    // Runs never overlapped.
    for (let i = 1; i < all.length; i++) {
      assert.ok(
        all[i - 1]!.finishedAt <= all[i]!.startedAt,
        `run ${all[i]!.runId} started before ${all[i - 1]!.runId} had finished`,
      );
    }
    // The first run stopped at the per-run bound; each later run went on from where the previous stopped.
    const withData = all.filter((r) => r.totals.read > 0);
    assert.ok(withData.length >= 3, `the backlog took several runs (${withData.length})`);
    assert.ok(
      withData[0]!.topics[0]!.partitions.every(
        (p) => !p.caughtUp && Number(p.endOffset) - Number(p.startOffset) <= 2000,
      ),
      'the first run stopped before the high watermark, at most 2000 records into each partition',
    );
    for (let partition = 0; partition < job.partitions; partition++) {
      let next = '0';
      for (const report of withData) {
        const p = report.topics[0]!.partitions.find((x) => x.partition === partition)!;
        if (p.status === 'up-to-date') continue;
        assert.equal(
          p.startOffset,
          next,
          `run ${report.runId} continues partition ${partition} at the committed offset`,
        );
        next = p.endOffset;
      }
    }
    // Each skipped tick fell while the run it names was going; skipped ticks started no run.
    const skipped = await recentSkippedTicks(job.redis, job.name, 100);
    for (const tick of skipped) {
      const running = all.find((r) => r.runId === tick.runningRunId);
      assert.ok(
        running !== undefined,
        `skipped tick ${tick.tick} names a run that exists (${tick.runningRunId})`,
      );
      assert.ok(
        tick.at >= running.startedAt && tick.at <= running.finishedAt,
        `tick ${tick.tick} was skipped while ${running.runId} was going`,
      );
    }
    const started = [...worker.lines, ...back.lines].filter(isMessage('run started')).length;
    assert.equal(started, all.length, 'every tick that was not skipped started exactly one run');

    await assertSingleOwnerChains(job);
    await assertExactlyProduced(job);
  });
});

async function loadReports(job: TestJob): Promise<RunReport[]> {
  const dir = `${job.hdfsBase}/state/${job.name}/reports`;
  const paths = (await listFilesRecursively(job.fs, dir)).filter((p) =>
    /\/\d{8}T\d{6}Z-[0-9a-f]{6}\.json$/.test(p),
  );
  const reports = await Promise.all(paths.map((p) => readJson<RunReport>(job.fs, p)));
  return reports.sort((a, b) => (a.startedAt < b.startedAt ? -1 : 1));
}
