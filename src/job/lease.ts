import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { MwiError } from '../errors.js';

/**
 * Ownership of a topic-partition (and of a whole run) across processes and hosts, in Redis.
 *
 * A lease is a key `SET … NX PX ttl` holding `<token> <owner>`. Each acquisition draws a fencing
 * token from a per-partition counter (`INCR`), so tokens only grow. The token travels into the
 * commit manifest; before each commit step the owner checks it still holds the lease with that
 * token (`assertHeld`). The storage itself refuses a second commit from the same offset (the
 * manifest is claimed by an atomic rename), so a stale owner that slips past the Redis check
 * still cannot write the same range twice.
 */
export interface Lease {
  readonly key: string;
  readonly token: number;
  readonly owner: string;
  /** Throws `MWI_FENCED` when the lease expired or another owner took it. */
  assertHeld(): Promise<void>;
  /** Extends the lease; throws `MWI_FENCED` if it was lost meanwhile. */
  renew(): Promise<void>;
  /** Gives the lease up if still ours. Never throws. */
  release(): Promise<void>;
}

export interface LeaseOptions {
  /** Lease duration; renewed by `keepAlive` at a third of it. @defaultValue 30000 */
  ttlMs?: number;
  /** Identifies the holder in the lease value and in logs. @defaultValue `<hostname>/<pid>/<uuid>` */
  owner?: string;
}

// Compare-and-extend / compare-and-delete, so a lease is only touched by its holder.
const RENEW_SCRIPT = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end`;
const RELEASE_SCRIPT = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;
const RAISE_SCRIPT = `if tonumber(redis.call('GET', KEYS[1]) or '0') < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1]) end return 1`;

export class LeaseManager {
  readonly owner: string;
  private readonly ttlMs: number;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    options: LeaseOptions = {},
  ) {
    this.ttlMs = options.ttlMs ?? 30_000;
    this.owner =
      options.owner ?? `${process.env.HOSTNAME ?? 'host'}/${process.pid}/${randomUUID().slice(0, 8)}`;
  }

  /** Tries to take the lease named `name`; `undefined` when someone else holds it. */
  async tryAcquire(name: string): Promise<Lease | undefined> {
    const key = `${this.prefix}:lease:${name}`;
    const token = await this.redis.incr(`${this.prefix}:fence:${name}`);
    const value = `${token} ${this.owner}`;
    const taken = await this.redis.set(key, value, 'PX', this.ttlMs, 'NX');
    if (taken !== 'OK') return undefined;
    return this.leaseFor(key, token, value);
  }

  /** Whether `name` has a token counter in this Redis (false before the first lease, or after Redis lost its data). */
  async hasFence(name: string): Promise<boolean> {
    return (await this.redis.exists(`${this.prefix}:fence:${name}`)) === 1;
  }

  /**
   * Makes every later token of `name` larger than `token` — the token of the last commit, when Redis
   * lost its counters (a restart without persistence) — so tokens keep growing along a partition's commits.
   */
  async raiseFence(name: string, token: number): Promise<void> {
    await this.redis.eval(RAISE_SCRIPT, 1, `${this.prefix}:fence:${name}`, String(token));
  }

  /** Who holds `name` now, if anyone: `{ token, owner }`. */
  async holder(name: string): Promise<{ token: number; owner: string } | undefined> {
    const value = await this.redis.get(`${this.prefix}:lease:${name}`);
    if (value === null) return undefined;
    const space = value.indexOf(' ');
    return { token: Number(value.slice(0, space)), owner: value.slice(space + 1) };
  }

  private leaseFor(key: string, token: number, value: string): Lease {
    const { redis, ttlMs, owner } = this;
    const lost = () =>
      new MwiError('MWI_FENCED', `lost the lease ${key} (token ${token}); another worker owns it now`, {
        details: { key, token, owner },
      });
    return {
      key,
      token,
      owner,
      async assertHeld() {
        if ((await redis.get(key)) !== value) throw lost();
      },
      async renew() {
        const extended = await redis.eval(RENEW_SCRIPT, 1, key, value, String(ttlMs));
        if (extended !== 1) throw lost();
      },
      async release() {
        try {
          await redis.eval(RELEASE_SCRIPT, 1, key, value);
        } catch {
          // The lease expires by itself; a failed release only delays the next owner by ttl.
        }
      },
    };
  }
}

/**
 * Renews `lease` every third of its ttl until `stop()` is called. When a renewal fails the lease
 * is lost: `lost` is set and `onLost` is called, and the owner must not commit.
 *
 * `expired` also tells, by this process's own monotonic clock, whether the lease may have run out
 * in Redis: true once `ttlMs` has passed since the start of the last renewal that succeeded (or since
 * `since`, taken before the lease was acquired). A process that was paused past its lease sees it
 * the moment it wakes, before any timer or answer from Redis.
 */
export function keepAlive(
  lease: Lease,
  ttlMs: number,
  onLost: (error: unknown) => void,
  since: number = performance.now(),
): { stop(): void; readonly lost: boolean; readonly expired: boolean } {
  let lost = false;
  let validUntil = since + ttlMs;
  const timer = setInterval(
    () => {
      const started = performance.now();
      lease.renew().then(
        () => {
          validUntil = Math.max(validUntil, started + ttlMs);
        },
        (error: unknown) => {
          if (lost) return;
          lost = true;
          clearInterval(timer);
          onLost(error);
        },
      );
    },
    Math.max(100, Math.floor(ttlMs / 3)),
  );
  timer.unref();
  return {
    stop: () => clearInterval(timer),
    get lost() {
      return lost;
    },
    get expired() {
      return lost || performance.now() >= validUntil;
    },
  };
}
