import { isMwiError, MwiError } from '../errors.js';
import { DataNodeUpload, uploadToDataNode } from './datanode-upload.js';
import { DelegationTokenKeeper, tokenFetchError } from './delegation-token.js';
import type { FileStatus, FileSystem, FileWriter } from './filesystem.js';
import { baseName, compareNames, isSameOrBelow, normalizePath } from './path.js';
import { type KerberosOptions, SpnegoAuth } from './spnego.js';
import { type CallContext, callError } from './webhdfs-errors.js';
import { type HttpSettings, type RetryPolicy, redirectLocation, WebHdfsHttp } from './webhdfs-http.js';
import { StreamingFileWriter } from './webhdfs-writer.js';

/** Options of {@link WebHdfsFileSystem}. Only `url` is required; defaults are in {@link WEBHDFS_DEFAULTS}. */
export interface WebHdfsOptions {
  /** The NameNode's HTTP address, e.g. `http://127.0.0.1:9870` (a trailing `/webhdfs/v1` is accepted). */
  url: string;
  /**
   * More NameNodes of the same HA nameservice, after `url`: calls go to the active one and fail over
   * on a StandbyException or when a NameNode cannot be reached. @defaultValue []
   */
  standbyUrls?: string[];
  /** The HA nameservice's name (e.g. `analytics-hadoop`), for messages and metrics. */
  nameservice?: string;
  /**
   * Kerberos: SPNEGO from a keytab or the ticket cache to get delegation tokens, which are renewed
   * and replaced as they age. Excludes `user` and `delegationToken`.
   */
  kerberos?: KerberosOptions;
  /** `user.name` for simple (non-Kerberos) authentication. Not sent when a delegation token is set. @defaultValue "hdfs" */
  user?: string;
  /**
   * A Hadoop delegation token, sent as the `delegation` query parameter. Never logged or put in
   * error messages. @defaultValue undefined (simple authentication with `user`)
   */
  delegationToken?: string;
  /** Milliseconds one NameNode request may take. @defaultValue 30000 */
  requestTimeoutMs?: number;
  /**
   * Milliseconds a DataNode transfer may go without progress: a `write` waiting for the socket,
   * `close` waiting for the DataNode's answer; and the whole of a `readFile`. An idle writer (no
   * `write` calls) is not timed out. @defaultValue 300000
   */
  dataTimeoutMs?: number;
  /** Retries of transient failures (NameNode in safe mode or standby, connection refused, 5xx, timeouts). */
  retry?: Partial<RetryPolicy>;
  /**
   * Use the old RENAME (answers `{"boolean": false}` on failure, moves into an existing directory)
   * instead of RENAME with `renameoptions=NONE`. Only for gateways such as HttpFS that ignore
   * `renameoptions`: the destination is checked first, so a concurrent creator of `dst` can slip in.
   * @defaultValue false
   */
  legacyRename?: boolean;
}

export const WEBHDFS_DEFAULTS = {
  user: 'hdfs',
  requestTimeoutMs: 30_000,
  dataTimeoutMs: 300_000,
  retry: { retries: 5, minTimeoutMs: 200, maxTimeoutMs: 5_000, factor: 2 },
  legacyRename: false,
} satisfies Partial<WebHdfsOptions>;

/** A file's status as WebHDFS sends it (FileStatus JSON schema; fields mwingest uses). */
interface HdfsFileStatus {
  pathSuffix: string;
  type: 'FILE' | 'DIRECTORY' | 'SYMLINK';
  length: number;
  modificationTime: number;
}

/**
 * `FileSystem` over the WebHDFS REST API: `fetch` for NameNode calls, `node:http` for uploads to
 * DataNodes (see `datanode-upload.ts` for why).
 *
 * Writes: `create` streams the whole file in ONE upload to the DataNode (CREATE step 2 with
 * chunked transfer encoding), so memory per writer is a few socket buffers whatever the file's
 * size, and the file is complete on HDFS once `close()` resolves (the DataNode answered 201 after
 * closing it). On the local stack this was faster than sending buffered chunks with APPEND and
 * holds no chunk in memory (numbers in docs/filesystem.md). A broken upload is not resumed: the
 * caller writes the file again.
 *
 * Retries: reads, MKDIRS, DELETE and the NameNode step of CREATE are repeated on transient
 * failures. A step that may have taken effect before its answer was lost is only repeated after
 * checking what it did: a CREATE that must not overwrite by reading the file back, a finished
 * upload by the file's length, a RENAME by checking that `src` is gone and `dst` exists.
 */
