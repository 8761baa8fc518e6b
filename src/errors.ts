import { z } from 'zod';

/**
 * Every error mwingest raises on purpose is an {@link MwiError}: a stable `code` a script or an
 * alert can match, a message a person can act on, the underlying `cause`, and whether retrying
 * the same operation can help.
 *
 * A bad message is not an exception: the codec returns it as data (see `src/schemas/codec.ts`), and
 * the error record that keeps it carries an {@link ErrorRecordCode} (src/writers/error-file.ts).
 * These errors are for things that stop an operation: configuration, I/O, protocol, fencing.
 */

/**
 * What each code means for whoever meets it, in one place:
 * - `canRetry`: whether repeating the same operation (an HTTP call, a statement, a connection) may
 *   succeed. `'per error'`: it depends on the cause, and each error says so itself.
 * - `final`: whether a partition task (or a Hive partition add) that failed with this code fails
 *   for good at once. When false the queue tries the task again later with a new lease, even when
 *   the operation itself cannot be repeated (`MWI_FENCED`: this owner's write is refused, the next
 *   owner's is not).
 */
export const ErrorTable = {
  // configuration and usage
  MWI_CONFIG_INVALID: { canRetry: false, final: true },
  MWI_USAGE: { canRetry: false, final: true },
  // schemas and registry
  MWI_REGISTRY_INVALID: { canRetry: false, final: true },
  MWI_SCHEMA_INVALID: { canRetry: false, final: true },
  MWI_UNKNOWN_REVISION: { canRetry: false, final: true },
  MWI_UNKNOWN_SCHEMA: { canRetry: false, final: true },
  MWI_SCHEMA_INCOMPATIBLE: { canRetry: false, final: true },
  // messages (used when a caller asks for an exception instead of a result)
  MWI_MESSAGE_INVALID: { canRetry: false, final: true },
  // file systems
  MWI_FS_NOT_FOUND: { canRetry: false, final: false },
  MWI_FS_ALREADY_EXISTS: { canRetry: false, final: false },
  MWI_FS_PERMISSION: { canRetry: false, final: true },
  MWI_FS_IO: { canRetry: 'per error', final: false },
  MWI_FS_INVALID_PATH: { canRetry: false, final: true },
  MWI_FS_NOT_EMPTY: { canRetry: false, final: false },
  MWI_HDFS_RENAME_FAILED: { canRetry: false, final: true },
  MWI_HDFS_REMOTE: { canRetry: 'per error', final: false },
  MWI_HDFS_UNAVAILABLE: { canRetry: true, final: false },
  // Kerberos: no valid ticket, a keytab that does not log in, a delegation token that cannot be had
  // (a ticket cache renewed meanwhile lets a later attempt succeed)
  MWI_HDFS_AUTH: { canRetry: 'per error', final: false },
  // kafka
  MWI_KAFKA_UNAVAILABLE: { canRetry: true, final: false },
  MWI_KAFKA_PROTOCOL: { canRetry: 'per error', final: false },
  MWI_KAFKA_UNKNOWN_TOPIC: { canRetry: false, final: true },
  MWI_OFFSETS_EXPIRED: { canRetry: false, final: true },
  // the committed offset is past the log end (topic recreated, log truncated): `mwingest offsets reset`
  MWI_OFFSETS_BEYOND_LOG_END: { canRetry: false, final: true },
  // a read reached the log end before its planned end offset: never counted as absent, tried again
  MWI_KAFKA_LOG_ENDED_EARLY: { canRetry: true, final: false },
  // the run
  MWI_RUN_ACCOUNTING: { canRetry: false, final: true },
  MWI_RUN_ERROR_RATIO: { canRetry: false, final: true },
  MWI_RUN_IN_PROGRESS: { canRetry: true, final: false },
  MWI_FENCED: { canRetry: false, final: false },
  // scheduling and workers: a partition whose lease another worker holds, a task stopped before its commit
  MWI_PARTITION_BUSY: { canRetry: true, final: false },
  MWI_TASK_ABORTED: { canRetry: true, final: false },
  // hive
  MWI_HIVE: { canRetry: 'per error', final: false },
  // parquet output: a row group the encoder refused (a record that does not match the schema)
  MWI_PARQUET_ENCODE: { canRetry: false, final: true },
  // a bug: anything thrown that is not an MwiError; retried (attempts are bounded), then reported
  MWI_INTERNAL: { canRetry: 'per error', final: false },
} as const satisfies Record<string, { canRetry: boolean | 'per error'; final: boolean }>;

