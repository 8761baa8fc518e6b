/**
 * Hostile values from the wire at the partition task, without a stack: Kafka timestamps that are
 * not times (−1, 9e15 ms, NaN), records whose clock is wrong, offsets with gaps and repeats, values
 * of any length, and a committed offset past the log end. Kafka is an in-memory `KafkaSource` (the
 * seam the task reads through, not a claim about Kafka); the real-stack form of these faults is
 * wire-faults.integration.test.ts.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { planTraffic } from '../../src/demo/traffic.js';
import { LocalFileSystem } from '../../src/hdfs/local.js';
import { HOUR_MS } from '../../src/hours/hour.js';
import type { CommittedOffsets } from '../../src/ingest/commit.js';
import type { PartitionResult, PartitionTask } from '../../src/ingest/partition-result.js';
import { ingestPartition } from '../../src/ingest/partition-task.js';
import { StatePaths } from '../../src/ingest/state-store.js';
import { buildTopicPlan } from '../../src/ingest/topic-plan.js';
import { parseJobConfig } from '../../src/job/config.js';
import type { Lease } from '../../src/job/lease.js';
import type { KafkaRecord, KafkaSource, ReadRange } from '../../src/kafka/client.js';
import { MessageCodec } from '../../src/schemas/codec.js';
import { SchemaRegistry } from '../../src/schemas/registry.js';
import { seededRandom } from '../schemas/realistic-records.js';
import { decodeContainer, listFilesRecursively, quietLog, readErrorRecords } from '../support/ingest.js';

const projectRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const TOPIC = 'mediawiki_EditAttempt';
const H0 = Date.UTC(2026, 0, 12, 8);
const scratch = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();

let registry: SchemaRegistry;
let codec: MessageCodec;
const dirs: string[] = [];

before(async () => {
  registry = await SchemaRegistry.load(join(projectRoot, 'event-schemas'));
  codec = new MessageCodec(registry);
});

after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

/** Yields the records in the range, in offset order as a reader would, repeats and all, in batches of 7. */
function memorySource(log: KafkaRecord[]): KafkaSource {
  return {
    listTopics: async () => [TOPIC],
    partitionOffsets: async () => [{ partition: 0, earliest: 0n, latest: (log.at(-1)?.offset ?? -1n) + 1n }],
    async *read(range: ReadRange) {
      const inRange = log.filter((r) => r.offset >= range.from && r.offset < range.to);
      for (let i = 0; i < inRange.length; i += 7) yield inRange.slice(i, i + 7);
    },
    commitGroupOffsets: async () => undefined,
    groupOffsets: async () => new Map(),
    offsetsForTime: async () => new Map(),
    close: async () => undefined,
  };
}

const lease: Lease = {
  key: `lease:${TOPIC}/0`,
  token: 1,
  owner: 'test/1',
  assertHeld: async () => undefined,
  renew: async () => undefined,
  release: async () => undefined,
};

async function freshFs(): Promise<LocalFileSystem> {
  const dir = await mkdtemp(join(scratch, 'mwingest-wire-'));
  dirs.push(dir);
  return new LocalFileSystem(dir);
}

async function runTask(
  fs: LocalFileSystem,
  log: KafkaRecord[],
  task: PartitionTask,
): Promise<PartitionResult> {
  const config = parseJobConfig(
    {
      name: 'wire',
      kafka: { brokers: ['127.0.0.1:9'] },
      topics: { include: `^${TOPIC}$` },
      registry: join(projectRoot, 'event-schemas'),
      fileSystem: { type: 'local', root: '/unused' },
      output: { root: '/raw', stateDir: '/state', codec: 'null' },
      limits: { errorRatio: 1 },
    },
    'wire-values.test.ts',
  );
  const loaded = { config, path: join(projectRoot, 'jobs', 'wire.json'), baseDir: join(projectRoot, 'jobs') };
  const paths = new StatePaths('/state', config.name);
  const plan = await buildTopicPlan({ loaded, registry, fs, paths }, TOPIC);
  return ingestPartition(
    { job: config, fs, paths, source: memorySource(log), codec, plan, runId: 'run-1', lease, log: quietLog },
    task,
  );
}

