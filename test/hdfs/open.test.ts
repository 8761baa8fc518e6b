import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { isMwiError } from '../../src/errors.js';
import { LocalFileSystem } from '../../src/hdfs/local.js';
import { openFileSystem } from '../../src/hdfs/open.js';
import { WebHdfsFileSystem } from '../../src/hdfs/webhdfs.js';

test('a local config opens a LocalFileSystem on that directory', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'mwingest-open-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const fs = await openFileSystem({ type: 'local', root });
  assert.ok(fs instanceof LocalFileSystem);
  await fs.writeFile('/x/y', 'hello');
  assert.equal(await readFile(join(root, 'x', 'y'), 'utf8'), 'hello');
});

test('an hdfs config opens WebHDFS as the configured user', async () => {
  const fs = await openFileSystem({ type: 'hdfs', url: 'http://127.0.0.1:9870', user: 'analytics' });
  assert.ok(fs instanceof WebHdfsFileSystem);
  assert.equal(fs.description, 'webhdfs://127.0.0.1:9870 as analytics');
});

test('a delegation token comes from the named environment variable', async () => {
  const fs = await openFileSystem(
    { type: 'hdfs', url: 'http://127.0.0.1:9870', user: 'hdfs', delegationTokenEnv: 'MWI_TEST_TOKEN' },
    { MWI_TEST_TOKEN: 'the-token' },
  );
  assert.equal(fs.description, 'webhdfs://127.0.0.1:9870 with a delegation token');
});

test('an unset or empty token variable is MWI_CONFIG_INVALID naming the key and the variable', async () => {
  for (const env of [{}, { MWI_TEST_TOKEN: '' }]) {
    await assert.rejects(
      openFileSystem(
        { type: 'hdfs', url: 'http://127.0.0.1:9870', user: 'hdfs', delegationTokenEnv: 'MWI_TEST_TOKEN' },
        env,
      ),
      (error: unknown) =>
        isMwiError(error, 'MWI_CONFIG_INVALID') &&
        error.message.includes('fileSystem.delegationTokenEnv') &&
        error.message.includes('MWI_TEST_TOKEN'),
    );
  }
});
