import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { MwiError } from '../../src/errors.js';
import { FailingFileSystem } from '../../src/hdfs/failing.js';
import { LocalFileSystem } from '../../src/hdfs/local.js';

async function subject(t: { after(fn: () => Promise<void>): void }) {
  const root = await mkdtemp(join(tmpdir(), 'mwingest-failing-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const inner = new LocalFileSystem(root);
  return { inner, fs: new FailingFileSystem(inner) };
}

const unavailable = new MwiError('MWI_HDFS_UNAVAILABLE', 'planned failure', { canRetry: true });

test('fails exactly the n-th call of a method, before doing it', async (t) => {
  const { inner, fs } = await subject(t);
  await fs.writeFile('/a', '1');
  await fs.writeFile('/b', '2');
  fs.failAt('rename', 2, unavailable);
  await fs.rename('/a', '/a2');
  await assert.rejects(fs.rename('/b', '/b2'), (error) => error === unavailable);
  assert.equal(await inner.exists('/b'), true, 'a "before" failure must not do the call');
  await fs.rename('/b', '/b2');
  assert.equal(fs.callCount('rename'), 3);
});

test('an "after" failure does the call and then throws (a lost answer)', async (t) => {
  const { inner, fs } = await subject(t);
  await fs.writeFile('/a', '1');
  fs.failAt('rename', 1, unavailable, { when: 'after' });
  await assert.rejects(fs.rename('/a', '/b'), (error) => error === unavailable);
  assert.equal(await inner.exists('/b'), true);
  assert.equal(await inner.exists('/a'), false);
});

test('writer calls count across writers, and `times` fails consecutive calls', async (t) => {
  const { inner, fs } = await subject(t);
  fs.failAt('writer.write', 3, unavailable, { times: 2 });
  const one = await fs.create('/one');
  const two = await fs.create('/two');
  await one.write(Buffer.from('a'));
  await two.write(Buffer.from('b'));
  await assert.rejects(one.write(Buffer.from('c')), (error) => error === unavailable);
  await assert.rejects(two.write(Buffer.from('d')), (error) => error === unavailable);
  await one.write(Buffer.from('e'));
  await one.close();
  await two.close();
  assert.equal((await inner.readFile('/one')).toString(), 'ae');
  assert.equal((await inner.readFile('/two')).toString(), 'b');
  assert.equal(fs.callCount('writer.write'), 5);
});
