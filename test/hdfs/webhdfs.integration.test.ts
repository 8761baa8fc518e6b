import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { isMwiError } from '../../src/errors.js';
import type { FileWriter } from '../../src/hdfs/filesystem.js';
import { WebHdfsFileSystem, type WebHdfsOptions } from '../../src/hdfs/webhdfs.js';
import { fileSystemContract, rejectsWith } from './filesystem-contract.js';
import { LossyProxy } from './lossy-proxy.js';

/**
 * Against the real HDFS of `scripts/stack up` (WebHDFS at $MWINGEST_WEBHDFS_URL). Every test
 * works in its own fresh directory under /tmp/mwingest-test and removes it afterwards.
 */
const url = process.env.MWINGEST_WEBHDFS_URL ?? 'http://127.0.0.1:9870';
const user = process.env.MWINGEST_HDFS_USER ?? 'hdfs';
const TEST_ROOT = '/tmp/mwingest-test';
const MiB = 1024 * 1024;

function open(options: Partial<WebHdfsOptions> = {}): WebHdfsFileSystem {
  return new WebHdfsFileSystem({
    url,
    user,
    retry: { retries: 3, minTimeoutMs: 50, maxTimeoutMs: 500 },
    ...options,
  });
}

async function freshDirectory(fs: WebHdfsFileSystem): Promise<string> {
  const base = `${TEST_ROOT}/${process.pid}-${randomUUID()}`;
  await fs.mkdirs(base);
  return base;
}

function contractOn(title: string, options: Partial<WebHdfsOptions>) {
  fileSystemContract(title, async () => {
    const fs = open(options);
    const base = await freshDirectory(fs);
    return {
      fs,
      base,
      cleanup: async () => {
        await fs.delete(base, { recursive: true });
        await fs.close();
      },
    };
  });
}

before(async () => {
  const probe = open({ retry: { retries: 0 } });
  try {
    await probe.stat('/');
  } catch (error) {
    throw new Error(`no WebHDFS at ${url}: start it with "scripts/stack up" (${String(error)})`);
  }
});

// First, while the process is fresh: the memory test measures RSS growth.
describe('WebHDFS on the real HDFS', () => {
  const fs = open();
  let base: string;
  before(async () => {
    base = await freshDirectory(fs);
  });
  after(async () => {
    await fs.delete(base, { recursive: true });
  });

  test('streaming 256 MiB through create() keeps memory bounded', async (t) => {
    const total = 256 * MiB;
    const chunk = randomBytes(MiB);
    const hash = createHash('sha256');
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    const started = process.hrtime.bigint();
    const writer = await fs.create(`${base}/big.bin`);
    for (let offset = 0, n = 0; offset < total; offset += chunk.length, n += 1) {
      chunk.writeUInt32BE(n, 0); // every MiB differs, so a repeated or lost chunk shows in the hash
      hash.update(chunk);
      await writer.write(chunk);
      peak = Math.max(peak, process.memoryUsage().rss);
    }
    await writer.close();
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const growth = (peak - baseline) / MiB;
    t.diagnostic(
      `256 MiB via create(): ${(total / 1e6 / seconds).toFixed(1)} MB/s, RSS growth ${growth.toFixed(1)} MiB`,
    );
    assert.ok(growth < 64, `RSS grew by ${growth.toFixed(1)} MiB while streaming 256 MiB`);
    assert.equal((await fs.stat(`${base}/big.bin`))?.length, total);
    const back = await fs.readFile(`${base}/big.bin`);
    assert.equal(createHash('sha256').update(back).digest('hex'), hash.digest('hex'));
  });

  test('a missing path is MWI_FS_NOT_FOUND naming the operation, the path and the server', async () => {
    await rejectsWith(
      fs.readFile(`${base}/nope`),
      'MWI_FS_NOT_FOUND',
      'cannot read',
      `${base}/nope`,
      url.slice(7),
    );
    await rejectsWith(fs.list(`${base}/nope`), 'MWI_FS_NOT_FOUND', 'cannot list', `${base}/nope`);
  });

  test('with a delegation token, errors never contain it', async () => {
    // This stack runs without Kerberos, so the NameNode ignores the token and answers as usual.
    const secret = `token-${randomUUID()}`;
    const withToken = open({ delegationToken: secret });
    await assert.rejects(withToken.readFile(`${base}/absent`), (error: unknown) => {
      assert.ok(isMwiError(error, 'MWI_FS_NOT_FOUND'), String(error));
      assert.ok(!`${error.message} ${JSON.stringify(error.toJSON())} ${error.stack}`.includes(secret));
      return true;
    });
  });

  test('a large writeFile onto an existing file reports the refusal, not a broken pipe', async () => {
    await fs.writeFile(`${base}/existing`, 'keep me');
    await rejectsWith(
      fs.writeFile(`${base}/existing`, randomBytes(16 * MiB)),
      'MWI_FS_ALREADY_EXISTS',
      `${base}/existing`,
    );
    assert.equal((await fs.readFile(`${base}/existing`)).toString(), 'keep me');
  });

  test('a failed rename is detected, never reported as success', async () => {
    await fs.writeFile(`${base}/r/src`, 'src');
    await fs.writeFile(`${base}/r/dst`, 'dst');
    await rejectsWith(fs.rename(`${base}/r/src`, `${base}/r/dst`), 'MWI_FS_ALREADY_EXISTS');
    await rejectsWith(fs.rename(`${base}/r/gone`, `${base}/r/new`), 'MWI_FS_NOT_FOUND', `${base}/r/gone`);
    await rejectsWith(fs.rename(`${base}/r/src`, `${base}/r/missing-parent/x`), 'MWI_HDFS_RENAME_FAILED');
    assert.deepEqual(
      (await fs.list(`${base}/r`)).map((s) => s.name),
      ['dst', 'src'],
    );
  });
});

