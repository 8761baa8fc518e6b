/**
 * The ingest end to end against Kerberized HDFS with two NameNodes in HA (the secure profile, see
 * docs/security.md): the job logs in from a keytab, and the active NameNode fails over to the other
 * in the middle of the run. The hour files hold exactly the produced records, as read back by our
 * decoder and counted by avro-tools, an independent reader.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { type PlannedMessage, planTraffic } from '../../src/demo/traffic.js';
import type { FileSystem } from '../../src/hdfs/filesystem.js';
import { openFileSystem } from '../../src/hdfs/open.js';
import type { WebHdfsFileSystem } from '../../src/hdfs/webhdfs.js';
import { HOUR_MS, hourKey, hourOf } from '../../src/hours/hour.js';
import { fileSystemConfigOf, type LoadedJob } from '../../src/job/config.js';
import type { KafkaSink } from '../../src/kafka/client.js';
import { openKafkaSink } from '../../src/kafka/open.js';
import { runJob } from '../../src/scheduler/local-run.js';
import { MessageCodec } from '../../src/schemas/codec.js';
import { SchemaRegistry, schemaNameOfTopic } from '../../src/schemas/registry.js';
import { runMwingest } from '../support/cli.js';
import {
  decodeContainer,
  expectedReaderBytes,
  forgetJobInRedis,
  listFilesRecursively,
  localTemp,
  mixedRegistryRoot,
  multiset,
  produceMessages,
  quietLog,
  writeTestJob,
} from '../support/ingest.js';
import { haadmin, requireSecureStack, type SecureStack } from '../support/secure-stack.js';
import { requireStack, type StackConfig, uniqueName } from '../support/stack.js';

const execFileAsync = promisify(execFile);
const SCHEMAS = ['EditAttempt', 'SearchSatisfaction'];
const PARTITIONS = 3;

describe('ingest into Kerberized HA HDFS (secure profile)', () => {
  let stack: StackConfig;
  let secure: SecureStack;
  let sink: KafkaSink;
  let fs: WebHdfsFileSystem;
  let redis: Redis;
  let registry: SchemaRegistry;
  let loaded: LoadedJob;
  let topics: string[];
  let hdfsBase: string;
  let produced: PlannedMessage[] = [];
  /** The WebHDFS URL of the NameNode active after the failover. */
  let activeAfter = '';
  const H = Math.floor(Date.now() / HOUR_MS) * HOUR_MS;

  before(async () => {
    stack = await requireStack(['kafka', 'redis', 'tools']);
    secure = await requireSecureStack();
    const prefix = uniqueName('secing');
    hdfsBase = `/mwingest-test/${prefix}`;
    topics = SCHEMAS.map((name) => `${prefix}_${name}`);
    sink = await openKafkaSink({ brokers: stack.kafkaBrokers });
    for (const topic of topics) await sink.createTopic(topic, PARTITIONS);
    const root = await mixedRegistryRoot();
    registry = await SchemaRegistry.load(root);
    loaded = await writeTestJob({
      name: prefix,
      prefix,
      stack,
      registry: root,
      hdfsBase,
      extra: {
        fileSystem: {
          type: 'hdfs',
          nameservice: secure.nameservice,
          namenodes: secure.namenodes,
          kerberos: { principal: secure.principal, keytab: secure.keytab, krb5Config: secure.krb5Config },
        },
      },
    });
    fs = (await openFileSystem(fileSystemConfigOf(loaded))) as WebHdfsFileSystem;
    redis = new Redis(stack.redisUrl, { maxRetriesPerRequest: null });
    produced = planTraffic(registry, new MessageCodec(registry), {
      topics: topics.map((topic) => ({
        topic,
        schemaName: schemaNameOfTopic(topic),
        partitions: PARTITIONS,
      })),
      messagesPerTopic: 3000,
      fromMs: H - 8 * HOUR_MS,
      toMs: H - 2 * HOUR_MS,
      badRatio: 0,
      disorderMs: 10 * 60_000,
      seed: 15,
    });
    await produceMessages(sink, produced);
  });

  after(async () => {
    for (const topic of topics ?? []) await sink?.deleteTopic(topic).catch(() => undefined);
    await sink?.close();
    await fs?.delete(hdfsBase, { recursive: true }).catch(() => undefined);
    await (fs as FileSystem | undefined)?.close();
    if (redis) {
      await forgetJobInRedis(redis, loaded.config.name);
      redis.disconnect();
    }
  });

  test('a run with a keytab, during which the active NameNode fails over, writes exactly the produced records', async () => {
    const before = await activeNameNode();
    const other = before === 'nn1' ? 'nn2' : 'nn1';
    const run = runJob(loaded, { log: quietLog, redisUrl: stack.redisUrl });
    let finishedAt = 0;
    const finished = run.then(
      () => {
        finishedAt = Date.now();
      },
      () => {
        finishedAt = Date.now();
      },
    );
    // fail over as soon as the run has begun to use HDFS (its state directory appears); haadmin
    // takes seconds to start, the run tens of seconds
    while (finishedAt === 0 && (await fs.stat(`${hdfsBase}/state`)) === null) await sleep(100);
    await haadmin('-failover', before, other);
    const failedOverAt = Date.now();
    const report = await run;
    await finished;
    assert.equal(report.status, 'succeeded', report.problems.join('\n'));
    assert.ok(failedOverAt < finishedAt, 'the failover happened while the run went on');
    assert.equal(await activeNameNode(), other);
    assert.equal(report.totals.read, produced.length);
    assert.equal(report.totals.written, produced.length);
    assert.equal(report.totals.errors, 0);

    for (const topic of topics) {
      const reader = registry.latest(schemaNameOfTopic(topic))!;
      const expected = multiset(
        produced
          .filter((m) => m.topic === topic)
          .map((m) => `${hourKey(hourOf(m.recordMs!))} ${expectedReaderBytes(registry, m, reader.revision)}`),
      );
      const actual: string[] = [];
      const local = await localTemp('mwingest-secure-avro-tools');
      const copies: string[] = [];
      for (const path of await listFilesRecursively(fs, `${hdfsBase}/raw/${topic}/hourly`)) {
        if (!path.endsWith('.avro')) continue;
        const match = /\/(\d{4})\/(\d{2})\/(\d{2})\/(\d{2})\/[^/]+$/.exec(path);
        assert.ok(match, path);
        const bytes = await fs.readFile(path);
        for (const record of (await decodeContainer(bytes)).records)
          actual.push(
            `${match[1]}-${match[2]}-${match[3]}T${match[4]} ${reader.type.toBuffer(record).toString('hex')}`,
          );
        const copy = join(local, `${copies.length}.avro`);
        await writeFile(copy, bytes);
        copies.push(copy);
      }
      assert.deepEqual(multiset(actual), expected, `${topic}: records in hour files = records produced`);
      const { stdout } = await execFileAsync(
        'java',
        ['-Xmx256m', '-jar', stack.avroToolsJar, 'count', ...copies],
        {
          maxBuffer: 1 << 20,
        },
      );
      assert.equal(
        Number(stdout.trim().split('\n').at(-1)),
        produced.filter((m) => m.topic === topic).length,
        `${topic}: avro-tools counts every record`,
      );
    }
    activeAfter = secure.namenodes[other === 'nn1' ? 0 : 1] as string;
    assert.equal(fs.activeNameNode, activeAfter, 'the client stays on the new active');
  });

  test('mwingest status shows the active NameNode', async () => {
    assert.ok(activeAfter !== '', 'the run above failed over');
    const run = await runMwingest(['status', '--job', loaded.path, '--json'], {
      env: { MWINGEST_FROM_SOURCE: '1', MWINGEST_REDIS_URL: stack.redisUrl },
    });
    const status = JSON.parse(run.stdout) as { hdfs?: { fileSystem: string; activeNameNode: string } };
    assert.equal(status.hdfs?.activeNameNode, activeAfter, run.stderr);
    assert.match(status.hdfs?.fileSystem ?? '', /mwingest-ha .* as mwingest@MWINGEST\.TEST with keytab/);
  });
});

async function activeNameNode(): Promise<'nn1' | 'nn2'> {
  return (await haadmin('-getServiceState', 'nn1')) === 'active' ? 'nn1' : 'nn2';
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