export class WebHdfsFileSystem implements FileSystem {
  readonly description: string;
  private readonly http: WebHdfsHttp;
  private readonly legacyRename: boolean;
  private closed = false;

  private readonly spnego: SpnegoAuth | undefined;
  private readonly tokens: DelegationTokenKeeper | undefined;

  constructor(options: WebHdfsOptions) {
    const origins = [options.url, ...(options.standbyUrls ?? [])].map(originOf);
    const origin = origins[0] as string;
    const token = options.delegationToken === '' ? undefined : options.delegationToken;
    const user = options.user ?? WEBHDFS_DEFAULTS.user;
    const scheme = origin.startsWith('https:') ? 'swebhdfs' : 'webhdfs';
    const hostsOf = (list: string[]) => list.map((o) => o.slice(o.indexOf('//') + 2)).join(',');
    const cluster =
      options.nameservice !== undefined ? `${options.nameservice} (${hostsOf(origins)})` : hostsOf(origins);
    if (options.kerberos !== undefined) this.spnego = new SpnegoAuth(options.kerberos);
    this.description = `${scheme}://${cluster} ${
      this.spnego !== undefined
        ? `as ${this.spnego.identity}`
        : token === undefined
          ? `as ${user}`
          : 'with a delegation token'
    }`;
    const settings: HttpSettings = {
      origins,
      nameservice: options.nameservice ?? origin,
      user: token === undefined && this.spnego === undefined ? user : undefined,
      delegationToken: this.spnego === undefined ? token : undefined,
      requestTimeoutMs:
        positive(options.requestTimeoutMs, 'requestTimeoutMs') ?? WEBHDFS_DEFAULTS.requestTimeoutMs,
      dataTimeoutMs: positive(options.dataTimeoutMs, 'dataTimeoutMs') ?? WEBHDFS_DEFAULTS.dataTimeoutMs,
      retry: { ...WEBHDFS_DEFAULTS.retry, ...options.retry },
      where: this.description,
    };
    this.http = new WebHdfsHttp(settings);
    if (this.spnego !== undefined) {
      this.tokens = this.tokenKeeper(this.spnego);
      settings.kerberos = { spnego: this.spnego, tokens: this.tokens };
    }
    this.legacyRename = options.legacyRename ?? WEBHDFS_DEFAULTS.legacyRename;
  }

  /** The NameNode calls go to now (`http://host:port`): the active one, as far as this client knows. */
  get activeNameNode(): string {
    return this.http.activeOrigin;
  }

  /** Delegation tokens fetched and renewals made so far (Kerberos only). */
  get tokenCounts(): { fetched: number; renewed: number } | undefined {
    return this.tokens === undefined ? undefined : { ...this.tokens.counts };
  }

  /**
   * GETDELEGATIONTOKEN: GET /webhdfs/v1/?op=GETDELEGATIONTOKEN (SPNEGO)
   *   → 200 OK, {"Token": {"urlString": "JQAIaG9y…"}}
   * RENEWDELEGATIONTOKEN: PUT /webhdfs/v1/?op=RENEWDELEGATIONTOKEN&token=<TOKEN> (SPNEGO)
   *   → 200 OK, {"long": <new expiry, ms since the epoch>}
   * CANCELDELEGATIONTOKEN: PUT /webhdfs/v1/?op=CANCELDELEGATIONTOKEN&token=<TOKEN> (SPNEGO) → 200 OK
   */
  private tokenKeeper(spnego: SpnegoAuth): DelegationTokenKeeper {
    const context = this.context('get a delegation token for', '/');
    return new DelegationTokenKeeper({
      fetch: () =>
        this.http
          .retrying('idempotent', () =>
            this.http.json(
              this.http.nameNodeUrl('/', 'GETDELEGATIONTOKEN'),
              { method: 'GET' },
              context,
              (body) => {
                const url = (body as { Token?: { urlString?: unknown } } | null)?.Token?.urlString;
                return typeof url === 'string' && url !== '' ? url : undefined;
              },
              '{"Token": {"urlString": …}}',
            ),
          )
          .catch((error: unknown) => {
            throw tokenFetchError(error, spnego.identity);
          }),
      renew: (token) =>
        this.http.retrying('idempotent', () =>
          this.http.json(
            this.http.nameNodeUrl('/', 'RENEWDELEGATIONTOKEN', { token }),
            { method: 'PUT' },
            { ...context, action: 'renew the delegation token for' },
            (body) => {
              const value = (body as { long?: unknown } | null)?.long;
              return typeof value === 'number' && value > 0 ? value : undefined;
            },
            '{"long": …}',
          ),
        ),
      cancel: async (token) => {
        const response = await this.http.send(
          this.http.nameNodeUrl('/', 'CANCELDELEGATIONTOKEN', { token }),
          { method: 'PUT' },
          { ...context, action: 'cancel the delegation token for' },
        );
        await response.body?.cancel();
      },
    });
  }

