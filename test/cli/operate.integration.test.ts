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
import { Redis } from 'ioredis';
import { type PlannedMessage, planTraffic } from '../../src/demo/traffic.js';
import type { FileSystem } from '../../src/hdfs/filesystem.js';
import { openFileSystem } from '../../src/hdfs/open.js';
import { HOUR_MS, hourKey, hourOf } from '../../src/hours/hour.js';
import type { OffsetAuditRecord } from '../../src/ingest/offset-reset.js';
import type { RunReport } from '../../src/ingest/run-report.js';
import type { LoadedJob } from '../../src/job/config.js';
import { LeaseManager } from '../../src/job/lease.js';
import type { KafkaSink } from '../../src/kafka/client.js';
import { openKafkaSink } from '../../src/kafka/open.js';
import type { TopicHourView } from '../../src/ops/explain.js';
import type { PartitionOffsetsView } from '../../src/ops/offsets-view.js';
import type { JobStatus } from '../../src/ops/status.js';
import { MessageCodec } from '../../src/schemas/codec.js';
import { SchemaRegistry, schemaNameOfTopic } from '../../src/schemas/registry.js';
import type { ErrorRecord } from '../../src/writers/error-file.js';
import { runMwingest } from '../support/cli.js';
import {
  forgetJobInRedis,
  localTemp,
  mixedRegistryRoot,
  produceMessages,
  writeTestJob,
} from '../support/ingest.js';
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
      await forgetJobInRedis(redis, loaded.config.name);
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

  test('errors list counts bad messages by topic, hour and code and lists them with their raw bytes', async () => {
    const out = await runMwingest(['errors', 'list', '--job', loaded.path, '--json', '--limit', '1000'], {
      env: env(),
    });
    assert.equal(out.code, 0, out.stderr);
    const listed = JSON.parse(out.stdout) as {
      total: number;
      counts: { topic: string; hour: string; code: string; count: number }[];
      records: ErrorRecord[];
    };
    const expected = badMessages();
    assert.equal(listed.total, expected.length);
    assert.deepEqual(
      listed.records.map((r) => `${r.partition}@${r.offset} ${r.code} ${r.raw}`).sort(),
      expected.map((m) => `${m.partition}@${m.offset} ${m.bad} ${m.value.toString('base64')}`).sort(),
    );
    const byKey = new Map<string, number>();
    for (const m of expected) {
      const key = `${topic} ${hourKey(hourOf(m.timestampMs))} ${m.bad}`;
      byKey.set(key, (byKey.get(key) ?? 0) + 1);
    }
    assert.deepEqual(new Map(listed.counts.map((c) => [`${c.topic} ${c.hour} ${c.code}`, c.count])), byKey);
    const one = expected[0]!;
    const hour = hourKey(hourOf(one.timestampMs));
    const filtered = await runMwingest(
      ['errors', 'list', '--job', loaded.path, '--hour', hour, '--code', one.bad!, '--json'],
      { env: env() },
    );
    assert.equal(
      (JSON.parse(filtered.stdout) as { total: number }).total,
      expected.filter((m) => m.bad === one.bad && hourKey(hourOf(m.timestampMs)) === hour).length,
    );
  });

  test('errors show prints one record with a hex dump of its raw bytes; an offset without one exits 3', async () => {
    const one = badMessages()[0]!;
    const args = [
      'errors',
      'show',
      '--job',
      loaded.path,
      '--topic',
      topic,
      '--partition',
      String(one.partition),
    ];
    const shown = await runMwingest([...args, '--offset', String(one.offset)], { env: env() });
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, new RegExp(`code: +${one.bad}`));
    const firstBytes = [...one.value.subarray(0, 8)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
    assert.match(shown.stdout, new RegExp(`00000000  ${firstBytes}`));
    const json = await runMwingest([...args, '--offset', String(one.offset), '--json'], { env: env() });
    assert.equal((JSON.parse(json.stdout) as ErrorRecord).raw, one.value.toString('base64'));
    const goodOffset = produced.filter((m) => m.partition === one.partition).findIndex((m) => !m.bad);
    const missing = await runMwingest([...args, '--offset', String(goodOffset)], { env: env() });
    assert.equal(missing.code, 3, missing.stderr);
  });

  test('errors export writes every matching record as a JSON line, raw bytes included', async () => {
    const out = join(await localTemp('mwingest-errors-export'), 'errors.jsonl');
    const exported = await runMwingest(['errors', 'export', '--job', loaded.path, '--out', out], {
      env: env(),
    });
    assert.equal(exported.code, 0, exported.stderr);
    const lines = (await readFile(out, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as ErrorRecord);
    assert.deepEqual(
      lines.map((r) => r.raw).sort(),
      badMessages()
        .map((m) => m.value.toString('base64'))
        .sort(),
    );
  });

  test('explain: a complete hour lists its partitions, files and record counts; the current hour has not ended', async () => {
    const hour = hourKey(hourOf(H - 3 * HOUR_MS));
    const out = await runMwingest(['explain', hour, '--job', loaded.path, '--json'], { env: env() });
    assert.equal(out.code, 0, out.stderr);
    const [view] = JSON.parse(out.stdout) as TopicHourView[];
    assert.equal(view!.complete, true, view!.reason);
    assert.match(view!.reason, /^complete: _IMPORTED written/);
    for (let partition = 0; partition < PARTITIONS; partition++) {
      const p = view!.partitions.find((x) => x.partition === partition)!;
      const records = produced.filter(
        (m) => m.partition === partition && !m.bad && hourKey(hourOf(m.recordMs!)) === hour,
      ).length;
      assert.equal(p.records, records, `partition ${partition}: records of the hour`);
      assert.ok(p.files.length > 0 && p.files.every((f) => f.records !== null));
      assert.equal(p.holdsBack, false);
    }
    const text = await runMwingest(['explain', hour, '--job', loaded.path], { env: env() });
    assert.match(text.stdout, /✓ partition 0: committed/);

    const current = hourKey(hourOf(Date.now()));
    const open = await runMwingest(['explain', current, '--job', loaded.path, '--topic', topic], {
      env: env(),
    });
    assert.equal(open.code, 3, open.stderr);
    assert.match(open.stdout, /not complete: the hour has not ended yet/);
  });

  test('offsets show: each partition committed up to the log end, lag 0', async () => {
    const shown = await runMwingest(['offsets', 'show', '--job', loaded.path, '--json'], { env: env() });
    assert.equal(shown.code, 0, shown.stderr);
    const views = JSON.parse(shown.stdout) as PartitionOffsetsView[];
    assert.deepEqual(
      views.map((v) => [v.topic, v.partition, v.committed, v.lag, v.problem]),
      report.topics[0]!.partitions.map((p) => [topic, p.partition, p.highWatermark, '0', null]),
    );
    const text = await runMwingest(['offsets', 'show', '--job', loaded.path], { env: env() });
    assert.match(text.stdout, new RegExp(`${topic}\\s+0\\s+${report.topics[0]!.partitions[0]!.endOffset}`));
  });

  test('offsets reset is refused while a run holds the job lease, and changes nothing', async () => {
    const leases = new LeaseManager(redis, `mwingest:${loaded.config.name}`, { owner: 'test-run' });
    const lease = await leases.tryAcquire('run');
    assert.ok(lease);
    try {
      const refused = await runMwingest(
        ['offsets', 'reset', '--job', loaded.path, '--topic', topic, '--partition', '0', '--to', 'earliest'],
        { env: env() },
      );
      assert.equal(refused.code, 75, refused.stderr);
      assert.match(refused.stderr, /in progress \(lease held by test-run\)/);
    } finally {
      await lease.release();
    }
    const views = await offsetsOf();
    assert.equal(views[0]!.committed, report.topics[0]!.partitions[0]!.endOffset);
  });

  test('offsets set outside the log is a usage error naming the log range', async () => {
    const out = await runMwingest(
      ['offsets', 'set', '--job', loaded.path, '--topic', topic, '--partition', '0', '--offset', '99999999'],
      { env: env() },
    );
    assert.equal(out.code, 2, out.stderr);
    assert.match(out.stderr, /offset 99999999 is outside the log \(0–\d+\)/);
  });

  test('offsets reset --dry-run says what would move and moves nothing', async () => {
    const out = await runMwingest(
      [
        'offsets',
        'reset',
        '--job',
        loaded.path,
        '--topic',
        topic,
        '--partition',
        '1',
        '--to',
        'earliest',
        '--dry-run',
        '--json',
      ],
      { env: env() },
    );
    assert.equal(out.code, 0, out.stderr);
    const record = JSON.parse(out.stdout) as OffsetAuditRecord;
    const end = report.topics[0]!.partitions[1]!.endOffset;
    assert.deepEqual([record.dryRun, record.from, record.to, record.skipped], [true, end, '0', `-${end}`]);
    assert.equal((await offsetsOf())[1]!.committed, end);
  });

  test('offsets reset rewinds a partition: audited, and the next run reads again from there', async () => {
    const p1 = report.topics[0]!.partitions[1]!;
    const middle = (BigInt(p1.endOffset) / 2n).toString();
    const out = await runMwingest(
      [
        'offsets',
        'reset',
        '--job',
        loaded.path,
        '--topic',
        topic,
        '--partition',
        '1',
        '--to',
        middle,
        '--reason',
        'test rewind',
        '--json',
      ],
      { env: env() },
    );
    assert.equal(out.code, 0, out.stderr);
    const record = JSON.parse(out.stdout) as OffsetAuditRecord;
    assert.deepEqual([record.from, record.to, record.reason], [p1.endOffset, middle, 'test rewind']);
    assert.ok(record.superseded.length > 0, 'the commit past the new offset is moved aside');
    const audit = JSON.parse(
      (await fs.readFile(`${hdfsBase}/state/${loaded.config.name}/audit/${record.id}.json`)).toString(),
    ) as OffsetAuditRecord;
    assert.equal(audit.to, middle);
    const view = (await offsetsOf())[1]!;
    assert.deepEqual([view.committed, view.resetBy], [middle, record.id]);

    const rerun = await runMwingest(['run', '--job', loaded.path, '--json', '--no-progress'], { env: env() });
    assert.equal(rerun.code, 0, rerun.stderr);
    const again = (JSON.parse(rerun.stdout) as RunReport).topics[0]!.partitions;
    assert.deepEqual(
      again.map((p) => [p.partition, p.status, p.startOffset, p.endOffset]),
      [
        [
          0,
          'up-to-date',
          report.topics[0]!.partitions[0]!.endOffset,
          report.topics[0]!.partitions[0]!.endOffset,
        ],
        [1, 'committed', middle, p1.endOffset],
      ],
    );
  });

  /** The malformed messages produced, each with its offset in its partition. */
  function badMessages(): (PlannedMessage & { offset: number })[] {
    const result: (PlannedMessage & { offset: number })[] = [];
    for (let partition = 0; partition < PARTITIONS; partition++) {
      produced
        .filter((m) => m.partition === partition)
        .forEach((m, offset) => {
          if (m.bad) result.push({ ...m, offset });
        });
    }
    return result;
  }

  async function offsetsOf(): Promise<PartitionOffsetsView[]> {
    const shown = await runMwingest(['offsets', 'show', '--job', loaded.path, '--json'], { env: env() });
    assert.equal(shown.code, 0, shown.stderr);
    return JSON.parse(shown.stdout) as PartitionOffsetsView[];
  }
});
