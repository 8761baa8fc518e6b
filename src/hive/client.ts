import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import hive from 'hive-driver';
import type { Logger } from 'pino';
import { describeError, MwiError } from '../errors.js';
import { hiveRequests, hqlKind, timeRequest } from '../request-timing.js';

/**
 * Runs HQL against HiveServer2 over its Thrift binary protocol (the `hive-driver` package: the
 * TCLIService API that Hive's JDBC driver and beeline use), with SASL PLAIN authentication —
 * what `hive.server2.authentication=NONE` (no check) and `LDAP`/`CUSTOM` (checked) expect.
 *
 * One connection and one session are opened on first use and reused; when Hive goes away (the
 * socket closes, a call times out), the statement in flight fails with `MWI_HIVE` and
 * `canRetry: true`, and the next `execute` opens a new connection and session. A statement Hive refuses (parse or
 * semantic error: a table that does not exist, bad syntax) fails with `canRetry: false`.
 *
 * Statements are logged (debug) by their first 300 characters; the password never is.
 */
export interface HiveClientOptions {
  /** HiveServer2 host. @defaultValue "127.0.0.1" */
  host?: string;
  /** HiveServer2 Thrift binary port. @defaultValue 10000 */
  port?: number;
  /** The session user (SASL PLAIN). @defaultValue the OS user, else "mwingest" */
  username?: string;
  /**
   * Password for SASL PLAIN; pass it from an environment variable, never from a file. Hive's PLAIN
   * server refuses an empty one even when it checks nothing, so the default is what Hive's JDBC
   * driver sends. @defaultValue "anonymous"
   */
  password?: string;
  /** Connect, authenticate and open the session within this. @defaultValue 10000 */
  connectTimeoutMs?: number;
  /** A statement must finish within this (a count(*) runs a MapReduce job). @defaultValue 600000 */
  statementTimeoutMs?: number;
  log?: Logger;
}

export const HIVE_CLIENT_DEFAULTS = {
  host: '127.0.0.1',
  port: 10000,
  connectTimeoutMs: 10_000,
  statementTimeoutMs: 600_000,
} satisfies Partial<HiveClientOptions>;

/** A statement's result: column names in order, and one object per row keyed by column name. */
export interface HiveResult {
  columns: string[];
  rows: Record<string, unknown>[];
}

export interface HiveClient {
  /** `host:port` of the server, for messages. */
  readonly address: string;
  /** Runs one statement and returns its rows (none for DDL). Throws `MWI_HIVE`. */
  execute(statement: string): Promise<HiveResult>;
  /** Closes the session and the connection. The client may be used again afterwards (it reconnects). */
  close(): Promise<void>;
}

/** `host:port` → options; a missing port means 10000. */
export function parseHiveAddress(address: string): { host: string; port: number } {
  const match = /^([A-Za-z0-9.\-_]+|\[[0-9A-Fa-f:]+\])(?::(\d{1,5}))?$/.exec(address);
  const port = match?.[2] === undefined ? HIVE_CLIENT_DEFAULTS.port : Number(match[2]);
  if (match === null || port < 1 || port > 65_535) {
    throw new MwiError(
      'MWI_CONFIG_INVALID',
      `"${address}" is not a HiveServer2 address: expected host:port, e.g. 127.0.0.1:10000`,
    );
  }
  return { host: match[1]!.replace(/^\[|\]$/g, ''), port };
}

export function createHiveClient(options: HiveClientOptions = {}): HiveClient {
  return new ThriftHiveClient(options);
}

type Session = Awaited<ReturnType<InstanceType<typeof hive.HiveClient>['openSession']>>;
type Operation = Awaited<ReturnType<Session['executeStatement']>>;

interface Connection {
  client: InstanceType<typeof hive.HiveClient>;
  session: Session;
  /** Emits `lost` (with the reason) once, when the socket closes or errors. */
  events: EventEmitter;
  lost: Error | undefined;
}

const { TCLIService, TCLIService_types: types } = hive.thrift;
const OPERATION_STATE: Record<number, string> = Object.fromEntries(
  Object.entries(types.TOperationState as Record<string, number>).map(([name, value]) => [value, name]),
);

class ThriftHiveClient implements HiveClient {
  readonly address: string;
  private readonly host: string;
  private readonly port: number;
  private readonly username: string;
  private readonly password: string;
  private readonly connectTimeoutMs: number;
  private readonly statementTimeoutMs: number;
  private readonly log: Logger | undefined;
  private current: Connection | undefined;
  private connecting: Promise<Connection> | undefined;

