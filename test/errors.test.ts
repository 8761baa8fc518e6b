import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { UnrecoverableError } from 'bullmq';
import {
  decodeError,
  type ErrorCode,
  ErrorCodes,
  encodeError,
  isErrorCode,
  isFinal,
  MwiError,
} from '../src/errors.js';

describe('the error table', () => {
  test('a transient failure is tried again later; a permanent one fails the task at once', () => {
    const later: ErrorCode[] = [
      'MWI_KAFKA_UNAVAILABLE',
      'MWI_HDFS_UNAVAILABLE',
      'MWI_PARTITION_BUSY',
      'MWI_TASK_ABORTED',
      'MWI_FS_IO',
      'MWI_INTERNAL',
    ];
    for (const code of later) assert.equal(isFinal(new MwiError(code, 'x')), false, code);
    const atOnce: ErrorCode[] = [
      'MWI_RUN_ERROR_RATIO',
      'MWI_OFFSETS_EXPIRED',
      'MWI_UNKNOWN_SCHEMA',
      'MWI_CONFIG_INVALID',
      'MWI_RUN_ACCOUNTING',
      'MWI_KAFKA_UNKNOWN_TOPIC',
    ];
    for (const code of atOnce) assert.equal(isFinal(new MwiError(code, 'x')), true, code);
  });

  test('a fenced owner cannot repeat its write, but the task is tried again under a new lease', () => {
    const fenced = new MwiError('MWI_FENCED', 'lost the lease');
    assert.equal(fenced.canRetry, false);
    assert.equal(isFinal(fenced), false);
  });

  test('an error that says a retry can help is not final, whatever its code', () => {
    assert.equal(isFinal(new MwiError('MWI_FS_PERMISSION', 'token expired', { canRetry: true })), false);
    assert.equal(isFinal(new MwiError('MWI_FS_PERMISSION', 'no write access')), true);
  });

  test('canRetry defaults to what the table says for the code', () => {
    assert.equal(new MwiError('MWI_KAFKA_UNAVAILABLE', 'x').canRetry, true);
    assert.equal(new MwiError('MWI_CONFIG_INVALID', 'x').canRetry, false);
    assert.equal(new MwiError('MWI_HIVE', 'x', { canRetry: true }).canRetry, true);
  });

  test('every code used for a thrown non-MwiError is in the table', () => {
    assert.ok(isErrorCode('MWI_INTERNAL'));
    assert.ok(ErrorCodes.includes('MWI_INTERNAL'));
    assert.equal(isErrorCode('MWI_NOT_A_CODE'), false);
    assert.equal(isErrorCode('toString'), false);
  });
});

describe('errors across a queue', () => {
  test('code, message, canRetry and details come back as they were', () => {
    const sent = new MwiError('MWI_RUN_ERROR_RATIO', 't/0: 5 of 10 messages are bad: see the error files', {
      details: { topic: 't', partition: 0, errors: 5 },
    });
    const back = decodeError(encodeError(sent));
    assert.ok(back instanceof MwiError);
    assert.equal(back.code, 'MWI_RUN_ERROR_RATIO');
    assert.equal(back.message, sent.message);
    assert.equal(back.canRetry, false);
    assert.deepEqual(back.details, { topic: 't', partition: 0, errors: 5 });
  });

  test('a message that itself looks like "CODE: text" is not split', () => {
    const sent = new MwiError('MWI_HDFS_UNAVAILABLE', 'MWI_FENCED: quoted from a log line', {
      canRetry: true,
    });
    const back = decodeError(new UnrecoverableError(encodeError(sent)).message);
    assert.equal(back.code, 'MWI_HDFS_UNAVAILABLE');
    assert.equal(back.message, 'MWI_FENCED: quoted from a log line');
    assert.equal(back.canRetry, true);
  });

  test('a reason BullMQ wrote itself (a stalled job) is an internal error with that text', () => {
    const back = decodeError('job stalled more than allowable limit');
    assert.equal(back.code, 'MWI_INTERNAL');
    assert.equal(back.message, 'job stalled more than allowable limit');
  });

  test('JSON with an unknown code or the wrong shape is not trusted', () => {
    assert.equal(decodeError('{"code":"MWI_MADE_UP","message":"m","canRetry":false}').code, 'MWI_INTERNAL');
    assert.equal(decodeError('{"code":"MWI_FENCED","message":3,"canRetry":false}').code, 'MWI_INTERNAL');
    assert.equal(decodeError('null').code, 'MWI_INTERNAL');
  });
});
