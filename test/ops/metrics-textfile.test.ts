/** `run --metrics-textfile`: the file node_exporter reads is replaced whole, never seen half-written. */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Counter, Registry } from 'prom-client';
import { isMwiError } from '../../src/errors.js';
import { writeMetricsTextfile } from '../../src/ops/metrics-textfile.js';

describe('metrics textfile', () => {
  test('replaces the file with the whole exposition and leaves no temp file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mwingest-textfile-'));
    const path = join(dir, 'mwingest.prom');
    await writeFile(path, 'old content\n');
    const registry = new Registry();
    new Counter({ name: 'mwingest_test_total', help: 'a test counter', registers: [registry] }).inc(3);
    await writeMetricsTextfile(registry, path);
    assert.equal(await readFile(path, 'utf8'), await registry.metrics());
    assert.match(await readFile(path, 'utf8'), /^mwingest_test_total 3$/m);
    assert.deepEqual(await readdir(dir), ['mwingest.prom']);
  });

  test('a directory that does not exist is MWI_FS_IO naming the path', async () => {
    const path = join(tmpdir(), 'mwingest-no-such-dir', 'x', 'mwingest.prom');
    await assert.rejects(writeMetricsTextfile(new Registry(), path), (error: unknown) => {
      assert.ok(isMwiError(error, 'MWI_FS_IO'));
      assert.match(error.message, /mwingest-no-such-dir/);
      return true;
    });
  });
});
