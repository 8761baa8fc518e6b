import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { LocalFileSystem } from '../../src/hdfs/local.js';
import { fileSystemContract, rejectsWith } from './filesystem-contract.js';

const roots: string[] = [];
after(async () => {
  for (const root of roots) await rm(root, { recursive: true, force: true });
});

async function freshRoot(): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'mwingest-localfs-'));
  roots.push(root);
  return root;
}

fileSystemContract('LocalFileSystem', async () => {
  const root = await freshRoot();
  const fs = new LocalFileSystem(root);
  await fs.mkdirs('/test');
  return { fs, base: '/test', cleanup: () => rm(root, { recursive: true, force: true }) };
});

describe('LocalFileSystem specifics', () => {
  test('FileSystem paths map under the root directory and nowhere else', async () => {
    const root = await freshRoot();
    const outside = await freshRoot();
    const fs = new LocalFileSystem(join(root, 'fs'));
    await fs.writeFile('/a/b.txt', 'inside');
    assert.equal(await readFile(join(root, 'fs', 'a', 'b.txt'), 'utf8'), 'inside');
    await rejectsWith(fs.writeFile(`/../${outside.split('/').pop()}/x`, 'escaped'), 'MWI_FS_INVALID_PATH');
    assert.deepEqual(await readdir(outside), []);
    assert.equal((await fs.stat('/'))?.type, 'directory');
  });

  test('renaming a file leaves no second name behind and keeps the inode (link + unlink)', async () => {
    const root = await freshRoot();
    const fs = new LocalFileSystem(root);
    await fs.writeFile('/tmp/f', 'data');
    const inode = (await stat(join(root, 'tmp', 'f'))).ino;
    await fs.mkdirs('/final');
    await fs.rename('/tmp/f', '/final/f');
    assert.deepEqual(await readdir(join(root, 'tmp')), []);
    const moved = await stat(join(root, 'final', 'f'));
    assert.equal(moved.ino, inode);
    assert.equal(moved.nlink, 1);
  });

  test('a rename whose source another roll-forward removed meanwhile keeps the destination', async () => {
    // Two roll-forwards of one commit race: the loser's rename finds the destination and deletes the
    // source, between the winner's link(src, dst) and unlink(src). The winner's unlink then fails
    // with ENOENT; the file now lives only under dst, which must stay.
    const root = await freshRoot();
    const fs = new LocalFileSystem(root);
    await fs.writeFile('/tmp/f', 'the only copy');
    await fs.mkdirs('/final');
    const source = join(root, 'tmp', 'f');
    const promises = createRequire(import.meta.url)('node:fs/promises') as typeof import('node:fs/promises');
    const unlink = promises.unlink;
    promises.unlink = async (path) => {
      if (path === source) await unlink(path); // the other roll-forward, just before ours
      return unlink(path);
    };
    syncBuiltinESMExports();
    try {
      await fs.rename('/tmp/f', '/final/f');
    } finally {
      promises.unlink = unlink;
      syncBuiltinESMExports();
    }
    assert.equal(await readFile(join(root, 'final', 'f'), 'utf8'), 'the only copy');
    assert.equal(await fs.exists('/tmp/f'), false);
  });

  test('a file renamed onto a name created outside mwingest is refused, not replaced', async () => {
    const root = await freshRoot();
    const fs = new LocalFileSystem(root);
    await fs.writeFile('/src', 'ours');
    await writeFile(join(root, 'dst'), 'theirs');
    await rejectsWith(fs.rename('/src', '/dst'), 'MWI_FS_ALREADY_EXISTS', '/dst');
    assert.equal(await readFile(join(root, 'dst'), 'utf8'), 'theirs');
  });

  test('a permission problem is MWI_FS_PERMISSION naming the path', {
    skip: process.getuid?.() === 0 ? 'running as root, which file permissions do not stop' : false,
  }, async () => {
    const root = await freshRoot();
    const fs = new LocalFileSystem(root);
    await fs.mkdirs('/locked');
    const { chmod } = await import('node:fs/promises');
    await chmod(join(root, 'locked'), 0o500);
    try {
      await rejectsWith(fs.writeFile('/locked/f', 'x'), 'MWI_FS_PERMISSION', '/locked/f');
    } finally {
      await chmod(join(root, 'locked'), 0o700);
    }
  });

  test('description names the local directory', async () => {
    const root = await freshRoot();
    assert.equal(new LocalFileSystem(root).description, `local directory ${root}`);
  });
});
