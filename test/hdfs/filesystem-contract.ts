import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { type ErrorCode, isMwiError } from '../../src/errors.js';
import type { FileSystem } from '../../src/hdfs/filesystem.js';

/**
 * The behaviour every `FileSystem` promises (see src/hdfs/filesystem.ts), as one suite run
 * against each implementation. Each test gets a fresh, empty directory `base` to work in.
 */
export interface ContractSubject {
  fs: FileSystem;
  /** An empty directory that exists, for this test only. */
  base: string;
  /** Removes what the test left; called after the test, even when it failed. */
  cleanup(): Promise<void>;
}

export type ContractFactory = () => Promise<ContractSubject>;

/** Runs `body` with a fresh subject and always cleans up. */
async function withSubject(factory: ContractFactory, body: (fs: FileSystem, base: string) => Promise<void>) {
  const subject = await factory();
  try {
    await body(subject.fs, subject.base);
  } finally {
    await subject.cleanup();
  }
}

/** Asserts that `promise` rejects with an MwiError of `code` whose message names `mentions`. */
export async function rejectsWith(
  promise: Promise<unknown>,
  code: ErrorCode,
  ...mentions: string[]
): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(isMwiError(error), `expected an MwiError, got ${String(error)}`);
    assert.equal(error.code, code, `wrong code; message: ${error.message}`);
    for (const text of mentions)
      assert.ok(error.message.includes(text), `"${error.message}" should mention ${text}`);
    return true;
  });
}

