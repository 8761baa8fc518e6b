/**
 * Service faults in the middle of a real `mwingest run`: the broker restarts, the NameNode restarts,
 * the DataNode is killed during uploads, Redis restarts (empty). Each run is frozen with SIGSTOP in
 * the middle of its reads (temp files open on HDFS, leases held), the fault is applied, the run
 * resumes into it, and the service comes back a few seconds later. The run must end cleanly — it
 * succeeds (the client retried through the outage) or it fails with retryable reasons in its report
 * — and never lose or duplicate: reruns finish the job, every partition's commits form one chain,
 * no temp file is left, and avro-tools reads exactly the records produced.
 *
 * Each test restores what it broke (`scripts/stack up`, or Redis started again), so the stack is up
 * when the suite ends; scripts/test holds the stack lock meanwhile.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { type ErrorCode, ErrorTable } from '../../src/errors.js';
import type { RunReport } from '../../src/ingest/run-report.js';
import { assertSingleOwnerChains, createTestJob, type TestJob } from '../scheduler/worker-harness.js';
import { listFilesRecursively } from '../support/ingest.js';
import { assertExactByAvroTools, restartRedis, signalService, stackUp } from './fault-harness.js';

const BIN = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'mwingest.js');
const jobs: TestJob[] = [];

after(async () => {
  await stackUp(); // whatever a failed test left down comes back
  for (const job of jobs) await job.cleanup().catch(() => undefined);
});

interface RunOutcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** `mwingest run --json` that freezes itself (SIGSTOP) in the middle of its reads; `fault` runs then. */
async function runWithFault(job: TestJob, fault: () => Promise<void>, restore: () => Promise<void>) {
  const child = spawn(process.execPath, [BIN, 'run', '--job', job.loaded.path, '--json', '--no-progress'], {
    env: {
      ...process.env,
      MWINGEST_FROM_SOURCE: '1',
      MWINGEST_STOP_AT: 'reading@3',
      MWINGEST_REDIS_URL: job.stack.redisUrl,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  const stopped = new Promise<void>((resolve) => {
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
      if (stderr.includes('fault test: SIGSTOP')) resolve();
    });
  });
  const exited = once(child, 'exit');
  await Promise.race([stopped, exited.then(() => assert.fail(`the run ended before its reads: ${stderr}`))]);
  await fault();
  child.kill('SIGCONT');
  await sleep(3_000); // the run meets the fault
  await restore();
  const [code, signal] = (await exited) as [number | null, NodeJS.Signals | null];
  return { code, signal, stdout, stderr } satisfies RunOutcome;
}

/** A run met a fault: it succeeded, or failed with reasons a retry can fix, and said so. */
function assertCleanEnd(outcome: RunOutcome, service: string): string {
  assert.equal(outcome.signal, null, `the run was not killed by a signal (${service})`);
  assert.ok(
    outcome.code === 0 || outcome.code === 1,
    `exit 0 or 1 after a ${service} fault, got ${outcome.code}: ${outcome.stderr.slice(-2000)}`,
  );
  assert.doesNotMatch(outcome.stderr, /Unhandled|uncaught|TypeError|RangeError/i, 'no crash');
  if (outcome.stdout.trim() === '') {
    assert.equal(outcome.code, 1, 'a run without a report failed');
    assert.match(outcome.stderr, /MWI_[A-Z_]+/, 'and says why with a code');
    return describeOutcome(outcome, undefined);
  }
  const report = JSON.parse(outcome.stdout) as RunReport;
  for (const partition of report.topics.flatMap((t) => t.partitions)) {
    if (partition.status !== 'failed') continue;
    const code = (partition.error?.code ?? 'MWI_INTERNAL') as ErrorCode;
    assert.ok(
      partition.error?.canRetry || !ErrorTable[code]?.final,
      `${partition.topic}/${partition.partition} failed with a reason a retry can fix: ${JSON.stringify(partition.error)}`,
    );
  }
  return describeOutcome(outcome, report);
}

/** One line on what the faulty run did, for the test output (and docs/guarantees.md). */
function describeOutcome(outcome: RunOutcome, report: RunReport | undefined): string {
  const failed = (report?.topics ?? [])
    .flatMap((t) => t.partitions)
    .filter((p) => p.status === 'failed')
    .map((p) => `${p.partition}: ${p.error?.code}`);
  const reason = report === undefined ? (/MWI_[A-Z_]+/.exec(outcome.stderr)?.[0] ?? 'no code') : '';
  return `exit ${outcome.code}, ${report ? `report ${report.status}` : `no report (${reason})`}${failed.length ? `, failed ${failed.join(', ')}` : ''}`;
}

/** Reruns until the job succeeds (the service is back), then checks the output record by record. */
async function rerunAndCheck(job: TestJob): Promise<void> {
  let last: RunOutcome | undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    const child = spawn(process.execPath, [BIN, 'run', '--job', job.loaded.path, '--json', '--no-progress'], {
      env: { ...process.env, MWINGEST_FROM_SOURCE: '1', MWINGEST_REDIS_URL: job.stack.redisUrl },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (c: string) => {
      stdout += c;
    });
    child.stderr!.setEncoding('utf8').on('data', (c: string) => {
      stderr += c;
    });
    const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
    last = { code, signal, stdout, stderr };
    if (code === 0) break;
    await sleep(2_000);
  }
  assert.equal(last?.code, 0, `a rerun succeeds once the service is back: ${last?.stderr.slice(-2000)}`);
  await assertSingleOwnerChains(job);
  assert.deepEqual(
    await listFilesRecursively(job.fs, `${job.hdfsBase}/state/${job.name}/tmp`),
    [],
    'no temp file is left',
  );
  await assertExactByAvroTools(job);
}

async function faultyJob(label: string): Promise<TestJob> {
  const job = await createTestJob(label, { schemas: ['EditAttempt'], partitions: 2 });
  jobs.push(job);
  await job.produce(6000, { hours: 3 });
  return job;
}

describe('service faults mid-run end in a clean failure or a retry, never a loss', {
  timeout: 600_000,
}, () => {
  test('the Kafka broker restarts in the middle of the reads', { timeout: 240_000 }, async (t) => {
    const job = await faultyJob('fbroker');
    const outcome = await runWithFault(
      job,
      () => signalService(job, 'kafka', 'SIGTERM').then(() => undefined),
      stackUp,
    );
    t.diagnostic(`broker: ${assertCleanEnd(outcome, 'broker')}`);
    await rerunAndCheck(job);
  });

  test('the NameNode restarts in the middle of the run', { timeout: 240_000 }, async (t) => {
    const job = await faultyJob('fnamenode');
    const outcome = await runWithFault(
      job,
      () => signalService(job, 'namenode', 'SIGTERM').then(() => undefined),
      stackUp,
    );
    t.diagnostic(`NameNode: ${assertCleanEnd(outcome, 'NameNode')}`);
    await rerunAndCheck(job);
  });

  test('the DataNode is killed while hour files are being uploaded', { timeout: 240_000 }, async (t) => {
    const job = await faultyJob('fdatanode');
    const outcome = await runWithFault(
      job,
      () => signalService(job, 'datanode', 'SIGKILL').then(() => undefined),
      stackUp,
    );
    t.diagnostic(`DataNode: ${assertCleanEnd(outcome, 'DataNode')}`);
    await rerunAndCheck(job);
  });

  test('Redis restarts (empty) while the run holds its leases', { timeout: 240_000 }, async (t) => {
    const job = await faultyJob('fredis');
    const outcome = await runWithFault(
      job,
      () => restartRedis(job.stack.redisUrl),
      async () => undefined,
    );
    t.diagnostic(`Redis: ${assertCleanEnd(outcome, 'Redis')}`);
    await rerunAndCheck(job);
  });
});
