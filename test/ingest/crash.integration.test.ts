/**
 * Guarantee 1, the hard half: `kill -9` at any point of a run, then a rerun, leaves exactly what a
 * run that never crashed leaves — the same files with the same records, the same error records,
 * the same offsets, the same flags and Hive jobs. Each crash point is a named step of the commit
 * protocol (src/ingest/failpoints.ts); the process sends itself SIGKILL there.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { planTraffic } from '../../src/demo/traffic.js';
import type { FileSystem } from '../../src/hdfs/filesystem.js';
import { openFileSystem } from '../../src/hdfs/open.js';
import { hiveQueueName } from '../../src/hive/queue.js';
import { HOUR_MS } from '../../src/hours/hour.js';
import { FailPoints } from '../../src/ingest/failpoints.js';
import type { LoadedJob } from '../../src/job/config.js';
import type { KafkaSink } from '../../src/kafka/client.js';
import { openKafkaSink } from '../../src/kafka/open.js';
import { MessageCodec } from '../../src/schemas/codec.js';
import { SchemaRegistry, schemaNameOfTopic } from '../../src/schemas/registry.js';
import { runMwingest } from '../support/cli.js';
import {
  decodeContainer,
  listFilesRecursively,
  mixedRegistryRoot,
  produceMessages,
  writeTestJob,
} from '../support/ingest.js';
import { requireStack, type StackConfig, uniqueName } from '../support/stack.js';

// Short, so reruns need not wait long for the dead runs' leases; long enough that eleven runs
// sharing two cores still renew theirs in time.
const LEASE_TTL_SECONDS = 6;

/** `mwingest run` in a child process, killed at `crashAt` when given. */
function runCli(jobPath: string, crashAt?: string) {
  return runMwingest(['run', '--job', jobPath, '--json', '--no-progress'], {
    env: { MWINGEST_LOG_LEVEL: 'error', MWINGEST_CRASH_AT: crashAt },
  });
}

/** What a job leaves behind, in a form where two runs that did the same work compare equal. */
async function snapshot(fs: FileSystem, job: LoadedJob, base: string, redis: Redis) {
  const files: Record<string, string[]> = {};
  for (const path of await listFilesRecursively(fs, `${base}/raw`)) {
    const relative = path.slice(`${base}/raw`.length);
    if (path.endsWith('.avro')) {
      const { records } = await decodeContainer(await fs.readFile(path));
      files[relative] = records.map((r) =>
        JSON.stringify(r, (_k, v) =>
          typeof v === 'bigint' ? `${v}n` : Buffer.isBuffer(v) ? v.toString('hex') : v,
        ),
      );
    } else if (path.endsWith('/_IMPORTED')) {
      files[relative] = [String(JSON.parse((await fs.readFile(path)).toString()).records)];
    } else {
      files[relative] = ['unexpected file'];
    }
  }
  const stateDir = `${base}/state/${job.config.name}`;
  for (const path of await listFilesRecursively(fs, `${stateDir}/errors`)) {
    files[`errors${path.slice(`${stateDir}/errors`.length)}`] = (await fs.readFile(path))
      .toString()
      .split('\n');
  }
  const offsets: string[] = [];
  for (const path of await listFilesRecursively(fs, `${stateDir}/partitions`)) {
    if (/\/offsets\/\d+\.json$/.test(path)) offsets.push(path.slice(stateDir.length));
  }
  const leftovers = (await listFilesRecursively(fs, `${stateDir}/tmp`)).length;
  const queue = new Queue(hiveQueueName(job.config.name), { connection: redis });
  const jobs = (await queue.getJobs(['waiting', 'active', 'delayed', 'completed', 'failed']))
    .map((j) => j.id!)
    .sort();
  await queue.close();
  return { files, offsets: offsets.sort(), leftovers, jobs };
}

