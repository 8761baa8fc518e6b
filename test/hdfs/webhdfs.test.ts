import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { describe, test } from 'node:test';
import { isMwiError } from '../../src/errors.js';
import { WebHdfsFileSystem } from '../../src/hdfs/webhdfs.js';
import { httpError, networkError } from '../../src/hdfs/webhdfs-errors.js';
import { WebHdfsHttp } from '../../src/hdfs/webhdfs-http.js';
import { rejectsWith } from './filesystem-contract.js';

const context = { action: 'create', path: '/wmf/data/x.avro', where: 'webhdfs://nn:9870 as hdfs' };

function remote(exception: string, message: string): string {
  return JSON.stringify({
    RemoteException: { exception, javaClassName: `org.apache.hadoop.${exception}`, message },
  });
}

/** A port on 127.0.0.1 where nothing listens. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as { port: number };
  await new Promise<void>((done) => server.close(() => done()));
  return port;
}

describe('WebHDFS error mapping', () => {
  const cases: [number, string, string, boolean][] = [
    [404, 'FileNotFoundException', 'MWI_FS_NOT_FOUND', false],
    [403, 'FileAlreadyExistsException', 'MWI_FS_ALREADY_EXISTS', false],
    [403, 'AccessControlException', 'MWI_FS_PERMISSION', false],
    [401, 'SecurityException', 'MWI_FS_PERMISSION', false],
    [403, 'PathIsNotEmptyDirectoryException', 'MWI_FS_NOT_EMPTY', false],
    [403, 'SafeModeException', 'MWI_HDFS_UNAVAILABLE', true],
    [403, 'StandbyException', 'MWI_HDFS_UNAVAILABLE', true],
    [403, 'RetriableException', 'MWI_HDFS_UNAVAILABLE', true],
    [403, 'NSQuotaExceededException', 'MWI_FS_IO', false],
    [400, 'IllegalArgumentException', 'MWI_HDFS_REMOTE', false],
    [500, 'NullPointerException', 'MWI_HDFS_REMOTE', true],
  ];
  test('a token refused because the new active NameNode has not loaded it yet is retried', () => {
    const message =
      'Failed to obtain user group information: org.apache.hadoop.ipc.RetriableException: ' +
      "org.apache.hadoop.security.token.SecretManager$InvalidToken: Token for real user: , can't be found in cache";
    const error = httpError(403, remote('SecurityException', message), context);
    assert.equal(error.code, 'MWI_HDFS_UNAVAILABLE');
    assert.equal(error.canRetry, true);
    const refused = httpError(
      401,
      remote('SecurityException', 'token (HDFS_DELEGATION_TOKEN ...) is expired'),
      context,
    );
    assert.equal(refused.code, 'MWI_FS_PERMISSION');
  });

  for (const [status, exception, code, canRetry] of cases) {
    test(`${exception} (HTTP ${status}) → ${code}${canRetry ? ', retryable' : ''}`, () => {
      const error = httpError(status, remote(exception, 'details from the NameNode'), context);
      assert.equal(error.code, code);
      assert.equal(error.canRetry, canRetry);
      assert.match(error.message, /^cannot create \/wmf\/data\/x\.avro on webhdfs:\/\/nn:9870 as hdfs: /);
      assert.ok(error.message.includes('details from the NameNode'), error.message);
      assert.equal(error.details.exception, exception);
    });
  }

  test('HDFS reports a path through a file as an AccessControlException: that is "not found", not permission', () => {
    const error = httpError(403, remote('AccessControlException', '/wmf/data (is not a directory)'), context);
    assert.equal(error.code, 'MWI_FS_NOT_FOUND');
    assert.ok(error.message.includes('a parent is a file'), error.message);
  });

  test("a DataNode's Java stack trace is cut from the message", () => {
    const error = httpError(
      403,
      remote('FileAlreadyExistsException', '/x already exists\n\tat org.apache.Foo(Foo.java:1)'),
      context,
    );
    assert.ok(error.message.endsWith('/x already exists (FileAlreadyExistsException)'), error.message);
  });

  test('a 5xx without a RemoteException body (a proxy, an HTML page) is retryable MWI_HDFS_UNAVAILABLE', () => {
    const error = httpError(502, '<html><body>Bad Gateway</body></html>', context);
    assert.equal(error.code, 'MWI_HDFS_UNAVAILABLE');
    assert.equal(error.canRetry, true);
    assert.ok(error.message.includes('HTTP 502'), error.message);
  });

  test('a bare 404 or 403 still maps by status', () => {
    assert.equal(httpError(404, '', context).code, 'MWI_FS_NOT_FOUND');
    assert.equal(httpError(403, 'Forbidden', context).code, 'MWI_FS_PERMISSION');
  });

  test('a timeout is retryable and says how long it waited', () => {
    const error = networkError(
      new DOMException('timed out', 'TimeoutError'),
      context,
      'http://nn:9870',
      1234,
    );
    assert.equal(error.code, 'MWI_HDFS_UNAVAILABLE');
    assert.equal(error.canRetry, true);
    assert.ok(error.message.includes('1234 ms'), error.message);
  });
});

describe('WebHdfsFileSystem without a server', () => {
  test('options are checked: a URL that is not http(s), a path in the URL, a bad number', () => {
    for (const url of ['hdfs://nn:8020', 'not a url', 'http://nn:9870/some/where']) {
      assert.throws(
        () => new WebHdfsFileSystem({ url }),
        (error: unknown) => isMwiError(error, 'MWI_CONFIG_INVALID') && error.message.includes(url),
      );
    }
    assert.throws(
      () => new WebHdfsFileSystem({ url: 'http://nn:9870', requestTimeoutMs: 0 }),
      (error: unknown) =>
        isMwiError(error, 'MWI_CONFIG_INVALID') && error.message.includes('requestTimeoutMs'),
    );
    assert.equal(
      new WebHdfsFileSystem({ url: 'http://nn:9870/webhdfs/v1/' }).description,
      'webhdfs://nn:9870 as hdfs',
    );
    assert.equal(
      new WebHdfsFileSystem({ url: 'https://nn:9871', delegationToken: 'SECRET' }).description,
      'swebhdfs://nn:9871 with a delegation token',
    );
  });

  test('URLs encode every name and carry user.name, or only the delegation token', () => {
    const settings = {
      origins: ['http://nn:9870'],
      nameservice: 'http://nn:9870',
      requestTimeoutMs: 1000,
      dataTimeoutMs: 1000,
      retry: { retries: 0, minTimeoutMs: 1, maxTimeoutMs: 1, factor: 1 },
      where: 'x',
    };
    const simple = new WebHdfsHttp({ ...settings, user: 'analytics', delegationToken: undefined });
    assert.equal(
      simple.nameNodeUrl('/a b/year=2026/ü+%', 'RENAME', { destination: '/c d/e&f' }),
      'http://nn:9870/webhdfs/v1/a%20b/year%3D2026/%C3%BC%2B%25?op=RENAME&destination=%2Fc%20d%2Fe%26f&user.name=analytics',
    );
    const token = new WebHdfsHttp({ ...settings, user: undefined, delegationToken: 'tok+en/=' });
    assert.equal(
      token.nameNodeUrl('/', 'LISTSTATUS'),
      'http://nn:9870/webhdfs/v1/?op=LISTSTATUS&delegation=tok%2Ben%2F%3D',
    );
  });

  test('an unreachable NameNode is retryable MWI_HDFS_UNAVAILABLE after the configured retries, without the token', async () => {
    const port = await closedPort();
    const fs = new WebHdfsFileSystem({
      url: `http://127.0.0.1:${port}`,
      delegationToken: 'VERY-SECRET-TOKEN',
      retry: { retries: 2, minTimeoutMs: 5, maxTimeoutMs: 10 },
    });
    const started = Date.now();
    await assert.rejects(fs.stat('/wmf/x'), (error: unknown) => {
      assert.ok(isMwiError(error, 'MWI_HDFS_UNAVAILABLE'), String(error));
      assert.equal(error.canRetry, true);
      assert.ok(
        error.message.includes('/wmf/x') && error.message.includes(`127.0.0.1:${port}`),
        error.message,
      );
      assert.ok(error.message.includes('ECONNREFUSED'), error.message);
      assert.ok(!JSON.stringify(error.toJSON()).includes('VERY-SECRET-TOKEN'));
      assert.ok(!String(error.stack).includes('VERY-SECRET-TOKEN'));
      assert.equal((error as unknown as { attemptNumber: number }).attemptNumber, 3);
      return true;
    });
    assert.ok(Date.now() - started < 5000);
  });

  test('a closed file system refuses further calls', async () => {
    const fs = new WebHdfsFileSystem({ url: 'http://127.0.0.1:9' });
    await fs.close();
    await rejectsWith(fs.stat('/x'), 'MWI_USAGE', '/x');
  });
});
