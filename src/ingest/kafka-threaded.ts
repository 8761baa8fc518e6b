import { Worker } from 'node:worker_threads';
import { type ErrorCode, MwiError } from '../errors.js';
import { unpackBatch } from './kafka-batch.js';
import type { KafkaConnection, KafkaRecord, KafkaSource, PartitionOffsets, ReadRange } from './kafka-client.js';

/**
 * A `KafkaSource` served by a worker thread (kafka-source-thread.ts) that owns the Kafka client.
 * Reading costs the client about as much CPU per record as checking and writing the record costs
 * the ingest; on separate threads the two use both cores (see docs/performance.md). Batches cross
 * as one transferred buffer each (kafka-batch.ts); the thread stays at most two batches ahead of
 * the ingest per partition.
 *
 * This module must not import the client (kafka.ts): the librdkafka binding can be loaded in one
 * thread of a process only, and here that is the worker. Where this thread has loaded it already
 * (a process that also produced, like the demo), reads stay in this thread.
 */
export type SourceRequest =
  | { type: 'read'; id: number; range: ReadRange }
  | { type: 'ack'; id: number }
  | { type: 'abort'; id: number }
  | { type: 'listTopics'; id: number }
  | { type: 'partitionOffsets'; id: number; topic: string }
  | { type: 'groupOffsets'; id: number; group: string; topic: string }
  | { type: 'commitGroupOffsets'; id: number; group: string; topic: string; offsets: { partition: number; offset: bigint }[] }
  | { type: 'close'; id: number };

export interface SerializedError {
  code: string;
  message: string;
  canRetry: boolean;
  details: Record<string, unknown>;
}

export type SourceResponse =
  | { type: 'ready' }
  | { type: 'open-failed'; error: SerializedError }
  | { type: 'batch'; id: number; buffer: ArrayBuffer }
  | { type: 'end'; id: number }
  | { type: 'result'; id: number; value: unknown }
  | { type: 'error'; id: number; error: SerializedError };

type Message = Exclude<SourceResponse, { type: 'ready' } | { type: 'open-failed' }>;

interface Pending {
  queue: Message[];
  wakeUp?: () => void;
}

/** Set by kafka.ts when it loads the binding in a thread. */
const NATIVE_LOADED = Symbol.for('mwingest.rdkafka.loaded');

export async function openThreadedKafkaSource(connection: KafkaConnection): Promise<KafkaSource> {
  if ((globalThis as Record<symbol, unknown>)[NATIVE_LOADED]) {
    const { openKafkaSource } = await import('./kafka.js');
    return openKafkaSource(connection);
  }
  const source = new ThreadedKafkaSource(connection);
  await source.ready;
  return source;
}

function toError(error: SerializedError): MwiError {
  return new MwiError(error.code as ErrorCode, error.message, { canRetry: error.canRetry, details: error.details });
}

class ThreadedKafkaSource implements KafkaSource {
  readonly ready: Promise<void>;
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private failure: Error | undefined;

  constructor(connection: KafkaConnection) {
    const fromSource = import.meta.url.endsWith('.ts');
    const script = new URL(`./kafka-source-thread.${fromSource ? 'ts' : 'js'}`, import.meta.url);
    this.worker = fromSource
      ? // From the TypeScript sources the thread registers tsx first (a worker ignores --import).
        new Worker(
          `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(script.href)}); })`,
          { eval: true, workerData: { connection } },
        )
      : new Worker(script, { workerData: { connection } });
    this.ready = new Promise<void>((resolve, reject) => {
      this.worker.on('message', (message: SourceResponse) => {
        if (message.type === 'ready') {
          this.worker.unref(); // an idle thread must not keep the process alive
          resolve();
        } else if (message.type === 'open-failed') reject(toError(message.error));
        else this.deliver(message);
      });
      this.worker.on('error', (error) => {
        this.fail(error);
        reject(error);
      });
      this.worker.on('exit', (code) => {
        const error = new Error(`the Kafka client thread exited with code ${code}`);
        this.fail(error);
        reject(error);
      });
    });
  }

  listTopics(): Promise<string[]> {
    return this.call({ type: 'listTopics' }) as Promise<string[]>;
  }

  partitionOffsets(topic: string): Promise<PartitionOffsets[]> {
    return this.call({ type: 'partitionOffsets', topic }) as Promise<PartitionOffsets[]>;
  }

  groupOffsets(group: string, topic: string): Promise<Map<number, bigint>> {
    return this.call({ type: 'groupOffsets', group, topic }) as Promise<Map<number, bigint>>;
  }

  async commitGroupOffsets(group: string, topic: string, offsets: { partition: number; offset: bigint }[]): Promise<void> {
    await this.call({ type: 'commitGroupOffsets', group, topic, offsets });
  }

  async *read(range: ReadRange, signal?: AbortSignal): AsyncGenerator<KafkaRecord[]> {
    const id = this.open();
    const pending = this.pending.get(id)!;
    const abort = () => this.worker.postMessage({ type: 'abort', id } satisfies SourceRequest);
    signal?.addEventListener('abort', abort, { once: true });
    this.worker.postMessage({ type: 'read', id, range } satisfies SourceRequest);
    let finished = false;
    try {
      for (;;) {
        const message = await this.next(pending, signal);
        if (message === undefined) return;
        if (message.type === 'end') {
          finished = true;
          return;
        }
        if (message.type === 'error') {
          finished = true;
          throw toError(message.error);
        }
        if (message.type !== 'batch') continue;
        yield unpackBatch(message.buffer);
        this.worker.postMessage({ type: 'ack', id } satisfies SourceRequest);
      }
    } finally {
      if (!finished) abort();
      signal?.removeEventListener('abort', abort);
      this.done(id);
    }
  }

  async close(): Promise<void> {
    if (this.failure === undefined) await this.call({ type: 'close' }).catch(() => undefined);
    await this.worker.terminate();
  }

  private async call(request: { type: SourceRequest['type'] } & Record<string, unknown>): Promise<unknown> {
    const id = this.open();
    const pending = this.pending.get(id)!;
    try {
      this.worker.postMessage({ ...request, id });
      const message = await this.next(pending);
      if (message?.type === 'error') throw toError(message.error);
      return message?.type === 'result' ? message.value : undefined;
    } finally {
      this.done(id);
    }
  }

  private open(): number {
    if (this.failure) throw this.threadFailure();
    const id = this.nextId++;
    this.pending.set(id, { queue: [] });
    this.worker.ref(); // a busy thread keeps the process alive
    return id;
  }

  private done(id: number): void {
    this.pending.delete(id);
    if (this.pending.size === 0) this.worker.unref();
  }

  private async next(pending: Pending, signal?: AbortSignal): Promise<Message | undefined> {
    while (pending.queue.length === 0) {
      if (this.failure) throw this.threadFailure();
      if (signal?.aborted) return undefined;
      await new Promise<void>((resolve) => {
        pending.wakeUp = resolve;
        signal?.addEventListener('abort', () => resolve(), { once: true });
      });
    }
    return pending.queue.shift();
  }

  private deliver(message: Message): void {
    const pending = this.pending.get(message.id);
    if (pending === undefined) return;
    pending.queue.push(message);
    pending.wakeUp?.();
    pending.wakeUp = undefined;
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const pending of this.pending.values()) {
      pending.wakeUp?.();
      pending.wakeUp = undefined;
    }
  }

  private threadFailure(): MwiError {
    return new MwiError('MWI_KAFKA_PROTOCOL', `the Kafka client thread failed: ${this.failure?.message}`, {
      cause: this.failure,
      canRetry: true,
    });
  }
}