  async create(path: string, options: { overwrite?: boolean } = {}): Promise<FileWriter> {
    const fsPath = this.check(path);
    const context = this.context('create', fsPath);
    const overwrite = options.overwrite ?? false;
    // The DataNode creates the file only once the upload has started, and reports a refusal after
    // its 100 Continue, too late for this call to see. So look first: the common refusals (the
    // path exists, is a directory, or lies below a file) fail here. The DataNode's own create
    // still refuses a file that appears in between; then write/close fail with the same code.
    await this.refuseUnlessCreatable(fsPath, overwrite, context);
    const startedAt = Date.now();
    let ambiguous = false;
    const upload = await this.http.retrying(
      'idempotent',
      async () => {
        let replace = overwrite;
        if (ambiguous && !overwrite) {
          // An attempt whose outcome is unknown may have created the (still empty) file.
          if (await this.holdsExactly(fsPath, new Uint8Array(0), startedAt - CLOCK_SKEW_ALLOWANCE_MS))
            replace = true;
          else if ((await this.stat(fsPath)) !== null) throw alreadyExists(fsPath, context);
        }
        const location = await this.createLocation(fsPath, replace, context);
        // CREATE, step 2 (DataNode), streamed: PUT <Location>, Transfer-Encoding: chunked
        //   → 100 Continue (sent unasked), then, after the last byte,
        //     201 Created, Location: webhdfs://<HOST>:<PORT>/<PATH>, Content-Length: 0
        //   An existing path without overwrite → 403 FileAlreadyExistsException (after the 100).
        const started = new DataNodeUpload(location, 'PUT', context, this.http.settings.dataTimeoutMs);
        try {
          await started.ready();
        } catch (error) {
          started.destroy();
          throw error;
        }
        return started;
      },
      () => {
        ambiguous = true;
      },
    );
    return new StreamingFileWriter(fsPath, upload, {
      landed: (bytes) => this.hasLength(fsPath, bytes),
      remove: async () => {
        await this.delete(fsPath);
      },
    });
  }

  async writeFile(
    path: string,
    data: Uint8Array | string,
    options: { overwrite?: boolean } = {},
  ): Promise<void> {
    const fsPath = this.check(path);
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    await this.createWith(fsPath, bytes, options.overwrite ?? false);
  }

  async readFile(path: string): Promise<Buffer> {
    const fsPath = this.check(path);
    const context = this.context('read', fsPath);
    // OPEN: GET /webhdfs/v1/<PATH>?op=OPEN[&offset=<LONG>][&length=<LONG>]
    //   NameNode → 307 TEMPORARY_REDIRECT, Location: http://<DATANODE>:<PORT>/webhdfs/v1/<PATH>?op=OPEN...
    //   DataNode → 200 OK, Content-Type: application/octet-stream, the bytes
    // fetch follows the redirect. A directory answers 404 FileNotFoundException ("Path is not a file").
    return this.http.retrying('idempotent', async () => {
      const response = await this.http.send(
        this.http.nameNodeUrl(fsPath, 'OPEN'),
        { method: 'GET', redirect: 'follow' },
        context,
        this.http.settings.dataTimeoutMs,
      );
      try {
        return Buffer.from(await response.arrayBuffer());
      } catch (error) {
        throw callError(
          'MWI_HDFS_UNAVAILABLE',
          `the transfer broke off: ${(error as Error).message}`,
          context,
          {
            cause: error,
            canRetry: true,
            details: { outcome: 'unknown' },
          },
        );
      }
    });
  }

