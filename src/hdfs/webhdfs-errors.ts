import { type ErrorCode, MwiError } from '../errors.js';

/**
 * Turns WebHDFS failures into MwiErrors that name the operation and the path.
 *
 * Error responses carry a `RemoteException` JSON body (WebHDFS REST API, "Error Responses"):
 *
 *     HTTP/1.1 404 Not Found
 *     Content-Type: application/json
 *
 *     {"RemoteException": {"exception": "FileNotFoundException",
 *                          "javaClassName": "java.io.FileNotFoundException",
 *                          "message": "File does not exist: /foo/a.patch"}}
 *
 * with IllegalArgumentException → 400, SecurityException → 401, IOException → 403,
 * FileNotFoundException → 404, RuntimeException → 500.
 *
 * Every error also records whether the server can have carried the operation out
 * (`details.outcome`): `not-executed` when the request surely did nothing (connection refused,
 * NameNode in safe mode or standby, a typed refusal), `unknown` when it may have run (timeout,
 * connection reset, a 5xx without an exception name). Retries of non-idempotent steps depend on it.
 */

export type Outcome = 'not-executed' | 'unknown';

/** What a failed call was doing, for messages: `create /a/b on webhdfs://…`. */
export interface CallContext {
  /** A verb phrase: `create`, `list`, `rename /a to`. */
  action: string;
  /** The FileSystem path the call was about. */
  path: string;
  /** The file system, as in `FileSystem.description`. */
  where: string;
}

export interface RemoteException {
  exception: string;
  message: string;
  javaClassName?: string;
}

/** Remote exceptions the NameNode uses to say "not now, nothing was done; try again". */
const RETRIABLE_EXCEPTIONS = new Set([
  'SafeModeException',
  'StandbyException',
  'RetriableException',
  'ObserverRetryOnActiveException',
]);

/** A remote message whose cause, as the NameNode wrote it, is one of {@link RETRIABLE_EXCEPTIONS}. */
function causedByRetriable(message: string): boolean {
  return [...RETRIABLE_EXCEPTIONS].some((name) => message.includes(name));
}

/** The file is held by another writer's lease, or its lease is being recovered: may clear up later. */
const LEASE_EXCEPTIONS = new Set([
  'AlreadyBeingCreatedException',
  'RecoveryInProgressException',
  'LeaseExpiredException',
]);

/** Network errors where the request never reached a server. */
const NOT_CONNECTED_ERRNOS = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

/** Reads `{"RemoteException": {...}}` from a response body, if that is what it holds. */
export function parseRemoteException(body: string): RemoteException | undefined {
  try {
    const parsed = JSON.parse(body) as { RemoteException?: Partial<RemoteException> };
    const remote = parsed?.RemoteException;
    if (remote && typeof remote.exception === 'string') {
      return {
        exception: remote.exception,
        // DataNodes append the Java stack trace: keep the first line.
        message: typeof remote.message === 'string' ? (remote.message.split('\n')[0] ?? '') : '',
        ...(typeof remote.javaClassName === 'string' ? { javaClassName: remote.javaClassName } : {}),
      };
    }
  } catch {
    // not JSON: the caller falls back to the HTTP status
  }
  return undefined;
}

/** Maps an HTTP error response (status + body) to an MwiError. */
export function httpError(status: number, body: string, context: CallContext): MwiError {
  const remote = parseRemoteException(body);
  if (remote) return remoteError(remote, status, context);
  const snippet = body.trim().slice(0, 200).replace(/\s+/g, ' ');
  const text = snippet === '' ? `HTTP ${status}` : `HTTP ${status}: ${snippet}`;
  const details = { ...detailsOf(context), status };
  if (status === 404)
    return fail('MWI_FS_NOT_FOUND', `${context.path} does not exist (${text})`, context, { details });
  if (status === 401 || status === 403) {
    return fail(
      'MWI_FS_PERMISSION',
      `permission denied (${text}); check the user name or delegation token`,
      context,
      {
        details,
      },
    );
  }
  if (status >= 500 || status === 429) {
    return fail('MWI_HDFS_UNAVAILABLE', `the server failed (${text}); retry later`, context, {
      canRetry: true,
      details: { ...details, outcome: 'unknown' satisfies Outcome },
    });
  }
  return fail('MWI_HDFS_REMOTE', `unexpected answer (${text})`, context, { details });
}

