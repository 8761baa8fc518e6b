import { type Logger, pino } from 'pino';

/**
 * Structured JSON logs on stderr (stdout is for command output and reports).
 * `MWINGEST_LOG_LEVEL` sets the level; default `info`, and `warn` for one-shot tools.
 */
export function createLogger(name: string, level = process.env.MWINGEST_LOG_LEVEL ?? 'info'): Logger {
  return pino(
    {
      name,
      level,
      base: { pid: process.pid, host: undefined },
      timestamp: pino.stdTimeFunctions.isoTime,
      // Never let a secret reach a log line, whatever object is logged.
      redact: {
        paths: ['*.password', '*.sasl.password', '*.token', '*.delegationToken', 'password', 'token'],
        censor: '[redacted]',
      },
    },
    pino.destination({ fd: 2, sync: true }),
  );
}

export type { Logger };