export function fileSystemContract(name: string, factory: ContractFactory): void {
  const run = (title: string, body: (fs: FileSystem, base: string) => Promise<void>) =>
    test(title, () => withSubject(factory, body));

  describe(`FileSystem contract: ${name}`, () => {
    describe('create and read', () => {
      run('a file streamed in uneven chunks reads back byte for byte', async (fs, base) => {
        const content = randomBytes(12 * 1024 * 1024 + 12345);
        const writer = await fs.create(`${base}/big.bin`);
        // One reused buffer: the writer must keep its own copy of each chunk.
        const scratch = Buffer.alloc(1024 * 1024);
        let offset = 0;
        for (let i = 0; offset < content.length; i += 1) {
          const size = Math.min(content.length - offset, [1, 7, 65_536, 1_048_576, 300_001][i % 5]!);
          content.copy(scratch, 0, offset, offset + size);
          await writer.write(scratch.subarray(0, size));
          scratch.fill(0xee, 0, size);
          offset += size;
        }
        assert.equal(writer.bytesWritten, content.length);
        await writer.close();
        assert.ok((await fs.readFile(`${base}/big.bin`)).equals(content), 'content differs');
        assert.equal((await fs.stat(`${base}/big.bin`))?.length, content.length);
      });

      run('create makes missing parent directories, and an empty file is a file', async (fs, base) => {
        const writer = await fs.create(`${base}/a/b/c/empty`);
        await writer.close();
        assert.equal((await fs.stat(`${base}/a/b`))?.type, 'directory');
        const status = await fs.stat(`${base}/a/b/c/empty`);
        assert.equal(status?.type, 'file');
        assert.equal(status?.length, 0);
        assert.equal((await fs.readFile(`${base}/a/b/c/empty`)).length, 0);
      });

      run('create refuses an existing path unless overwrite is set', async (fs, base) => {
        await fs.writeFile(`${base}/f`, 'first');
        await rejectsWith(fs.create(`${base}/f`), 'MWI_FS_ALREADY_EXISTS', `${base}/f`);
        await rejectsWith(fs.writeFile(`${base}/f`, 'second'), 'MWI_FS_ALREADY_EXISTS', `${base}/f`);
        assert.equal((await fs.readFile(`${base}/f`)).toString(), 'first');

        const writer = await fs.create(`${base}/f`, { overwrite: true });
        await writer.write(Buffer.from('third'));
        await writer.close();
        assert.equal((await fs.readFile(`${base}/f`)).toString(), 'third');
        await fs.writeFile(`${base}/f`, 'fourth', { overwrite: true });
        assert.equal((await fs.readFile(`${base}/f`)).toString(), 'fourth');
      });

      run('create refuses a path that is a directory, or below a file', async (fs, base) => {
        await fs.mkdirs(`${base}/dir`);
        await rejectsWith(fs.create(`${base}/dir`), 'MWI_FS_ALREADY_EXISTS');
        await rejectsWith(fs.create(`${base}/dir`, { overwrite: true }), 'MWI_FS_ALREADY_EXISTS');
        await fs.writeFile(`${base}/file`, 'x');
        await rejectsWith(fs.create(`${base}/file/child`), 'MWI_FS_ALREADY_EXISTS');
        assert.equal((await fs.stat(`${base}/dir`))?.type, 'directory');
      });

      run('abort removes the partial file', async (fs, base) => {
        const writer = await fs.create(`${base}/partial`);
        await writer.write(randomBytes(100_000));
        await writer.abort();
        assert.equal(await fs.exists(`${base}/partial`), false);
        await writer.abort(); // twice is harmless
      });

      run('a closed writer refuses more writes', async (fs, base) => {
        const writer = await fs.create(`${base}/closed`);
        await writer.write(Buffer.from('x'));
        await writer.close();
        await writer.close(); // closing twice is harmless
        await rejectsWith(writer.write(Buffer.from('y')), 'MWI_USAGE', `${base}/closed`);
        assert.equal((await fs.readFile(`${base}/closed`)).toString(), 'x');
      });

      run(
        'readFile of a missing path or a directory is MWI_FS_NOT_FOUND naming the path',
        async (fs, base) => {
          await rejectsWith(fs.readFile(`${base}/missing`), 'MWI_FS_NOT_FOUND', `${base}/missing`);
          await fs.mkdirs(`${base}/d`);
          await rejectsWith(fs.readFile(`${base}/d`), 'MWI_FS_NOT_FOUND', `${base}/d`);
        },
      );
    });

    describe('rename', () => {
      run('moves a file: dst has the whole content, src is gone', async (fs, base) => {
        const content = randomBytes(3 * 1024 * 1024);
        await fs.writeFile(`${base}/tmp/part.avro`, content);
        await fs.mkdirs(`${base}/final`);
        await fs.rename(`${base}/tmp/part.avro`, `${base}/final/part.avro`);
        assert.equal(await fs.exists(`${base}/tmp/part.avro`), false);
        assert.ok((await fs.readFile(`${base}/final/part.avro`)).equals(content));
      });

      run('never replaces an existing file', async (fs, base) => {
        await fs.writeFile(`${base}/src`, 'new');
        await fs.writeFile(`${base}/dst`, 'old');
        await rejectsWith(fs.rename(`${base}/src`, `${base}/dst`), 'MWI_FS_ALREADY_EXISTS', `${base}/dst`);
        assert.equal((await fs.readFile(`${base}/dst`)).toString(), 'old');
        assert.equal((await fs.readFile(`${base}/src`)).toString(), 'new');
      });

      run('never moves a file into an existing directory of the destination name', async (fs, base) => {
        await fs.writeFile(`${base}/src`, 'data');
        await fs.mkdirs(`${base}/dst`);
        await rejectsWith(fs.rename(`${base}/src`, `${base}/dst`), 'MWI_FS_ALREADY_EXISTS', `${base}/dst`);
        assert.deepEqual(await fs.list(`${base}/dst`), []);
        assert.equal(await fs.exists(`${base}/src`), true);
      });

      run('moves a directory with its contents', async (fs, base) => {
        await fs.writeFile(`${base}/run/1/a`, 'a');
        await fs.writeFile(`${base}/run/1/sub/b`, 'bb');
        await fs.rename(`${base}/run/1`, `${base}/done`);
        assert.equal(await fs.exists(`${base}/run/1`), false);
        assert.equal((await fs.readFile(`${base}/done/a`)).toString(), 'a');
        assert.equal((await fs.readFile(`${base}/done/sub/b`)).toString(), 'bb');
      });

      run('never replaces an existing directory, empty or not', async (fs, base) => {
        await fs.writeFile(`${base}/src/a`, 'a');
        await fs.mkdirs(`${base}/empty`);
        await rejectsWith(fs.rename(`${base}/src`, `${base}/empty`), 'MWI_FS_ALREADY_EXISTS');
        assert.deepEqual(await fs.list(`${base}/empty`), []);
        await fs.writeFile(`${base}/full/x`, 'x');
        await rejectsWith(fs.rename(`${base}/src`, `${base}/full`), 'MWI_FS_ALREADY_EXISTS');
        assert.deepEqual(
          (await fs.list(`${base}/full`)).map((s) => s.name),
          ['x'],
        );
        assert.equal((await fs.readFile(`${base}/src/a`)).toString(), 'a');
      });

      run('a missing source is MWI_FS_NOT_FOUND naming it', async (fs, base) => {
        await rejectsWith(fs.rename(`${base}/nothing`, `${base}/dst`), 'MWI_FS_NOT_FOUND', `${base}/nothing`);
        assert.equal(await fs.exists(`${base}/dst`), false);
      });

      run(
        'a missing destination parent, or a destination inside the source, is MWI_HDFS_RENAME_FAILED',
        async (fs, base) => {
          await fs.writeFile(`${base}/src/f`, 'f');
          await rejectsWith(
            fs.rename(`${base}/src/f`, `${base}/no/such/f`),
            'MWI_HDFS_RENAME_FAILED',
            `${base}/src/f`,
          );
          await rejectsWith(fs.rename(`${base}/src`, `${base}/src/inner`), 'MWI_HDFS_RENAME_FAILED');
          await rejectsWith(fs.rename(`${base}/src`, `${base}/src`), 'MWI_FS_ALREADY_EXISTS');
          assert.equal((await fs.readFile(`${base}/src/f`)).toString(), 'f');
          assert.equal(await fs.exists(`${base}/no`), false);
        },
      );
    });

    describe('directories', () => {
      run(
        'mkdirs creates parents and is idempotent; a file in the way is MWI_FS_ALREADY_EXISTS',
        async (fs, base) => {
          await fs.mkdirs(`${base}/x/y/z`);
          await fs.mkdirs(`${base}/x/y/z`);
          await fs.mkdirs(`${base}/x`);
          assert.equal((await fs.stat(`${base}/x/y/z`))?.type, 'directory');
          await fs.writeFile(`${base}/file`, '1');
          await rejectsWith(fs.mkdirs(`${base}/file`), 'MWI_FS_ALREADY_EXISTS');
          await rejectsWith(fs.mkdirs(`${base}/file/below`), 'MWI_FS_ALREADY_EXISTS');
        },
      );

      run('list gives the direct children sorted by name, with types and lengths', async (fs, base) => {
        await fs.writeFile(`${base}/d/b.avro`, '12345');
        await fs.writeFile(`${base}/d/_IMPORTED`, '');
        await fs.writeFile(`${base}/d/10`, 'x');
        await fs.writeFile(`${base}/d/9`, 'xy');
        await fs.mkdirs(`${base}/d/a-dir/deeper`);
        const listed = await fs.list(`${base}/d`);
        assert.deepEqual(
          listed.map((s) => [s.name, s.type, s.length, s.path]),
          [
            ['10', 'file', 1, `${base}/d/10`],
            ['9', 'file', 2, `${base}/d/9`],
            ['_IMPORTED', 'file', 0, `${base}/d/_IMPORTED`],
            ['a-dir', 'directory', 0, `${base}/d/a-dir`],
            ['b.avro', 'file', 5, `${base}/d/b.avro`],
          ],
        );
        const before = Date.now() - 10 * 60 * 1000;
        for (const status of listed)
          assert.ok(status.modificationTime > before, `${status.name} has an old mtime`);
      });

      run('list of a missing directory or of a file is MWI_FS_NOT_FOUND', async (fs, base) => {
        await rejectsWith(fs.list(`${base}/missing`), 'MWI_FS_NOT_FOUND', `${base}/missing`);
        await fs.writeFile(`${base}/f`, 'x');
        await rejectsWith(fs.list(`${base}/f`), 'MWI_FS_NOT_FOUND', `${base}/f`);
      });

      run('stat is null when absent; exists agrees', async (fs, base) => {
        assert.equal(await fs.stat(`${base}/none`), null);
        assert.equal(await fs.stat(`${base}/none/deeper`), null);
        assert.equal(await fs.exists(`${base}/none`), false);
        await fs.writeFile(`${base}/f`, 'abc');
        assert.equal(await fs.stat(`${base}/f/below`), null);
        const status = await fs.stat(`${base}/f`);
        assert.deepEqual(
          { path: status?.path, name: status?.name, type: status?.type, length: status?.length },
          { path: `${base}/f`, name: 'f', type: 'file', length: 3 },
        );
        assert.equal(await fs.exists(`${base}/f`), true);
        assert.equal((await fs.stat(base))?.type, 'directory');
      });
    });

    describe('delete', () => {
      run('deletes a file; false when nothing is there', async (fs, base) => {
        await fs.writeFile(`${base}/f`, 'x');
        assert.equal(await fs.delete(`${base}/f`), true);
        assert.equal(await fs.exists(`${base}/f`), false);
        assert.equal(await fs.delete(`${base}/f`), false);
        assert.equal(await fs.delete(`${base}/never/was`), false);
      });

      run('a non-empty directory needs recursive; an empty one does not', async (fs, base) => {
        await fs.writeFile(`${base}/d/sub/f`, 'x');
        await rejectsWith(fs.delete(`${base}/d`), 'MWI_FS_NOT_EMPTY', `${base}/d`);
        assert.equal((await fs.readFile(`${base}/d/sub/f`)).toString(), 'x');
        assert.equal(await fs.delete(`${base}/d`, { recursive: true }), true);
        assert.equal(await fs.exists(`${base}/d`), false);
        await fs.mkdirs(`${base}/empty`);
        assert.equal(await fs.delete(`${base}/empty`), true);
      });

      run('refuses to delete the root', async (fs) => {
        await rejectsWith(fs.delete('/', { recursive: true }), 'MWI_FS_INVALID_PATH');
      });
    });

    describe('paths', () => {
      const oddNames = [
        'with space',
        'ünïcødé-名前',
        'year=2026',
        'a+b',
        '100%',
        'semi;colon',
        'hash#x',
        'q?x',
        'amp&x',
      ];
      run(`odd but legal names work everywhere: ${oddNames.join(' | ')}`, async (fs, base) => {
        for (const name of oddNames) {
          const dir = `${base}/${name}`;
          await fs.mkdirs(dir);
          await fs.writeFile(`${dir}/${name}.tmp`, name);
          await fs.rename(`${dir}/${name}.tmp`, `${dir}/${name}`);
          const writer = await fs.create(`${dir}/${name}.stream`);
          await writer.write(Buffer.from(name));
          await writer.close();
          assert.equal((await fs.readFile(`${dir}/${name}`)).toString(), name);
          assert.deepEqual(
            (await fs.list(dir)).map((s) => s.name),
            [name, `${name}.stream`],
          );
          assert.equal((await fs.stat(`${dir}/${name}`))?.name, name);
        }
        const names = (await fs.list(base)).map((s) => s.name);
        assert.deepEqual(
          names,
          [...oddNames].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))),
        );
        for (const name of oddNames)
          assert.equal(await fs.delete(`${base}/${name}`, { recursive: true }), true);
      });

      run('redundant slashes are normalised', async (fs, base) => {
        await fs.writeFile(`${base}//a///b/`, 'x');
        assert.equal((await fs.stat(`${base}/a/b`))?.path, `${base}/a/b`);
      });

      run('invalid paths are rejected with MWI_FS_INVALID_PATH before anything is done', async (fs, base) => {
        const invalid = [
          'relative/path',
          `${base}/../escape`,
          `${base}/./x`,
          `${base}/a:b`,
          `${base}/nul\0x`,
          '',
        ];
        for (const path of invalid) {
          await rejectsWith(fs.create(path), 'MWI_FS_INVALID_PATH');
          await rejectsWith(fs.writeFile(path, 'x'), 'MWI_FS_INVALID_PATH');
          await rejectsWith(fs.readFile(path), 'MWI_FS_INVALID_PATH');
          await rejectsWith(fs.mkdirs(path), 'MWI_FS_INVALID_PATH');
          await rejectsWith(fs.list(path), 'MWI_FS_INVALID_PATH');
          await rejectsWith(fs.stat(path), 'MWI_FS_INVALID_PATH');
          await rejectsWith(fs.exists(path), 'MWI_FS_INVALID_PATH');
          await rejectsWith(fs.delete(path), 'MWI_FS_INVALID_PATH');
          await rejectsWith(fs.rename(path, `${base}/ok`), 'MWI_FS_INVALID_PATH');
          await rejectsWith(fs.rename(`${base}/ok`, path), 'MWI_FS_INVALID_PATH');
        }
        assert.deepEqual(await fs.list(base), []);
      });
    });
  });
}
