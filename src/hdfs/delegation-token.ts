import { isMwiError, MwiError } from '../errors.js';

/**
 * HDFS delegation tokens for WebHDFS, as Hadoop's own WebHdfsFileSystem keeps them: fetched once
 * with Kerberos (SPNEGO), then sent as `delegation=` on every call; renewed before they expire,
 * and replaced by a new one before their maximum lifetime ends (a token cannot be renewed past it).
 *
 * The NameNode sets both times: `dfs.namenode.delegation.token.renew-interval` (how long a token
 * lives without a renewal, 24 h by default) and `…max-lifetime` (7 days). The renewal answer gives
 * the new expiry; the maximum is read from the token itself.
 */

/** What a token says about itself (`AbstractDelegationTokenIdentifier`). */
export interface TokenIdentity {
  owner: string;
  renewer: string;
  issueDate: number;
  maxDate: number;
  sequenceNumber: number;
}

/** The calls the keeper needs; WebHdfsHttp makes them with SPNEGO. */
export interface TokenCalls {
  /** GETDELEGATIONTOKEN: the token's URL string. */
  fetch(): Promise<string>;
  /** RENEWDELEGATIONTOKEN: the token's new expiry time (ms since the epoch). */
  renew(token: string): Promise<number>;
  /** CANCELDELEGATIONTOKEN. */
  cancel(token: string): Promise<void>;
}

export interface TokenKeeperOptions {
  /** Renew once this fraction of the time left before expiry has passed. @defaultValue 0.5 */
  renewFraction?: number;
  now?: () => number;
}

interface HeldToken {
  token: string;
  identity: TokenIdentity | undefined;
  expiresAt: number;
  renewAt: number;
  /** The last renewal did not move the expiry: the maximum lifetime is reached. */
  capped: boolean;
}

export class DelegationTokenKeeper {
  private held: HeldToken | undefined;
  private pending: Promise<string> | undefined;
  private readonly renewFraction: number;
  private readonly now: () => number;
  /** How many tokens were fetched and renewals made, for tests and status. */
  readonly counts = { fetched: 0, renewed: 0 };

  constructor(
    private readonly calls: TokenCalls,
    options: TokenKeeperOptions = {},
  ) {
    this.renewFraction = options.renewFraction ?? 0.5;
    this.now = options.now ?? Date.now;
  }

