import type { FileStatus, FileSystem, FileWriter } from './filesystem.js';

/**
 * A `FileSystem` whose every change (create, write, close, writeFile, rename, mkdirs, delete) first
 * calls `beforeChange`, which throws to refuse it; reads pass through. The partition task writes
 * through one whose check is its lease: a worker that was paused past its lease (GC pause, SIGSTOP,
 * cut off from Redis) finds the lease expired by its own clock when it wakes, before any of its
 * pending writes reaches the file system. `abort` of an open writer is let through: it only removes
 * that writer's own partial file.
 */
export class GuardedFileSystem implements FileSystem {
  readonly description: string;

  constructor(
    private readonly inner: FileSystem,
    private readonly beforeChange: (action: string, path: string) => void,
  ) {
    this.description = inner.description;
  }

  async create(path: string, options?: { overwrite?: boolean }): Promise<FileWriter> {
    this.beforeChange('create', path);
    const writer = await this.inner.create(path, options);
    const check = this.beforeChange;
    return {
      get path() {
        return writer.path;
      },
      get bytesWritten() {
        return writer.bytesWritten;
      },
      async write(chunk) {
        check('write', path);
        return writer.write(chunk);
      },
      async close() {
        check('close', path);
        return writer.close();
      },
      abort: () => writer.abort(),
    };
  }

  async writeFile(path: string, data: Uint8Array | string, options?: { overwrite?: boolean }): Promise<void> {
    this.beforeChange('write', path);
    return this.inner.writeFile(path, data, options);
  }

  readFile(path: string): Promise<Buffer> {
    return this.inner.readFile(path);
  }

  async rename(src: string, dst: string): Promise<void> {
    this.beforeChange('rename', src);
    return this.inner.rename(src, dst);
  }

  async mkdirs(path: string): Promise<void> {
    this.beforeChange('mkdirs', path);
    return this.inner.mkdirs(path);
  }

  list(path: string): Promise<FileStatus[]> {
    return this.inner.list(path);
  }

  stat(path: string): Promise<FileStatus | null> {
    return this.inner.stat(path);
  }

  exists(path: string): Promise<boolean> {
    return this.inner.exists(path);
  }

  async delete(path: string, options?: { recursive?: boolean }): Promise<boolean> {
    this.beforeChange('delete', path);
    return this.inner.delete(path, options);
  }

  /** The inner file system is shared: closing it is its owner's job. */
  async close(): Promise<void> {}
}
