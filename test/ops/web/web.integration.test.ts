/**
 * `mwingest web` in a real headless Chromium (Debian's `chromium`, driven by playwright-core),
 * against a job ingested by a real worker from the real Kafka into HDFS: the job page shows each
 * hour × topic as complete, late, failed or pending, with the reasons in the tooltips, and
 * bull-board shows the job's queues. Screenshots go to `tmp/test-output/web/` (or
 * `$MWINGEST_TEST_OUTPUT/web/`); look at them when the page changes.
 *
 * The Hive partition-add queue is driven by hand here (jobs completed, one failed for good, two left
 * queued), so that every state the page draws is present: the page shows queue states, it does not
 * talk to Hive (the executor has its own tests against the real HiveServer2).
 */
import assert from 'node:assert/strict';
import { access, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type Job, UnrecoverableError, Worker } from 'bullmq';
import { type Browser, chromium } from 'playwright-core';
import { type HivePartitionAddJob, hiveQueueName } from '../../../src/hive/queue.js';
import { HOUR_MS, hourKey, hourOf } from '../../../src/hours/hour.js';
import { startWebServer, type WebServer } from '../../../src/ops/web/server.js';
import { lastRuns } from '../../../src/scheduler/run-flow-state.js';
import { triggerRun } from '../../../src/scheduler/schedule.js';
import { type IngestWorker, startIngestWorker } from '../../../src/scheduler/worker.js';
import { createTestJob, nextFinishedRun, type TestJob } from '../../scheduler/worker-harness.js';
import { quietLog } from '../../support/ingest.js';

const CHROMIUM = process.env.MWINGEST_CHROMIUM ?? '/usr/bin/chromium';
const outputDir = join(
  process.env.MWINGEST_TEST_OUTPUT ??
    join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'tmp', 'test-output'),
  'web',
);

const H = Math.floor(Date.now() / HOUR_MS) * HOUR_MS;
const hour = (n: number) => hourKey(hourOf(H + n * HOUR_MS));
let job: TestJob;
let worker: IngestWorker;
let server: WebServer;
let browser: Browser;

before(async () => {
  await access(CHROMIUM).catch(() => {
    throw new Error(`no Chromium at ${CHROMIUM}: apt-get install -y chromium (or set MWINGEST_CHROMIUM)`);
  });
  await mkdir(outputDir, { recursive: true });
  // The completeness watermark sits at H − 30 min: hours up to H−2 complete, H−1 not yet.
  const graceSeconds = Math.ceil((Date.now() - (H - 0.5 * HOUR_MS)) / 1000);
  job = await createTestJob('web', {
    schemas: ['EditAttempt', 'SearchSatisfaction'],
    partitions: 2,
    extra: { completeness: { idleGraceSeconds: graceSeconds } },
  });
  await job.produce(600, { fromMs: H - 5 * HOUR_MS, toMs: H - 0.75 * HOUR_MS, badRatio: 0 });
  worker = await startIngestWorker({ loaded: job.loaded, log: quietLog });
  await triggerRun(job.redis, job.loaded.config);
  const first = await nextFinishedRun(job.redis, job.name, undefined);
  assert.equal(first.lastStatus, 'succeeded', (first.lastProblems ?? []).join('\n'));
  // Late records for H−4 of the first topic, which is already announced.
  await job.produce(25, {
    topics: [job.topics[0]!],
    fromMs: H - 4 * HOUR_MS + 60_000,
    toMs: H - 4 * HOUR_MS + 600_000,
    badRatio: 0,
    seed: 3,
  });
  await triggerRun(job.redis, job.loaded.config);
  await nextFinishedRun(job.redis, job.name, first.lastRunId);
  assert.equal((await lastRuns(job.redis, job.name)).lastStatus, 'succeeded');
  await settleHiveQueue(job);
  server = await startWebServer({ jobs: [job.loaded], port: 0, log: quietLog, hours: 8 });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
});

