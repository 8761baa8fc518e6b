import { once } from 'node:events';
import type { Stats, WriteStream } from 'node:fs';
import {
  type FileHandle,
  link,
  lstat,
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  rm,
  rmdir,
  stat,
  unlink,
} from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { finished } from 'node:stream/promises';
import { MwiError } from '../errors.js';
import type { FileStatus, FileSystem, FileWriter } from './filesystem.js';
import { baseName, compareNames, isSameOrBelow, normalizePath, parentPath } from './path.js';

/** Bytes a writer buffers before `write` waits for the disk. */
const WRITE_BUFFER_BYTES = 1024 * 1024;
/** Entries of a listing whose status is read at once. */
const LIST_STAT_CONCURRENCY = 64;

/**
 * The embedded default and the unit-test file system: FileSystem path `/a/b` is `<root>/a/b`.
 *
 * Durability: a file is fsynced before `close()` resolves, and the directories whose entries
 * changed (the parent after `create`, `mkdirs`, `rename`, `delete`) are fsynced before the call
 * resolves, so what a resolved call did survives a power loss or `kill -9`.
 *
 * `rename` of a file is `link(src, dst)` + `unlink(src)`: `link` fails with `EEXIST` atomically,
 * so an existing `dst` is never replaced, and `dst` appears complete or not at all. A crash between
 * the two steps leaves both names as hard links to the same, complete data (never a partial file);
 * repeating the rename then fails with `MWI_FS_ALREADY_EXISTS` and the caller deletes `src`.
 * Once linked, `dst` is never removed again: another roll-forward of the same commit may already
 * have seen it and deleted `src` (then our `unlink(src)` finds nothing, and the rename is done).
 * A directory is renamed with `rename(2)` after checking that `dst` is absent, because `rename(2)`
 * would silently replace an empty directory: another process creating `dst` in the microseconds
 * between the check and the rename could lose that empty directory. mwingest has one owner per
 * path, so that window is acceptable here.
 */
export class LocalFileSystem implements FileSystem {
  readonly description: string;
  private readonly root: string;

  /** @param root Local directory that stands for `/`; created by the first write when missing. */
  constructor(root: string) {
    this.root = resolve(root);
    this.description = `local directory ${this.root}`;
  }

  async create(path: string, options: { overwrite?: boolean } = {}): Promise<FileWriter> {
    const fsPath = normalizePath(path);
    const localPath = this.local(fsPath);
    await this.makeDirectories(parentPath(fsPath));
    let handle: FileHandle;
    try {
      handle = await open(localPath, options.overwrite ? 'w' : 'wx', 0o644);
    } catch (error) {
      throw createError(error, fsPath, localPath);
    }
    // `flush`: the stream fsyncs the file before it closes it, so close() means durable.
    const stream = handle.createWriteStream({ highWaterMark: WRITE_BUFFER_BYTES, flush: true });
    return new LocalFileWriter(fsPath, localPath, stream);
  }

