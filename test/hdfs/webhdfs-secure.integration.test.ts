/**
 * WebHDFS on the secure profile (`scripts/stack up --secure`): Kerberos with SPNEGO from a keytab
 * or a ticket cache, delegation tokens that the NameNode lets live 20 s and at most 60 s, and two
 * NameNodes in HA. Nothing is faked: the KDC, the NameNodes and the DataNode are the real ones.
 */
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { isMwiError } from '../../src/errors.js';
import type { FileSystem } from '../../src/hdfs/filesystem.js';
import { openFileSystem } from '../../src/hdfs/open.js';
import type { WebHdfsFileSystem } from '../../src/hdfs/webhdfs.js';
import { kinit, requireSecureStack, type SecureStack } from '../support/secure-stack.js';
import { uniqueName } from '../support/stack.js';

describe('WebHDFS with Kerberos and NameNode HA (secure profile)', () => {
  let stack: SecureStack;
  let base: string;
  let caches: string;
  let expiringCache: string;
  const opened: FileSystem[] = [];

  const open = async (kerberos: Record<string, string>, namenodes?: string[]) => {
    const fs = await openFileSystem(
      {
        type: 'hdfs',
        namenodes: namenodes ?? stack.namenodes,
        nameservice: stack.nameservice,
        user: 'hdfs',
        kerberos: { krb5Config: stack.krb5Config, ...kerberos },
      },
      process.env,
      { retry: { retries: 2, minTimeoutMs: 100, maxTimeoutMs: 500, factor: 2 } },
    );
    opened.push(fs);
    return fs as WebHdfsFileSystem;
  };

  before(async () => {
    stack = await requireSecureStack();
    base = `/tmp/${uniqueName('secure')}`;
    caches = await mkdtemp(join(tmpdir(), 'mwingest-secure-test-'));
    // A ticket that expires within seconds; the last test finds it expired.
    expiringCache = `FILE:${join(caches, 'expiring')}`;
    await kinit(stack, expiringCache, { lifetime: '3s' });
  });

  after(async () => {
    const fs = opened[0];
    await fs?.delete(base, { recursive: true }).catch(() => undefined);
    for (const fs of opened) await fs.close().catch(() => undefined);
  });

  test('with a keytab: writes, reads, lists and renames, through whichever NameNode is active', async () => {
    // the NameNodes in both orders: one of the two lists starts with the standby
    for (const order of [stack.namenodes, [...stack.namenodes].reverse()]) {
      const fs = await open({ principal: stack.principal, keytab: stack.keytab }, order);
      assert.match(fs.description, /mwingest@MWINGEST\.TEST with keytab .*mwingest\.keytab/);
      const dir = `${base}/${order.join(',').length}-${opened.length}`;
      await fs.mkdirs(dir);
      await fs.writeFile(`${dir}/a`, 'written whole');
      const writer = await fs.create(`${dir}/b`);
      await writer.write(Buffer.from('streamed '));
      await writer.write(Buffer.from('in two parts'));
      await writer.close();
      await fs.rename(`${dir}/b`, `${dir}/c`);
      assert.equal((await fs.readFile(`${dir}/a`)).toString(), 'written whole');
      assert.equal((await fs.readFile(`${dir}/c`)).toString(), 'streamed in two parts');
      assert.deepEqual(
        (await fs.list(dir)).map((s) => s.name),
        ['a', 'c'],
      );
      assert.equal(fs.tokenCounts?.fetched, 1, 'one delegation token serves every call');
    }
  });

  test('with the ticket cache of a kinit', async () => {
    const cache = `FILE:${join(caches, 'kinit')}`;
    await kinit(stack, cache);
    const fs = await open({ principal: stack.principal, ticketCache: cache });
    await fs.mkdirs(`${base}/ticket`);
    assert.equal((await fs.stat(`${base}/ticket`))?.type, 'directory');
  });

  test('without a ticket: MWI_HDFS_AUTH names the principal and the ticket cache, and says to kinit', async () => {
    const empty = `FILE:${join(caches, 'never-written')}`;
    const fs = await open({ principal: stack.principal, ticketCache: empty });
    await assert.rejects(fs.stat('/'), (error) => {
      assert.ok(isMwiError(error, 'MWI_HDFS_AUTH'), String(error));
      assert.match(error.message, /mwingest@MWINGEST\.TEST/);
      assert.match(error.message, /never-written/);
      assert.match(error.message, /run kinit mwingest@MWINGEST\.TEST/);
      return true;
    });
  });

  test('a keytab without the principal: MWI_HDFS_AUTH names both, with what kinit said', async () => {
    const wrong = join(stack.keytabs, 'hdfsadmin.keytab');
    const fs = await open({ principal: stack.principal, keytab: wrong });
    await assert.rejects(fs.stat('/'), (error) => {
      assert.ok(isMwiError(error, 'MWI_HDFS_AUTH'), String(error));
      assert.match(error.message, /cannot log in as mwingest@MWINGEST\.TEST with keytab .*hdfsadmin\.keytab/);
      assert.match(error.message, /kinit said/);
      return true;
    });
  });

  test('delegation tokens are renewed, and replaced before their maximum lifetime, across it', async () => {
    const fs = await open({ principal: stack.principal, keytab: stack.keytab });
    const dir = `${base}/tokens`;
    await fs.mkdirs(dir);
    // Calls spread over more than the token's maximum lifetime, never further apart than a renew interval.
    const until = Date.now() + stack.tokenMaxMs + 5_000;
    const step = Math.floor(stack.tokenRenewMs / 3);
    let calls = 0;
    while (Date.now() < until) {
      await fs.writeFile(`${dir}/${calls}`, String(calls));
      calls += 1;
      await new Promise((resolve) => setTimeout(resolve, step));
    }
    assert.equal((await fs.list(dir)).length, calls);
    const counts = fs.tokenCounts!;
    assert.ok(counts.renewed >= 2, `renewed ${counts.renewed} times`);
    assert.ok(counts.fetched >= 2, `fetched ${counts.fetched} tokens: a new one before the maximum lifetime`);
  });

  test('an expired ticket in the cache: MWI_HDFS_AUTH names the principal and the cache', async () => {
    const fs = await open({ principal: stack.principal, ticketCache: expiringCache });
    await assert.rejects(fs.stat('/'), (error) => {
      assert.ok(isMwiError(error, 'MWI_HDFS_AUTH'), String(error));
      assert.match(error.message, /mwingest@MWINGEST\.TEST from the ticket cache FILE:.*expiring/);
      assert.ok(error.canRetry, 'another kinit may renew the cache: retried');
      return true;
    });
  });
});