/** `count` good EditAttempt messages in hours H0…H0+2, Kafka timestamp = when each was "produced". */
function goodRecords(count: number, seed: number): KafkaRecord[] {
  return planTraffic(registry, codec, {
    topics: [{ topic: TOPIC, schemaName: 'EditAttempt', partitions: 1 }],
    messagesPerTopic: count,
    fromMs: H0,
    toMs: H0 + 2 * HOUR_MS,
    badRatio: 0,
    seed,
  }).map((m, i) => ({
    partition: 0,
    offset: BigInt(i),
    value: m.value,
    key: null,
    timestamp: m.timestampMs,
  }));
}

async function writtenOffsets(fs: LocalFileSystem): Promise<string[]> {
  const offsets: string[] = [];
  for (const path of await listFilesRecursively(fs, '/raw')) {
    const name = path.split('/').at(-1)!;
    const [first, last] = name.split('.').at(-2)!.split('-').map(BigInt) as [bigint, bigint];
    const { records } = await decodeContainer(await fs.readFile(path));
    assert.ok(records.length <= Number(last - first + 1n), name);
    offsets.push(`${name}:${records.length}`);
  }
  return offsets;
}

async function lastOffsets(fs: LocalFileSystem): Promise<CommittedOffsets> {
  const files = await listFilesRecursively(fs, `/state/wire/partitions/${TOPIC}/0/offsets`);
  return JSON.parse((await fs.readFile(files.sort().at(-1)!)).toString('utf8')) as CommittedOffsets;
}

