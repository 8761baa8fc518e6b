import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import rdkafka from '@confluentinc/kafka-javascript';
import type { KafkaConnection } from '../../src/kafka/client.js';
import { committerConfig, connectionConfig, producerConfig, readerConfig } from '../../src/kafka/config.js';

const plain: KafkaConnection = { brokers: ['kafka1001.eqiad.wmnet:9092', 'kafka1002.eqiad.wmnet:9092'] };

describe('connection settings for librdkafka', () => {
  test('brokers, client id and the connect timeout', () => {
    const config = connectionConfig({ ...plain, clientId: 'camus-replacement', connectTimeoutMs: 2500 });
    assert.equal(config['bootstrap.servers'], 'kafka1001.eqiad.wmnet:9092,kafka1002.eqiad.wmnet:9092');
    assert.equal(config['client.id'], 'camus-replacement');
    assert.equal(config['socket.connection.setup.timeout.ms'], 2500);
    assert.equal(config['security.protocol'], undefined, 'plaintext is librdkafka’s default');
    assert.equal(connectionConfig(plain)['socket.connection.setup.timeout.ms'], 10_000);
    assert.equal(connectionConfig(plain)['client.id'], 'mwingest');
  });

  test('ssl: true is TLS with the system trust store', () => {
    const config = connectionConfig({ ...plain, ssl: true });
    assert.equal(config['security.protocol'], 'ssl');
    assert.equal(config['ssl.ca.pem'], undefined);
    assert.equal(config['enable.ssl.certificate.verification'], undefined);
  });

  test('ssl with PEM contents and verification off', () => {
    const config = connectionConfig({
      ...plain,
      ssl: { ca: 'CA PEM', cert: 'CERT PEM', key: 'KEY PEM', rejectUnauthorized: false },
    });
    assert.equal(config['security.protocol'], 'ssl');
    assert.equal(config['ssl.ca.pem'], 'CA PEM');
    assert.equal(config['ssl.certificate.pem'], 'CERT PEM');
    assert.equal(config['ssl.key.pem'], 'KEY PEM');
    assert.equal(config['enable.ssl.certificate.verification'], false);
    assert.equal(config['ssl.endpoint.identification.algorithm'], 'none');
    const verified = connectionConfig({ ...plain, ssl: { ca: 'CA PEM', rejectUnauthorized: true } });
    assert.equal(verified['enable.ssl.certificate.verification'], undefined);
  });

  for (const [mechanism, expected] of [
    ['plain', 'PLAIN'],
    ['scram-sha-256', 'SCRAM-SHA-256'],
    ['scram-sha-512', 'SCRAM-SHA-512'],
  ] as const) {
    test(`sasl ${mechanism} without TLS is sasl_plaintext, with TLS sasl_ssl`, () => {
      const sasl = { mechanism, username: 'mwingest', password: 's3cret' };
      const config = connectionConfig({ ...plain, sasl });
      assert.equal(config['security.protocol'], 'sasl_plaintext');
      assert.equal(config['sasl.mechanisms'], expected);
      assert.equal(config['sasl.username'], 'mwingest');
      assert.equal(config['sasl.password'], 's3cret');
      assert.equal(connectionConfig({ ...plain, sasl, ssl: true })['security.protocol'], 'sasl_ssl');
      assert.equal(connectionConfig({ ...plain, sasl, ssl: false })['security.protocol'], 'sasl_plaintext');
    });
  }
});

describe('the reader', () => {
  const config = readerConfig(plain);

  test('never commits and never jumps to another offset on its own', () => {
    assert.equal(config['enable.auto.commit'], false);
    assert.equal(config['enable.auto.offset.store'], false);
    assert.equal(config['auto.offset.reset'], 'error');
  });

  test('reports the log end and reads up to the high watermark', () => {
    assert.equal(config['enable.partition.eof'], true);
    assert.equal(config['isolation.level'], 'read_uncommitted');
  });

  test('buffers a bounded amount per partition', () => {
    const perPartition =
      Number(config['max.partition.fetch.bytes']) + Number(config['queued.max.messages.kbytes']) * 1024;
    assert.ok(perPartition <= 32 * 1024 * 1024, `${perPartition} bytes`);
    assert.ok(Number(config['fetch.max.bytes']) >= Number(config['max.partition.fetch.bytes']));
  });
});

test('librdkafka accepts every property we generate (unknown names or bad values throw at construction)', () => {
  const secured: KafkaConnection = {
    ...plain,
    ssl: { rejectUnauthorized: false },
    sasl: { mechanism: 'scram-sha-512', username: 'u', password: 'p' },
  };
  for (const connection of [plain, secured]) {
    // Constructing a client validates the configuration; nothing connects until connect().
    new rdkafka.KafkaConsumer(readerConfig(connection));
    new rdkafka.KafkaConsumer(committerConfig(connection, 'mwingest-demo'));
    new rdkafka.Producer(producerConfig(connection));
  }
  assert.throws(
    () => new rdkafka.KafkaConsumer({ ...readerConfig(plain), ['no.such.property' as string]: 1 }),
    /no\.such\.property/,
  );
});
