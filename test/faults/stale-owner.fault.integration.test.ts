/**
 * Guarantee 3 with a live stale owner: a `mwingest worker` is frozen with SIGSTOP (as in a long GC
 * pause) right after it closed its temp files, before its claim. Its lease and its BullMQ lock run
 * out; a second worker takes the partition over and commits it. Then the first one gets SIGCONT.
 *
 * The woken worker writes, deletes and commits nothing: the NameNode's own request log shows no
 * change it made under the job's directories, and the storage is as the new owner left it. The
 * records in the hour files, read by avro-tools, are exactly those produced.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { triggerRun } from '../../src/scheduler/schedule.js';
import {
  assertSingleOwnerChains,
  createTestJob,
  isMessage,
  nextFinishedRun,
  spawnWorker,
  stopAll,
  type TestJob,
  type WorkerProcess,
} from '../scheduler/worker-harness.js';
import { listFilesRecursively } from '../support/ingest.js';
import {
  assertExactByAvroTools,
  changingRequests,
  logSince,
  logSize,
  processState,
  serviceLog,
} from './fault-harness.js';

let job: TestJob;
const workers: WorkerProcess[] = [];

before(async () => {
  job = await createTestJob('stale', {
    schemas: ['EditAttempt'],
    partitions: 1,
    // Short lease and BullMQ lock: the frozen worker's partition is free again within seconds.
    extra: { leases: { ttlSeconds: 3 } },
  });
  await job.produce(3000, { hours: 3 });
});

after(async () => {
  for (const worker of workers) worker.kill('SIGCONT');
  await stopAll(workers);
  await job?.cleanup();
});

/** Every file under the job's directories with its length and modification time. */
async function storage(): Promise<string[]> {
  const out: string[] = [];
  for (const path of await listFilesRecursively(job.fs, job.hdfsBase)) {
    const status = await job.fs.stat(path);
    out.push(`${path} ${status?.length} ${status?.modificationTime}`);
  }
  return out.sort();
}

test('a worker paused past its lease wakes after the new owner committed: it writes, deletes and commits nothing', {
  timeout: 240_000,
}, async () => {
  const stale = spawnWorker(job, { concurrency: 1, env: { MWINGEST_STOP_AT: 'files-closed' } });
  workers.push(stale);
  await stale.waitForLine(isMessage('worker running'));
  await triggerRun(job.redis, job.loaded.config);
  const leased = await stale.waitForLine(isMessage('partition lease taken'), 120_000);
  await stale.waitForLine(isMessage('fault test: SIGSTOP'), 120_000);
  assert.equal(await processState(stale.pid), 'T', 'the first owner is really stopped');

  const fresh = spawnWorker(job, { concurrency: 1 });
  workers.push(fresh);
  const last = await nextFinishedRun(job.redis, job.name, undefined, 180_000);
  assert.equal(last.lastStatus, 'succeeded', (last.lastProblems ?? []).join('\n'));
  const done = await fresh.waitForLine(
    (line) => line.msg === 'partition task done' && line.status === 'committed',
  );
  assert.ok(
    Number(done.fencingToken) > Number(leased.fencingToken),
    `the new owner committed with a newer token (${done.fencingToken} > ${leased.fencingToken})`,
  );
  await sleep(1_000); // the new owner's last clean-up calls are logged
  const state = `${job.hdfsBase}/state/${job.name}`;
  assert.deepEqual(await listFilesRecursively(job.fs, `${state}/tmp`), [], 'no temp file left');
  const before = await storage();
  const log = serviceLog(job, 'namenode');
  const from = await logSize(log);

  stale.kill('SIGCONT');
  const fenced = await stale.waitForLine((line) => line.code === 'MWI_FENCED', 60_000);
  assert.match(String(fenced.reason), /lease|newer owner|claimed/);
  await sleep(2_000);

  const changes = changingRequests(await logSince(log, from), job.hdfsBase).filter(
    (line) => line.includes('/state/') || line.includes('.avro'),
  );
  assert.deepEqual(changes, [], 'the woken worker sent the NameNode no change');
  assert.deepEqual(await storage(), before, 'storage is as the new owner left it');
  assert.ok(
    !stale.lines.some((line) => line.msg === 'partition task done'),
    'the woken worker reports no commit',
  );
  const [chain] = await assertSingleOwnerChains(job);
  assert.ok(
    chain!.manifests.every((m) => m.token === Number(done.fencingToken)),
    "every commit of the partition is the new owner's",
  );
  await assertExactByAvroTools(job);
});