  async rename(src: string, dst: string): Promise<void> {
    const from = this.check(src);
    const to = normalizePath(dst);
    const context = this.context(`rename ${from} to`, to);
    if (from === to)
      throw callError('MWI_FS_ALREADY_EXISTS', 'source and destination are the same path', context);
    if (isSameOrBelow(to, from)) {
      throw callError('MWI_HDFS_RENAME_FAILED', 'the destination lies inside the source', context);
    }
    if (this.legacyRename) return this.renameLegacy(from, to, context);
    let ambiguous = false;
    try {
      // RENAME (rename2, never replaces):
      //   PUT /webhdfs/v1/<PATH>?op=RENAME&destination=<PATH>&renameoptions=NONE
      //   → 200 OK, zero-length body. Failures are RemoteExceptions: FileNotFoundException (source
      //     missing, or "rename destination parent ... not found"), FileAlreadyExistsException
      //     (destination exists, or source = destination), ParentNotDirectoryException
      //     (destination's parent is a file), IOException (destination inside the source).
      await this.http.retrying(
        'idempotent',
        async () => {
          const url = this.http.nameNodeUrl(from, 'RENAME', { destination: to, renameoptions: 'NONE' });
          const response = await this.http.send(url, { method: 'PUT' }, context);
          const text = await response.text();
          // A server that ignores renameoptions runs the old RENAME and answers {"boolean": …}.
          if (text.trim() !== '' && /"boolean"\s*:\s*false/.test(text)) {
            throw await this.diagnoseRename(from, to, context);
          }
        },
        () => {
          ambiguous = true;
        },
      );
    } catch (error) {
      // The answer to an attempt that did rename was lost, and the retry found its result.
      if (
        ambiguous &&
        isMwiError(error) &&
        ['MWI_FS_NOT_FOUND', 'MWI_FS_ALREADY_EXISTS'].includes(error.code)
      ) {
        if ((await this.stat(from)) === null && (await this.stat(to)) !== null) return;
      }
      throw await this.renameError(error, from, to, context);
    }
  }

  async mkdirs(path: string): Promise<void> {
    const fsPath = this.check(path);
    const context = this.context('create directory', fsPath);
    // MKDIRS: PUT /webhdfs/v1/<PATH>?op=MKDIRS[&permission=<OCTAL>]
    //   → 200 OK, {"boolean": true}   (also true when the directory exists)
    //   A file in the way → 403 FileAlreadyExistsException / ParentNotDirectoryException.
    const created = await this.http.retrying('idempotent', () =>
      this.http.json(
        this.http.nameNodeUrl(fsPath, 'MKDIRS'),
        { method: 'PUT' },
        context,
        booleanOf,
        '{"boolean": …}',
      ),
    );
    if (!created) throw callError('MWI_FS_IO', 'the NameNode answered {"boolean": false}', context);
  }

  async list(path: string): Promise<FileStatus[]> {
    const fsPath = this.check(path);
    const context = this.context('list', fsPath);
    // LISTSTATUS: GET /webhdfs/v1/<PATH>?op=LISTSTATUS
    //   → 200 OK, {"FileStatuses": {"FileStatus": [{"pathSuffix": "a.patch", "type": "FILE",
    //               "length": 24930, "modificationTime": 1320171722771, …}, …]}}
    //   On a file: one entry, with pathSuffix "". Missing: 404 FileNotFoundException.
    const entries = await this.http.retrying('idempotent', () =>
      this.http.json(
        this.http.nameNodeUrl(fsPath, 'LISTSTATUS'),
        { method: 'GET' },
        context,
        (body) => {
          const list = (body as { FileStatuses?: { FileStatus?: unknown } }).FileStatuses?.FileStatus;
          return Array.isArray(list) ? (list as HdfsFileStatus[]) : undefined;
        },
        '{"FileStatuses": {"FileStatus": […]}}',
      ),
    );
    if (entries.length === 1 && entries[0]?.pathSuffix === '' && entries[0].type !== 'DIRECTORY') {
      throw callError('MWI_FS_NOT_FOUND', 'it is a file, not a directory', context);
    }
    return entries
      .map((entry) =>
        toStatus(fsPath === '/' ? `/${entry.pathSuffix}` : `${fsPath}/${entry.pathSuffix}`, entry),
      )
      .sort((a, b) => compareNames(a.name, b.name));
  }

