/**
 * One run spread over three `mwingest worker` processes, against the real Kafka, HDFS and Redis:
 * 3 topics × 4 partitions. One worker is killed with SIGKILL while it holds a partition, in the
 * middle of reading it. Its task is taken over by another worker once BullMQ sees it stalled and its
 * lease has expired; the run still ends with every produced record in the hour files exactly once,
 * and every partition's commits form one chain with growing fencing tokens, the dead worker's
 * unfinished attempt leaving no file behind.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Queue } from 'bullmq';
import { partitionsQueueName } from '../../src/scheduler/run-flow-state.js';
import { triggerRun } from '../../src/scheduler/schedule.js';
import { listFilesRecursively } from '../support/ingest.js';
import {
  assertExactlyProduced,
  assertSingleOwnerChains,
  createTestJob,
  isMessage,
  nextFinishedRun,
  runReport,
  spawnWorker,
  stopAll,
  type TestJob,
  type WorkerProcess,
} from './worker-harness.js';

let job: TestJob;
const workers: WorkerProcess[] = [];

before(async () => {
  job = await createTestJob('scale', {
    schemas: ['EditAttempt', 'SearchSatisfaction', 'ApiAction'],
    partitions: 4,
    // Short lease and lock: a dead worker's partition is free again within seconds.
    extra: { leases: { ttlSeconds: 3 } },
  });
  await job.produce(4000, { hours: 5 });
});

after(async () => {
  await stopAll(workers);
  await job?.cleanup();
});

test('three workers share a run; a worker killed mid-partition loses and duplicates nothing', {
  timeout: 240_000,
}, async () => {
  for (let i = 0; i < 3; i++) workers.push(spawnWorker(job, { concurrency: 1 }));
  await Promise.all(workers.map((w) => w.waitForLine(isMessage('worker running'))));
  const [victim, ...survivors] = workers as [WorkerProcess, WorkerProcess, WorkerProcess];

  await triggerRun(job.redis, job.loaded.config);
  // The victim dies while reading its second partition: it holds the lease, temp files are open.
  let leased = 0;
  const inFlight = await victim.waitForLine(
    (line) => line.msg === 'partition lease taken' && ++leased === 2,
    120_000,
  );
  await new Promise((resolve) => setTimeout(resolve, 50));
  victim.kill('SIGKILL');
  assert.equal(await victim.exited, 'SIGKILL');
  const sameTask = (line: Record<string, unknown>) =>
    line.topic === inFlight.topic && line.partition === inFlight.partition;
  assert.ok(
    !victim.lines.some((line) => line.msg === 'partition task done' && sameTask(line)),
    'the victim was killed before it finished the partition it held',
  );

  const last = await nextFinishedRun(job.redis, job.name, undefined, 180_000);
  assert.equal(last.lastStatus, 'succeeded', (last.lastProblems ?? []).join('\n'));
  const report = await runReport(job, last.lastRunId!);
  assert.equal(report.totals.read, job.produced.length, 'the report counts every message once');

  // Every worker took part, and the partition the victim held was committed by a survivor.
  for (const worker of workers) {
    assert.ok(
      worker.lines.some(isMessage('partition task started')),
      `worker ${worker.pid} processed partition tasks`,
    );
  }
  const chains = await assertSingleOwnerChains(job);
  const taken = chains.find((c) => c.topic === inFlight.topic && c.partition === inFlight.partition)!;
  const owners = taken.manifests.map((m) => m.owner);
  assert.ok(
    owners.every((owner) => !owner.includes(`/${victim.pid}/`)),
    `the dead worker committed nothing on ${taken.topic}/${taken.partition}`,
  );
  assert.ok(
    taken.manifests.every((m) => m.token > Number(inFlight.fencingToken)),
    `the new owner commits with a newer fencing token than the dead one held (${JSON.stringify(inFlight)} ${JSON.stringify(taken.manifests.map((m) => [m.owner, m.token, m.startOffset, m.endOffset]))})`,
  );
  assert.ok(
    survivors.some((s) => s.lines.some((l) => l.msg === 'partition task done' && sameTask(l))),
    'a surviving worker finished the partition the victim held',
  );
  await assertExactlyProduced(job);

  // The task of the dead worker went through BullMQ's stalled-job recovery, not a second run.
  const partitions = new Queue(partitionsQueueName(job.name), { connection: job.redis });
  try {
    const task = await partitions.getJob(
      `${last.lastRunId}__${String(inFlight.topic)}__${String(inFlight.partition)}`,
    );
    assert.ok(
      task !== undefined && task !== null,
      'the task of the partition in flight is still in the queue history',
    );
    assert.equal(await task.getState(), 'completed');
  } finally {
    await partitions.close();
  }
  const leftovers = await listFilesRecursively(job.fs, `${job.hdfsBase}/state/${job.name}/tmp`);
  assert.deepEqual(leftovers, [], "no temp file of any attempt is left, the dead worker's included");
});
