import { MwiError } from '../errors.js';
import type { FileSystem } from './filesystem.js';
import { LocalFileSystem } from './local.js';
import { WebHdfsFileSystem, type WebHdfsOptions } from './webhdfs.js';

/** The `fileSystem` section of a job definition (validated by `src/job/config.ts`). */
export type FileSystemConfig =
  | { type: 'local'; root: string }
  | {
      type: 'hdfs';
      /** WebHDFS address of the NameNode, e.g. `http://127.0.0.1:9870`. */
      url: string;
      /** `user.name` for simple authentication. */
      user: string;
      /** Name of the environment variable holding a delegation token (never the token itself). */
      delegationTokenEnv?: string | undefined;
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
  return new WebHdfsFileSystem({
    ...tuning,
    url: config.url,
    user: config.user,
    ...(delegationToken === undefined ? {} : { delegationToken }),
  });
}