contractOn(`WebHdfsFileSystem at ${url}`, {});
// The old RENAME answers a refusal with 200 {"boolean": false}: the same contract must hold.
contractOn(`WebHdfsFileSystem at ${url}, legacy RENAME`, { legacyRename: true });

describe('WebHDFS when an answer is lost after HDFS carried the call out', () => {
  let proxy: LossyProxy;
  let direct: WebHdfsFileSystem;
  let base: string;
  before(async () => {
    proxy = await LossyProxy.start(url);
    direct = open();
    base = await freshDirectory(direct);
  });
  after(async () => {
    await direct.delete(base, { recursive: true });
    await proxy.close();
  });
  const viaProxy = () => open({ url: proxy.nameNodeUrl });

  test('a CREATE without overwrite whose answer was lost is not a spurious "already exists"', async () => {
    proxy.loseAnswer({ to: 'datanode', op: 'CREATE' });
    const before = proxy.seen.length;
    await viaProxy().writeFile(`${base}/manifest.json`, '{"run": 1}');
    assert.equal((await direct.readFile(`${base}/manifest.json`)).toString(), '{"run": 1}');
    const creates = proxy.seen.slice(before).filter((line) => line.startsWith('datanode PUT CREATE'));
    assert.equal(creates.length, 2, 'the retry must have met the file of the lost attempt');
  });

  test('a genuine conflict after a lost answer is still MWI_FS_ALREADY_EXISTS', async () => {
    await direct.writeFile(`${base}/taken`, 'someone else');
    proxy.loseAnswer({ to: 'datanode', op: 'CREATE' });
    await rejectsWith(
      viaProxy().writeFile(`${base}/taken`, 'mine'),
      'MWI_FS_ALREADY_EXISTS',
      `${base}/taken`,
    );
    assert.equal((await direct.readFile(`${base}/taken`)).toString(), 'someone else');
  });

  test('a streamed file whose final answer was lost is complete, and close() says so', async () => {
    const content = randomBytes(3 * MiB + 17);
    proxy.loseAnswer({ to: 'datanode', op: 'CREATE' });
    const writer = await viaProxy().create(`${base}/streamed`);
    for (let offset = 0; offset < content.length; offset += 256 * 1024) {
      await writer.write(content.subarray(offset, offset + 256 * 1024));
    }
    await writer.close();
    assert.ok((await direct.readFile(`${base}/streamed`)).equals(content), 'content differs');
  });

  test('a file created by someone else while create() starts is refused, and abort leaves it alone', async () => {
    proxy.beforeForwarding('datanode', 'CREATE', () => direct.writeFile(`${base}/raced`, 'theirs'));
    // The refusal comes right after the DataNode's 100 Continue: from create() itself, or from
    // the first write or close.
    let writer: FileWriter | undefined;
    await assert.rejects(
      (async () => {
        writer = await viaProxy().create(`${base}/raced`);
        await writer.write(Buffer.from('mine'));
        await writer.close();
      })(),
      (error: unknown) => isMwiError(error, 'MWI_FS_ALREADY_EXISTS'),
    );
    await writer?.abort();
    assert.equal((await direct.readFile(`${base}/raced`)).toString(), 'theirs');
  });

  test('a RENAME whose answer was lost counts as done', async () => {
    await direct.writeFile(`${base}/tmp-file`, 'x');
    proxy.loseAnswer({ to: 'namenode', op: 'RENAME' });
    await viaProxy().rename(`${base}/tmp-file`, `${base}/final-file`);
    assert.equal(await direct.exists(`${base}/tmp-file`), false);
    assert.equal((await direct.readFile(`${base}/final-file`)).toString(), 'x');
  });

  test('a DELETE whose answer was lost still reports that something was deleted', async () => {
    await direct.writeFile(`${base}/doomed`, 'x');
    proxy.loseAnswer({ to: 'namenode', op: 'DELETE' });
    assert.equal(await viaProxy().delete(`${base}/doomed`), true);
    assert.equal(await direct.exists(`${base}/doomed`), false);
  });
});