  async stat(path: string): Promise<FileStatus | null> {
    try {
      return await this.statOrThrow(this.check(path));
    } catch (error) {
      if (isMwiError(error, 'MWI_FS_NOT_FOUND')) return null;
      throw error;
    }
  }

  /**
   * GETFILESTATUS: GET /webhdfs/v1/<PATH>?op=GETFILESTATUS
   *   → 200 OK, {"FileStatus": {"pathSuffix": "", "type": "FILE"|"DIRECTORY"|"SYMLINK",
   *               "length": 0, "modificationTime": 1320173277227, …}}
   *   Missing: 404 FileNotFoundException; below a file: 403 AccessControlException "(is not a directory)".
   */
  private async statOrThrow(fsPath: string): Promise<FileStatus> {
    const context = this.context('get the status of', fsPath);
    const status = await this.http.retrying('idempotent', () =>
      this.http.json(
        this.http.nameNodeUrl(fsPath, 'GETFILESTATUS'),
        { method: 'GET' },
        context,
        (body) => (body as { FileStatus?: HdfsFileStatus }).FileStatus,
        '{"FileStatus": {…}}',
      ),
    );
    return toStatus(fsPath, status);
  }

  async exists(path: string): Promise<boolean> {
    return (await this.stat(path)) !== null;
  }

  async delete(path: string, options: { recursive?: boolean } = {}): Promise<boolean> {
    const fsPath = this.check(path);
    const context = this.context('delete', fsPath);
    if (fsPath === '/')
      throw callError('MWI_FS_INVALID_PATH', 'refusing to delete the root directory', context);
    let ambiguous = false;
    // DELETE: DELETE /webhdfs/v1/<PATH>?op=DELETE[&recursive=<true|false>]
    //   → 200 OK, {"boolean": true} when deleted, {"boolean": false} when nothing was there.
    //   A non-empty directory without recursive → 403 PathIsNotEmptyDirectoryException.
    const deleted = await this.http.retrying(
      'idempotent',
      () =>
        this.http.json(
          this.http.nameNodeUrl(fsPath, 'DELETE', { recursive: options.recursive === true }),
          { method: 'DELETE' },
          context,
          booleanOf,
          '{"boolean": …}',
        ),
      () => {
        ambiguous = true;
      },
    );
    // After a lost answer, "nothing there" most likely means the lost attempt deleted it.
    return deleted || ambiguous;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.tokens?.close();
    this.spnego?.close();
  }

  /**
   * CREATE with `data` as the whole content (`writeFile`), sent with a Content-Length.
   * A retry after an attempt whose outcome is unknown may meet the file that attempt made: with
   * `overwrite` false, the file counts as ours when its content is exactly `data` and it was
   * modified after the first attempt began (less a clock-skew allowance).
   */
  private async createWith(fsPath: string, data: Uint8Array, overwrite: boolean): Promise<void> {
    const context = this.context('create', fsPath);
    const startedAt = Date.now();
    let ambiguous = false;
    try {
      await this.http.retrying(
        'idempotent',
        async () => {
          const location = await this.createLocation(fsPath, overwrite, context);
          // CREATE, step 2 (DataNode): PUT <Location> with the file data
          //   → (100 Continue, sent by the DataNode unasked) 201 Created,
          //     Location: webhdfs://<HOST>:<PORT>/<PATH>, Content-Length: 0
          //   An existing path without overwrite → 403 FileAlreadyExistsException (after the 100).
          await uploadToDataNode(location, 'PUT', data, context, this.http.settings.dataTimeoutMs);
        },
        () => {
          ambiguous = true;
        },
      );
    } catch (error) {
      if (ambiguous && !overwrite && isMwiError(error, 'MWI_FS_ALREADY_EXISTS')) {
        if (await this.holdsExactly(fsPath, data, startedAt - CLOCK_SKEW_ALLOWANCE_MS)) return;
      }
      if (isMwiError(error, 'MWI_FS_ALREADY_EXISTS') && !overwrite)
        throw alreadyExists(fsPath, context, error);
      throw error;
    }
  }

