/**
 * What `mwingest worker` and `mwingest hive worker` expose to Prometheus, read from the text a
 * scrape gets: names and labels that follow Prometheus's conventions, the build info, the
 * request-latency histograms and the bytes-written counter.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, describe, test } from 'node:test';
import { Registry } from 'prom-client';
import { createIngestMetrics, registerCommonMetrics } from '../../src/ops/metrics.js';
import { hiveRequests, hqlKind, timeRequest, webhdfsRequests } from '../../src/request-timing.js';
import {
  exercisedRegistry,
  parseExposition,
  samplePartitionResult,
  sampleValue,
} from '../support/prometheus.js';

const closers: (() => void)[] = [];
after(() => {
  for (const close of closers) close();
});

async function exposition() {
  const { registry, close } = exercisedRegistry('analytics', 'mediawiki_ApiAction');
  closers.push(close);
  return parseExposition(await registry.metrics());
}

describe('metrics exposition', () => {
  test("no series carries a job or instance label: those are Prometheus's own target labels", async () => {
    const samples = await exposition();
    assert.ok(samples.length > 50, `a full exposition (${samples.length} samples)`);
    const clashing = samples.filter((s) => 'job' in s.labels || 'instance' in s.labels);
    assert.deepEqual(clashing, []);
  });

  test('every per-job metric names the job in ingest_job', async () => {
    const samples = await exposition();
    const processWide =
      /^mwingest_(build_info|webhdfs_request_duration_seconds|hive_request_duration_seconds)/;
    const perJob = samples.filter((s) => s.name.startsWith('mwingest_') && !processWide.test(s.name));
    assert.ok(perJob.length > 20);
    for (const sample of perJob)
      assert.equal(sample.labels.ingest_job, 'analytics', `${sample.name} ${JSON.stringify(sample.labels)}`);
  });

  test('process metrics have their standard names, prefixed once or not at all', async () => {
    const names = new Set((await exposition()).map((s) => s.name));
    for (const name of [
      'process_cpu_seconds_total',
      'process_resident_memory_bytes',
      'nodejs_eventloop_lag_p99_seconds',
    ])
      assert.ok(names.has(name), `${name} is served`);
    const doubled = [...names].filter((name) =>
      /process_process|^mwingest_process_|^mwingest_nodejs_/.test(name),
    );
    assert.deepEqual(doubled, []);
  });

  test('without process metrics (for a node_exporter textfile) nothing else is missing', async () => {
    const registry = new Registry();
    const metrics = createIngestMetrics(registry, { processMetrics: false });
    closers.push(() => metrics.close());
    metrics.partitionTask('analytics', samplePartitionResult('mediawiki_ApiAction'));
    const names = new Set(parseExposition(await registry.metrics()).map((s) => s.name));
    assert.ok(![...names].some((name) => name.startsWith('process_') || name.startsWith('nodejs_')));
    assert.ok(names.has('mwingest_build_info'));
    assert.ok(names.has('mwingest_records_written_total'));
  });

  test('mwingest_build_info is 1 with the package version and the Node.js version', async () => {
    const { version } = JSON.parse(
      await readFile(new URL('../../package.json', import.meta.url), 'utf8'),
    ) as {
      version: string;
    };
    const info = (await exposition()).filter((s) => s.name === 'mwingest_build_info');
    assert.deepEqual(info, [
      { name: 'mwingest_build_info', labels: { version, node_version: process.version }, value: 1 },
    ]);
  });

  test('bytes written counts the committed hour files, beside the bytes read and records', async () => {
    const samples = await exposition();
    const topic = { ingest_job: 'analytics', topic: 'mediawiki_ApiAction' };
    const result = samplePartitionResult('mediawiki_ApiAction');
    assert.equal(sampleValue(samples, 'mwingest_bytes_written_total', topic), result.bytesWritten);
    assert.equal(sampleValue(samples, 'mwingest_bytes_read_total', topic), result.bytesRead);
    assert.equal(sampleValue(samples, 'mwingest_records_written_total', topic), result.counts.written);
  });
});

describe('request-latency histograms', () => {
  test('WebHDFS requests by op, server and outcome; Hive statements by kind and outcome', async () => {
    const registry = new Registry();
    const stop = registerCommonMetrics(registry, { processMetrics: false });
    try {
      await timeRequest(webhdfsRequests, { op: 'RENAME', server: 'namenode' }, Promise.resolve(true));
      await timeRequest(webhdfsRequests, { op: 'RENAME', server: 'namenode' }, Promise.resolve(true));
      await assert.rejects(
        timeRequest(
          webhdfsRequests,
          { op: 'CREATE', server: 'datanode' },
          Promise.reject(new Error('refused')),
        ),
        /refused/,
      );
      await timeRequest(
        hiveRequests,
        { op: hqlKind('ALTER TABLE t ADD PARTITION (year=2026)') },
        Promise.resolve(1),
      );
    } finally {
      stop();
    }
    const samples = parseExposition(await registry.metrics());
    const count = (name: string, labels: Record<string, string>) =>
      sampleValue(samples, `${name}_count`, labels);
    const webhdfs = 'mwingest_webhdfs_request_duration_seconds';
    assert.equal(count(webhdfs, { op: 'RENAME', server: 'namenode', outcome: 'success' }), 2);
    assert.equal(count(webhdfs, { op: 'CREATE', server: 'datanode', outcome: 'error' }), 1);
    assert.equal(
      count('mwingest_hive_request_duration_seconds', { op: 'ALTER TABLE', outcome: 'success' }),
      1,
    );
    // a histogram: cumulative buckets up to +Inf
    const buckets = samples.filter(
      (s) => s.name === `${webhdfs}_bucket` && s.labels.op === 'RENAME' && s.labels.outcome === 'success',
    );
    assert.equal(buckets.at(-1)?.labels.le, '+Inf');
    assert.equal(buckets.at(-1)?.value, 2);
  });

  test('after close() the histograms stop listening', async () => {
    const registry = new Registry();
    registerCommonMetrics(registry, { processMetrics: false })();
    await timeRequest(webhdfsRequests, { op: 'MKDIRS', server: 'namenode' }, Promise.resolve(true));
    const samples = parseExposition(await registry.metrics());
    assert.equal(sampleValue(samples, 'mwingest_webhdfs_request_duration_seconds_count'), undefined);
  });

  test('a Hive statement is labelled by its kind, never by its names or values', () => {
    const cases: [string, string][] = [
      ["ALTER TABLE `wmf_raw`.`apiaction` ADD IF NOT EXISTS PARTITION (year='2026')", 'ALTER TABLE'],
      ['  create database if not exists x', 'CREATE DATABASE'],
      ['CREATE EXTERNAL TABLE x (a int)', 'CREATE EXTERNAL'],
      ['SHOW PARTITIONS wmf_raw.apiaction', 'SHOW PARTITIONS'],
      ['DESCRIBE FORMATTED t PARTITION (year=1)', 'DESCRIBE FORMATTED'],
      ['SELECT count(*) FROM t', 'SELECT'],
      ['-- a comment\nSELECT 1', 'SELECT'],
      ['`quoted` nonsense', 'OTHER'],
      ['', 'OTHER'],
    ];
    for (const [statement, kind] of cases) assert.equal(hqlKind(statement), kind, statement);
  });
});
