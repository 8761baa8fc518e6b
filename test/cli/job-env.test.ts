// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${env:NAME} is the job-file syntax under test, not a template
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runMwingest } from '../support/cli.js';

/**
 * What the CLI prints about a job whose values come from the environment: the `${env:NAME}`,
 * never the value — in config errors and in errors from the servers the value reached.
 * No services needed: the Hive address is a closed port.
 */
const REGISTRY = join(import.meta.dirname, '..', '..', 'event-schemas');
let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mwingest-job-env-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function jobFile(name: string, job: object): Promise<string> {
  const path = join(dir, name);
  await writeFile(
    path,
    JSON.stringify({
      name: 'envtest',
      kafka: { brokers: ['127.0.0.1:9092'] },
      topics: { include: '^mediawiki_ApiAction$' },
      registry: REGISTRY,
      fileSystem: { type: 'local', root: join(dir, 'out') },
      ...job,
    }),
  );
  return path;
}

test('a value from the environment that fails validation is named by its key and variable, not shown', async () => {
  const job = await jobFile('bad-url.json', {
    fileSystem: { type: 'hdfs', url: '${env:MWI_TEST_WEBHDFS_URL}' },
  });
  const run = await runMwingest(['hive', 'ddl', '--job', job], {
    env: { MWI_TEST_WEBHDFS_URL: 'ftp://user:hunter2-s3cret@namenode/' },
  });
  assert.equal(run.code, 2, run.stderr);
  assert.match(run.stderr, /MWI_CONFIG_INVALID: .*bad-url\.json is not a valid job definition/);
  assert.match(run.stderr, /fileSystem\.url: .*\(got "\$\{env:MWI_TEST_WEBHDFS_URL\}"\)/);
  assert.doesNotMatch(run.stdout + run.stderr, /hunter2/);

  const unset = await runMwingest(['hive', 'ddl', '--job', job], {
    env: { MWI_TEST_WEBHDFS_URL: undefined },
  });
  assert.equal(unset.code, 2);
  assert.match(
    unset.stderr,
    /fileSystem\.url: \$\{env:MWI_TEST_WEBHDFS_URL\} names the environment variable MWI_TEST_WEBHDFS_URL, which is not set or empty; export MWI_TEST_WEBHDFS_URL/,
  );
});

test('an error from a server the value reached shows the ${env:NAME} in its place', async () => {
  const job = await jobFile('hive.json', {
    hive: { server: '${env:MWI_TEST_HIVE}', user: '${env:MWI_TEST_USER}' },
  });
  const run = await runMwingest(['hive', 'ddl', '--job', job, '--apply'], {
    env: { MWI_TEST_HIVE: 'localhost:1', MWI_TEST_USER: 'svc-s3cret-user', MWINGEST_LOG_LEVEL: 'debug' },
  });
  assert.equal(run.code, 1, run.stderr);
  assert.match(run.stderr, /MWI_HIVE: cannot open a HiveServer2 session at \$\{env:MWI_TEST_HIVE\}/);
  assert.doesNotMatch(run.stdout + run.stderr, /localhost:1|s3cret/);
});
