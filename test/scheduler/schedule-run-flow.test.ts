/**
 * The pure parts of scheduled runs: job ids BullMQ accepts and that name the same run when a tick is
 * delivered twice, task ids that give back their topic and partition, the retry decision of a failed
 * partition task, and how many ended hours are still waiting to be announced.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { hoursPendingCompleteness } from '../../src/ops/status.js';
import { jobOptionsOf, runIdForTick } from '../../src/scheduler/run-flow.js';
import {
  parsePartitionTaskId,
  partitionTaskIdOf,
  runJobIdOf,
  schedulerIdOf,
} from '../../src/scheduler/run-flow-state.js';

describe('run ids of ticks', () => {
  const tick = { id: 'repeat:mwingest-demo-schedule:1795381305000', timestamp: 1795381290000 };

  test('a scheduled tick names its run after the time it was scheduled for, not when it was created', () => {
    assert.match(runIdForTick(tick), /^20261122T210145Z-[0-9a-f]{6}$/);
  });

  test('the same tick delivered twice names the same run; another tick another run', () => {
    assert.equal(runIdForTick({ ...tick }), runIdForTick(tick));
    assert.notEqual(
      runIdForTick({ ...tick, id: 'repeat:mwingest-demo-schedule:1795381306000' }).slice(-6),
      runIdForTick(tick).slice(-6),
    );
  });

  test('a manual tick uses its creation time plus delay', () => {
    assert.match(
      runIdForTick({ id: 'manual-x', timestamp: Date.UTC(2026, 0, 2, 3, 4, 5, 678), delay: 0 }),
      /^20260102T030405Z-/,
    );
  });

  test('no id contains ":" (BullMQ reserves it) or is an integer', () => {
    const runId = runIdForTick(tick);
    for (const id of [
      runId,
      runJobIdOf(runId),
      partitionTaskIdOf(runId, 'mediawiki_ApiAction', 3),
      schedulerIdOf('demo'),
    ]) {
      assert.ok(!id.includes(':'), id);
      assert.ok(!/^\d+$/.test(id), id);
    }
  });
});

describe('partition task ids', () => {
  const runId = '20261122T210145Z-abcdef';

  test('give back topic and partition, from the id and from the Redis key, even with "__" in the topic', () => {
    for (const topic of ['mediawiki_ApiAction', 'odd__topic_name', 'a.b-c']) {
      const id = partitionTaskIdOf(runId, topic, 11);
      assert.deepEqual(parsePartitionTaskId(id, runId), { topic, partition: 11 });
      assert.deepEqual(parsePartitionTaskId(`bull:mwingest-demo-partitions:${id}`, runId), {
        topic,
        partition: 11,
      });
    }
  });

  test('ids of another run or without a partition are not tasks of this run', () => {
    assert.equal(
      parsePartitionTaskId(partitionTaskIdOf('20261122T000000Z-000000', 't', 1), runId),
      undefined,
    );
    assert.equal(parsePartitionTaskId(`${runId}__topic`, runId), undefined);
    assert.equal(parsePartitionTaskId(`${runId}__topic__x`, runId), undefined);
  });
});

describe('failed partition tasks', () => {
  test('every kind of job has explicit attempts and backoff; a failed partition never blocks its run', () => {
    const options = jobOptionsOf(30);
    for (const kind of ['tick', 'run', 'partition'] as const) {
      assert.ok((options[kind].attempts ?? 0) > 1, kind);
      assert.ok(options[kind].backoff !== undefined, kind);
    }
    assert.equal(options.partition.ignoreDependencyOnFailure, true);
    assert.deepEqual(
      options.partition.backoff,
      { type: 'exponential', delay: 10_000 },
      'a third of the lease ttl',
    );
    assert.deepEqual(
      jobOptionsOf(1).partition.backoff,
      { type: 'exponential', delay: 1_000 },
      'at least a second',
    );
  });
});

describe('hours pending completeness', () => {
  const now = Date.UTC(2026, 10, 22, 14, 20);

  test('counts the ended hours after the last announced one', () => {
    assert.equal(hoursPendingCompleteness('2026-11-22T13', {}, now), 0, 'the current hour has not ended');
    assert.equal(hoursPendingCompleteness('2026-11-22T12', {}, now), 1);
    assert.equal(hoursPendingCompleteness('2026-11-21T14', {}, now), 23);
  });

  test('before the first announcement, counts the ended hours with data', () => {
    assert.equal(hoursPendingCompleteness(null, {}, now), 0);
    assert.equal(
      hoursPendingCompleteness(null, { '2026-11-22T11': 5, '2026-11-22T13': 2, '2026-11-22T14': 9 }, now),
      2,
    );
  });
});