describe('crash anywhere, rerun: the same result as a run that never crashed', () => {
  let stack: StackConfig;
  let sink: KafkaSink;
  let fs: FileSystem;
  let redis: Redis;
  let prefix: string;
  let topics: string[] = [];
  let registryRoot: string;
  const jobs: { job: LoadedJob; base: string }[] = [];
  // Hours are counted from H, the start of the current hour. The grace puts every run's
  // completeness watermark near H − 30 min, whatever minute the test starts at: the reference run
  // and the reruns a minute later must agree on which hours are complete.
  const H = Math.floor(Date.now() / HOUR_MS) * HOUR_MS;
  const graceSeconds = Math.ceil((Date.now() - (H - 0.5 * HOUR_MS)) / 1000);

  async function newJob(label: string): Promise<{ job: LoadedJob; base: string }> {
    const base = `/mwingest-test/${prefix}-${label}`;
    const job = await writeTestJob({
      name: `${prefix}-${label}`.toLowerCase(),
      prefix,
      stack,
      registry: registryRoot,
      hdfsBase: base,
      extra: { leases: { ttlSeconds: LEASE_TTL_SECONDS }, completeness: { idleGraceSeconds: graceSeconds } },
    });
    jobs.push({ job, base });
    return { job, base };
  }

  before(async () => {
    stack = await requireStack(['kafka', 'webhdfs', 'redis']);
    prefix = uniqueName('crash');
    registryRoot = await mixedRegistryRoot();
    const registry = await SchemaRegistry.load(registryRoot);
    const codec = new MessageCodec(registry);
    sink = await openKafkaSink({ brokers: stack.kafkaBrokers });
    topics = [`${prefix}_EditAttempt`, `${prefix}_ApiAction`];
    for (const topic of topics) await sink.createTopic(topic, 2);
    const messages = planTraffic(registry, codec, {
      topics: topics.map((topic) => ({ topic, schemaName: schemaNameOfTopic(topic), partitions: 2 })),
      messagesPerTopic: 1500,
      fromMs: H - 5 * HOUR_MS,
      toMs: H - 2 * HOUR_MS,
      badRatio: 0.02,
      disorderMs: 15 * 60_000,
      seed: 21,
    });
    await produceMessages(sink, messages);
    fs = await openFileSystem({ type: 'hdfs', url: stack.webhdfsUrl, user: 'hdfs' });
    redis = new Redis(stack.redisUrl, { maxRetriesPerRequest: null });
  });

  after(async () => {
    for (const topic of topics) await sink?.deleteTopic(topic).catch(() => undefined);
    await sink?.close();
    for (const { job, base } of jobs) {
      await fs?.delete(base, { recursive: true }).catch(() => undefined);
      await new Queue(hiveQueueName(job.config.name), { connection: redis })
        .obliterate({ force: true })
        .catch(() => undefined);
    }
    await fs?.close();
    redis?.disconnect();
  });

  test('kill -9 at each step of the commit protocol, then rerun', async () => {
    const reference = await newJob('ref');
    const scenarios = [...FailPoints.map((point) => `${point}`), 'renamed-one@3', 'reading@3'];
    const crashed = await Promise.all(
      scenarios.map((point, i) => newJob(`c${i}`).then((job) => ({ point, ...job }))),
    );

    const [referenceRun, ...crashRuns] = await Promise.all([
      runCli(reference.job.path),
      ...crashed.map(({ job, point }) => runCli(job.path, point)),
    ]);
    assert.equal(referenceRun.code, 0, referenceRun.stderr);
    for (const [i, run] of crashRuns.entries()) {
      assert.equal(
        run.signal,
        'SIGKILL',
        `${crashed[i]!.point}: the run was killed there (${run.stderr.slice(-500)})`,
      );
    }

    await sleep(LEASE_TTL_SECONDS * 1000 + 500); // the dead runs' leases expire
    const reruns = await Promise.all(crashed.map(({ job }) => runCli(job.path)));
    for (const [i, run] of reruns.entries())
      assert.equal(run.code, 0, `${crashed[i]!.point}: rerun: ${run.stderr.slice(-800)}`);

    const expected = await snapshot(fs, reference.job, reference.base, redis);
    assert.ok(
      Object.keys(expected.files).some((f) => f.endsWith('.avro')),
      'the reference run wrote files',
    );
    assert.ok(expected.jobs.length > 0, 'the reference run announced hours');
    assert.equal(expected.leftovers, 0);
    for (const { point, job, base } of crashed) {
      const actual = await snapshot(fs, job, base, redis);
      assert.deepEqual(
        Object.keys(actual.files).sort(),
        Object.keys(expected.files).sort(),
        `${point}: the same file names`,
      );
      assert.deepEqual(actual.files, expected.files, `${point}: the same records in every file`);
      assert.deepEqual(actual.offsets, expected.offsets, `${point}: the same committed offsets`);
      assert.deepEqual(
        actual.jobs.map((id) => id.slice(id.indexOf('_'))),
        expected.jobs.map((id) => id.slice(id.indexOf('_'))),
        `${point}: the same Hive jobs`,
      );
      assert.equal(actual.leftovers, 0, `${point}: no temp files left`);
    }
  });
});
