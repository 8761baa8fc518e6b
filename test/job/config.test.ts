// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${env:NAME} is the job-file syntax under test, not a template
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { isMwiError } from '../../src/errors.js';
import {
  effectiveDataset,
  loadJob,
  parseJobConfig,
  resolveJobPath,
  secretFromEnv,
  topicMatcher,
} from '../../src/job/config.js';
import { maskSecrets } from '../../src/secrets.js';

const minimal = {
  name: 'demo',
  kafka: { brokers: ['127.0.0.1:9092'] },
  fileSystem: { type: 'local', root: 'out' },
};

function problemsOf(value: unknown): string {
  try {
    parseJobConfig(value, 'jobs/test.json');
  } catch (error) {
    assert.ok(isMwiError(error, 'MWI_CONFIG_INVALID'));
    return error.message;
  }
  assert.fail('expected the job to be rejected');
}

describe('job definitions', () => {
  test('a minimal job gets the documented Camus-compatible defaults', () => {
    const job = parseJobConfig(minimal, 'jobs/test.json');
    assert.equal(job.topics.include, '^mediawiki_.+');
    assert.equal(job.output.pathTemplate, '<root>/<topic>/hourly/{yyyy}/{MM}/{dd}/{HH}');
    assert.equal(job.output.codec, 'snappy');
    assert.deepEqual(job.timestamp, { field: 'ts', format: 'unix_seconds' });
    assert.equal(job.expiredOffsets, 'fail');
    assert.equal(job.schedule.cron, '15 * * * *');
    assert.equal(job.hive.database, 'wmf_raw');
  });

  test('each bad key is named with its value and what is expected', () => {
    const message = problemsOf({
      ...minimal,
      kafka: { brokers: ['kafka1001'], brokerz: 1 },
      topics: { include: '(unclosed' },
      output: { codec: 'lzo' },
      datasets: { CirrusSearchRequestSet: { readerRevision: 'latest' } },
    });
    assert.match(message, /^jobs\/test\.json is not a valid job definition/);
    assert.match(message, /kafka\.brokers\[0\]: expected "host:port".*got "kafka1001"/);
    assert.match(message, /kafka\.brokerz: unknown key/);
    assert.match(message, /topics\.include: not a valid regular expression/);
    assert.match(message, /output\.codec: .*got "lzo"/);
    assert.match(message, /datasets\.CirrusSearchRequestSet\.readerRevision: expected a schema revision id/);
  });

  test('a missing required key is reported as missing', () => {
    assert.match(
      problemsOf({ name: 'demo', fileSystem: { type: 'local', root: 'x' } }),
      /kafka: .*\(missing\)/,
    );
    assert.match(problemsOf({ ...minimal, fileSystem: { type: 'gcs' } }), /fileSystem\.type/);
  });

  test('hive names that could inject HQL are refused at load', () => {
    const message = problemsOf({
      ...minimal,
      datasets: { ApiAction: { hive: { table: 'x; DROP TABLE y' } } },
    });
    assert.match(message, /datasets\.ApiAction\.hive\.table: expected a Hive identifier/);
  });

  test('dataset settings override the job defaults, field by field', () => {
    const job = parseJobConfig(
      {
        ...minimal,
        timestamp: { format: 'unix_milliseconds' },
        datasets: {
          ApiAction: {
            readerRevision: 101453221640,
            timestamp: { field: 'meta.dt' },
            hive: { table: 'api' },
          },
        },
      },
      'jobs/test.json',
    );
    const api = effectiveDataset(job, 'ApiAction');
    assert.equal(api.readerRevision, 101453221640n);
    assert.deepEqual(api.timestamp, { field: 'meta.dt', format: 'unix_milliseconds' });
    assert.deepEqual(api.hive, { database: 'wmf_raw', table: 'api' });
    const other = effectiveDataset(job, 'CirrusSearchRequestSet');
    assert.equal(other.readerRevision, undefined);
    assert.deepEqual(other.hive, { database: 'wmf_raw', table: 'cirrussearchrequestset' });
  });

  test('topic include and exclude both apply', () => {
    const job = parseJobConfig({ ...minimal, topics: { exclude: 'Test$' } }, 'jobs/test.json');
    const matches = topicMatcher(job);
    assert.equal(matches('mediawiki_ApiAction'), true);
    assert.equal(matches('mediawiki_ApiTest'), false);
    assert.equal(matches('eventlogging_Foo'), false);
  });

  test('loadJob resolves relative paths against the job file and reports bad JSON with the path', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mwingest-job-'));
    await writeFile(join(dir, 'ok.json'), JSON.stringify(minimal));
    const loaded = await loadJob(join(dir, 'ok.json'));
    assert.equal(resolveJobPath(loaded, 'out'), join(dir, 'out'));
    await writeFile(join(dir, 'bad.json'), '{ "name": ');
    await assert.rejects(loadJob(join(dir, 'bad.json')), /bad\.json is not valid JSON/);
    await assert.rejects(loadJob(join(dir, 'missing.json')), /cannot read job file .*missing\.json/);
  });

  test('secrets come from the environment and the error never shows a value', () => {
    assert.equal(secretFromEnv('kafka.sasl.passwordEnv', 'PW', { PW: 's3cret' }), 's3cret');
    assert.throws(
      () => secretFromEnv('kafka.sasl.passwordEnv', 'PW', {}),
      /kafka\.sasl\.passwordEnv names the environment variable PW, which is not set/,
    );
  });
});