/** Maps a `RemoteException` to an MwiError with a stable code. */
export function remoteError(remote: RemoteException, status: number, context: CallContext): MwiError {
  const name = remote.exception;
  const said = `${remote.message || name} (${name})`;
  const details = { ...detailsOf(context), status, exception: name, remoteMessage: remote.message };
  const definite = { ...details, outcome: 'not-executed' satisfies Outcome };
  // A NameNode that has just become active may not have loaded the delegation tokens yet: it refuses
  // the token with a SecurityException whose cause is a RetriableException, as Hadoop's client retries.
  if (RETRIABLE_EXCEPTIONS.has(name) || causedByRetriable(remote.message)) {
    return fail('MWI_HDFS_UNAVAILABLE', `the NameNode cannot serve it now: ${said}; retry later`, context, {
      canRetry: true,
      details: definite,
    });
  }
  switch (name) {
    case 'FileNotFoundException':
      return fail('MWI_FS_NOT_FOUND', said, context, { details: definite });
    case 'FileAlreadyExistsException':
      return fail('MWI_FS_ALREADY_EXISTS', said, context, { details: definite });
    case 'ParentNotDirectoryException':
      return fail('MWI_FS_ALREADY_EXISTS', `a file is in the way: ${said}`, context, { details: definite });
    case 'AccessControlException':
      // HDFS's permission checker reports a path through a file as "<file> (is not a directory)".
      if (/\(is not a directory\)/.test(remote.message)) {
        return fail('MWI_FS_NOT_FOUND', `a parent is a file: ${said}`, context, {
          details: { ...definite, parentIsFile: true },
        });
      }
      return permissionDenied(said, context, definite);
    case 'SecurityException':
    case 'AuthorizationException':
    case 'InvalidToken':
    case 'SecretManager$InvalidToken':
      return permissionDenied(said, context, definite);
    case 'PathIsNotEmptyDirectoryException':
      return fail(
        'MWI_FS_NOT_EMPTY',
        `${said}; pass { recursive: true } to delete its contents too`,
        context,
        {
          details: definite,
        },
      );
    case 'InvalidPathException':
    case 'HadoopIllegalArgumentException':
      return fail('MWI_FS_INVALID_PATH', said, context, { details: definite });
    case 'NSQuotaExceededException':
    case 'DSQuotaExceededException':
    case 'QuotaExceededException':
      return fail('MWI_FS_IO', `over quota: ${said}; free space or raise the directory's quota`, context, {
        details: definite,
      });
  }
  if (LEASE_EXCEPTIONS.has(name)) {
    return fail(
      'MWI_HDFS_REMOTE',
      `${said}; another writer holds the file, or HDFS is recovering an interrupted write (this clears within about a minute)`,
      context,
      { canRetry: true, details: definite },
    );
  }
  return fail('MWI_HDFS_REMOTE', said, context, {
    canRetry: status >= 500,
    details: { ...details, outcome: status >= 500 ? 'unknown' : 'not-executed' },
  });
}

function permissionDenied(said: string, context: CallContext, details: Record<string, unknown>): MwiError {
  return fail(
    'MWI_FS_PERMISSION',
    `permission denied: ${said}; check the HDFS user, the path's owner and mode, or the delegation token`,
    context,
    { details },
  );
}

/** Maps what `fetch` throws (connection refused, reset, timeout) to an MwiError. */
export function networkError(
  error: unknown,
  context: CallContext,
  server: string,
  timeoutMs: number,
): MwiError {
  if (error instanceof MwiError) return error;
  const name = (error as Error | undefined)?.name;
  if (name === 'TimeoutError') {
    return fail(
      'MWI_HDFS_UNAVAILABLE',
      `no answer from ${server} within ${timeoutMs} ms; retry later`,
      context,
      {
        cause: error,
        canRetry: true,
        details: { ...detailsOf(context), outcome: 'unknown' satisfies Outcome },
      },
    );
  }
  const root = rootCause(error);
  const errno = (root as NodeJS.ErrnoException | undefined)?.code;
  const notConnected = errno !== undefined && NOT_CONNECTED_ERRNOS.has(errno);
  const reason = root instanceof Error ? root.message : String(root);
  return fail(
    'MWI_HDFS_UNAVAILABLE',
    notConnected
      ? `cannot reach ${server} (${reason}); is HDFS running and the URL right?`
      : `the connection to ${server} failed (${reason}); retry later`,
    context,
    {
      cause: error,
      canRetry: true,
      details: {
        ...detailsOf(context),
        errno,
        outcome: (notConnected ? 'not-executed' : 'unknown') satisfies Outcome,
      },
    },
  );
}

/** Whether the server may have carried out the failed call. */
export function outcomeOf(error: unknown): Outcome {
  if (error instanceof MwiError && error.details.outcome === 'not-executed') return 'not-executed';
  return 'unknown';
}

export function callError(
  code: ErrorCode,
  why: string,
  context: CallContext,
  options: { cause?: unknown; canRetry?: boolean; details?: Record<string, unknown> } = {},
): MwiError {
  return fail(code, why, context, { ...options, details: { ...detailsOf(context), ...options.details } });
}

function fail(
  code: ErrorCode,
  why: string,
  context: CallContext,
  options: { cause?: unknown; canRetry?: boolean; details: Record<string, unknown> },
): MwiError {
  return new MwiError(code, `cannot ${context.action} ${context.path} on ${context.where}: ${why}`, options);
}

function detailsOf(context: CallContext): Record<string, unknown> {
  return { path: context.path, action: context.action };
}

function rootCause(error: unknown): unknown {
  let current = error;
  for (let depth = 0; depth < 5; depth += 1) {
    const next = (current as { cause?: unknown } | undefined)?.cause;
    if (next === undefined || next === null) break;
    current = next;
  }
  return current;
}