describe('hostile values from the wire', () => {
  test('a malformed message whose Kafka timestamp is 9e15 ms: an error record says so, the good records are written', async () => {
    const fs = await freshFs();
    const log = goodRecords(60, 3).map((r) => ({ ...r, offset: r.offset < 30n ? r.offset : r.offset + 1n }));
    log.splice(30, 0, {
      partition: 0,
      offset: 30n,
      value: Buffer.from('not avro'),
      key: null,
      timestamp: 9e15,
    });
    const result = await runTask(fs, log, { topic: TOPIC, partition: 0, earliest: 0n, endOffset: 61n });
    assert.equal(result.status, 'committed', JSON.stringify(result.error));
    assert.equal(result.counts.written, 60);
    assert.equal(result.counts.errors, 1);
    const [error, ...more] = await readErrorRecords(fs, '/state/wire/errors');
    assert.equal(more.length, 0);
    assert.equal(error?.offset, '30');
    assert.equal(error?.code, 'BAD_MAGIC');
    assert.equal(error?.kafkaTimestamp, null, 'not a time');
    assert.equal(error?.kafkaTimestampMs, 9e15, 'kept as the broker sent it');
    let written = 0;
    for (const path of await listFilesRecursively(fs, '/raw'))
      written += (await decodeContainer(await fs.readFile(path))).records.length;
    assert.equal(written, 60);
  });

  test('a committed offset past the log end fails the partition with the offsets and the way out', async () => {
    const fs = await freshFs();
    const first = await runTask(fs, goodRecords(40, 4), {
      topic: TOPIC,
      partition: 0,
      earliest: 0n,
      endOffset: 40n,
    });
    assert.equal(first.status, 'committed');
    // The topic was recreated: its new log holds offsets 0…9.
    const recreated = goodRecords(10, 5);
    const result = await runTask(fs, recreated, { topic: TOPIC, partition: 0, earliest: 0n, endOffset: 10n });
    assert.equal(result.status, 'failed');
    assert.equal(result.error?.code, 'MWI_OFFSETS_BEYOND_LOG_END');
    assert.equal(result.error?.canRetry, false);
    const message = result.error?.message ?? '';
    for (const part of [
      'committed offset 40',
      'log end 10',
      'log starts at 0',
      `mwingest offsets reset --job <job file> --topic ${TOPIC} --partition 0 --to earliest`,
    ])
      assert.ok(message.includes(part), `${part} in: ${message}`);
    assert.equal(result.caughtUp, false);
    assert.equal((await lastOffsets(fs)).endOffset, '40', 'nothing committed');
  });

  test("a record's wrong clock moves neither the partition's progress nor its oldest time", async () => {
    const fs = await freshFs();
    const log = goodRecords(50, 6);
    const newestKafka = Math.max(...log.map((r) => r.timestamp));
    const oldestKafka = Math.min(...log.map((r) => r.timestamp));
    const at = (offset: number, recordMs: number) => ({
      partition: 0,
      offset: BigInt(offset),
      value: codec.encode(registry.latest('EditAttempt')!.revision, {
        ts: Math.floor(recordMs / 1000),
        action: 'init',
        editor: 'other',
      }),
      key: null,
      timestamp: H0 + HOUR_MS,
    });
    log.push(at(50, Date.now() + 5 * HOUR_MS), at(51, Date.UTC(2003, 5, 1, 9)));
    const result = await runTask(fs, log, { topic: TOPIC, partition: 0, earliest: 0n, endOffset: 52n });
    assert.equal(result.status, 'committed', JSON.stringify(result.error));
    assert.equal(result.counts.written, 52, 'both strays are written');
    const offsets = await lastOffsets(fs);
    assert.ok(offsets.reachedMs !== null && offsets.reachedMs <= newestKafka, `reached ${offsets.reachedMs}`);
    assert.ok(
      offsets.earliestMs !== null && offsets.earliestMs! >= oldestKafka,
      `earliest ${offsets.earliestMs}`,
    );
    assert.ok(offsets.earliestMs! < H0 + HOUR_MS);
  });

  test('fuzz: 60 partitions of hostile Kafka metadata and values, each accounted for record by record', async () => {
    const random = seededRandom(77);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
    const timestamps = [
      -1,
      0,
      1,
      -9e15,
      9e15,
      8.64e15,
      8.64e15 + 1,
      2 ** 53,
      2 ** 63,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      1.5,
      H0,
      H0 + 5 * HOUR_MS,
      Date.now() + 48 * HOUR_MS,
      Date.UTC(2003, 0, 1),
    ];
    const revision = registry.latest('EditAttempt')!.revision;
    const timeFields = [
      0,
      -1,
      1,
      2 ** 31 - 1,
      -(2 ** 31),
      1_000_000_000,
      H0 / 1000,
      (Date.now() + 5 * HOUR_MS) / 1000,
    ];
    const good = goodRecords(40, 9);
    for (let round = 0; round < 60; round++) {
      const log: KafkaRecord[] = [];
      let offset = BigInt(Math.floor(random() * 3)) * 1_000_000n;
      const start = offset;
      const count = 1 + Math.floor(random() * 30);
      for (let i = 0; i < count; i++) {
        offset += BigInt(Math.floor(random() * 3)); // gaps: offsets the log skipped
        const kind = Math.floor(random() * 6);
        const base = pick(good);
        const value =
          kind === 0
            ? null
            : kind === 1
              ? Buffer.alloc(Math.floor(random() * 12))
              : kind === 2
                ? base.value!.subarray(0, Math.floor(random() * base.value!.length))
                : kind === 3
                  ? codec.encode(revision, {
                      ts: Math.floor(pick(timeFields)),
                      action: 'init',
                      editor: 'other',
                    })
                  : base.value;
        const timestamp = random() < 0.5 ? pick(timestamps) : base.timestamp;
        log.push({ partition: 0, offset, value, key: null, timestamp });
        if (random() < 0.1) log.push({ partition: 0, offset, value, key: null, timestamp }); // a repeat
        offset += 1n;
      }
      const end = offset + BigInt(Math.floor(random() * 3)); // a tail the fetch position passed
      const fs = await freshFs();
      const result = await runTask(fs, log, { topic: TOPIC, partition: 0, earliest: start, endOffset: end });
      const where = `round ${round}: ${JSON.stringify(result.error)}`;
      assert.equal(result.status, 'committed', where);
      const distinct = new Set(log.map((r) => r.offset)).size;
      const { written, errors, absent } = result.counts;
      assert.equal(written + errors, distinct, where);
      assert.equal(BigInt(written + errors + absent), end - start, where);
      const ranges = result.absentRanges ?? [];
      assert.equal(
        ranges.reduce((sum, r) => sum + Number(BigInt(r.to) - BigInt(r.from)), 0),
        absent,
        `${where}: every absent offset is in a range with its reason`,
      );
      for (const r of ranges)
        assert.ok(!log.some((k) => k.offset >= BigInt(r.from) && k.offset < BigInt(r.to)), where);
      const errorRecords = await readErrorRecords(fs, '/state/wire/errors');
      assert.equal(errorRecords.length, errors, where);
      for (const e of errorRecords)
        assert.ok(e.kafkaTimestamp === null || !Number.isNaN(Date.parse(e.kafkaTimestamp)), where);
      const files = await writtenOffsets(fs);
      const inFiles = files.reduce((sum, f) => sum + Number(f.split(':')[1]), 0);
      assert.equal(inFiles, written, where);
      const committed = await lastOffsets(fs);
      for (const ms of [committed.reachedMs, committed.earliestMs])
        assert.ok(ms === null || ms === undefined || Number.isSafeInteger(ms), `${where}: ${ms}`);
    }
  });
});
