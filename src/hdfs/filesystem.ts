/**
 * The one seam between mwingest and where its files live: HDFS through WebHDFS, or a local
 * directory (the embedded default and unit tests). Paths are absolute, `/`-separated, and mean
 * the same on both implementations.
 *
 * What callers may assume, on every implementation:
 * - `create` streams: memory use does not grow with the file's size.
 * - A file written through `create` is complete under its name once `close()` has resolved; if the
 *   writer is aborted or the process dies, the path may hold a partial file or nothing. That is why
 *   the ingest writes under temporary names and renames (see `rename`).
 * - `rename` is atomic: afterwards `dst` exists with the whole content and `src` does not, or
 *   (when it throws) nothing changed. It never replaces an existing `dst`.
 * - Errors are `MwiError`s: `MWI_FS_NOT_FOUND`, `MWI_FS_ALREADY_EXISTS`, `MWI_FS_PERMISSION`,
 *   `MWI_HDFS_RENAME_FAILED`, and `MWI_FS_IO` / `MWI_HDFS_UNAVAILABLE` (with `canRetry`) for the rest.
 */
export interface FileSystem {
  /** A short human description for logs and reports, e.g. `webhdfs://127.0.0.1:9870 as hdfs`. */
  readonly description: string;
  /** WebHDFS: the NameNode calls go to now, the active one as far as this client knows (HA). */
  readonly activeNameNode?: string;

  /**
   * Opens `path` for a streaming write. Missing parent directories are created.
   * Fails with `MWI_FS_ALREADY_EXISTS` when `path` exists, unless `overwrite` is set, and when
   * `path` is a directory or lies below a file. Never replaces a file without `overwrite`: on
   * WebHDFS a file that appears between this call and the start of the upload is reported by the
   * first `write` or by `close` instead (same code), and `abort` then leaves that file alone.
   */
  create(path: string, options?: { overwrite?: boolean }): Promise<FileWriter>;

  /** Writes a whole small file (manifests, offsets, flags) in one call. Same rules as `create`. */
  writeFile(path: string, data: Uint8Array | string, options?: { overwrite?: boolean }): Promise<void>;

  /** Reads a whole file. `MWI_FS_NOT_FOUND` when it does not exist. */
  readFile(path: string): Promise<Buffer>;

  /**
   * Atomically renames a file or directory. The parent of `dst` must exist (see `mkdirs`).
   * Fails with `MWI_FS_ALREADY_EXISTS` when `dst` exists, `MWI_FS_NOT_FOUND` when `src` does not,
   * and `MWI_HDFS_RENAME_FAILED` when the file system refuses for another reason.
   */
  rename(src: string, dst: string): Promise<void>;

  /** Creates a directory and its missing parents; succeeds when it already exists. */
  mkdirs(path: string): Promise<void>;

  /** Lists a directory's direct children, sorted by name. `MWI_FS_NOT_FOUND` when it does not exist. */
  list(path: string): Promise<FileStatus[]>;

  /** The status of `path`, or `null` when nothing is there. */
  stat(path: string): Promise<FileStatus | null>;

  exists(path: string): Promise<boolean>;

  /**
   * Deletes a file, or a directory (only when empty unless `recursive`; otherwise
   * `MWI_FS_NOT_EMPTY`). Returns false when nothing was there — except that after a retry whose
   * first attempt's answer was lost, WebHDFS returns true (that attempt most likely deleted it).
   */
  delete(path: string, options?: { recursive?: boolean }): Promise<boolean>;

  /** Releases connections; the instance must not be used afterwards. */
  close(): Promise<void>;
}

export interface FileStatus {
  /** Absolute path. */
  path: string;
  /** Last path component. */
  name: string;
  type: 'file' | 'directory';
  /** Bytes; 0 for directories. */
  length: number;
  /** Milliseconds since the epoch. */
  modificationTime: number;
}

/** A file being written. Calls must not overlap: await each `write` before the next. */
export interface FileWriter {
  readonly path: string;
  /**
   * Appends bytes; resolves when the bytes are accepted (back-pressure), not necessarily durable.
   * The writer keeps its own copy: the caller may reuse `chunk` once the promise resolves.
   */
  write(chunk: Uint8Array): Promise<void>;
  /** Bytes accepted so far. */
  readonly bytesWritten: number;
  /** Flushes and closes; the file is complete under `path` when this resolves. */
  close(): Promise<void>;
  /** Gives up: releases resources and removes what was written, as far as possible. Never throws. */
  abort(): Promise<void>;
}