  async writeFile(
    path: string,
    data: Uint8Array | string,
    options: { overwrite?: boolean } = {},
  ): Promise<void> {
    const writer = await this.create(path, options);
    try {
      await writer.write(typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
      await writer.close();
    } catch (error) {
      await writer.abort();
      throw error;
    }
  }

  async readFile(path: string): Promise<Buffer> {
    const fsPath = normalizePath(path);
    const localPath = this.local(fsPath);
    try {
      return await readFile(localPath);
    } catch (error) {
      if (errno(error) === 'EISDIR')
        throw notFound(fsPath, `cannot read ${fsPath}: it is a directory, not a file`);
      throw mapError(error, 'read', fsPath, localPath);
    }
  }

  async rename(src: string, dst: string): Promise<void> {
    const from = normalizePath(src);
    const to = normalizePath(dst);
    const localFrom = this.local(from);
    const localTo = this.local(to);
    const fromStats = await lstatOrNull(localFrom, from);
    if (fromStats === null) {
      throw notFound(from, `cannot rename ${from} to ${to}: the source does not exist`);
    }
    if (from === to)
      throw alreadyExists(to, `cannot rename ${from}`, 'source and destination are the same path');
    if (isSameOrBelow(to, from)) throw renameFailed(from, to, 'the destination lies inside the source');
    const toParent = await statOrNull(dirname(localTo), parentPath(to));
    if (toParent === null || !toParent.isDirectory()) {
      throw renameFailed(
        from,
        to,
        `the destination's parent ${parentPath(to)} ${toParent === null ? 'does not exist' : 'is a file'}; ` +
          'create it with mkdirs first',
      );
    }
    try {
      if (fromStats.isDirectory()) {
        if ((await lstatOrNull(localTo, to)) !== null)
          throw alreadyExists(to, `cannot rename ${from} to ${to}`);
        await rename(localFrom, localTo);
      } else {
        await link(localFrom, localTo);
        await unlinkLinkedSource(localFrom, from, to);
      }
    } catch (error) {
      if (error instanceof MwiError) throw error;
      const code = errno(error);
      if (code === 'EEXIST' || code === 'ENOTEMPTY')
        throw alreadyExists(to, `cannot rename ${from} to ${to}`);
      if (code === 'ENOENT') throw notFound(from, `cannot rename ${from} to ${to}: the source disappeared`);
      if (code === 'EACCES' || code === 'EPERM') throw mapError(error, `rename ${from} to`, to, localTo);
      throw renameFailed(from, to, `${code ?? 'error'}: ${(error as Error).message}`, error);
    }
    await fsyncDirectory(dirname(localTo));
    if (dirname(localFrom) !== dirname(localTo)) await fsyncDirectory(dirname(localFrom));
  }

  async mkdirs(path: string): Promise<void> {
    await this.makeDirectories(normalizePath(path));
  }

  async list(path: string): Promise<FileStatus[]> {
    const fsPath = normalizePath(path);
    const localPath = this.local(fsPath);
    let names: string[];
    try {
      names = await readdir(localPath);
    } catch (error) {
      if (errno(error) === 'ENOTDIR')
        throw notFound(fsPath, `cannot list ${fsPath}: it is a file, not a directory`);
      throw mapError(error, 'list', fsPath, localPath);
    }
    const statuses: FileStatus[] = [];
    for (let start = 0; start < names.length; start += LIST_STAT_CONCURRENCY) {
      const batch = names.slice(start, start + LIST_STAT_CONCURRENCY);
      const found = await Promise.all(
        batch.map(async (name) => {
          const childPath = fsPath === '/' ? `/${name}` : `${fsPath}/${name}`;
          const stats = await statOrNull(join(localPath, name), childPath);
          return stats === null ? null : toStatus(childPath, stats);
        }),
      );
      for (const status of found) if (status !== null) statuses.push(status);
    }
    return statuses.sort((a, b) => compareNames(a.name, b.name));
  }

  async stat(path: string): Promise<FileStatus | null> {
    const fsPath = normalizePath(path);
    const stats = await statOrNull(this.local(fsPath), fsPath);
    return stats === null ? null : toStatus(fsPath, stats);
  }

  async exists(path: string): Promise<boolean> {
    return (await this.stat(path)) !== null;
  }

  async delete(path: string, options: { recursive?: boolean } = {}): Promise<boolean> {
    const fsPath = normalizePath(path);
    if (fsPath === '/') {
      throw new MwiError(
        'MWI_FS_INVALID_PATH',
        `refusing to delete the root directory of ${this.description}`,
      );
    }
    const localPath = this.local(fsPath);
    const stats = await lstatOrNull(localPath, fsPath);
    if (stats === null) return false;
    try {
      if (!stats.isDirectory()) await unlink(localPath);
      else if (options.recursive) await rm(localPath, { recursive: true });
      else await rmdir(localPath);
    } catch (error) {
      const code = errno(error);
      if (code === 'ENOENT') return false;
      if (code === 'ENOTEMPTY' || code === 'EEXIST') {
        throw new MwiError(
          'MWI_FS_NOT_EMPTY',
          `cannot delete directory ${fsPath}: it is not empty; pass { recursive: true } to delete its contents too`,
          { details: { path: fsPath } },
        );
      }
      throw mapError(error, 'delete', fsPath, localPath);
    }
    await fsyncDirectory(dirname(localPath));
    return true;
  }

  async close(): Promise<void> {}

  private local(fsPath: string): string {
    return fsPath === '/' ? this.root : join(this.root, fsPath);
  }

  /** `mkdir -p`, then fsyncs the parent of every directory it created. */
  private async makeDirectories(fsPath: string): Promise<void> {
    const localPath = this.local(fsPath);
    let firstCreated: string | undefined;
    try {
      firstCreated = await mkdir(localPath, { recursive: true });
    } catch (error) {
      const code = errno(error);
      if (code === 'EEXIST' || code === 'ENOTDIR') {
        throw alreadyExists(
          fsPath,
          `cannot create directory ${fsPath}`,
          'a file is in the way (the path or one of its parents is a file)',
        );
      }
      throw mapError(error, 'create directory', fsPath, localPath);
    }
    if (firstCreated === undefined) return;
    for (let dir = localPath; ; dir = dirname(dir)) {
      await fsyncDirectory(dirname(dir));
      if (dir === firstCreated || dir === dirname(dir)) break;
    }
  }
}

/**
 * Writes through a `WriteStream` that owns the file handle: the stream fsyncs (`flush`) and
 * closes the handle when it ends. (A stream made with `autoClose: false` keeps a reference on
 * its FileHandle, so `handle.close()` would wait for it forever.)
 */
class LocalFileWriter implements FileWriter {
  private written = 0;
  private failure: MwiError | undefined;
  private state: 'open' | 'closed' | 'failed' | 'aborted' = 'open';