describe('job definitions: path template and timestamp format', () => {
  test('a path template without the dataset is refused at load, naming the key', () => {
    assert.throws(
      () =>
        parseJobConfig(
          { ...minimal, output: { pathTemplate: '<root>/{yyyy}/{MM}/{dd}/{HH}' } },
          'jobs/test.json',
        ),
      (error) =>
        isMwiError(error, 'MWI_CONFIG_INVALID') &&
        /output\.pathTemplate: .*<topic> or <name>/.test(error.message),
    );
  });

  test('a SimpleDateFormat letter without an equivalent is refused at load, naming the key', () => {
    assert.throws(
      () =>
        parseJobConfig(
          { ...minimal, datasets: { ApiAction: { timestamp: { format: 'yyyy-ww' } } } },
          'jobs/test.json',
        ),
      (error) =>
        isMwiError(error, 'MWI_CONFIG_INVALID') &&
        /datasets\.ApiAction\.timestamp\.format: .*"w"/.test(error.message),
    );
  });

  test('the older Camus layout and a Java pattern are accepted', () => {
    const job = parseJobConfig(
      {
        ...minimal,
        output: { pathTemplate: '<root>/<name>/{yyyy}/{MM}/{dd}/{HH}' },
        timestamp: { field: 'dt', format: "yyyy-MM-dd'T'HH:mm:ssXXX" },
      },
      'jobs/test.json',
    );
    assert.equal(job.output.pathTemplate, '<root>/<name>/{yyyy}/{MM}/{dd}/{HH}');
  });
});

describe('job definitions: Hive connection', () => {
  test('startPosition: earliest by default, the documented values, and a bad one names the key and its value', () => {
    assert.equal(parseJobConfig(minimal, 'jobs/test.json').startPosition, 'earliest');
    for (const value of ['latest', 'after-imported', '2026-12-07T14:00:00Z'])
      assert.equal(
        parseJobConfig({ ...minimal, startPosition: value }, 'jobs/test.json').startPosition,
        value,
      );
    const message = problemsOf({ ...minimal, startPosition: 'after-camus' });
    assert.match(message, /startPosition/);
    assert.match(message, /after-camus/);
    assert.match(message, /"after-imported"/);
  });

  test('hive.server, hive.user and hive.passwordEnv are read; a bad address names the key', () => {
    const job = parseJobConfig(
      {
        ...minimal,
        hive: { server: 'an-coord1001.eqiad.wmnet:10000', user: 'analytics', passwordEnv: 'HIVE_PASSWORD' },
      },
      'jobs/test.json',
    );
    assert.equal(job.hive.server, 'an-coord1001.eqiad.wmnet:10000');
    assert.equal(job.hive.database, 'wmf_raw');
    assert.throws(
      () => parseJobConfig({ ...minimal, hive: { server: 'an-coord1001' } }, 'jobs/test.json'),
      (error) =>
        isMwiError(error, 'MWI_CONFIG_INVALID') && /hive\.server: expected "host:port"/.test(error.message),
    );
  });

  test('hive.reconcile: every 600 s over 48 hours by default; a bad value or unknown key is named', () => {
    assert.deepEqual(parseJobConfig(minimal, 'jobs/test.json').hive.reconcile, {
      intervalSeconds: 600,
      lookbackHours: 48,
    });
    const job = parseJobConfig(
      { ...minimal, hive: { reconcile: { intervalSeconds: 60 } } },
      'jobs/test.json',
    );
    assert.deepEqual(job.hive.reconcile, { intervalSeconds: 60, lookbackHours: 48 });
    const message = problemsOf({ ...minimal, hive: { reconcile: { intervalSeconds: 0, lookback: 3 } } });
    assert.match(message, /hive\.reconcile\.intervalSeconds: .*\(got 0\)/);
    assert.match(message, /hive\.reconcile\.lookback: unknown key/);
  });
});