export type ErrorCode = keyof typeof ErrorTable;

export const ErrorCodes = Object.keys(ErrorTable) as ErrorCode[];

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ErrorTable, value);
}

/**
 * Whether a task that failed with this error fails for good at once: its code says no later attempt
 * can help, and the error itself does not say a retry can (a permission error after a token expired does).
 */
export function isFinal(error: { code: ErrorCode; canRetry: boolean }): boolean {
  return ErrorTable[error.code].final && !error.canRetry;
}

export interface MwiErrorOptions {
  cause?: unknown;
  /**
   * True when repeating the same operation later may succeed (a broker or NameNode was down).
   * Defaults to the code's entry in {@link ErrorTable}; codes marked `'per error'` default to false.
   */
  canRetry?: boolean;
  /** Extra structured facts for logs and JSON output (paths, offsets, keys). Never secrets. */
  details?: Record<string, unknown>;
}

export class MwiError extends Error {
  readonly code: ErrorCode;
  readonly canRetry: boolean;
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: MwiErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'MwiError';
    this.code = code;
    const byCode = ErrorTable[code].canRetry;
    this.canRetry = options.canRetry ?? byCode === true;
    this.details = options.details ?? {};
  }

  toJSON(): Record<string, unknown> {
    return {
      code: this.code,
      message: this.message,
      canRetry: this.canRetry,
      ...(Object.keys(this.details).length > 0 ? { details: this.details } : {}),
      ...(this.cause instanceof Error ? { cause: this.cause.message } : {}),
    };
  }
}

const WireError = z.object({
  code: z.string(),
  message: z.string(),
  canRetry: z.boolean(),
  details: z.record(z.string(), z.unknown()).optional(),
});

/**
 * An error as it crosses a queue: BullMQ keeps a failed job's reason as a string, so the reason is
 * this JSON and {@link decodeError} reads it back with its code, `canRetry` and details intact.
 */
export function encodeError(error: MwiError): string {
  return JSON.stringify({
    code: error.code,
    message: error.message,
    canRetry: error.canRetry,
    ...(Object.keys(error.details).length > 0 ? { details: error.details } : {}),
  });
}

/**
 * The error a queue carried as {@link encodeError} wrote it. Any other text (a job that failed outside
 * mwingest's code: a stalled job, a process killed) is `MWI_INTERNAL` with the text as its message.
 */
export function decodeError(reason: string): MwiError {
  let parsed: z.infer<typeof WireError> | undefined;
  try {
    parsed = WireError.parse(JSON.parse(reason));
  } catch {
    parsed = undefined;
  }
  if (parsed === undefined || !isErrorCode(parsed.code)) {
    return new MwiError('MWI_INTERNAL', reason, { canRetry: true });
  }
  return new MwiError(parsed.code, parsed.message, {
    canRetry: parsed.canRetry,
    ...(parsed.details === undefined ? {} : { details: parsed.details }),
  });
}

/** Anything thrown that is not an MwiError is a bug: `MWI_INTERNAL`, retried (attempts are bounded), then reported. */
export function asMwiError(error: unknown): MwiError {
  if (error instanceof MwiError) return error;
  return new MwiError('MWI_INTERNAL', error instanceof Error ? error.message : String(error), {
    cause: error,
    canRetry: true,
  });
}

export function isMwiError(error: unknown, code?: ErrorCode): error is MwiError {
  return error instanceof MwiError && (code === undefined || error.code === code);
}

/** The message of anything thrown, for reports; keeps the code when there is one. */
export function describeError(error: unknown): string {
  if (error instanceof MwiError) return `${error.code}: ${error.message}`;
  if (error instanceof Error) return error.message;
  return String(error);
}
