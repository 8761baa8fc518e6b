import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  initialCompletenessState,
  nextAnnouncements,
  type PartitionProgress,
} from '../../src/hours/completeness.js';
import { hourKey } from '../../src/hours/hour.js';

const at = (h: number, m = 0) => Date.UTC(2026, 10, 22, h, m);
const keys = (result: ReturnType<typeof nextAnnouncements>) => result.hours.map(hourKey);
const options = { idleGraceMs: 10 * 60_000 };

describe('hour completeness', () => {
  test('an hour is complete only when every partition has moved past it', () => {
    const progress: PartitionProgress[] = [
      { partition: 0, reachedMs: at(14, 5), caughtUp: false },
      { partition: 1, reachedMs: at(12, 30), caughtUp: false },
    ];
    const result = nextAnnouncements(initialCompletenessState(), progress, at(15), {
      ...options,
      earliestPendingMs: at(10, 3),
    });
    assert.deepEqual(keys(result), ['2026-11-22T10', '2026-11-22T11']);
    assert.equal(result.state.announcedThrough, '2026-11-22T11');
  });

  test('hours are announced once: the next call continues after the last announced hour', () => {
    const first = nextAnnouncements(
      initialCompletenessState(),
      [{ partition: 0, reachedMs: at(12, 1), caughtUp: false }],
      at(15),
      { ...options, earliestPendingMs: at(10) },
    );
    assert.deepEqual(keys(first), ['2026-11-22T10', '2026-11-22T11']);
    const again = nextAnnouncements(
      first.state,
      [{ partition: 0, reachedMs: at(12, 1), caughtUp: false }],
      at(15),
      options,
    );
    assert.deepEqual(keys(again), []);
    const later = nextAnnouncements(
      first.state,
      [{ partition: 0, reachedMs: at(14, 0), caughtUp: false }],
      at(15),
      options,
    );
    assert.deepEqual(keys(later), ['2026-11-22T12', '2026-11-22T13']);
  });

  test('an hour with no data is still announced when later hours are complete', () => {
    // Data in hour 10 and 13 only; hours 11 and 12 are empty but complete.
    const result = nextAnnouncements(
      initialCompletenessState(),
      [{ partition: 0, reachedMs: at(13, 59), caughtUp: false }],
      at(16),
      { ...options, earliestPendingMs: at(10) },
    );
    assert.deepEqual(keys(result), ['2026-11-22T10', '2026-11-22T11', '2026-11-22T12']);
  });

  test('a caught-up idle partition counts as having reached now minus the grace', () => {
    const progress: PartitionProgress[] = [
      { partition: 0, reachedMs: at(14, 20), caughtUp: true },
      { partition: 1, reachedMs: at(9, 0), caughtUp: true }, // idle since 09:00
    ];
    const result = nextAnnouncements(initialCompletenessState(), progress, at(14, 25), {
      ...options,
      earliestPendingMs: at(9),
    });
    // now − 10 min = 14:15, so hours up to 13 are complete; 14 is not.
    assert.equal(result.state.announcedThrough, '2026-11-22T13');
    assert.equal(result.hours.length, 5);
  });

  test('an idle partition that is NOT caught up holds hours back', () => {
    const progress: PartitionProgress[] = [
      { partition: 0, reachedMs: at(14, 20), caughtUp: true },
      { partition: 1, reachedMs: at(9, 0), caughtUp: false },
    ];
    const result = nextAnnouncements(initialCompletenessState(), progress, at(14, 25), {
      ...options,
      earliestPendingMs: at(8),
    });
    assert.deepEqual(keys(result), ['2026-11-22T08']);
  });

  test('a partition that never committed and is not caught up holds everything back', () => {
    const progress: PartitionProgress[] = [
      { partition: 0, reachedMs: at(14), caughtUp: false },
      { partition: 1, reachedMs: null, caughtUp: false },
    ];
    const result = nextAnnouncements(initialCompletenessState(), progress, at(15), {
      ...options,
      earliestPendingMs: at(8),
    });
    assert.deepEqual(keys(result), []);
    assert.equal(result.watermarkMs, null);
  });

  test('nothing to announce before any data, unless a start hour is configured', () => {
    const idle: PartitionProgress[] = [{ partition: 0, reachedMs: null, caughtUp: true }];
    assert.deepEqual(keys(nextAnnouncements(initialCompletenessState(), idle, at(15), options)), []);
    const withStart = nextAnnouncements(initialCompletenessState(), idle, at(15), {
      ...options,
      startMs: at(12, 40),
    });
    assert.deepEqual(keys(withStart), ['2026-11-22T12', '2026-11-22T13']);
  });

  test('the start hour also cuts off older data', () => {
    const result = nextAnnouncements(
      initialCompletenessState(),
      [{ partition: 0, reachedMs: at(14, 1), caughtUp: false }],
      at(15),
      { ...options, startMs: at(12), earliestPendingMs: at(3) },
    );
    assert.deepEqual(keys(result), ['2026-11-22T12', '2026-11-22T13']);
  });

  test('an hour that has not ended by the clock is never announced, whatever a record says', () => {
    // One record 5 h ahead of the clock on a caught-up partition.
    const result = nextAnnouncements(
      initialCompletenessState(),
      [{ partition: 0, reachedMs: at(20, 10), caughtUp: true }],
      at(15, 30),
      { ...options, earliestPendingMs: at(13) },
    );
    assert.deepEqual(keys(result), ['2026-11-22T13', '2026-11-22T14']);
    assert.equal(result.watermarkMs, at(15, 30));
  });

  test("a topic's first hour comes from Kafka's time, not from a stray old record", () => {
    const result = nextAnnouncements(
      initialCompletenessState(),
      [{ partition: 0, reachedMs: at(14, 20), caughtUp: false }],
      at(15),
      { ...options, firstMs: at(12, 40), earliestPendingMs: Date.UTC(2003, 5, 1, 9) },
    );
    assert.deepEqual(keys(result), ['2026-11-22T12', '2026-11-22T13']);
  });
});
