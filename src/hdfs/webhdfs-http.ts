import pRetry from 'p-retry';
import { isMwiError, MwiError } from '../errors.js';
import { timeRequest, webhdfsNameNodes, webhdfsRequests } from '../request-timing.js';
import { type DelegationTokenKeeper, isTokenRefusal } from './delegation-token.js';
import type { SpnegoAuth } from './spnego.js';
import {
  type CallContext,
  callError,
  httpError,
  networkError,
  type Outcome,
  outcomeOf,
} from './webhdfs-errors.js';

/**
 * The HTTP plumbing under `WebHdfsFileSystem`: URLs, authentication parameters, timeouts,
 * error mapping and retries. It knows no file-system semantics; `webhdfs.ts` does.
 */

export interface RetryPolicy {
  /** Retries after the first attempt. @defaultValue 5 */
  retries: number;
  /** Delay before the first retry, in ms; later delays grow by `factor`. @defaultValue 200 */
  minTimeoutMs: number;
  /** Longest delay between two attempts, in ms. @defaultValue 5000 */
  maxTimeoutMs: number;
  /** @defaultValue 2 */
  factor: number;
}

export interface HttpSettings {
  /**
   * `http(s)://host:port` of each NameNode, without `/webhdfs/v1`. With more than one (HA), calls
   * go to the one that last answered as active; a standby's StandbyException or a NameNode that
   * cannot be reached moves them to the next.
   */
  origins: string[];
  /** The HA nameservice, for messages and metrics; else the first origin. */
  nameservice: string;
  /** Kerberos: SPNEGO for the token calls, and the delegation token for every other call. */
  kerberos?: { spnego: SpnegoAuth; tokens: DelegationTokenKeeper } | undefined;
  user: string | undefined;
  delegationToken: string | undefined;
  requestTimeoutMs: number;
  dataTimeoutMs: number;
  retry: RetryPolicy;
  /** For messages: `webhdfs://host:port as user`. */
  where: string;
}

export type Method = 'GET' | 'PUT' | 'POST' | 'DELETE';

/** How a retried call may be repeated. */
export type RetryMode =
  /** Safe to repeat whatever happened before (reads, MKDIRS, the NameNode step of CREATE/APPEND). */
  | 'idempotent'
  /** Repeat only when the failed attempt surely did nothing (see `Outcome`). */
  | 'if-not-executed';

const PREFIX = '/webhdfs/v1';

/** Operations that need Kerberos itself (SPNEGO), not a delegation token. */
const TOKEN_OPS = new Set(['GETDELEGATIONTOKEN', 'RENEWDELEGATIONTOKEN', 'CANCELDELEGATIONTOKEN']);

export class WebHdfsHttp {
  private active = 0;

  constructor(readonly settings: HttpSettings) {
    if (settings.origins.length === 0) throw new MwiError('MWI_CONFIG_INVALID', 'no NameNode address given');
  }

  /** The NameNode calls go to now: the one that last answered as active. */
  get activeOrigin(): string {
    return this.settings.origins[this.active] as string;
  }

  /**
   * `http://host:port/webhdfs/v1/<path>?op=<OP>&<params>&user.name=<user>` (or `delegation=<token>`).
   * Every name is percent-encoded on its own, and query values with `encodeURIComponent`, so
   * spaces, `+`, `=`, `%` and non-ASCII names reach the NameNode as they are.
   */
  nameNodeUrl(path: string, op: string, params: Record<string, string | number | boolean> = {}): string {
    const encodedPath = path === '/' ? '/' : path.split('/').map(encodeURIComponent).join('/');
    const query = [`op=${op}`];
    for (const [key, value] of Object.entries(params))
      query.push(`${key}=${encodeURIComponent(String(value))}`);
    if (this.settings.delegationToken !== undefined) {
      query.push(`delegation=${encodeURIComponent(this.settings.delegationToken)}`);
    } else if (this.settings.user !== undefined) {
      query.push(`user.name=${encodeURIComponent(this.settings.user)}`);
    }
    return `${this.activeOrigin}${PREFIX}${encodedPath}?${query.join('&')}`;
  }

