/**
 * The secure profile of the real stack (`scripts/stack up --secure`, docs/security.md): a KDC and
 * Kerberized HDFS with two NameNodes in HA. Tests that need it bring it up themselves (a no-op
 * when it runs; about a minute from cold) and read its addresses from `scripts/stack env --secure`.
 */
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);
const STACK = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'scripts', 'stack');

export interface SecureStack {
  realm: string;
  krb5Config: string;
  /** Directory of the keytabs: mwingest.keytab (principal mwingest@REALM), hdfsadmin.keytab. */
  keytabs: string;
  nameservice: string;
  /** WebHDFS URLs of nn1 and nn2. */
  namenodes: string[];
  tokenRenewMs: number;
  tokenMaxMs: number;
  /** The ingest's own principal and its keytab. */
  principal: string;
  keytab: string;
}

let started: Promise<SecureStack> | undefined;

/** Brings the secure profile up (once per test process) and returns where it is. */
export function requireSecureStack(): Promise<SecureStack> {
  started ??= (async () => {
    try {
      await execFileAsync(STACK, ['up', '--secure'], { timeout: 600_000, maxBuffer: 1 << 22 });
    } catch (error) {
      const { stdout, stderr } = error as { stdout?: string; stderr?: string };
      throw new Error(`scripts/stack up --secure failed:\n${stdout ?? ''}\n${stderr ?? ''}`);
    }
    const { stdout } = await execFileAsync(STACK, ['env', '--secure']);
    const env: Record<string, string> = {};
    for (const match of stdout.matchAll(/^export ([A-Z0-9_]+)=(.*)$/gm)) {
      // bash's printf %q: backslash escapes (e.g. `\,`), or the whole value in quotes
      const quoted = /^'(.*)'$/.exec(match[2] as string);
      env[match[1] as string] = quoted ? (quoted[1] as string) : (match[2] as string).replace(/\\(.)/g, '$1');
    }
    const realm = env.MWINGEST_KRB5_REALM as string;
    const keytabs = env.MWINGEST_KEYTABS as string;
    return {
      realm,
      krb5Config: env.MWINGEST_KRB5_CONFIG as string,
      keytabs,
      nameservice: env.MWINGEST_SECURE_NAMESERVICE as string,
      namenodes: (env.MWINGEST_SECURE_WEBHDFS_URLS as string).split(','),
      tokenRenewMs: Number(env.MWINGEST_SECURE_TOKEN_RENEW_MS),
      tokenMaxMs: Number(env.MWINGEST_SECURE_TOKEN_MAX_MS),
      principal: `mwingest@${realm}`,
      keytab: join(keytabs, 'mwingest.keytab'),
    };
  })();
  return started;
}

/** `hdfs haadmin ARGS…` on the secure profile, as its admin principal (a JVM start: seconds). */
export async function haadmin(...args: string[]): Promise<string> {
  const { stdout } = await execFileAsync(STACK, ['haadmin', '--secure', ...args], { timeout: 120_000 });
  return stdout.trim();
}

/** `kinit` into `cache` with the profile's krb5.conf; `lifetime` like kinit's -l (e.g. `5s`). */
export async function kinit(
  stack: SecureStack,
  cache: string,
  options: { lifetime?: string } = {},
): Promise<void> {
  await execFileAsync(
    'kinit',
    [...(options.lifetime ? ['-l', options.lifetime] : []), '-k', '-t', stack.keytab, stack.principal],
    { env: { ...process.env, KRB5_CONFIG: stack.krb5Config, KRB5CCNAME: cache } },
  );
}