after(async () => {
  await browser?.close();
  await server?.close();
  await worker?.close();
  await job?.cleanup();
});

/** Completes the partition adds of H−5 … H−3, fails the first topic's H−3 for good, leaves H−2 queued. */
async function settleHiveQueue(testJob: TestJob): Promise<void> {
  const connection = testJob.redis.duplicate();
  const hive = new Worker<HivePartitionAddJob>(hiveQueueName(testJob.name), null, {
    connection,
    autorun: false,
  });
  const token = 'web-test';
  const later: Job<HivePartitionAddJob>[] = [];
  try {
    for (;;) {
      const next = (await hive.getNextJob(token)) as Job<HivePartitionAddJob> | undefined;
      if (next === undefined) break;
      if (next.data.hour >= hour(-2)) later.push(next);
      else if (next.data.topic === testJob.topics[0] && next.data.hour === hour(-3)) {
        await next.moveToFailed(
          new UnrecoverableError('set failed by the web test to show a failed hour'),
          token,
          false,
        );
      } else await next.moveToCompleted({ added: true }, token, false);
    }
    for (const queued of later) await queued.moveToWait(token);
  } finally {
    await hive.close();
    connection.disconnect();
  }
}

test('the job page shows hours × topics as complete, late, failed and pending, in a real Chromium', {
  timeout: 60_000,
}, async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const response = await page.goto(`${server.url}/jobs/${job.name}`);
  assert.equal(response?.status(), 200);
  await page.screenshot({ path: join(outputDir, 'job-page.png'), fullPage: true });
  const [lateTopic, otherTopic] = job.topics as [string, string];
  const state = (topic: string, h: string) =>
    page.locator(`td[data-topic="${topic}"][data-hour="${h}"]`).getAttribute('data-state');
  assert.equal(await state(otherTopic, hour(-5)), 'complete');
  assert.equal(await state(lateTopic, hour(-5)), 'complete');
  assert.equal(await state(lateTopic, hour(-4)), 'late', 'records arrived after H−4 was announced');
  assert.equal(await state(otherTopic, hour(-4)), 'complete');
  assert.equal(await state(lateTopic, hour(-3)), 'failed');
  assert.equal(await state(otherTopic, hour(-3)), 'complete');
  assert.equal(await state(lateTopic, hour(-2)), 'pending', 'announced, its partition add still queued');
  assert.equal(await state(otherTopic, hour(-1)), 'pending', 'H−1 is not complete yet');
  assert.equal(await state(otherTopic, hour(0)), 'empty');
  assert.equal(await state(otherTopic, hour(-7)), 'empty', 'before the first hour with data');
  const failed = page.locator(`td[data-topic="${lateTopic}"][data-hour="${hour(-3)}"]`);
  assert.match((await failed.getAttribute('title')) ?? '', /failed for good: set failed by the web test/);
  assert.match(
    (await page.locator(`td[data-topic="${lateTopic}"][data-hour="${hour(-4)}"]`).textContent()) ?? '',
    /\+25 late/,
  );
  assert.match((await page.locator('table.summary').textContent()) ?? '', /Last run\s*succeeded/);
  await page.close();
});

test('bull-board lists the job queues and the failed partition add with its reason', {
  timeout: 60_000,
}, async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.goto(`${server.url}/queues`);
  for (const suffix of ['runs', 'partitions', 'hive']) {
    await page
      .getByText(`mwingest-${job.name}-${suffix}`, { exact: true })
      .first()
      .waitFor({ timeout: 20_000 });
  }
  await page.screenshot({ path: join(outputDir, 'queues.png') });
  await page.goto(`${server.url}/queues/queue/${encodeURIComponent(hiveQueueName(job.name))}?status=failed`);
  await page
    .getByText('set failed by the web test to show a failed hour')
    .first()
    .waitFor({ timeout: 20_000 });
  await page.screenshot({ path: join(outputDir, 'queues-hive-failed.png') });
  await page.close();
});
