/**
 * Redis loses the job's schedule (restarted empty, failed over, flushed): a running `mwingest worker`
 * registers it again as the operator last registered it, says so in its log and metrics, and the
 * next tick runs. A schedule the operator changed is never changed back, and one the operator
 * removed never comes back, not even after Redis lost the removal too. Against the real Kafka, HDFS
 * and Redis, with the real `mwingest` command.
 *
 * "Losing Redis" deletes every key of the test's job (its unique name is in all of them), the job's
 * view of a FLUSHALL without touching what other tests keep in the shared Redis.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { StatePaths } from '../../src/ingest/state-store.js';
import { getSchedule } from '../../src/scheduler/schedule.js';
import { readScheduleRecord } from '../../src/scheduler/schedule-keeper.js';
import { runMwingest } from '../support/cli.js';
import { parseExposition, sampleValue } from '../support/prometheus.js';
import {
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
const FROM_SOURCE = { MWINGEST_FROM_SOURCE: '1' };

after(async () => {
  await stopAll(workers);
  for (const job of jobs) await job.cleanup();
});

/** Deletes every key of the job from Redis. */
async function loseRedis(job: TestJob): Promise<void> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, found] = await job.redis.scan(cursor, 'MATCH', `*${job.name}*`, 'COUNT', 1000);
    cursor = next;
    keys.push(...found);
  } while (cursor !== '0');
  if (keys.length > 0) await job.redis.del(...keys);
}

describe('the schedule when Redis loses it', () => {
  test('a running worker registers it again and the next tick runs; the operator keeps the last word', {
    timeout: 240_000,
  }, async () => {
    const job = await createTestJob('sched-lost', {
      schemas: ['EditAttempt'],
      partitions: 1,
      extra: { schedule: { cron: '*/2 * * * * *' } },
    });
    jobs.push(job);
    await job.produce(200, { hours: 1 });
    const schedule = (...more: string[]) =>
      runMwingest(['schedule', '--job', job.loaded.path, '--redis', job.stack.redisUrl, ...more], {
        env: FROM_SOURCE,
      });
    const registered = await schedule();
    assert.equal(registered.code, 0, registered.stderr);
    const paths = new StatePaths(job.loaded.config.output.stateDir, job.name);
    assert.equal((await readScheduleRecord(job.fs, paths))?.pattern, '*/2 * * * * *', 'recorded on HDFS');

    const worker = spawnWorker(job, { metricsPort: 0, scheduleCheck: 0.5 });
    workers.push(worker);
    const serving = await worker.waitForLine(isMessage('serving metrics'));
    await worker.waitForLine(isMessage('run finished'), 60_000);

    // Redis loses everything, the schedule with it
    await loseRedis(job);
    const lostAt = worker.lines.length;
    const restored = await worker.waitForLine(
      isMessage(
        'schedule missing from Redis (Redis lost it?): registered again as recorded in the state directory',
      ),
      30_000,
    );
    assert.equal(restored.pattern, '*/2 * * * * *');
    assert.equal((await getSchedule(job.redis, job.name))?.pattern, '*/2 * * * * *');
    // and the next tick runs
    const started = await worker.waitForLine(
      (line) => line.msg === 'run started' && worker.lines.indexOf(line) > lostAt,
      60_000,
    );
    await worker.waitForLine((line) => line.msg === 'run finished' && line.runId === started.runId, 60_000);
    const samples = parseExposition(await (await fetch(String(serving.metrics))).text());
    assert.equal(sampleValue(samples, 'mwingest_schedule_restored_total', { ingest_job: job.name }), 1);

    // The operator's cron stays, and is what comes back after the next loss
    const changed = await schedule('--cron', '*/3 * * * * *');
    assert.equal(changed.code, 0, changed.stderr);
    await sleep(2_000);
    assert.equal((await getSchedule(job.redis, job.name))?.pattern, '*/3 * * * * *', 'never changed back');
    await loseRedis(job);
    await eventually('the schedule to be registered again', async () =>
      (await getSchedule(job.redis, job.name))?.pattern === '*/3 * * * * *' ? true : undefined,
    );

    // A removed schedule stays removed, also after Redis lost the removal
    const removed = await schedule('--remove');
    assert.equal(removed.code, 0, removed.stderr);
    await sleep(2_000);
    assert.equal(await getSchedule(job.redis, job.name), undefined);
    await loseRedis(job);
    await sleep(2_000);
    assert.equal(await getSchedule(job.redis, job.name), undefined, 'not registered again');
    assert.equal((await readScheduleRecord(job.fs, paths))?.state, 'removed');
    assert.ok(
      worker.lines.some(
        isMessage(
          'no schedule registered: the operator removed it (mwingest schedule --remove); not registered again',
        ),
      ),
    );
    const final = parseExposition(await (await fetch(String(serving.metrics))).text());
    assert.equal(sampleValue(final, 'mwingest_schedule_restored_total', { ingest_job: job.name }), 2);

    worker.kill('SIGTERM');
    assert.equal(await worker.exited, 0);
  });
});