  /** `MWI_FS_ALREADY_EXISTS` when `fsPath` is a directory, lies below a file, or (without `overwrite`) exists. */
  private async refuseUnlessCreatable(
    fsPath: string,
    overwrite: boolean,
    context: CallContext,
  ): Promise<void> {
    let status: FileStatus | null;
    try {
      status = await this.statOrThrow(fsPath);
    } catch (error) {
      if (isMwiError(error, 'MWI_FS_NOT_FOUND') && error.details.parentIsFile === true) {
        throw callError(
          'MWI_FS_ALREADY_EXISTS',
          `a file is in the way: ${error.details.remoteMessage}`,
          context,
        );
      }
      if (isMwiError(error, 'MWI_FS_NOT_FOUND')) return;
      throw error;
    }
    if (status.type === 'directory')
      throw callError('MWI_FS_ALREADY_EXISTS', 'a directory is there', context);
    if (!overwrite) throw alreadyExists(fsPath, context);
  }

  /**
   * CREATE, step 1 (NameNode; creates nothing yet):
   *   PUT /webhdfs/v1/<PATH>?op=CREATE[&overwrite=<true|false>][&noredirect=true]
   *   → 200 OK, {"Location": "http://<DATANODE>:<PORT>/webhdfs/v1/<PATH>?op=CREATE..."}
   *     (servers without noredirect: 307 TEMPORARY_REDIRECT with a Location header)
   */
  private async createLocation(fsPath: string, overwrite: boolean, context: CallContext): Promise<string> {
    // Not retried here: the callers retry the whole create.
    const step1 = await this.http.send(
      this.http.nameNodeUrl(fsPath, 'CREATE', { overwrite, noredirect: true }),
      { method: 'PUT', redirect: 'manual' },
      context,
    );
    return redirectLocation(step1, context);
  }

  /** True when `fsPath` is a file of exactly `bytes` bytes, waiting briefly for a closing DataNode. */
  private async hasLength(fsPath: string, bytes: number): Promise<boolean> {
    const context = this.context('check the length of', fsPath);
    try {
      await this.http.retrying('idempotent', async () => {
        const length = (await this.stat(fsPath))?.length;
        if (length !== bytes) {
          throw callError('MWI_FS_IO', `holds ${length ?? 'no'} bytes, expected ${bytes}`, context, {
            canRetry: true,
            details: { outcome: 'not-executed' },
          });
        }
      });
      return true;
    } catch {
      return false;
    }
  }

  /** True when `fsPath` is a file whose bytes are `data`, modified at or after `notBefore`. */
  private async holdsExactly(fsPath: string, data: Uint8Array, notBefore: number): Promise<boolean> {
    const status = await this.stat(fsPath);
    if (status === null || status.type !== 'file' || status.length !== data.byteLength) return false;
    if (status.modificationTime < notBefore) return false;
    return data.byteLength === 0 || Buffer.from(data).equals(await this.readFile(fsPath));
  }

  /**
   * Old RENAME: PUT /webhdfs/v1/<PATH>?op=RENAME&destination=<PATH>
   *   → 200 OK, {"boolean": true}; a refused rename is ALSO 200 OK, with {"boolean": false}.
   *   An existing directory as destination is not refused: the source moves into it.
   */
  private async renameLegacy(from: string, to: string, context: CallContext): Promise<void> {
    if ((await this.stat(to)) !== null)
      throw callError('MWI_FS_ALREADY_EXISTS', `${to} already exists`, context);
    let ambiguous = false;
    let renamed: boolean;
    try {
      renamed = await this.http.retrying(
        'idempotent',
        () =>
          this.http.json(
            this.http.nameNodeUrl(from, 'RENAME', { destination: to }),
            { method: 'PUT' },
            context,
            booleanOf,
            '{"boolean": …}',
          ),
        () => {
          ambiguous = true;
        },
      );
    } catch (error) {
      throw await this.renameError(error, from, to, context);
    }
    if (renamed) return;
    if (ambiguous && (await this.stat(from)) === null && (await this.stat(to)) !== null) return;
    throw await this.diagnoseRename(from, to, context);
  }

  /** Says why HDFS refused a rename that it answered with `{"boolean": false}`. */
  private async diagnoseRename(from: string, to: string, context: CallContext): Promise<MwiError> {
    if ((await this.stat(from)) === null) {
      return callError('MWI_FS_NOT_FOUND', `the source ${from} does not exist`, context);
    }
    if ((await this.stat(to)) !== null)
      return callError('MWI_FS_ALREADY_EXISTS', `${to} already exists`, context);
    return callError(
      'MWI_HDFS_RENAME_FAILED',
      'HDFS refused ({"boolean": false}); check that the destination\'s parent exists (create it with mkdirs)',
      context,
    );
  }

