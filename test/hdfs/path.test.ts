import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isMwiError } from '../../src/errors.js';
import {
  baseName,
  compareNames,
  isSameOrBelow,
  joinPath,
  normalizePath,
  parentPath,
} from '../../src/hdfs/path.js';

test('normalizePath keeps one canonical form', () => {
  assert.equal(normalizePath('/'), '/');
  assert.equal(normalizePath('//a//b/'), '/a/b');
  assert.equal(normalizePath('/year=2026/with space/ü'), '/year=2026/with space/ü');
});

test('normalizePath refuses what HDFS refuses, naming the path and the reason', () => {
  const cases: [string, string][] = [
    ['a/b', 'not absolute'],
    ['/a/../b', '".."'],
    ['/a/./b', '"."'],
    ['/a/b:c', '":"'],
    ['/a/\0', 'NUL'],
  ];
  for (const [path, reason] of cases) {
    assert.throws(
      () => normalizePath(path),
      (error: unknown) =>
        isMwiError(error, 'MWI_FS_INVALID_PATH') &&
        error.message.includes(JSON.stringify(path)) &&
        error.message.includes(reason),
    );
  }
});

test('joinPath, parentPath, baseName and isSameOrBelow', () => {
  assert.equal(joinPath('/wmf', 'data/raw', 'x.avro'), '/wmf/data/raw/x.avro');
  assert.throws(
    () => joinPath('/wmf', '..', 'etc'),
    (error: unknown) => isMwiError(error, 'MWI_FS_INVALID_PATH'),
  );
  assert.equal(parentPath('/a/b'), '/a');
  assert.equal(parentPath('/a'), '/');
  assert.equal(parentPath('/'), '/');
  assert.equal(baseName('/a/b.avro'), 'b.avro');
  assert.equal(baseName('/'), '');
  assert.equal(isSameOrBelow('/a/b', '/a'), true);
  assert.equal(isSameOrBelow('/a', '/a'), true);
  assert.equal(isSameOrBelow('/ab', '/a'), false);
  assert.equal(isSameOrBelow('/x', '/'), true);
});

test('compareNames orders by UTF-8 bytes, as HDFS lists', () => {
  const names = ['b', 'é', 'B', '_IMPORTED', '10', '9', 'a'];
  assert.deepEqual([...names].sort(compareNames), ['10', '9', 'B', '_IMPORTED', 'a', 'b', 'é']);
});
