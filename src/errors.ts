/**
 * Every error mwingest raises on purpose is an {@link MwiError}: a stable `code` a script or an
 * alert can match, a message a person can act on, the underlying `cause`, and whether retrying
 * the same operation can help.
 *
 * A bad message is not an exception: the codec returns it as data (see `src/schemas/codec.ts`).
 * These errors are for things that stop an operation: configuration, I/O, protocol, fencing.
 */
export const ErrorCodes = [
  // configuration and usage
  'MWI_CONFIG_INVALID',
  'MWI_USAGE',
  // schemas and registry
  'MWI_REGISTRY_INVALID',
  'MWI_SCHEMA_INVALID',
  'MWI_UNKNOWN_REVISION',
  'MWI_UNKNOWN_SCHEMA',
  'MWI_SCHEMA_INCOMPATIBLE',
  // messages (used when a caller asks for an exception instead of a result)
  'MWI_MESSAGE_INVALID',
  // file systems
  'MWI_FS_NOT_FOUND',
  'MWI_FS_ALREADY_EXISTS',
  'MWI_FS_PERMISSION',
  'MWI_FS_IO',
  'MWI_FS_INVALID_PATH',
  'MWI_FS_NOT_EMPTY',
  'MWI_HDFS_RENAME_FAILED',
  'MWI_HDFS_REMOTE',
  'MWI_HDFS_UNAVAILABLE',
  // kafka
  'MWI_KAFKA_UNAVAILABLE',
  'MWI_KAFKA_PROTOCOL',
  'MWI_OFFSETS_EXPIRED',
  // the committed offset is past the log end (topic recreated, log truncated)
  'MWI_OFFSETS_BEYOND_LOG_END',
  // a read reached the log end before its planned end offset (retried, never counted as absent)
  'MWI_KAFKA_LOG_ENDED_EARLY',
  // the run
  'MWI_RUN_ACCOUNTING',
  'MWI_RUN_ERROR_RATIO',
  'MWI_RUN_IN_PROGRESS',
  'MWI_FENCED',
  // hive
  'MWI_HIVE',
  // parquet output: a row group the encoder refused (a record that does not match the schema)
  'MWI_PARQUET_ENCODE',
  // kafka: a topic or partition the broker does not have
  'MWI_KAFKA_UNKNOWN_TOPIC',
  // scheduling and workers: a partition whose lease another worker holds, a task stopped before its commit
  'MWI_PARTITION_BUSY',
  'MWI_TASK_ABORTED',
] as const;

export type ErrorCode = (typeof ErrorCodes)[number];

export interface MwiErrorOptions {
  cause?: unknown;
  /** True when repeating the same operation later may succeed (a broker or NameNode was down). */
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
    this.canRetry = options.canRetry ?? false;
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

export function isMwiError(error: unknown, code?: ErrorCode): error is MwiError {
  return error instanceof MwiError && (code === undefined || error.code === code);
}

/** The message of anything thrown, for reports; keeps the code when there is one. */
export function describeError(error: unknown): string {
  if (error instanceof MwiError) return `${error.code}: ${error.message}`;
  if (error instanceof Error) return error.message;
  return String(error);
}
