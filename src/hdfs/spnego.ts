import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { MwiError } from '../errors.js';

const execFileAsync = promisify(execFile);

/**
 * SPNEGO (`Authorization: Negotiate …`) for Kerberized WebHDFS, through MIT Kerberos's GSS-API as
 * the optional `kerberos` package exposes it.
 *
 * Credentials come from a ticket cache (what `kinit` made), or from a keytab: then mwingest runs
 * `kinit -k -t KEYTAB PRINCIPAL` into a private ticket cache of its own, again when the ticket is
 * old or refused. GSS-API reads the cache named by `KRB5CCNAME` (and the configuration named by
 * `KRB5_CONFIG`) from the process environment, so both are set for the whole process before each
 * token is made: one Kerberos identity per mwingest process at a time.
 */
export interface KerberosOptions {
  /** The client principal, e.g. `mwingest@EXAMPLE.ORG`; required with a keytab. */
  principal?: string | undefined;
  /** Keytab file holding the principal's keys. Without it, the ticket cache is used as it is. */
  keytab?: string | undefined;
  /** Ticket cache to use (`FILE:/tmp/krb5cc_123`); default: `KRB5CCNAME`, else the system default. */
  ticketCache?: string | undefined;
  /** krb5.conf to use instead of the system's (`KRB5_CONFIG`). */
  krb5Config?: string | undefined;
  /** Seconds after which a keytab login is renewed by running kinit again. @defaultValue 3600 */
  reloginSeconds?: number | undefined;
}

/** What the `kerberos` package offers that this module uses (it is optional: loaded at run time). */
interface KerberosModule {
  GSS_MECH_OID_SPNEGO: number;
  initializeClient(
    service: string,
    options: { mechOID: number; principal?: string },
  ): Promise<{ step(challenge: string): Promise<string> }>;
}

let kerberosModule: Promise<KerberosModule> | undefined;

async function loadKerberos(): Promise<KerberosModule> {
  // a variable, so that TypeScript does not need the optional package's types
  const name = 'kerberos';
  kerberosModule ??= import(name).then(
    (module: { default?: KerberosModule } & KerberosModule) => module.default ?? module,
    (error: unknown) => {
      kerberosModule = undefined;
      throw new MwiError(
        'MWI_CONFIG_INVALID',
        'fileSystem.kerberos needs the optional npm package "kerberos", which is not installed or not built ' +
          `(${(error as Error).message.split('\n')[0]}); install libkrb5-dev, then run npm install kerberos`,
        { cause: error },
      );
    },
  );
  return kerberosModule;
}

export class SpnegoAuth {
  /** For messages: `mwingest@EXAMPLE.ORG with keytab /etc/…` or `the ticket cache FILE:…`. */
  readonly identity: string;
  private privateCacheDir: string | undefined;
  /** The private ticket cache of a keytab login. */
  private cache: string | undefined;
  private loggedInAt = 0;
  private login: Promise<void> | undefined;

  constructor(private readonly options: KerberosOptions) {
    if (options.keytab !== undefined && (options.principal === undefined || options.principal === '')) {
      throw new MwiError(
        'MWI_CONFIG_INVALID',
        'fileSystem.kerberos.keytab needs fileSystem.kerberos.principal: the principal whose keys the keytab holds',
      );
    }
    const who = options.principal ?? 'the default principal';
    this.identity =
      options.keytab !== undefined
        ? `${who} with keytab ${options.keytab}`
        : `${who} from the ticket cache ${options.ticketCache ?? process.env.KRB5CCNAME ?? '(system default)'}`;
  }

  /**
   * `Negotiate <token>` for the HTTP service at `origin` (service principal `HTTP/<host>`).
   * Fails with `MWI_HDFS_AUTH` naming the principal and the keytab or cache when there is no
   * valid ticket; a keytab login is renewed once and tried again first.
   */
  async header(origin: string): Promise<string> {
    const kerberos = await loadKerberos();
    await this.ensureLogin(false);
    const host = new URL(origin).hostname;
    try {
      return `Negotiate ${await this.token(kerberos, host)}`;
    } catch (error) {
      if (this.options.keytab === undefined) throw this.authError(error, host);
      await this.ensureLogin(true);
      try {
        return `Negotiate ${await this.token(kerberos, host)}`;
      } catch (again) {
        throw this.authError(again, host);
      }
    }
  }