  constructor(
    readonly path: string,
    private readonly localPath: string,
    private readonly stream: WriteStream,
  ) {
    stream.on('error', (error) => {
      this.failure ??= mapError(error, 'write', path, localPath);
    });
  }

  get bytesWritten(): number {
    return this.written;
  }

  async write(chunk: Uint8Array): Promise<void> {
    if (this.failure) throw this.failure;
    this.assertOpen('write to');
    this.written += chunk.byteLength;
    // The stream keeps a reference until the bytes reach the disk; the caller may reuse its buffer.
    if (!this.stream.write(Buffer.from(chunk))) {
      try {
        await once(this.stream, 'drain');
      } catch {
        // the 'error' listener has recorded the failure
      }
    }
    if (this.failure) throw this.failure;
  }

  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.assertOpen('close');
    try {
      this.stream.end();
      await finished(this.stream);
      if (this.failure) throw this.failure;
      await fsyncDirectory(dirname(this.localPath));
      this.state = 'closed';
    } catch (error) {
      this.state = 'failed';
      this.stream.destroy();
      throw (
        this.failure ??
        (error instanceof MwiError ? error : mapError(error, 'close', this.path, this.localPath))
      );
    }
  }

  async abort(): Promise<void> {
    if (this.state === 'closed' || this.state === 'aborted') return;
    this.state = 'aborted';
    this.stream.destroy();
    await finished(this.stream).catch(() => undefined);
    await unlink(this.localPath).catch(() => undefined);
  }

  private assertOpen(action: string): void {
    if (this.state !== 'open') {
      throw new MwiError('MWI_USAGE', `cannot ${action} ${this.path}: the writer is already ${this.state}`);
    }
  }
}

function toStatus(fsPath: string, stats: Stats): FileStatus {
  const directory = stats.isDirectory();
  return {
    path: fsPath,
    name: baseName(fsPath),
    type: directory ? 'directory' : 'file',
    length: directory ? 0 : stats.size,
    modificationTime: Math.floor(stats.mtimeMs),
  };
}

async function statOrNull(localPath: string, fsPath: string): Promise<Stats | null> {
  try {
    return await stat(localPath);
  } catch (error) {
    if (errno(error) === 'ENOENT' || errno(error) === 'ENOTDIR') return null;
    throw mapError(error, 'stat', fsPath, localPath);
  }
}