  constructor(options: HiveClientOptions) {
    this.host = options.host ?? HIVE_CLIENT_DEFAULTS.host;
    this.port = options.port ?? HIVE_CLIENT_DEFAULTS.port;
    this.address = `${this.host}:${this.port}`;
    this.username = options.username ?? (process.env.USER || 'mwingest');
    this.password = options.password || 'anonymous';
    this.connectTimeoutMs = options.connectTimeoutMs ?? HIVE_CLIENT_DEFAULTS.connectTimeoutMs;
    this.statementTimeoutMs = options.statementTimeoutMs ?? HIVE_CLIENT_DEFAULTS.statementTimeoutMs;
    this.log = options.log;
  }

  execute(statement: string): Promise<HiveResult> {
    return timeRequest(hiveRequests, { op: hqlKind(statement) }, this.executeStatement(statement));
  }

  private async executeStatement(statement: string): Promise<HiveResult> {
    const shown = statement.length > 300 ? `${statement.slice(0, 300)}…` : statement;
    const started = Date.now();
    const connection = await this.connection();
    this.log?.debug({ hive: this.address, statement: shown }, 'hive: executing');
    try {
      const result = await this.guard(connection, this.statementTimeoutMs, `running ${shown}`, (signal) =>
        this.run(connection, statement, signal),
      );
      this.log?.debug(
        { hive: this.address, ms: Date.now() - started, rows: result.rows.length },
        'hive: done',
      );
      return result;
    } catch (error) {
      // a lost connection or a timeout leaves the session in an unknown state: start afresh next time
      if (error instanceof MwiError && error.canRetry) this.drop(connection);
      throw error;
    }
  }

  async close(): Promise<void> {
    await this.connecting?.catch(() => {}); // a failed connect leaves nothing to close
    const connection = this.current;
    this.current = undefined;
    if (connection === undefined) return;
    if (connection.lost === undefined) {
      try {
        await withTimeout(connection.session.close(), 5000);
      } catch (error) {
        this.log?.debug(
          { hive: this.address, error: describeError(error) },
          'hive: closing the session failed',
        );
      }
    }
    connection.client.close();
  }

