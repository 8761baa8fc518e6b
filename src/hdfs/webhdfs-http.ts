import pRetry from 'p-retry';
import { MwiError } from '../errors.js';
import { timeRequest, webhdfsRequests } from '../request-timing.js';
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
  /** `http(s)://host:port` of the NameNode, without `/webhdfs/v1`. */
  origin: string;
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

export class WebHdfsHttp {
  constructor(readonly settings: HttpSettings) {}

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
    return `${this.settings.origin}${PREFIX}${encodedPath}?${query.join('&')}`;
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

  private async exchange(
    url: string,
    init: { method: Method; redirect?: RequestInit['redirect'] },
    context: CallContext,
    timeoutMs: number,
  ): Promise<Response> {
    const signal = AbortSignal.timeout(timeoutMs);
    let response: Response;
    try {
      response = await fetch(url, { ...init, signal });
    } catch (error) {
      // OPEN follows the redirect, so the failing server may be the DataNode.
      const server =
        init.redirect === 'follow' ? `${serverOf(url)} or the DataNode it redirects to` : serverOf(url);
      throw networkError(error, context, server, timeoutMs);
    }
    if (response.status >= 200 && response.status < 400) return response;
    let body = '';
    try {
      body = await response.text();
    } catch (error) {
      throw networkError(error, context, serverOf(url), timeoutMs);
    }
    throw httpError(response.status, body, context);
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
