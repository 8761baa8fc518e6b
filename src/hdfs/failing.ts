import type { MwiError } from '../errors.js';
import type { FileStatus, FileSystem, FileWriter } from './filesystem.js';

/** The calls a planned failure can hit. */
export type FailingMethod =
  | 'create'
  | 'writeFile'
  | 'readFile'
  | 'rename'
  | 'mkdirs'
  | 'list'
  | 'stat'
  | 'exists'
  | 'delete'
  | 'writer.write'
  | 'writer.close';

export interface FailureOptions {
  /**
   * `before`: throw instead of calling the real file system (nothing happened).
   * `after`: make the real call, then throw (it happened, but the caller was not told — a lost answer).
   * @defaultValue "before"
   */
  when?: 'before' | 'after';
  /** How many consecutive calls fail, starting at the n-th. @defaultValue 1 */
  times?: number;
}

interface PlannedFailure {
  from: number;
  until: number;
  error: MwiError;
  when: 'before' | 'after';
}

/**
 * FOR UNIT TESTS ONLY — never used by the service. A `FileSystem` that forwards every call to a
 * real one (normally a `LocalFileSystem` on a temp dir) and can be told to throw a given error at
 * the n-th call of a method, to test how other modules handle failures and crashes at each step.
 *
 *     const fs = new FailingFileSystem(new LocalFileSystem(dir));
 *     fs.failAt('rename', 2, new MwiError('MWI_HDFS_UNAVAILABLE', 'boom', { canRetry: true }));
 *     fs.failAt('writer.close', 1, error, { when: 'after' }); // the file is closed, the caller sees an error
 *
 * Calls are counted per method from the wrapper's creation, 1-based, whatever their arguments.
 * `writer.write` and `writer.close` count the calls on every writer this wrapper created.
 */
export class FailingFileSystem implements FileSystem {
  readonly description: string;
  private readonly counts = new Map<FailingMethod, number>();
  private readonly plans = new Map<FailingMethod, PlannedFailure[]>();

  constructor(private readonly inner: FileSystem) {
    this.description = `${inner.description} (with planned failures, for tests)`;
  }

  /** Makes the `nth` call (1-based, counted from creation) of `method` throw `error`. */
  failAt(method: FailingMethod, nth: number, error: MwiError, options: FailureOptions = {}): this {
    const times = options.times ?? 1;
    const plans = this.plans.get(method) ?? [];
    plans.push({ from: nth, until: nth + times - 1, error, when: options.when ?? 'before' });
    this.plans.set(method, plans);
    return this;
  }

  /** How many times `method` has been called so far (failed calls included). */
  callCount(method: FailingMethod): number {
    return this.counts.get(method) ?? 0;
  }

  /** Forgets planned failures that have not fired yet. */
  clearFailures(): void {
    this.plans.clear();
  }

  async create(path: string, options?: { overwrite?: boolean }): Promise<FileWriter> {
    const writer = await this.call('create', () => this.inner.create(path, options));
    return new FailingFileWriter(writer, this);
  }

  writeFile(path: string, data: Uint8Array | string, options?: { overwrite?: boolean }): Promise<void> {
    return this.call('writeFile', () => this.inner.writeFile(path, data, options));
  }

  readFile(path: string): Promise<Buffer> {
    return this.call('readFile', () => this.inner.readFile(path));
  }

  rename(src: string, dst: string): Promise<void> {
    return this.call('rename', () => this.inner.rename(src, dst));
  }

  mkdirs(path: string): Promise<void> {
    return this.call('mkdirs', () => this.inner.mkdirs(path));
  }

  list(path: string): Promise<FileStatus[]> {
    return this.call('list', () => this.inner.list(path));
  }

  stat(path: string): Promise<FileStatus | null> {
    return this.call('stat', () => this.inner.stat(path));
  }

  exists(path: string): Promise<boolean> {
    return this.call('exists', () => this.inner.exists(path));
  }

  delete(path: string, options?: { recursive?: boolean }): Promise<boolean> {
    return this.call('delete', () => this.inner.delete(path, options));
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  /** Counts the call, and throws when a failure is planned for it. */
  async call<T>(method: FailingMethod, run: () => Promise<T>): Promise<T> {
    const nth = (this.counts.get(method) ?? 0) + 1;
    this.counts.set(method, nth);
    const plan = this.plans.get(method)?.find((p) => nth >= p.from && nth <= p.until);
    if (plan === undefined) return run();
    if (plan.when === 'before') throw plan.error;
    await run();
    throw plan.error;
  }
}

class FailingFileWriter implements FileWriter {
  constructor(
    private readonly inner: FileWriter,
    private readonly fs: FailingFileSystem,
  ) {}

  get path(): string {
    return this.inner.path;
  }

  get bytesWritten(): number {
    return this.inner.bytesWritten;
  }

  write(chunk: Uint8Array): Promise<void> {
    return this.fs.call('writer.write', () => this.inner.write(chunk));
  }

  close(): Promise<void> {
    return this.fs.call('writer.close', () => this.inner.close());
  }

  abort(): Promise<void> {
    return this.inner.abort();
  }
}