  /** A token valid now: the held one, renewed or replaced first when it is due. */
  current(): Promise<string> {
    this.pending ??= this.refresh().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  /** The NameNode refused `token` (expired, cancelled, unknown after a restart): get a new one next. */
  invalidate(token: string): void {
    if (this.held?.token === token) this.held = undefined;
  }

  /** When the held token expires (ms since the epoch), if one is held. */
  get expiresAt(): number | undefined {
    return this.held?.expiresAt;
  }

  /** Cancels the held token (best effort: it expires by itself anyway). */
  async close(): Promise<void> {
    const held = this.held;
    this.held = undefined;
    if (held !== undefined) await this.calls.cancel(held.token).catch(() => undefined);
  }

  private async refresh(): Promise<string> {
    const now = this.now();
    const held = this.held;
    if (held !== undefined && now < held.renewAt) return held.token;
    if (held !== undefined && !held.capped && !this.nearMaxLifetime(held, now)) {
      try {
        return this.keep(held.token, held.identity, await this.calls.renew(held.token), held.expiresAt);
      } catch (error) {
        // an expired or unknown token cannot be renewed: a new one can still be had
        if (!isTokenRefusal(error)) throw error;
      }
    }
    const token = await this.calls.fetch();
    this.counts.fetched += 1;
    // The fetch answer has no expiry: the first renewal tells it.
    const expiresAt = await this.calls.renew(token);
    return this.keep(token, parseTokenIdentity(token), expiresAt);
  }

  /** Holds `token` until `expiresAt`; `previousExpiry` is given when this is a renewal. */
  private keep(
    token: string,
    identity: TokenIdentity | undefined,
    expiresAt: number,
    previousExpiry?: number,
  ): string {
    if (previousExpiry !== undefined) this.counts.renewed += 1;
    const now = this.now();
    const end = Math.min(expiresAt, identity?.maxDate ?? expiresAt);
    this.held = {
      token,
      identity,
      expiresAt,
      renewAt: now + Math.max(0, end - now) * this.renewFraction,
      capped: previousExpiry !== undefined && expiresAt <= previousExpiry,
    };
    return token;
  }

  /** True when a renewal cannot extend the token much: the next one is fetched instead. */
  private nearMaxLifetime(held: HeldToken, now: number): boolean {
    if (held.identity === undefined) return false;
    const { issueDate, maxDate } = held.identity;
    return now >= maxDate - (maxDate - issueDate) * (1 - this.renewFraction) * 0.2;
  }
}

/** True for the NameNode's refusal of a token: InvalidToken, "token … is expired", "can't be found". */
export function isTokenRefusal(error: unknown): boolean {
  if (!isMwiError(error)) return false;
  const exception = String(error.details.exception ?? '');
  const said = String(error.details.remoteMessage ?? error.message);
  return (
    /InvalidToken/.test(exception) ||
    /token \(.*\) (is expired|can't be found in cache)|token is expired|Token has expired/i.test(said)
  );
}

/**
 * Reads the identifier out of a token's URL string: URL-safe base64 of Hadoop's `Token` writable
 * (identifier, password, kind, service, each length-prefixed), whose identifier is version, owner,
 * renewer, real user, issue date, max date, sequence number, master key id. Undefined when the
 * bytes are not such a token (the keeper then relies on renewals alone).
 */
export function parseTokenIdentity(urlString: string): TokenIdentity | undefined {
  try {
    const bytes = Buffer.from(urlString.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    const token = new WritableReader(bytes);
    const identifier = new WritableReader(token.bytes(token.vint()));
    identifier.byte(); // version
    const owner = identifier.text();
    const renewer = identifier.text();
    identifier.text(); // real user
    const issueDate = identifier.vlong();
    const maxDate = identifier.vlong();
    const sequenceNumber = identifier.vlong();
    if (!(issueDate > 0 && maxDate >= issueDate)) return undefined;
    return { owner, renewer, issueDate, maxDate, sequenceNumber };
  } catch {
    return undefined;
  }
}

/** Hadoop's `WritableUtils` variable-length numbers and `Text`. */
class WritableReader {
  private at = 0;
  constructor(private readonly buffer: Buffer) {}

  byte(): number {
    if (this.at >= this.buffer.length) throw new RangeError('token ends early');
    return this.buffer.readInt8(this.at++);
  }

  bytes(length: number): Buffer {
    if (length < 0 || this.at + length > this.buffer.length) throw new RangeError('token ends early');
    const slice = this.buffer.subarray(this.at, this.at + length);
    this.at += length;
    return slice;
  }

  vlong(): number {
    const first = this.byte();
    if (first >= -112) return first;
    const negative = first < -120;
    const size = negative ? -(first + 120) : -(first + 112);
    let value = 0n;
    for (let i = 0; i < size; i += 1) value = (value << 8n) | BigInt(this.byte() & 0xff);
    return Number(negative ? ~value : value);
  }

  vint(): number {
    return this.vlong();
  }

  text(): string {
    return this.bytes(this.vint()).toString('utf8');
  }
}

/** The error for a token that could not be had: Kerberos worked, the NameNode refused. */
export function tokenFetchError(cause: unknown, identity: string): MwiError {
  if (isMwiError(cause, 'MWI_HDFS_AUTH') || isMwiError(cause, 'MWI_HDFS_UNAVAILABLE')) return cause;
  return new MwiError(
    'MWI_HDFS_AUTH',
    `cannot get an HDFS delegation token as ${identity}: ${(cause as Error).message}`,
    { cause, canRetry: isMwiError(cause) && cause.canRetry, details: { outcome: 'not-executed' } },
  );
}