  /**
   * One HTTP exchange. Resolves with the response when its status is 2xx or (with
   * `redirect: 'manual'`) 3xx; otherwise reads the body and throws the mapped MwiError.
   * The timeout covers the whole exchange including reading the body via the returned helpers.
   */
  async send(
    url: string,
    init: { method: Method; redirect?: RequestInit['redirect'] },
    context: CallContext,
    timeoutMs = this.settings.requestTimeoutMs,
  ): Promise<Response> {
    const op = new URL(url).searchParams.get('op') ?? 'unknown';
    return timeRequest(
      webhdfsRequests,
      { op, server: 'namenode' },
      this.exchange(url, init, context, timeoutMs),
    );
  }

  /**
   * One call, to the active NameNode: on a StandbyException, or when it cannot be reached, the
   * same call goes to the next NameNode (each is tried once; the retry policy does the rest).
   * Calls made with a delegation token that the NameNode refuses (expired, unknown) are made once
   * more with a new token.
   */
  private async exchange(
    url: string,
    init: { method: Method; redirect?: RequestInit['redirect'] },
    context: CallContext,
    timeoutMs: number,
  ): Promise<Response> {
    const { origins } = this.settings;
    let tokenRetried = false;
    for (let tried = 1; ; tried += 1) {
      const origin = this.activeOrigin;
      try {
        const response = await this.attempt(url, origin, init, context, timeoutMs);
        this.markActive(origin);
        return response;
      } catch (error) {
        const used = (error as { usedToken?: string }).usedToken;
        if (!tokenRetried && used !== undefined && isTokenRefusal(error)) {
          this.settings.kerberos?.tokens.invalidate(used);
          tokenRetried = true;
          tried -= 1;
          continue;
        }
        if (origins.length > 1 && failsOver(error)) {
          this.moveFrom(origin);
          if (tried < origins.length && outcomeOf(error) === 'not-executed') continue;
        }
        throw error;
      }
    }
  }

  private async attempt(
    url: string,
    origin: string,
    init: { method: Method; redirect?: RequestInit['redirect'] },
    context: CallContext,
    timeoutMs: number,
  ): Promise<Response> {
    const target = new URL(url);
    const base = new URL(origin);
    target.protocol = base.protocol;
    target.host = base.host;
    const headers: Record<string, string> = {};
    let usedToken: string | undefined;
    const kerberos = this.settings.kerberos;
    if (kerberos !== undefined) {
      if (TOKEN_OPS.has(target.searchParams.get('op') ?? '')) {
        headers.authorization = await kerberos.spnego.header(origin);
      } else {
        usedToken = await kerberos.tokens.current();
        target.searchParams.set('delegation', usedToken);
      }
    }
    const signal = AbortSignal.timeout(timeoutMs);
    let response: Response;
    try {
      response = await fetch(target, { ...init, headers, signal });
    } catch (error) {
      // OPEN follows the redirect, so the failing server may be the DataNode.
      const server =
        init.redirect === 'follow' ? `${origin} or the DataNode it redirects to` : serverOf(origin);
      throw networkError(error, context, server, timeoutMs);
    }
    if (response.status >= 200 && response.status < 400) return response;
    let body = '';
    try {
      body = await response.text();
    } catch (error) {
      throw networkError(error, context, serverOf(origin), timeoutMs);
    }
    const mapped = httpError(response.status, body, context);
    if (kerberos !== undefined && usedToken === undefined && response.status === 401) {
      throw new MwiError(
        'MWI_HDFS_AUTH',
        `${mapped.message}: ${origin} refused the Kerberos ticket of ${kerberos.spnego.identity}; ` +
          "check the principal, its keytab, and that the NameNode's HTTP/host principal is in the same realm",
        { cause: mapped, canRetry: false, details: mapped.details },
      );
    }
    if (usedToken !== undefined) Object.defineProperty(mapped, 'usedToken', { value: usedToken });
    throw mapped;
  }

