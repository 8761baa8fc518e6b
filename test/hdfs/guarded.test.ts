import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { MwiError } from '../../src/errors.js';
import { GuardedFileSystem } from '../../src/hdfs/guarded.js';
import { LocalFileSystem } from '../../src/hdfs/local.js';
import { keepAlive, type Lease } from '../../src/job/lease.js';

const dirs: string[] = [];
after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

test('once the lease has run out by the clock, every change is refused before it reaches the file system', async () => {
  const root = await mkdtemp(join(tmpdir(), 'mwingest-guarded-'));
  dirs.push(root);
  const inner = new LocalFileSystem(root);
  await inner.writeFile('/keep', "the new owner's file");
  const lease: Lease = {
    key: 'lease',
    token: 1,
    owner: 'test',
    assertHeld: async () => undefined,
    renew: () => new Promise(() => {}), // Redis does not answer: the lease is never extended
    release: async () => undefined,
  };
  const alive = keepAlive(lease, 300, () => undefined);
  const refused: string[] = [];
  const fs = new GuardedFileSystem(inner, (action, path) => {
    if (!alive.expired) return;
    refused.push(`${action} ${path}`);
    throw new MwiError('MWI_FENCED', `refusing to ${action} ${path}`);
  });
  const writer = await fs.create('/mine');
  await writer.write(Buffer.from('before'));
  await new Promise((resolve) => setTimeout(resolve, 400)); // paused past the lease
  alive.stop();
  await assert.rejects(writer.write(Buffer.from('after')), /MWI_FENCED|refusing/);
  await assert.rejects(fs.delete('/keep'), /refusing/);
  await assert.rejects(fs.rename('/keep', '/moved'), /refusing/);
  await assert.rejects(fs.writeFile('/new', 'x'), /refusing/);
  assert.equal((await fs.readFile('/keep')).toString(), "the new owner's file", 'reads still pass');
  assert.deepEqual(refused, ['write /mine', 'delete /keep', 'rename /keep', 'write /new']);
  await writer.abort();
});