describe('job definitions: ${env:NAME} values', () => {
  async function jobWith(fields: object): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'mwingest-job-env-'));
    const path = join(dir, 'job.json');
    await writeFile(path, JSON.stringify({ ...minimal, ...fields }));
    return path;
  }

  test('loadJob substitutes before validating, and registers each value as a secret', async () => {
    const path = await jobWith({
      fileSystem: { type: 'hdfs', url: '${env:NN_URL}', delegationTokenEnv: 'HDFS_TOKEN' },
      hive: { user: 'svc-${env:CLUSTER}' },
    });
    const loaded = await loadJob(path, {
      NN_URL: 'http://an-master1001.eqiad.wmnet:50070',
      CLUSTER: 'eqiad',
    });
    assert.deepEqual(loaded.config.fileSystem, {
      type: 'hdfs',
      url: 'http://an-master1001.eqiad.wmnet:50070',
      user: 'hdfs',
      delegationTokenEnv: 'HDFS_TOKEN',
    });
    assert.equal(loaded.config.hive.user, 'svc-eqiad');
    assert.equal(maskSecrets('at http://an-master1001.eqiad.wmnet:50070/'), 'at ${env:NN_URL}/');
    // a URL's host is how a file system describes itself: hidden too
    assert.equal(
      maskSecrets('webhdfs://an-master1001.eqiad.wmnet:50070 as hdfs'),
      'webhdfs://${env:NN_URL} as hdfs',
    );
    assert.equal(maskSecrets('user svc-eqiad'), 'user svc-${env:CLUSTER}');
  });

  test('an unset variable is a config error naming the key, the variable and what to export', async () => {
    const path = await jobWith({ fileSystem: { type: 'hdfs', url: '${env:NN_URL}' } });
    await assert.rejects(
      loadJob(path, {}),
      (error) =>
        isMwiError(error, 'MWI_CONFIG_INVALID') &&
        /fileSystem\.url: \$\{env:NN_URL\} names the environment variable NN_URL, which is not set or empty; export NN_URL/.test(
          error.message,
        ),
    );
  });

  test('a substituted value that fails validation is shown as its ${env:NAME}, in the text and the details', async () => {
    const path = await jobWith({ kafka: { brokers: ['${env:BROKER}'] } });
    await assert.rejects(loadJob(path, { BROKER: 'no-port-s3cret' }), (error) => {
      assert.ok(isMwiError(error, 'MWI_CONFIG_INVALID'));
      assert.match(error.message, /kafka\.brokers\[0\]: expected "host:port".*\(got "\$\{env:BROKER\}"\)/);
      assert.doesNotMatch(JSON.stringify({ message: error.message, ...error.toJSON() }), /s3cret/);
      return true;
    });
  });

  test('HDFS: one url or the list of NameNodes, Kerberos with a keytab needs its principal', () => {
    const hdfs = (fileSystem: Record<string, unknown>) => ({
      ...minimal,
      fileSystem: { type: 'hdfs', ...fileSystem },
    });
    const ha = parseJobConfig(
      hdfs({
        nameservice: 'analytics-hadoop',
        namenodes: ['https://nn1:50470', 'https://nn2:50470'],
        kerberos: { principal: 'mwingest@EXAMPLE.ORG', keytab: 'mwingest.keytab' },
        caFile: 'ca.pem',
      }),
      'jobs/test.json',
    );
    assert.equal(ha.fileSystem.type, 'hdfs');
    assert.match(problemsOf(hdfs({})), /give either url \(one NameNode\) or namenodes/);
    assert.match(
      problemsOf(hdfs({ url: 'http://nn1:9870', namenodes: ['http://nn2:9870'] })),
      /give either url/,
    );
    assert.match(
      problemsOf(hdfs({ url: 'http://nn1:9870', kerberos: { keytab: 'k.keytab' } })),
      /kerberos\.principal: a keytab needs the principal/,
    );
    assert.match(
      problemsOf(hdfs({ url: 'http://nn1:9870', kerberos: {}, delegationTokenEnv: 'TOKEN' })),
      /delegationTokenEnv: with kerberos/,
    );
  });
});
