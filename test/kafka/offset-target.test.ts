/** What `mwingest offsets reset --to` and a job's `startPosition` accept, and what each means. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { KafkaSource } from '../../src/kafka/client.js';
import { parseOffsetTarget, resolveOffsetTarget } from '../../src/kafka/offset-target.js';

const logs = [
  { partition: 0, earliest: 10n, latest: 100n },
  { partition: 1, earliest: 0n, latest: 50n },
];

function sourceAtTime(offsets: Map<number, bigint | null>): KafkaSource {
  return { offsetsForTime: async () => offsets } as unknown as KafkaSource;
}

describe('offset targets', () => {
  test('earliest, latest, offsets and ISO times parse; a time without a zone is UTC', () => {
    assert.deepEqual(parseOffsetTarget('earliest'), { kind: 'earliest' });
    assert.deepEqual(parseOffsetTarget('latest'), { kind: 'latest' });
    assert.deepEqual(parseOffsetTarget('1200'), { kind: 'offset', offset: 1200n });
    assert.deepEqual(parseOffsetTarget('2026-12-07T14:00'), {
      kind: 'time',
      ms: Date.UTC(2026, 11, 7, 14),
      text: '2026-12-07T14:00:00.000Z',
    });
    assert.equal(
      (parseOffsetTarget('2026-12-07T15:00+01:00') as { ms: number }).ms,
      Date.UTC(2026, 11, 7, 14),
    );
    assert.equal(parseOffsetTarget('1200', { offsets: false }), undefined);
    for (const bad of ['yesterday', '-5', '2026-13-45T99', ''])
      assert.equal(parseOffsetTarget(bad), undefined, bad);
  });

  test('a time resolves through offsets-for-times; after the newest record it is the log end', async () => {
    const source = sourceAtTime(
      new Map([
        [0, 42n],
        [1, null],
      ]),
    );
    const resolved = await resolveOffsetTarget(source, 't', logs, parseOffsetTarget('2026-12-07T14:00Z')!);
    assert.deepEqual(
      [...resolved],
      [
        [0, 42n],
        [1, 50n],
      ],
    );
  });

  test('earliest and latest are the log bounds; an offset outside the log is refused with the range', async () => {
    const source = sourceAtTime(new Map());
    assert.deepEqual(
      [...(await resolveOffsetTarget(source, 't', logs, { kind: 'earliest' }))],
      [
        [0, 10n],
        [1, 0n],
      ],
    );
    assert.deepEqual(
      [...(await resolveOffsetTarget(source, 't', logs, { kind: 'latest' }))],
      [
        [0, 100n],
        [1, 50n],
      ],
    );
    await assert.rejects(
      resolveOffsetTarget(source, 't', logs, { kind: 'offset', offset: 5n }),
      /t\/0: offset 5 is outside the log \(10–100\)/,
    );
  });
});
