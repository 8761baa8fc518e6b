/**
 * Leases when Redis loses its data (docs/operations.md, "When Redis loses its data"), against the
 * real Redis: the holder of a lease that vanished is fenced at its next check or renewal, so it
 * stops before claiming its commit; and the token counters, lost too, continue after the token of the
 * partition's newest commit. The whole story with workers, commits and a Redis restart is
 * test/scheduler/worker.integration.test.ts ("Redis restarted and emptied mid-run").
 *
 * "Losing Redis" deletes every key under this test's own prefix.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { isMwiError } from '../../src/errors.js';
import { keepAlive, LeaseManager } from '../../src/job/lease.js';
import { requireStack, uniqueName } from '../support/stack.js';

let redis: Redis;
const prefix = `mwingest:${uniqueName('leaseloss')}`;

before(async () => {
  const stack = await requireStack(['redis']);
  redis = new Redis(stack.redisUrl, { maxRetriesPerRequest: null });
});

after(async () => {
  await loseRedis();
  redis.disconnect();
});

async function loseRedis(): Promise<void> {
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length > 0) await redis.del(...keys);
}

describe('leases when Redis loses its data', () => {
  test('the holder of a lease Redis lost is fenced at its next check and renewal', async () => {
    const leases = new LeaseManager(redis, prefix, { ttlMs: 900 });
    const lease = await leases.tryAcquire('partition:t:0');
    assert.ok(lease);
    await lease.assertHeld();
    let lost: unknown;
    const alive = keepAlive(lease, 900, (error) => {
      lost = error;
    });
    await loseRedis();
    await assert.rejects(lease.assertHeld(), (error) => isMwiError(error, 'MWI_FENCED'));
    for (let waited = 0; lost === undefined && waited < 5_000; waited += 50) await sleep(50);
    assert.ok(alive.lost, 'keepAlive noticed: the task is aborted before it claims its commit');
    assert.ok(isMwiError(lost, 'MWI_FENCED'));
    alive.stop();

    const other = new LeaseManager(redis, prefix, { ttlMs: 900 });
    const next = await other.tryAcquire('partition:t:0');
    assert.ok(next, 'another worker can take the partition at once');
    await assert.rejects(
      lease.renew(),
      (error) => isMwiError(error, 'MWI_FENCED'),
      'the old holder stays fenced',
    );
    await next.release();
  });

  test('lost token counters continue after the token of the newest commit', async () => {
    const leases = new LeaseManager(redis, prefix, { ttlMs: 900 });
    for (let i = 0; i < 3; i++) await (await leases.tryAcquire('partition:t:1'))!.release();
    assert.ok(await leases.hasFence('partition:t:1'));
    await loseRedis();
    assert.equal(await leases.hasFence('partition:t:1'), false, 'the task can tell the counter is gone');
    // What runPartitionUnderLease does then, with the token of the partition's newest manifest:
    await leases.raiseFence('partition:t:1', 3);
    const lease = await leases.tryAcquire('partition:t:1');
    assert.equal(lease?.token, 4);
    await leases.raiseFence('partition:t:1', 2);
    await lease!.release();
    assert.equal((await leases.tryAcquire('partition:t:1'))?.token, 5, 'raising never lowers');
  });
});
