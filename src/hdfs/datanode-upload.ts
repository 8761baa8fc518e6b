import { type ClientRequest, request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { MwiError } from '../errors.js';
import { timeRequest, webhdfsRequests } from '../request-timing.js';
import { type CallContext, httpError, networkError } from './webhdfs-errors.js';
import { serverOf } from './webhdfs-http.js';

/**
 * One upload of bytes to a DataNode (step 2 of CREATE or APPEND), over `node:http`.
 *
 * Not `fetch`: the DataNode's WebHDFS server answers every CREATE and APPEND with an unsolicited
 * `HTTP/1.1 100 Continue` before its final status (seen on Hadoop 3.4), and undici — Node's
 * `fetch` — destroys the connection on a 100 it did not ask for ("bad response").
 * `node:http` reports the 100 as a `continue` event. The DataNode sends it *before* it creates
 * (or opens) the file on HDFS, so a refusal such as `403 FileAlreadyExistsException` can follow it:
 * every later call reports that answer rather than the broken pipe it leaves behind.
 *
 * Without `contentLength` the body is sent with chunked transfer encoding, so the upload can
 * stream for as long as the caller writes; `write` resolves when the bytes have left for the socket.
 */
export class DataNodeUpload {
  private readonly request: ClientRequest;
  private readonly answer: Promise<void>;
  private failure: MwiError | undefined;
  private answered = false;
  private responding = false;
  private continued = false;
  private readonly waiters = new Set<() => void>();

  constructor(
    private readonly location: string,
    method: 'PUT' | 'POST',
    private readonly context: CallContext,
    private readonly timeoutMs: number,
    contentLength?: number,
  ) {
    const url = new URL(location);
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const headers: Record<string, string> = { 'content-type': 'application/octet-stream' };
    if (contentLength !== undefined) headers['content-length'] = String(contentLength);
    this.request = send(url, { method, headers });
    this.answer = new Promise<void>((resolve, reject) => {
      this.request.on('continue', () => {
        this.continued = true;
        this.wake();
      });
      this.request.on('response', (response) => {
        this.responding = true;
        readAll(response).then(
          (body) => {
            this.answered = true;
            const status = response.statusCode ?? 0;
            if (status >= 200 && status < 300) {
              resolve();
              this.wake();
            } else this.fail(httpError(status, body, this.context), reject);
          },
          (error) => this.fail(this.networkError(error), reject),
        );
      });
      this.request.on('error', (error) => {
        // The DataNode may answer (e.g. 403 FileAlreadyExists) and close before it has read the
        // body; the broken pipe that follows must not hide its answer.
        if (!this.responding) this.fail(this.networkError(error), reject);
      });
    });
    const op = method === 'PUT' ? 'CREATE' : 'APPEND';
    timeRequest(webhdfsRequests, { op, server: 'datanode' }, this.answer).catch(() => undefined); // observed through write/ready/finish
  }

  /**
   * Sends the request headers and waits for the DataNode's `100 Continue` (it is listening and
   * about to create the file) or an early refusal.
   */
  async ready(): Promise<void> {
    this.request.flushHeaders();
    await this.until(() => this.continued || this.answered || this.failure !== undefined);
    if (this.failure) throw this.failure;
  }

  /**
   * Sends bytes; resolves once they have been handed to the operating system, so Node no longer
   * holds a reference to `chunk` (the caller may reuse it, and nothing piles up in memory).
   */
  async write(chunk: Uint8Array): Promise<void> {
    if (this.failure) throw this.failure;
    if (chunk.byteLength === 0) return;
    let flushed = false;
    this.request.write(chunk, () => {
      flushed = true;
      this.wake();
    });
    await this.until(() => flushed || this.failure !== undefined);
    if (this.failure) throw this.failure;
  }

  /** Ends the body and waits for the DataNode's final answer (2xx, or the mapped error). */
  async finish(): Promise<void> {
    if (this.failure) throw this.failure;
    this.request.end();
    await this.until(() => this.answered || this.failure !== undefined);
    await this.answer;
  }

  /** Abandons the upload (the DataNode closes or abandons its side). */
  destroy(): void {
    this.failure ??= new MwiError('MWI_USAGE', `the upload to ${this.context.path} was abandoned`);
    this.request.destroy();
    this.wake();
  }

  /** Waits until `done()` holds; `timeoutMs` without any event fails the upload (TimeoutError). */
  private async until(done: () => boolean): Promise<void> {
    while (!done()) {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((wake) => {
        this.waiters.add(wake);
        timer = setTimeout(() => {
          this.request.destroy(Object.assign(new Error('timed out'), { name: 'TimeoutError' }));
          wake();
        }, this.timeoutMs);
      });
      clearTimeout(timer);
    }
  }

  private wake(): void {
    for (const wake of this.waiters) wake();
    this.waiters.clear();
  }

  private fail(error: MwiError, reject: (error: MwiError) => void): void {
    this.failure ??= error;
    reject(this.failure);
    this.wake();
  }

  private networkError(error: unknown): MwiError {
    return networkError(error, this.context, serverOf(this.location), this.timeoutMs);
  }
}

/** Sends a whole body (CREATE or APPEND step 2) and waits for the DataNode's answer. */
export async function uploadToDataNode(
  location: string,
  method: 'PUT' | 'POST',
  data: Uint8Array,
  context: CallContext,
  timeoutMs: number,
): Promise<void> {
  const upload = new DataNodeUpload(location, method, context, timeoutMs, data.byteLength);
  try {
    await upload.write(data);
    await upload.finish();
  } catch (error) {
    upload.destroy();
    throw error;
  }
}

function readAll(response: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    response.on('data', (chunk: Buffer) => chunks.push(chunk));
    response.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    response.on('error', reject);
  });
}
