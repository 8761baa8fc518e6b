import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isMwiError } from '../../src/errors.js';
import {
  describeRevision,
  parseRevisionId,
  revisionIdOf,
  tryParseRevisionId,
} from '../../src/schemas/revision.js';

test('a revision id is a version of at least 10 followed by a 10-digit unix time', () => {
  assert.deepEqual(parseRevisionId(111448028943n), { version: 11, createdAt: 1448028943 });
  assert.deepEqual(parseRevisionId('101446746400'), { version: 10, createdAt: 1446746400 });
  assert.deepEqual(parseRevisionId(121456865906), { version: 12, createdAt: 1456865906 });
  assert.deepEqual(parseRevisionId('1231456865906'), { version: 123, createdAt: 1456865906 });
  assert.equal(revisionIdOf({ version: 11, createdAt: 1448028943 }), 111448028943n);
  assert.equal(
    describeRevision({ version: 11, createdAt: 1448028943 }),
    'version 11, made 2015-11-20T14:15:43Z',
  );
});

test('anything else is not a revision id', () => {
  for (const bad of [
    '91448028943', // version 9
    '1448028943', // no version
    '100999999999', // a 9-digit time (0999999999)
    '011448028943', // leading zero
    '11144802894a',
    '-111448028943',
    '',
    '99999999999999999999', // beyond int64
    1.5,
    2 ** 60, // not a safe integer: its digits are not what was meant
  ]) {
    assert.equal(tryParseRevisionId(bad), undefined, String(bad));
  }
  assert.throws(
    () => parseRevisionId('1448028943', '--expect-rev'),
    (e) =>
      isMwiError(e, 'MWI_USAGE') &&
      e.message.includes('--expect-rev "1448028943" is not a schema revision id'),
  );
  assert.throws(() => revisionIdOf({ version: 9, createdAt: 1448028943 }), /at least 10/);
});
