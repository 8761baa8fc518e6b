import { type Logger, pino } from 'pino';
import { maskSecrets } from './secrets.js';

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
      // …and no value a job took from the environment, wherever it appears in the line.
      hooks: { streamWrite: maskSecrets },
    },
    pino.destination({ fd: 2, sync: true }),
  );
}

export type { Logger };
