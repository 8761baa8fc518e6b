import { isMwiError, MwiError } from '../errors.js';
import type { DataNodeUpload } from './datanode-upload.js';
import type { FileWriter } from './filesystem.js';
import { outcomeOf } from './webhdfs-errors.js';

/** What the writer asks of its file system when things go wrong. */
export interface WriterHooks {
  /** True when the file holds `bytes` bytes: the upload landed although its answer was lost. */
  landed(bytes: number): Promise<boolean>;
  /** Deletes the partial file (abort). */
  remove(): Promise<void>;
}

/**
 * A `FileWriter` over ONE streaming upload to a DataNode (CREATE step 2, chunked transfer
 * encoding). `write` resolves once the bytes have been handed to the operating system's socket,
 * so a writer holds no bytes of its own, whatever the file's size. `close` ends the
 * body; the DataNode answers `201 Created` once it has closed the file on HDFS.
 *
 * A broken upload is not resumed: `write`/`close` throw (`MWI_HDFS_UNAVAILABLE`, `canRetry`) and
 * the caller writes the file again. If only the final answer was lost, `close` checks the file's
 * length and succeeds when every byte is there.
 */
export class StreamingFileWriter implements FileWriter {
  private written = 0;
  private failure: unknown;
  private state: 'open' | 'closed' | 'failed' | 'aborted' = 'open';

  constructor(
    readonly path: string,
    private readonly upload: DataNodeUpload,
    private readonly hooks: WriterHooks,
  ) {}

  get bytesWritten(): number {
    return this.written;
  }

  async write(chunk: Uint8Array): Promise<void> {
    this.assertUsable('write to');
    if (chunk.byteLength === 0) return;
    try {
      // Resolves once the bytes are with the operating system: no copy needed for the caller to reuse `chunk`.
      await this.upload.write(chunk);
    } catch (error) {
      throw this.failed(error);
    }
    this.written += chunk.byteLength;
  }

  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.assertUsable('close');
    try {
      await this.upload.finish();
    } catch (error) {
      if (outcomeOf(error) === 'unknown' && (await this.hooks.landed(this.written).catch(() => false))) {
        this.state = 'closed';
        return;
      }
      throw this.failed(error);
    }
    this.state = 'closed';
  }

  async abort(): Promise<void> {
    if (this.state === 'closed' || this.state === 'aborted') return;
    const healthy = this.state === 'open';
    this.state = 'aborted';
    // A create refused because the path exists made nothing: what is there belongs to someone else.
    if (isMwiError(this.failure, 'MWI_FS_ALREADY_EXISTS')) return;
    try {
      // The DataNode creates the file after its 100 Continue: a delete sent while the upload is
      // merely cut off could come first. So end the upload, wait for its answer, then delete.
      if (healthy) await this.upload.finish();
    } catch (error) {
      if (isMwiError(error, 'MWI_FS_ALREADY_EXISTS')) return;
      // otherwise: the delete below removes whatever is there
    }
    this.upload.destroy();
    try {
      await this.hooks.remove();
    } catch {
      // Never throws (see FileWriter.abort): the partial file stays, and the caller's cleanup of
      // temp files removes it later.
    }
  }

  private failed(error: unknown): unknown {
    this.failure ??= error;
    this.state = 'failed';
    this.upload.destroy();
    return this.failure;
  }

  private assertUsable(action: string): void {
    if (this.state === 'failed') throw this.failure;
    if (this.state !== 'open') {
      throw new MwiError('MWI_USAGE', `cannot ${action} ${this.path}: the writer is already ${this.state}`);
    }
  }
}
