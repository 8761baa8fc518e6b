import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MwiError } from '../../src/errors.js';
import { DelegationTokenKeeper, parseTokenIdentity } from '../../src/hdfs/delegation-token.js';

// A token the secure profile's NameNode gave mwingest@MWINGEST.TEST (GETDELEGATIONTOKEN's urlString).
const REAL_TOKEN =
  'JAAIbXdpbmdlc3QIbXdpbmdlc3QAigGiUs_tPooBolLRTM4DBBTLl9BeZr7AclWLbHZwVhHsIJFwiRJXRUJIREZTIGRlbGVnYXRpb24PMTI3LjAuMC4xOjE2MDIw';

describe('delegation tokens', () => {
  test('the identifier of a real token: owner, renewer, issue date and maximum date', () => {
    const identity = parseTokenIdentity(REAL_TOKEN);
    assert.ok(identity);
    assert.equal(identity.owner, 'mwingest');
    assert.equal(identity.renewer, 'mwingest');
    assert.ok(identity.issueDate > Date.UTC(2020, 0, 1), String(identity.issueDate));
    assert.equal(identity.maxDate - identity.issueDate, 90_000, 'the profile then allowed 90 s at most');
    assert.equal(parseTokenIdentity('not a token'), undefined);
  });

  test('renewed when half the time to expiry has passed, replaced near the maximum lifetime', async () => {
    let now = 1_000_000;
    let serial = 0;
    const log: string[] = [];
    const issued = new Map<string, number>();
    const keeper = new DelegationTokenKeeper(
      {
        fetch: async () => {
          serial += 1;
          const token = `t${serial}`;
          issued.set(token, now);
          log.push(`fetch ${token}`);
          return token;
        },
        // lives 20 s from each renewal, never past 60 s after issue
        renew: async (token) => {
          log.push(`renew ${token}`);
          return Math.min(now + 20_000, (issued.get(token) as number) + 60_000);
        },
        cancel: async () => undefined,
      },
      { now: () => now },
    );
    assert.equal(await keeper.current(), 't1');
    now += 5_000;
    assert.equal(await keeper.current(), 't1', 'not yet due');
    now += 6_000; // 11 s after the renewal that set a 20 s expiry
    assert.equal(await keeper.current(), 't1');
    assert.deepEqual(log, ['fetch t1', 'renew t1', 'renew t1']);
    keeper.invalidate('t1');
    assert.equal(await keeper.current(), 't2', 'a refused token is replaced');
    assert.equal(keeper.counts.fetched, 2);
    // t2 was issued at 1_011_000 and may live until 1_071_000 at most: called every 4 s, the keeper
    // must never hand it out after that, and must have a new token by then.
    const t2Max = 1_071_000;
    for (let i = 0; i < 25; i += 1) {
      now += 4_000;
      const token = await keeper.current();
      if (token === 't2') assert.ok(now < t2Max, `t2 handed out at ${now}, past its maximum lifetime`);
    }
    assert.ok(log.includes('fetch t3'), log.join(', '));
  });

  test('a token that can no longer be renewed is replaced, other renewal failures are reported', async () => {
    let now = 0;
    let fail: Error | undefined;
    let serial = 0;
    const keeper = new DelegationTokenKeeper(
      {
        fetch: async () => `t${++serial}`,
        renew: async () => {
          if (fail) throw fail;
          return now + 10_000;
        },
        cancel: async () => undefined,
      },
      { now: () => now },
    );
    await keeper.current();
    now = 6_000;
    fail = new MwiError('MWI_FS_PERMISSION', 'token (HDFS_DELEGATION_TOKEN token 1 for x) is expired', {
      details: { exception: 'SecretManager$InvalidToken' },
    });
    await assert.rejects(keeper.current(), /is expired/, 'the new token fails its first renewal too');
    fail = new MwiError('MWI_HDFS_UNAVAILABLE', 'down');
    now = 20_000;
    await assert.rejects(keeper.current(), /down/);
  });
});