  /** Removes the private ticket cache of a keytab login. */
  close(): void {
    if (this.privateCacheDir !== undefined) rmSync(this.privateCacheDir, { recursive: true, force: true });
    this.privateCacheDir = undefined;
    this.cache = undefined;
    this.login = undefined;
  }

  private async token(kerberos: KerberosModule, host: string): Promise<string> {
    // GSS-API reads these from the environment; another SpnegoAuth of this process may have set others
    if (this.options.krb5Config !== undefined) process.env.KRB5_CONFIG = this.options.krb5Config;
    if (this.cache !== undefined) process.env.KRB5CCNAME = this.cache;
    else if (this.options.ticketCache !== undefined) process.env.KRB5CCNAME = this.options.ticketCache;
    const client = await kerberos.initializeClient(`HTTP@${host}`, { mechOID: kerberos.GSS_MECH_OID_SPNEGO });
    return client.step('');
  }

  private ensureLogin(force: boolean): Promise<void> {
    if (this.options.keytab === undefined) return Promise.resolve();
    const relogin = (this.options.reloginSeconds ?? 3600) * 1000;
    if (!force && this.login !== undefined && Date.now() - this.loggedInAt < relogin) return this.login;
    this.login = this.kinit().catch((error: unknown) => {
      this.login = undefined;
      throw error;
    });
    return this.login;
  }

  private async kinit(): Promise<void> {
    const { principal, keytab } = this.options as { principal: string; keytab: string };
    this.privateCacheDir ??= mkdtempSync(join(tmpdir(), 'mwingest-krb5cc-'));
    const cache = `FILE:${join(this.privateCacheDir, 'ccache')}`;
    try {
      await execFileAsync('kinit', ['-k', '-t', keytab, principal], {
        env: {
          ...process.env,
          KRB5CCNAME: cache,
          ...(this.options.krb5Config === undefined ? {} : { KRB5_CONFIG: this.options.krb5Config }),
        },
        timeout: 30_000,
      });
    } catch (error) {
      const stderr = String((error as { stderr?: unknown }).stderr ?? '').trim();
      const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
      throw new MwiError(
        'MWI_HDFS_AUTH',
        missing
          ? `cannot log in as ${principal} with keytab ${keytab}: the kinit command is not installed (Debian package krb5-user)`
          : `cannot log in as ${principal} with keytab ${keytab}: kinit said "${stderr || (error as Error).message}"; ` +
              'check that the keytab is readable and holds current keys of that principal (klist -k -t KEYTAB), and that the KDC is reachable',
        {
          cause: error,
          canRetry: /Cannot contact any KDC|timed out|Connection refused/i.test(stderr),
          details: { principal, keytab },
        },
      );
    }
    this.cache = cache;
    this.loggedInAt = Date.now();
  }

  private authError(error: unknown, host: string): MwiError {
    const said = (error as Error).message ?? String(error);
    const what =
      this.options.keytab !== undefined
        ? 'the keytab login did not give a usable ticket'
        : `run kinit ${this.options.principal ?? 'PRINCIPAL'} (or set fileSystem.kerberos.keytab)`;
    return new MwiError(
      'MWI_HDFS_AUTH',
      `no valid Kerberos ticket for HTTP/${host} as ${this.identity}: ${said}; ${what}`,
      {
        cause: error,
        // a ticket cache may be renewed by someone else (k5start, a cron kinit): worth another try
        canRetry: true,
        details: {
          principal: this.options.principal,
          keytab: this.options.keytab,
          ticketCache: this.options.ticketCache,
          outcome: 'not-executed',
        },
      },
    );
  }
}
