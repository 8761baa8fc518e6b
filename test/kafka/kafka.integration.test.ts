import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { isMwiError, type MwiError } from '../../src/errors.js';
import type { KafkaSource } from '../../src/kafka/client.js';
import { openKafkaSink, openKafkaSource } from '../../src/kafka/open.js';
import {
  type Codec,
  type KafkaKit,
  kafkaKit,
  kcatProduce,
  produceTransactions,
  readAll,
  storedCodec,
} from '../support/kafka.js';
import { uniqueName } from '../support/stack.js';

/**
 * The Kafka seam against the real broker of `scripts/stack up`. Every test writes to fresh
 * `ktest_…` topics that are deleted afterwards.
 */
let kit: KafkaKit;
let source: KafkaSource;

before(async () => {
  kit = await kafkaKit();
  source = await openKafkaSource(kit.connection);
});

after(async () => {
  await source?.close();
  await kit?.close();
});

function rejectsWithCode(code: MwiError['code']) {
  return (error: unknown) => {
    assert.ok(
      isMwiError(error, code),
      `expected ${code}, got ${error instanceof Error ? error.stack : error}`,
    );
    return true;
  };
}

/** Fails the test instead of hanging when a read does not end. */
async function within<T>(ms: number, what: string, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not end within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const BASE_MS = Date.UTC(2014, 6, 14, 23, 0, 0);

describe('bounded reads of three partitions', () => {
  let topic: string;
  const perPartition = 200;

  before(async () => {
    topic = await kit.freshTopic('ranges', 3);
    const records = [0, 1, 2].flatMap((partition) =>
      Array.from({ length: perPartition }, (_, i) => ({
        partition,
        value: Buffer.from(`p${partition}-${i}`),
        key: Buffer.from(`k${i}`),
        timestamp: BASE_MS + partition * 1_000_000 + i * 1000,
      })),
    );
    await kit.sink.produce(topic, records);
  });

  test('partitionOffsets gives log start and high watermark per partition, and listTopics has the topic', async () => {
    assert.deepEqual(await source.partitionOffsets(topic), [
      { partition: 0, earliest: 0n, latest: 200n },
      { partition: 1, earliest: 0n, latest: 200n },
      { partition: 2, earliest: 0n, latest: 200n },
    ]);
    const topics = await source.listTopics();
    assert.ok(topics.includes(topic));
    assert.deepEqual(
      topics.filter((name) => name.startsWith('__')),
      [],
      'internal topics are left out',
    );
  });

  const ranges = [
    { title: 'a whole partition', partition: 0, from: 0n, to: 200n },
    { title: 'from the middle to the end', partition: 1, from: 120n, to: 200n },
    { title: 'from the start to below the end', partition: 2, from: 0n, to: 75n },
    { title: 'a slice in the middle', partition: 1, from: 50n, to: 60n },
    { title: 'the last offset alone', partition: 2, from: 199n, to: 200n },
  ];
  for (const { title, partition, from, to } of ranges) {
    test(`reads exactly ${title}: [${from}, ${to}) of partition ${partition}`, async () => {
      const { records } = await within(20_000, 'read', readAll(source, { topic, partition, from, to }));
      const expected = Array.from({ length: Number(to - from) }, (_, k) => Number(from) + k);
      assert.deepEqual(
        records.map((r) => Number(r.offset)),
        expected,
      );
      for (const record of records) {
        const i = Number(record.offset);
        assert.equal(record.partition, partition);
        assert.equal(record.value?.toString(), `p${partition}-${i}`);
        assert.equal(record.key?.toString(), `k${i}`);
        assert.equal(record.timestamp, BASE_MS + partition * 1_000_000 + i * 1000);
      }
    });
  }

  test('an empty range yields nothing', async () => {
    const { records, batches } = await readAll(source, { topic, partition: 0, from: 40n, to: 40n });
    assert.equal(records.length, 0);
    assert.equal(batches, 0);
  });

  test('a range past the log end is MWI_KAFKA_LOG_ENDED_EARLY (retryable), never a quiet end', async () => {
    const yielded: bigint[] = [];
    await assert.rejects(
      within(
        20_000,
        'read past the end',
        (async () => {
          for await (const batch of source.read({ topic, partition: 0, from: 190n, to: 205n }))
            yielded.push(...batch.map((r) => r.offset));
        })(),
      ),
      (error: unknown) => {
        rejectsWithCode('MWI_KAFKA_LOG_ENDED_EARLY')(error);
        assert.equal((error as { canRetry: boolean }).canRetry, true);
        assert.match((error as Error).message, /log ends at offset 200 .*offsets 200–204 were not returned/);
        return true;
      },
    );
    assert.deepEqual(
      yielded,
      Array.from({ length: 10 }, (_, k) => BigInt(190 + k)),
    );
  });

  test('reading joins no consumer group and commits nothing', async () => {
    await readAll(source, { topic, partition: 0, from: 0n, to: 10n });
    const groups = await kit.admin.listGroups();
    assert.deepEqual(
      groups.filter((group) => group.startsWith('mwingest-reader')),
      [],
    );
  });

  test('a partition the topic does not have is MWI_KAFKA_UNKNOWN_TOPIC', async () => {
    await assert.rejects(readAll(source, { topic, partition: 7, from: 0n, to: 5n }), (error: unknown) => {
      rejectsWithCode('MWI_KAFKA_UNKNOWN_TOPIC')(error);
      assert.match((error as Error).message, new RegExp(`no partition 7 of ${topic} \\(it has 3\\)`));
      return true;
    });
  });
});

test('a topic that does not exist is MWI_KAFKA_UNKNOWN_TOPIC, naming it', async () => {
  const missing = uniqueName('ktest_absent');
  await assert.rejects(source.partitionOffsets(missing), (error: unknown) => {
    rejectsWithCode('MWI_KAFKA_UNKNOWN_TOPIC')(error);
    assert.match((error as Error).message, new RegExp(`no topic ${missing}`));
    return true;
  });
});

test('transaction markers: read ends, and yielded plus absent offsets account for the whole range', {
  timeout: 60_000,
}, async () => {
  const topic = await kit.freshTopic('txn', 1);
  // offsets 0-4 records, 5 commit marker, 6-8 records, 9 abort marker, 10-13 records, 14 commit marker
  await produceTransactions(kit.connection, topic, 0, [
    { count: 5, end: 'commit' },
    { count: 3, end: 'abort' },
    { count: 4, end: 'commit' },
  ]);
  const [log] = await source.partitionOffsets(topic);
  assert.equal(log?.latest, 15n, 'the log ends after the last commit marker');

  const { records } = await within(
    20_000,
    'read up to a trailing marker',
    readAll(source, { topic, partition: 0, from: 0n, to: 15n }),
  );
  const yielded = records.map((r) => Number(r.offset));
  assert.deepEqual(yielded, [0, 1, 2, 3, 4, 6, 7, 8, 10, 11, 12, 13]);
  const absent = Array.from({ length: 15 }, (_, i) => i).filter((offset) => !yielded.includes(offset));
  assert.deepEqual(absent, [5, 9, 14], 'only the three markers are absent');
  assert.equal(yielded.length + absent.length, 15);
  // The high watermark is the end, so records of aborted transactions are read too (as Camus did).
  assert.deepEqual(
    records.slice(5, 8).map((r) => r.value?.toString()),
    ['1-0', '1-1', '1-2'],
  );

  const onlyMarker = await within(
    20_000,
    'read of a marker-only range',
    readAll(source, { topic, partition: 0, from: 14n, to: 15n }),
  );
  assert.equal(onlyMarker.records.length, 0);
});

test('reads batches compressed with gzip, snappy, lz4 and zstd (written by kcat)', {
  timeout: 60_000,
}, async () => {
  const codecs: Codec[] = ['gzip', 'snappy', 'lz4', 'zstd'];
  const topic = await kit.freshTopic('codecs', codecs.length);
  const lines = Array.from(
    { length: 100 },
    (_, i) =>
      `{"ts":${1405382400 + i},"wiki":"enwiki","query":"moon landing ${i}","pad":"${'x'.repeat(200)}"}`,
  );
  for (const [partition, codec] of codecs.entries()) {
    await kcatProduce(kit.stack, topic, partition, lines, codec);
  }
  for (const [partition, codec] of codecs.entries()) {
    const stored = await storedCodec(kit.stack, topic, partition);
    if (stored !== undefined)
      assert.equal(stored, codec, `the broker stored partition ${partition} as ${codec}`);
    const { records } = await within(
      20_000,
      `read of ${codec}`,
      readAll(source, { topic, partition, from: 0n, to: 100n }),
    );
    assert.deepEqual(
      records.map((r) => r.value?.toString()),
      lines,
      `${codec} batches read back`,
    );
  }
});

describe('a backlog larger than what the reader buffers', () => {
  let topic: string;
  const count = 40_000;

  before(async () => {
    topic = await kit.freshTopic('backlog', 1);
    // Random per record, so compressed batches are as large as the records and the reader's
    // buffer limits hold fewer records than the backlog.
    for (let start = 0; start < count; start += 10_000) {
      await kit.sink.produce(
        topic,
        Array.from({ length: 10_000 }, (_, k) => ({
          partition: 0,
          value: Buffer.from(`${start + k}:${randomBytes(500).toString('hex')}`),
          timestamp: BASE_MS,
        })),
      );
    }
  });

  test('an aborted signal ends the iteration after the current batch, without error', {
    timeout: 60_000,
  }, async () => {
    const controller = new AbortController();
    let seen = 0;
    const started = Date.now();
    for await (const batch of source.read(
      { topic, partition: 0, from: 0n, to: BigInt(count) },
      controller.signal,
    )) {
      seen += batch.length;
      controller.abort();
    }
    assert.ok(seen > 0 && seen < count, `read ${seen} of ${count} records before stopping`);
    assert.ok(Date.now() - started < 10_000, 'stopped promptly');

    const aborted = AbortSignal.abort();
    assert.equal(
      (await readAll(source, { topic, partition: 0, from: 0n, to: 10n }, aborted)).records.length,
      0,
    );
  });

  test('offsets deleted while reading fail the read with MWI_OFFSETS_EXPIRED instead of skipping', {
    timeout: 60_000,
  }, async () => {
    let next = 0n;
    let deleted = false;
    const reading = async () => {
      for await (const batch of source.read({ topic, partition: 0, from: 0n, to: BigInt(count) })) {
        for (const record of batch) {
          assert.equal(record.offset, next, 'no offset is skipped');
          next += 1n;
        }
        if (!deleted) {
          deleted = true;
          assert.equal(await kit.admin.deleteRecords(topic, 0, 39_000n), 39_000n);
        }
      }
    };
    await assert.rejects(reading(), (error: unknown) => {
      rejectsWithCode('MWI_OFFSETS_EXPIRED')(error);
      const details = (error as MwiError).details;
      assert.equal(details.lostTo, '39000');
      assert.equal(details.lostFrom, next.toString(), 'the loss starts where the delivered records stop');
      assert.match(
        (error as Error).message,
        new RegExp(`${topic}/0: offsets ${next}–38999 of the range \\[0, ${count}\\)`),
      );
      return true;
    });
    assert.ok(next > 0n && next < 39_000n);

    // From before the log start: refused up front, naming the range.
    await assert.rejects(
      readAll(source, { topic, partition: 0, from: 100n, to: 39_010n }),
      (error: unknown) => {
        rejectsWithCode('MWI_OFFSETS_EXPIRED')(error);
        assert.match(
          (error as Error).message,
          /offsets 100–38999 .*\(the log now starts at 39000\).*38900 messages are lost/,
        );
        return true;
      },
    );
    const [log] = await source.partitionOffsets(topic);
    assert.equal(log?.earliest, 39_000n);
    const rest = await readAll(source, { topic, partition: 0, from: 39_000n, to: BigInt(count) });
    assert.equal(rest.records.length, count - 39_000);
    assert.equal(rest.records[0]?.value?.toString().split(':')[0], '39000');
  });
});

test('consumer-group offsets are committed without joining the group, and read back', async () => {
  const topic = await kit.freshTopic('group', 3);
  const group = uniqueName('ktest-group');
  try {
    assert.deepEqual(await source.groupOffsets(group, topic), new Map());
    await source.commitGroupOffsets(group, topic, [
      { partition: 0, offset: 150n },
      { partition: 2, offset: 75n },
    ]);
    assert.deepEqual(
      await source.groupOffsets(group, topic),
      new Map([
        [0, 150n],
        [2, 75n],
      ]),
    );
    await source.commitGroupOffsets(group, topic, [{ partition: 0, offset: 200n }]);
    assert.equal((await source.groupOffsets(group, topic)).get(0), 200n);
  } finally {
    await kit.admin.deleteGroup(group);
  }
});

test('unreachable brokers fail fast with MWI_KAFKA_UNAVAILABLE naming them (canRetry)', async () => {
  const connection = { brokers: ['127.0.0.1:1'], connectTimeoutMs: 1500 };
  for (const [name, open] of [
    ['source', () => openKafkaSource(connection)],
    ['sink', () => openKafkaSink(connection)],
  ] as const) {
    const started = Date.now();
    await assert.rejects(open(), (error: unknown) => {
      rejectsWithCode('MWI_KAFKA_UNAVAILABLE')(error);
      assert.equal((error as MwiError).canRetry, true);
      assert.match((error as Error).message, /127\.0\.0\.1:1/);
      return true;
    });
    const elapsed = Date.now() - started;
    assert.ok(elapsed < 1500 + 3000, `${name}: failed after ${elapsed} ms`);
  }
});
