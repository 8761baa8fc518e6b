import { readFileSync } from 'node:fs';
import { getCACertificates, setDefaultCACertificates } from 'node:tls';
import { MwiError } from '../errors.js';
import type { FileSystem } from './filesystem.js';
import { LocalFileSystem } from './local.js';
import type { KerberosOptions } from './spnego.js';
import { WebHdfsFileSystem, type WebHdfsOptions } from './webhdfs.js';

/** The `fileSystem` section of a job definition (validated by `src/job/config.ts`). */
export type FileSystemConfig =
  | { type: 'local'; root: string }
  | {
      type: 'hdfs';
      /** WebHDFS address of the NameNode, e.g. `http://127.0.0.1:9870`; or `namenodes`. */
      url?: string | undefined;
      /** HA: every NameNode's WebHDFS address, in the order to try them. */
      namenodes?: string[] | undefined;
      /** HA: the nameservice's name, for messages and metrics. */
      nameservice?: string | undefined;
      /** `user.name` for simple authentication. */
      user: string;
      /** Name of the environment variable holding a delegation token (never the token itself). */
      delegationTokenEnv?: string | undefined;
      /** Kerberos (SPNEGO) from a keytab or a ticket cache; delegation tokens are fetched and renewed. */
      kerberos?: KerberosOptions | undefined;
      /** PEM file of the CAs to trust for https NameNodes and DataNodes. */
      caFile?: string | undefined;
    };

/**
 * Opens the file system a job writes to. For `hdfs` with `delegationTokenEnv`, the token is read
 * from that environment variable now; an unset or empty variable is `MWI_CONFIG_INVALID` naming
 * the key and the variable (never a value).
 *
 * @param tuning WebHDFS options beyond the job's (timeouts, retries, chunk size); for tests and benchmarks.
 */
export async function openFileSystem(
  config: FileSystemConfig,
  env: NodeJS.ProcessEnv = process.env,
  tuning: Omit<WebHdfsOptions, 'url' | 'user' | 'delegationToken'> = {},
): Promise<FileSystem> {
  if (config.type === 'local') return new LocalFileSystem(config.root);
  let delegationToken: string | undefined;
  if (config.delegationTokenEnv !== undefined) {
    delegationToken = env[config.delegationTokenEnv];
    if (delegationToken === undefined || delegationToken === '') {
      throw new MwiError(
        'MWI_CONFIG_INVALID',
        `fileSystem.delegationTokenEnv names the environment variable ${config.delegationTokenEnv}, which is ` +
          'not set or empty; export the HDFS delegation token in it, or remove the key to use simple authentication',
        { details: { key: 'fileSystem.delegationTokenEnv', variable: config.delegationTokenEnv } },
      );
    }
  }
  if (config.caFile !== undefined) trustCaFile(config.caFile);
  const [url, ...standbyUrls] = config.namenodes ?? (config.url === undefined ? [] : [config.url]);
  if (url === undefined) {
    throw new MwiError(
      'MWI_CONFIG_INVALID',
      'fileSystem needs url or namenodes: the NameNode WebHDFS address(es)',
    );
  }
  return new WebHdfsFileSystem({
    ...tuning,
    url,
    standbyUrls,
    ...(config.nameservice === undefined ? {} : { nameservice: config.nameservice }),
    user: config.user,
    ...(delegationToken === undefined ? {} : { delegationToken }),
    ...(config.kerberos === undefined ? {} : { kerberos: config.kerberos }),
  });
}

const trusted = new Set<string>();

/**
 * Adds the CAs in `path` to those this process trusts (fetch and node:https use the default set),
 * beside the system's: https NameNodes redirect to DataNodes, which need the same trust.
 */
function trustCaFile(path: string): void {
  if (trusted.has(path)) return;
  let pem: string;
  try {
    pem = readFileSync(path, 'utf8');
  } catch (error) {
    throw new MwiError(
      'MWI_CONFIG_INVALID',
      `fileSystem.caFile ${path} cannot be read (${(error as Error).message}); give a PEM file of the CA certificates`,
      { cause: error },
    );
  }
  const certificates = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (certificates.length === 0) {
    throw new MwiError(
      'MWI_CONFIG_INVALID',
      `fileSystem.caFile ${path} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`,
    );
  }
  setDefaultCACertificates([...getCACertificates('default'), ...certificates]);
  trusted.add(path);
}
