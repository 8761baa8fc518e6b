// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${env:NAME} is the job-file syntax under test, not a template
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isMwiError } from '../../src/errors.js';
import { expandEnv, hideEnvValues } from '../../src/job/env.js';

function problemsOf(value: unknown, env: NodeJS.ProcessEnv): string {
  try {
    expandEnv(value, 'jobs/x.json', env);
  } catch (error) {
    assert.ok(isMwiError(error, 'MWI_CONFIG_INVALID'));
    return error.message;
  }
  assert.fail('expected the substitution to be refused');
}

describe('${env:NAME} in job values', () => {
  test('any string value, whole or in part, at any depth; other values and keys are left alone', () => {
    const { value, uses } = expandEnv(
      {
        name: 'analytics',
        kafka: { brokers: ['${env:BROKER}', 'b:9092'], connectTimeoutMs: 5000, ssl: true },
        fileSystem: { type: 'hdfs', url: 'http://${env:NN}:9870', user: '${env:NN}-${env:USER_SUFFIX}' },
        '${env:KEY}': 'x',
      },
      'jobs/x.json',
      { BROKER: 'kafka1012:9092', NN: 'an-master1001', USER_SUFFIX: 'svc', KEY: 'never used' },
    );
    assert.deepEqual(value, {
      name: 'analytics',
      kafka: { brokers: ['kafka1012:9092', 'b:9092'], connectTimeoutMs: 5000, ssl: true },
      fileSystem: { type: 'hdfs', url: 'http://an-master1001:9870', user: 'an-master1001-svc' },
      '${env:KEY}': 'x',
    });
    assert.deepEqual(
      uses.map((u) => `${u.key} ${u.variable}`),
      ['kafka.brokers[0] BROKER', 'fileSystem.url NN', 'fileSystem.user NN', 'fileSystem.user USER_SUFFIX'],
    );
  });

  test('$${ is a literal ${, and is not substituted again', () => {
    const { value, uses } = expandEnv({ a: '$${env:HOME}', b: 'cost: $5, $${x}' }, 'jobs/x.json', {
      HOME: '/root',
    });
    assert.deepEqual(value, { a: '${env:HOME}', b: 'cost: $5, ${x}' });
    assert.deepEqual(uses, []);
  });

  test('every unset or empty variable is named with its key and what to do, in one error', () => {
    const message = problemsOf(
      {
        fileSystem: { url: '${env:MWINGEST_WEBHDFS_URL}' },
        hive: { user: '${env:HIVE_USER}' },
        ok: '${env:SET}',
      },
      { HIVE_USER: '', SET: 'yes' },
    );
    assert.match(message, /^jobs\/x\.json is not a valid job definition/);
    assert.match(
      message,
      /fileSystem\.url: \$\{env:MWINGEST_WEBHDFS_URL\} names the environment variable MWINGEST_WEBHDFS_URL, which is not set or empty; export MWINGEST_WEBHDFS_URL with the value for fileSystem\.url/,
    );
    assert.match(message, /hive\.user: \$\{env:HIVE_USER\} names the environment variable HIVE_USER/);
    assert.doesNotMatch(message, /ok:/);
  });

  test('a ${ that is not ${env:NAME} is refused rather than passed on', () => {
    for (const text of ['${HOME}', '${env:}', '${env:1X}', '${env:OPEN', '${ env:X }']) {
      assert.match(
        problemsOf({ registry: text }, { HOME: '/root', OPEN: 'x', X: 'x' }),
        /registry: ".*" is not a substitution/,
        text,
      );
    }
  });

  test('the error names variables and keys, never a value that was set', () => {
    const message = problemsOf(
      { kafka: { sasl: { password: '${env:PW}' } }, broken: '${env:MISSING}' },
      { PW: 'hunter2-s3cret' },
    );
    assert.doesNotMatch(message, /hunter2/);
  });

  test('values are shown as the variable they came from', () => {
    const uses = [
      { key: 'a', variable: 'SHORT', value: 'abc' },
      { key: 'b', variable: 'LONG', value: 'abcdef' },
    ];
    assert.equal(hideEnvValues('got "abcdef" and "abc"', uses), 'got "${env:LONG}" and "${env:SHORT}"');
  });
});