  /** The open connection, or a new one when there is none or it was lost. */
  private async connection(): Promise<Connection> {
    const current = this.current;
    if (current !== undefined && current.lost === undefined) return current;
    if (current !== undefined) this.drop(current);
    this.connecting ??= this.connect().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private drop(connection: Connection): void {
    if (this.current === connection) this.current = undefined;
    connection.client.close();
  }

  private async connect(): Promise<Connection> {
    const client = new hive.HiveClient(TCLIService, types);
    const events = new EventEmitter();
    const connection: Partial<Connection> & { events: EventEmitter; lost: Error | undefined } = {
      events,
      lost: undefined,
    };
    const lose = (reason: Error) => {
      if (connection.lost !== undefined) return;
      connection.lost = reason;
      events.emit('lost', reason);
    };
    // Without a listener an 'error' event would crash the process.
    client.on('error', (error: Error) => lose(error));
    client.on('close', () => lose(new Error('the connection was closed')));
    client.on('timeout', () => lose(new Error('the connection timed out')));
    const open = async () => {
      await client.connect(
        { host: this.host, port: this.port },
        new hive.connections.TcpConnection(),
        new hive.auth.PlainTcpAuthentication({ username: this.username, password: this.password }),
      );
      return client.openSession({
        client_protocol: types.TProtocolVersion.HIVE_CLI_SERVICE_PROTOCOL_V10,
        username: this.username,
        password: this.password,
        // `${…}` in a statement (a schema's doc text) must stay text, never expand to a variable
        configuration: { 'set:hiveconf:hive.variable.substitute': 'false' },
      });
    };
    try {
      connection.session = await withTimeout(open(), this.connectTimeoutMs);
    } catch (error) {
      client.close();
      throw new MwiError(
        'MWI_HIVE',
        `cannot open a HiveServer2 session at ${this.address}: ${describeError(error)}; check that HiveServer2 runs ` +
          'there (scripts/stack up starts the local one) and that --hive names its Thrift binary port',
        { cause: error, canRetry: true, details: { hive: this.address } },
      );
    }
    connection.client = client;
    this.current = connection as Connection;
    this.log?.debug({ hive: this.address, user: this.username }, 'hive: session opened');
    return this.current;
  }

  /** Runs `work`, failing with a retryable MWI_HIVE when the connection is lost or time runs out. */
  private async guard<T>(
    connection: Connection,
    timeoutMs: number,
    what: string,
    work: (signal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    if (connection.lost !== undefined) throw this.lostError(connection.lost, what);
    const abort = new AbortController();
    let onLost: ((reason: Error) => void) | undefined;
    let timer: NodeJS.Timeout | undefined;
    const stop = new Promise<never>((_, reject) => {
      onLost = (reason) => reject(this.lostError(reason, what));
      connection.events.once('lost', onLost);
      timer = setTimeout(() => {
        reject(
          new MwiError(
            'MWI_HIVE',
            `HiveServer2 at ${this.address} did not finish ${what} within ${timeoutMs} ms`,
            {
              canRetry: true,
              details: { hive: this.address, timeoutMs },
            },
          ),
        );
      }, timeoutMs);
    });
    try {
      return await Promise.race([work(abort.signal), stop]);
    } finally {
      abort.abort();
      clearTimeout(timer);
      if (onLost !== undefined) connection.events.off('lost', onLost);
    }
  }

  private lostError(reason: Error, what: string): MwiError {
    return new MwiError(
      'MWI_HIVE',
      `lost the connection to HiveServer2 at ${this.address} while ${what}: ${reason.message}; it will be retried ` +
        'once HiveServer2 is back',
      { cause: reason, canRetry: true, details: { hive: this.address } },
    );
  }

  private async run(connection: Connection, statement: string, signal: AbortSignal): Promise<HiveResult> {
    let operation: Operation;
    try {
      operation = await connection.session.executeStatement(statement, { runAsync: true });
    } catch (error) {
      throw this.statementError(error, statement);
    }
    try {
      await this.waitUntilFinished(operation, statement, signal);
      return await this.fetchAll(operation);
    } finally {
      if (!signal.aborted) {
        await operation.close().catch((error: unknown) => {
          this.log?.debug(
            { hive: this.address, error: describeError(error) },
            'hive: closing an operation failed',
          );
        });
      }
    }
  }

  /** Polls the operation's state, 50 ms at first and up to 1 s apart (hive-driver's own helper never pauses). */
  private async waitUntilFinished(
    operation: Operation,
    statement: string,
    signal: AbortSignal,
  ): Promise<void> {
    let pause = 50;
    for (;;) {
      const status = await operation.status(false);
      const state = OPERATION_STATE[status.operationState ?? -1] ?? 'UKNOWN_STATE';
      if (state === 'FINISHED_STATE') return;
      if (state !== 'INITIALIZED_STATE' && state !== 'RUNNING_STATE' && state !== 'PENDING_STATE') {
        const reason =
          status.errorMessage ?? status.status?.errorMessage ?? state.replace(/_STATE$/, '').toLowerCase();
        throw this.refused(reason, statement, status.sqlState);
      }
      await sleep(pause, undefined, { signal });
      pause = Math.min(pause * 2, 1000);
    }
  }

  private async fetchAll(operation: Operation): Promise<HiveResult> {
    const utils = new hive.HiveUtils(types);
    await utils.fetchAll(operation);
    const schema = operation.getSchema();
    const columns = (schema?.columns ?? []).map((column: { columnName: string }) => column.columnName);
    const rows = schema === null ? [] : (utils.getResult(operation).getValue() as Record<string, unknown>[]);
    return { columns, rows };
  }

  private statementError(error: unknown, statement: string): MwiError {
    if (error instanceof MwiError) return error;
    // hive-driver's StatusError (not an Error subclass): Hive answered with an error status;
    // compile errors end here, since Hive compiles before it runs asynchronously
    if (
      error !== null &&
      typeof error === 'object' &&
      (error as { name?: unknown }).name === 'Status Error'
    ) {
      const { message, code } = error as { message: string; code: number };
      return this.refused(message, statement, undefined, new Error(`${message} (Hive error code ${code})`));
    }
    return new MwiError('MWI_HIVE', `HiveServer2 at ${this.address} failed: ${describeError(error)}`, {
      cause: error,
      canRetry: true,
      details: { hive: this.address },
    });
  }

  /**
   * Hive refused or failed a statement. Parse and semantic errors (SQLSTATE class 42, Hive's
   * `ParseException`/`SemanticException`) will fail the same way again; anything else (an
   * execution or metastore failure) may pass on a later try.
   */
  private refused(reason: string, statement: string, sqlState?: string, cause?: unknown): MwiError {
    const semantic =
      sqlState?.startsWith('42') === true || /\b(ParseException|SemanticException)\b/.test(reason);
    const shown = statement.length > 200 ? `${statement.slice(0, 200)}…` : statement;
    return new MwiError('MWI_HIVE', `Hive refused "${shown}": ${reason}`, {
      cause,
      canRetry: !semantic,
      details: { hive: this.address, ...(sqlState === undefined ? {} : { sqlState }) },
    });
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