  private markActive(origin: string): void {
    const index = this.settings.origins.indexOf(origin);
    if (index < 0) return;
    const changed = index !== this.active || !this.announced;
    this.active = index;
    if (changed) {
      this.announced = true;
      if (webhdfsNameNodes.hasSubscribers) {
        webhdfsNameNodes.publish({
          nameservice: this.settings.nameservice,
          namenodes: this.settings.origins,
          active: origin,
        });
      }
    }
  }

  private announced = false;

  /** The next NameNode after `origin` becomes the one calls go to (unless another call moved on already). */
  private moveFrom(origin: string): void {
    if (this.activeOrigin === origin) this.active = (this.active + 1) % this.settings.origins.length;
  }

  /** Sends and parses a JSON answer; an unreadable or unexpected body is `MWI_HDFS_REMOTE`. */
  async json<T>(
    url: string,
    init: { method: Method },
    context: CallContext,
    pick: (body: unknown) => T | undefined,
    expected: string,
  ): Promise<T> {
    const response = await this.send(url, init, context);
    let text: string;
    try {
      text = await response.text();
    } catch (error) {
      throw networkError(error, context, serverOf(url), this.settings.requestTimeoutMs);
    }
    let value: T | undefined;
    try {
      value = pick(JSON.parse(text));
    } catch {
      value = undefined;
    }
    if (value === undefined) {
      throw callError(
        'MWI_HDFS_REMOTE',
        `expected ${expected} from the NameNode, got HTTP ${response.status}: ${text.slice(0, 200)}`,
        context,
      );
    }
    return value;
  }

  /**
   * Runs `attempt` with the retry policy. Only errors with `canRetry` are retried, and in
   * `if-not-executed` mode only those whose outcome is `not-executed`. `onAmbiguous` is told
   * when an attempt failed in a way that may have left its effect behind.
   */
  async retrying<T>(
    mode: RetryMode,
    attempt: (attemptNumber: number) => Promise<T>,
    onAmbiguous?: () => void,
  ): Promise<T> {
    const { retries, minTimeoutMs, maxTimeoutMs, factor } = this.settings.retry;
    return pRetry(attempt, {
      retries,
      minTimeout: minTimeoutMs,
      maxTimeout: maxTimeoutMs,
      factor,
      randomize: true,
      shouldRetry: (error) => {
        if (!(error instanceof MwiError) || !error.canRetry) return false;
        return mode === 'idempotent' || outcomeOf(error) === 'not-executed';
      },
      onFailedAttempt: (error) => {
        if (outcomeOf(error) === ('unknown' satisfies Outcome)) onAmbiguous?.();
      },
    });
  }
}

/** Location from a CREATE/APPEND/OPEN step 1: `{"Location": "..."}` (noredirect) or a 307 header. */
export async function redirectLocation(response: Response, context: CallContext): Promise<string> {
  if (response.status === 307 || response.status === 302 || response.status === 303) {
    const location = response.headers.get('location');
    await response.body?.cancel();
    if (location) return location;
  } else {
    const text = await response.text();
    try {
      const location = (JSON.parse(text) as { Location?: unknown }).Location;
      if (typeof location === 'string' && location !== '') return location;
    } catch {
      // reported below
    }
  }
  throw callError(
    'MWI_HDFS_REMOTE',
    `expected a DataNode location from the NameNode, got HTTP ${response.status}`,
    context,
  );
}

/** `http://host:port` of a URL, for messages (never the query: it may hold a token). */
export function serverOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return 'the server';
  }
}

/** Errors after which Hadoop's client tries the other NameNode: a standby, or no answer at all. */
function failsOver(error: unknown): boolean {
  if (!isMwiError(error)) return false;
  if (error.details.exception === 'StandbyException') return true;
  return error.code === 'MWI_HDFS_UNAVAILABLE' && error.details.status === undefined;
}