async function lstatOrNull(localPath: string, fsPath: string): Promise<Stats | null> {
  try {
    return await lstat(localPath);
  } catch (error) {
    if (errno(error) === 'ENOENT' || errno(error) === 'ENOTDIR') return null;
    throw mapError(error, 'stat', fsPath, localPath);
  }
}

/** Makes a directory's entries durable (new, renamed or removed names). */
async function fsyncDirectory(localDir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(localDir, 'r');
    await handle.sync();
  } catch (error) {
    // Some file systems cannot fsync a directory; their entries are as durable as they get.
    const code = errno(error);
    if (code !== 'EINVAL' && code !== 'ENOTSUP' && code !== 'EISDIR' && code !== 'EBADF') {
      throw mapError(error, 'sync directory', localDir, localDir);
    }
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

const TRANSIENT_ERRNOS = new Set([
  'EAGAIN',
  'EBUSY',
  'EINTR',
  'EIO',
  'EMFILE',
  'ENFILE',
  'ENOSPC',
  'ETIMEDOUT',
]);

function errno(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

function createError(error: unknown, fsPath: string, localPath: string): MwiError {
  const code = errno(error);
  if (code === 'EEXIST') {
    return alreadyExists(
      fsPath,
      `cannot create ${fsPath}`,
      `${fsPath} already exists; pass { overwrite: true } to replace it`,
    );
  }
  if (code === 'EISDIR') return alreadyExists(fsPath, `cannot create file ${fsPath}`, 'a directory is there');
  return mapError(error, 'create', fsPath, localPath);
}

/** Maps a Node file-system error to an MwiError that names the FileSystem path. */
function mapError(error: unknown, action: string, fsPath: string, localPath: string): MwiError {
  const code = errno(error);
  const details = { path: fsPath, localPath, errno: code };
  const reason = error instanceof Error ? error.message : String(error);
  switch (code) {
    case 'ENOENT':
    case 'ENOTDIR':
      return new MwiError('MWI_FS_NOT_FOUND', `cannot ${action} ${fsPath}: it does not exist`, {
        cause: error,
        details,
      });
    case 'EEXIST':
      return alreadyExists(fsPath, `cannot ${action} ${fsPath}`);
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return new MwiError(
        'MWI_FS_PERMISSION',
        `cannot ${action} ${fsPath}: permission denied on ${localPath}; check its owner and mode (${code})`,
        { cause: error, details },
      );
    default:
      return new MwiError('MWI_FS_IO', `cannot ${action} ${fsPath}: ${reason}`, {
        cause: error,
        canRetry: code !== undefined && TRANSIENT_ERRNOS.has(code),
        details,
      });
  }
}

function notFound(fsPath: string, message: string): MwiError {
  return new MwiError('MWI_FS_NOT_FOUND', message, { details: { path: fsPath } });
}

function alreadyExists(fsPath: string, action: string, why = `${fsPath} already exists`): MwiError {
  return new MwiError('MWI_FS_ALREADY_EXISTS', `${action}: ${why}`, { details: { path: fsPath } });
}

function renameFailed(from: string, to: string, why: string, cause?: unknown): MwiError {
  return new MwiError('MWI_HDFS_RENAME_FAILED', `cannot rename ${from} to ${to}: ${why}`, {
    cause,
    details: { src: from, dst: to },
  });
}

/**
 * The second step of a file rename. `ENOENT`: someone else (a racing roll-forward) removed `src`
 * after our link, so `dst` holds the data and the rename is done. Any other failure leaves both
 * names on the same data, the state a crash between the two steps leaves: removing `dst` here could
 * lose the file, because whoever removed or will remove `src` trusts `dst`.
 */
async function unlinkLinkedSource(localFrom: string, from: string, to: string): Promise<void> {
  try {
    await unlink(localFrom);
  } catch (error) {
    if (errno(error) === 'ENOENT') return;
    throw renameFailed(
      from,
      to,
      `${to} is in place, but ${from} could not be removed (${errno(error) ?? 'error'}: ${(error as Error).message}); ` +
        `both names now hold the same data: delete ${from} once the cause is fixed`,
      error,
    );
  }
}
