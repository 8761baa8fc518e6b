/**
 * The worker-thread side of `ThreadedKafkaSource` (kafka-threaded.ts): owns the Kafka client (the
 * librdkafka binding loads in one thread per process only) and serves every `KafkaSource` call.
 * Reads run here, so the client's per-record work (each message becomes a JavaScript object with
 * its own Buffer) uses the other core; each batch crosses to the ingest thread packed into one
 * transferred buffer, and at most `MAX_UNACKED` batches per read wait there, bounding memory.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { describeError, isMwiError } from '../errors.js';
import { openKafkaSource } from './kafka.js';
import { packBatch } from './kafka-batch.js';
import type { KafkaConnection, KafkaSource, ReadRange } from './kafka-client.js';
import type { SerializedError, SourceRequest, SourceResponse } from './kafka-threaded.js';

const MAX_UNACKED = 2;
const connection = (workerData as { connection: KafkaConnection }).connection;
const port = parentPort!;

interface ReadState {
  controller: AbortController;
  unacked: number;
  wakeUp?: () => void;
}
const reads = new Map<number, ReadState>();

function post(message: SourceResponse, transfer: ArrayBuffer[] = []): void {
  port.postMessage(message, transfer);
}

function serialize(error: unknown): SerializedError {
  return isMwiError(error)
    ? { code: error.code, message: error.message, canRetry: error.canRetry, details: error.details }
    : { code: 'MWI_KAFKA_PROTOCOL', message: describeError(error), canRetry: false, details: {} };
}

let source: KafkaSource;
try {
  source = await openKafkaSource(connection);
  post({ type: 'ready' });
} catch (error) {
  post({ type: 'open-failed', error: serialize(error) });
  throw error;
}

async function runRead(id: number, range: ReadRange): Promise<void> {
  const state: ReadState = { controller: new AbortController(), unacked: 0 };
  reads.set(id, state);
  try {
    for await (const records of source.read(range, state.controller.signal)) {
      const buffer = packBatch(records, range.partition);
      state.unacked += 1;
      post({ type: 'batch', id, buffer }, [buffer]);
      while (state.unacked >= MAX_UNACKED && !state.controller.signal.aborted) {
        await new Promise<void>((resolve) => {
          state.wakeUp = resolve;
        });
      }
      if (state.controller.signal.aborted) break;
    }
    post({ type: 'end', id });
  } catch (error) {
    post({ type: 'error', id, error: serialize(error) });
  } finally {
    reads.delete(id);
  }
}

async function runCall(id: number, call: () => Promise<unknown>): Promise<void> {
  try {
    post({ type: 'result', id, value: await call() });
  } catch (error) {
    post({ type: 'error', id, error: serialize(error) });
  }
}

port.on('message', (request: SourceRequest) => {
  switch (request.type) {
    case 'read':
      void runRead(request.id, request.range);
      return;
    case 'ack':
    case 'abort': {
      const state = reads.get(request.id);
      if (state === undefined) return;
      if (request.type === 'ack') state.unacked -= 1;
      else state.controller.abort();
      state.wakeUp?.();
      state.wakeUp = undefined;
      return;
    }
    case 'listTopics':
      void runCall(request.id, () => source.listTopics());
      return;
    case 'partitionOffsets':
      void runCall(request.id, () => source.partitionOffsets(request.topic));
      return;
    case 'groupOffsets':
      void runCall(request.id, () => source.groupOffsets(request.group, request.topic));
      return;
    case 'commitGroupOffsets':
      void runCall(request.id, () => source.commitGroupOffsets(request.group, request.topic, request.offsets));
      return;
    case 'close':
      void runCall(request.id, () => source.close());
      return;
  }
});
