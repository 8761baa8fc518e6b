import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import rdkafka from '@confluentinc/kafka-javascript';
import { isMwiError } from '../../src/errors.js';
import { loadJob } from '../../src/job/config.js';
import { kafkaConnectionOf } from '../../src/job/kafka-connection.js';
import { connectionConfig, readerConfig } from '../../src/kafka/config.js';
import { maskSecrets } from '../../src/secrets.js';

async function job(kafka: Record<string, unknown>) {
  const dir = await mkdtemp(join(tmpdir(), 'mwingest-kafka-security-'));
  const path = join(dir, 'job.json');
  await writeFile(
    path,
    JSON.stringify({
      name: 'secure',
      kafka: { brokers: ['kafka-jumbo1001.eqiad.wmnet:9093'], ...kafka },
      fileSystem: { type: 'local', root: 'out' },
    }),
  );
  return loadJob(path);
}

describe('Kafka: SASL GSSAPI and OAUTHBEARER, raw client properties', () => {
  test('gssapi: librdkafka gets the principal, the keytab (relative to the job file) and the service name', async () => {
    const loaded = await job({
      ssl: true,
      sasl: { mechanism: 'gssapi', principal: 'mwingest@WIKIMEDIA', keytab: 'mwingest.keytab' },
    });
    const config = connectionConfig(kafkaConnectionOf(loaded));
    assert.equal(config['security.protocol'], 'sasl_ssl');
    assert.equal(config['sasl.mechanisms'], 'GSSAPI');
    assert.equal(config['sasl.kerberos.principal'], 'mwingest@WIKIMEDIA');
    assert.equal(config['sasl.kerberos.keytab'], join(loaded.baseDir, 'mwingest.keytab'));
    assert.equal(config['sasl.kerberos.service.name'], 'kafka');
    assert.ok(rdkafka.features.includes('sasl_gssapi'), 'this build of librdkafka has GSSAPI');
    // librdkafka accepts the configuration (it checks names and values when a client is made)
    new rdkafka.KafkaConsumer(readerConfig(kafkaConnectionOf(loaded)), {});
  });

  test('oauthbearer: OIDC client credentials, the secret from its variable and never printed', async () => {
    const loaded = await job({
      sasl: {
        mechanism: 'oauthbearer',
        tokenEndpointUrl: 'https://idp.example.org/token',
        clientId: 'mwingest',
        clientSecretEnv: 'MWI_TEST_OAUTH_SECRET',
        scope: 'kafka',
      },
    });
    const config = connectionConfig(
      kafkaConnectionOf(loaded, { MWI_TEST_OAUTH_SECRET: 'oauth-s3cret-value' }),
    );
    assert.equal(config['sasl.mechanisms'], 'OAUTHBEARER');
    assert.equal(config['sasl.oauthbearer.method'], 'oidc');
    assert.equal(config['sasl.oauthbearer.client.secret'], 'oauth-s3cret-value');
    assert.equal(config['sasl.oauthbearer.scope'], 'kafka');
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the masked form is the literal text ${env:NAME}
    assert.equal(maskSecrets('secret is oauth-s3cret-value'), 'secret is ${env:MWI_TEST_OAUTH_SECRET}');
    assert.ok(rdkafka.features.includes('sasl_oauthbearer'));
    new rdkafka.KafkaConsumer(readerConfig(kafkaConnectionOf(loaded, { MWI_TEST_OAUTH_SECRET: 'x' })), {});
  });

  test('properties pass through to every client and win over mwingest’s tunables', async () => {
    const loaded = await job({ properties: { 'socket.keepalive.enable': true, 'fetch.max.bytes': 1048576 } });
    const reader = readerConfig(kafkaConnectionOf(loaded));
    assert.equal(reader['socket.keepalive.enable'], true);
    assert.equal(reader['fetch.max.bytes'], 1048576);
  });

  test('properties mwingest sets itself are refused when the job loads, with the key to use instead', async () => {
    await assert.rejects(
      job({ properties: { 'auto.offset.reset': 'earliest', 'sasl.password': 'x' } }),
      (error) => {
        assert.ok(isMwiError(error, 'MWI_CONFIG_INVALID'));
        assert.match(
          error.message,
          /kafka\.properties\.auto\.offset\.reset: mwingest sets auto\.offset\.reset itself/,
        );
        assert.match(error.message, /kafka\.properties\.sasl\.password: .*passwordEnv/);
        return true;
      },
    );
  });

  test('a property librdkafka does not know, or a value of the wrong type, is named', async () => {
    const loaded = await job({ properties: { 'no.such.thing': 1, 'socket.keepalive.enable': 'maybe' } });
    assert.throws(
      () => kafkaConnectionOf(loaded),
      (error) => {
        assert.ok(isMwiError(error, 'MWI_CONFIG_INVALID'));
        assert.match(error.message, /kafka\.properties\.no\.such\.thing: No such configuration property/);
        assert.match(error.message, /kafka\.properties\.socket\.keepalive\.enable: Expected bool value/);
        return true;
      },
    );
  });
});
