/**
 * `mwingest validate --brokers`: one message, or several, straight from the real Kafka, with the
 * exit code of the worst one.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { KafkaSink } from '../../src/kafka/client.js';
import { openKafkaSink } from '../../src/kafka/open.js';
import { MessageCodec } from '../../src/schemas/codec.js';
import { defaultRegistryRoot, SchemaRegistry } from '../../src/schemas/registry.js';
import { runMwingest } from '../support/cli.js';
import { requireStack, uniqueName } from '../support/stack.js';

const validate = (args: string[]) => runMwingest(['validate', ...args]);

describe('mwingest validate reading from the real Kafka', () => {
  let sink: KafkaSink;
  let brokers: string;
  const topic = `${uniqueName('validate')}_EditAttempt`;
  let revision: bigint;

  before(async () => {
    const stack = await requireStack(['kafka']);
    brokers = stack.kafkaBrokers.join(',');
    sink = await openKafkaSink({ brokers: stack.kafkaBrokers });
    await sink.createTopic(topic, 2);
    const registry = await SchemaRegistry.load(defaultRegistryRoot());
    const codec = new MessageCodec(registry);
    const entry = registry.latest('EditAttempt')!;
    revision = entry.revision;
    const record = {
      ...(entry.type.random() as unknown as Record<string, unknown>),
      ts: 1_700_000_000,
      wiki: 'enwiki',
    };
    const good = codec.encode(revision, record);
    const wrongMagic = Buffer.from(good);
    wrongMagic[0] = 0x01;
    // Partition 1: offsets 0 and 1 are good, 2 has a wrong magic byte.
    await sink.produce(
      topic,
      [good, good, wrongMagic].map((value) => ({ value, partition: 1 })),
    );
  });

  after(async () => {
    await sink?.deleteTopic(topic).catch(() => undefined);
    await sink?.close();
  });

  test('one message at an offset: decoded, exit 0', async () => {
    const result = await validate([
      '--brokers',
      brokers,
      '--topic',
      topic,
      '--partition',
      '1',
      '--offset',
      '0',
      '--json',
    ]);
    assert.equal(result.code, 0, result.stderr);
    const message = JSON.parse(result.stdout.trim());
    assert.equal(String(message.revision), revision.toString());
    assert.equal(message.record.wiki, 'enwiki');
    assert.deepEqual(message.errors, []);
  });

  test('the last messages of a partition: the worst exit code, every problem named', async () => {
    const result = await validate([
      '--brokers',
      brokers,
      '--topic',
      topic,
      '--partition',
      '1',
      '--offset',
      'latest',
      '--count',
      '3',
      '--json',
    ]);
    assert.equal(result.code, 3, 'a wrong magic byte is "not a MediaWiki Avro message"');
    const lines = result.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    assert.equal(lines.length, 3);
    assert.deepEqual(
      lines.map((l) => l.errors.length),
      [0, 0, 1],
    );
    assert.match(JSON.stringify(lines[2].errors), /magic/i);
  });

  test('an empty partition says there is nothing at the offset (usage, exit 2)', async () => {
    const result = await validate([
      '--brokers',
      brokers,
      '--topic',
      topic,
      '--partition',
      '0',
      '--offset',
      'earliest',
    ]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /partition 0|nothing|empty/i);
  });

  test('an unreachable broker is exit 1 with the broker named', async () => {
    const result = await validate(['--brokers', '127.0.0.1:1', '--topic', topic]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /127\.0\.0\.1:1/);
  });
});