  /** Maps a failed rename2 to the interface's codes: a missing or non-directory parent is RENAME_FAILED. */
  private async renameError(
    error: unknown,
    from: string,
    to: string,
    context: CallContext,
  ): Promise<unknown> {
    if (!(error instanceof MwiError)) return error;
    const exception = error.details.exception;
    if (error.code === 'MWI_FS_NOT_FOUND') {
      if ((await this.stat(from)) === null) {
        return callError('MWI_FS_NOT_FOUND', `the source ${from} does not exist`, context, { cause: error });
      }
      return callError(
        'MWI_HDFS_RENAME_FAILED',
        `the destination's parent does not exist or is a file; create it with mkdirs first (${error.details.remoteMessage ?? error.message})`,
        context,
        { cause: error },
      );
    }
    if (exception === 'ParentNotDirectoryException') {
      return callError('MWI_HDFS_RENAME_FAILED', "the destination's parent is a file", context, {
        cause: error,
      });
    }
    if (error.code === 'MWI_FS_ALREADY_EXISTS') {
      return callError('MWI_FS_ALREADY_EXISTS', `${to} already exists`, context, { cause: error });
    }
    if (error.code === 'MWI_HDFS_REMOTE' || error.code === 'MWI_FS_INVALID_PATH') {
      // e.g. "Source … and destination … must both be directories" for a file onto a directory
      if ((await this.stat(to)) !== null) {
        return callError('MWI_FS_ALREADY_EXISTS', `${to} already exists`, context, { cause: error });
      }
      const said = `${error.details.remoteMessage ?? error.message} (${String(exception)})`;
      return callError('MWI_HDFS_RENAME_FAILED', `HDFS refused: ${said}`, context, { cause: error });
    }
    return error;
  }

  private check(path: string): string {
    if (this.closed) {
      throw new MwiError('MWI_USAGE', `${this.description} is closed; open a new file system to use ${path}`);
    }
    return normalizePath(path);
  }

  private context(action: string, path: string): CallContext {
    return { action, path, where: this.description };
  }
}

/** A retried create may meet its own earlier attempt; files modified this long before it began are not ours. */
const CLOCK_SKEW_ALLOWANCE_MS = 5 * 60 * 1000;

function alreadyExists(fsPath: string, context: CallContext, cause?: unknown): MwiError {
  return callError(
    'MWI_FS_ALREADY_EXISTS',
    `${fsPath} already exists; pass { overwrite: true } to replace it`,
    context,
    {
      cause,
    },
  );
}

function booleanOf(body: unknown): boolean | undefined {
  const value = (body as { boolean?: unknown } | null)?.boolean;
  return typeof value === 'boolean' ? value : undefined;
}

function toStatus(fsPath: string, entry: HdfsFileStatus): FileStatus {
  const directory = entry.type === 'DIRECTORY';
  return {
    path: fsPath,
    name: baseName(fsPath),
    type: directory ? 'directory' : 'file',
    length: directory ? 0 : Number(entry.length),
    modificationTime: Number(entry.modificationTime),
  };
}

/** `http://host:port` from the configured URL; anything but http(s) is a configuration error. */
function originOf(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (error) {
    throw new MwiError(
      'MWI_CONFIG_INVALID',
      `WebHDFS url ${JSON.stringify(url)} is not a URL; expected http://host:9870`,
      {
        cause: error,
      },
    );
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new MwiError(
      'MWI_CONFIG_INVALID',
      `WebHDFS url ${JSON.stringify(url)} must start with http:// or https:// (e.g. http://host:9870)`,
    );
  }
  const path = parsed.pathname.replace(/\/+$/, '');
  if (path !== '' && path !== '/webhdfs/v1') {
    throw new MwiError(
      'MWI_CONFIG_INVALID',
      `WebHDFS url ${JSON.stringify(url)} has the path ${path}; give the NameNode address only (e.g. http://host:9870)`,
    );
  }
  return parsed.origin;
}

function positive(value: number | undefined, key: string): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isFinite(value) || value <= 0) {
    throw new MwiError('MWI_CONFIG_INVALID', `WebHDFS option ${key} must be a positive number, got ${value}`);
  }
  return value;
}
