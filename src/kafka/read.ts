/**
 * Reads one bounded offset range of one partition (the contract is `KafkaSource.read` in
 * client.ts) with a consumer of its own: explicit assignment at `from`, no consumer group,
 * nothing committed.
 *
 * How it knows it is done, without ever waiting for offsets that will not come:
 * - a record at or beyond `to - 1` arrived, or
 * - librdkafka's end-of-partition event at a fetch position at or past `to` (a range ending in
 *   transaction markers ends here: the fetch position moves past the markers, no record comes), or
 * - nothing arrived for a while and the broker's watermarks say the position is at the log end.
 * And how it refuses to skip: `auto.offset.reset=error`, plus the same watermark check, because
 * librdkafka reports an offset that expires in the middle of a read only by going silent (seen with
 * librdkafka 2.15: "offset reset … to offset INVALID" is logged, no error reaches the application).
 * A log that ends before `to` (a new leader's high watermark behind, a truncated log, an edited end
 * offset) is an error that can be retried: the offsets the log did not reach are never "absent".
 */
import rdkafka, { type KafkaConsumer, type Message, type Producer } from '@confluentinc/kafka-javascript';
import { MwiError } from '../errors.js';
import type { KafkaConnection, KafkaRecord, ReadRange } from './client.js';
import { connectTimeoutOf, READ_LIMITS, readerConfig } from './config.js';
import { ClientErrorCodes, isClientError, kafkaError, unavailable } from './errors.js';

/** How long one poll waits for the first record; bounds how late an abort is noticed. */
const POLL_MS = 200;
/** After this long without a record or a log end, ask the broker where the log starts and ends. */
const CHECK_AFTER_MS = 1_000;
/** With no record and no log end for this long, the broker is treated as unavailable even without a client error. */
const SILENCE_LIMIT_MS = 60_000;

export interface ReadOptions {
  signal?: AbortSignal;
  /** Called with the consumer's closer once it exists, so the owner can close it (KafkaSource.close). */
  track?: (close: () => Promise<void>) => () => void;
}

interface Watermarks {
  logStart: bigint;
  logEnd: bigint;
}

export async function* readPartitionRange(
  connection: KafkaConnection,
  range: ReadRange,
  options: ReadOptions = {},
): AsyncGenerator<KafkaRecord[]> {
  const { topic, partition, from, to } = range;
  const { signal } = options;
  if (from >= to || signal?.aborted) return;
  const where = `${topic}/${partition} [${from}, ${to})`;
  const timeout = connectTimeoutOf(connection);
  const consumer = new rdkafka.KafkaConsumer(readerConfig(connection));
  let clientTrouble: unknown;
  consumer.on('event.error', (error) => {
    clientTrouble = error;
  });
  /** The fetch position at librdkafka's last end-of-partition event. */
  let logEndAt: bigint | undefined;
  consumer.on('partition.eof', (eof) => {
    if (eof.topic === topic && eof.partition === partition && Number.isSafeInteger(eof.offset))
      logEndAt = BigInt(eof.offset);
  });
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= disconnect(consumer);
    return closing;
  };
  const untrack = options.track?.(close) ?? (() => {});
  const watermarks = () => queryWatermarks(consumer, topic, partition, timeout);
  try {
    const metadata = await connect(consumer, topic, timeout).catch((error) => {
      throw kafkaError(connection, `connecting to read ${where}`, error, topic);
    });
    const partitions = metadata.topics.find((t) => t.name === topic)?.partitions ?? [];
    if (!partitions.some((p) => p.id === partition)) {
      throw new MwiError(
        'MWI_KAFKA_UNKNOWN_TOPIC',
        `cannot read ${where}: Kafka (${connection.brokers.join(',')}) has ${partitions.length === 0 ? `no topic ${topic}` : `no partition ${partition} of ${topic} (it has ${partitions.length})`}`,
        { details: { topic, partition } },
      );
    }
    consumer.setDefaultConsumeTimeout(POLL_MS);
    // Return as soon as records are there instead of waiting POLL_MS to fill a batch (missing from the type declarations).
    (
      consumer as KafkaConsumer & { setDefaultIsTimeoutOnlyForFirstMessage(only: boolean): void }
    ).setDefaultIsTimeoutOnlyForFirstMessage(true);
    consumer.assign([{ topic, partition, offset: Number(from) }]);
    let next = from;
    let lastProgress = Date.now();
    let lastCheck = lastProgress;
    while (!signal?.aborted) {
      let messages: Message[];
      try {
        messages = await consume(consumer, READ_LIMITS.batchRecords);
      } catch (error) {
        if (isClientError(error) && error.code === ClientErrorCodes.ERR__AUTO_OFFSET_RESET) {
          const marks = await watermarks().catch((lookup) => {
            throw kafkaError(
              connection,
              `looking up the log start of ${topic}/${partition} after offset ${next} was refused`,
              lookup,
              topic,
            );
          });
          throw outOfRange(range, next, marks, error);
        }
        throw kafkaError(connection, `reading ${where}`, error, topic);
      }
      const records: KafkaRecord[] = [];
      let done = false;
      for (const message of messages) {
        if (!Number.isSafeInteger(message.offset) || message.offset < 0) {
          throw new MwiError(
            'MWI_KAFKA_PROTOCOL',
            `reading ${where}: the broker returned a message with offset ${message.offset} after offset ${next}, which is not an offset`,
            { canRetry: true, details: { topic, partition, offset: String(message.offset) } },
          );
        }
        const offset = BigInt(message.offset);
        if (message.partition !== partition || offset < next) continue;
        if (offset >= to) {
          done = true;
          break;
        }
        records.push({
          partition,
          offset,
          value: (message.value as Buffer | null | undefined) ?? null,
          key: (message.key as Buffer | null | undefined) ?? null,
          timestamp: message.timestamp ?? 0,
        });
        next = offset + 1n;
        if (next >= to) {
          done = true;
          break;
        }
      }
      if (records.length > 0) {
        lastProgress = Date.now();
        lastCheck = lastProgress;
        clientTrouble = undefined;
        yield records;
      }
      if (done) return;
      // Every record before the log end arrives before the end-of-partition event.
      if (logEndAt !== undefined) {
        if (logEndAt >= to) return;
        throw endedEarly(range, next, logEndAt, 'the fetch position at the end of the partition');
      }
      const now = Date.now();
      if (records.length > 0 || now - lastCheck < CHECK_AFTER_MS) continue;
      lastCheck = now;
      const marks = await watermarks().catch((error) => {
        clientTrouble = error;
        return undefined;
      });
      if (marks !== undefined) {
        if (next < marks.logStart) throw outOfRange(range, next, marks, clientTrouble);
        if (next >= marks.logEnd) {
          if (marks.logEnd >= to) return;
          throw endedEarly(range, next, marks.logEnd, 'the high watermark');
        }
      }
      const silent = now - lastProgress;
      if ((clientTrouble !== undefined && silent > timeout) || silent > Math.max(SILENCE_LIMIT_MS, timeout)) {
        throw unavailable(
          connection,
          `reading ${where} (no record and no log end for ${Math.round(silent / 1000)} s at offset ${next})`,
          clientTrouble,
        );
      }
    }
  } finally {
    untrack();
    await close();
  }
}

/**
 * The log ends before the range does. Nothing proves the offsets in between absent: a new leader's
 * high watermark may still be behind (retry), or the log was truncated or recreated (the next run
 * finds its committed offset past the log end and says so).
 */
function endedEarly(range: ReadRange, next: bigint, logEnd: bigint, what: string): MwiError {
  const { topic, partition, from, to } = range;
  return new MwiError(
    'MWI_KAFKA_LOG_ENDED_EARLY',
    `${topic}/${partition}: the log ends at offset ${logEnd} (${what}), before the end ${to} of the range [${from}, ${to}) ` +
      `being read; offsets ${next}–${to - 1n} were not returned and are not counted as absent. Nothing of the range is ` +
      'committed; a retry reads it again. If it keeps happening, the partition was truncated (unclean leader election) ' +
      'or the topic recreated: `mwingest status` shows its offsets.',
    {
      canRetry: true,
      details: {
        topic,
        partition,
        from: from.toString(),
        to: to.toString(),
        next: next.toString(),
        logEnd: logEnd.toString(),
      },
    },
  );
}

/** The offset to read is outside the log. Below its start means retention removed it: that is a loss, never skipped. */
function outOfRange(range: ReadRange, next: bigint, marks: Watermarks, cause: unknown): MwiError {
  const { topic, partition, from, to } = range;
  const { logStart, logEnd } = marks;
  if (next < logStart) {
    // biome-ignore lint/complexity/useMathMinMax: bigints; Math.min takes numbers
    const lostTo = logStart < to ? logStart : to;
    return new MwiError(
      'MWI_OFFSETS_EXPIRED',
      `${topic}/${partition}: offsets ${next}–${lostTo - 1n} of the range [${from}, ${to}) are no longer in Kafka ` +
        `(the log now starts at ${logStart}): retention removed them before they were read, so ${lostTo - next} messages are lost. ` +
        'Read on from the log start only if that loss is acceptable.',
      {
        cause,
        details: {
          topic,
          partition,
          from: from.toString(),
          to: to.toString(),
          lostFrom: next.toString(),
          lostTo: lostTo.toString(),
          logStart: logStart.toString(),
        },
      },
    );
  }
  return new MwiError(
    'MWI_KAFKA_PROTOCOL',
    `${topic}/${partition}: offset ${next} is beyond the log end ${logEnd} (range [${from}, ${to})): ` +
      'the partition was truncated or recreated since the end offset was taken; check the topic before running again.',
    { cause, details: { topic, partition, next: next.toString(), logEnd: logEnd.toString() } },
  );
}

function queryWatermarks(
  consumer: KafkaConsumer,
  topic: string,
  partition: number,
  timeout: number,
): Promise<Watermarks> {
  return new Promise((resolve, reject) =>
    consumer.queryWatermarkOffsets(topic, partition, timeout, (error, offsets) =>
      error
        ? reject(error)
        : resolve({ logStart: BigInt(offsets.lowOffset), logEnd: BigInt(offsets.highOffset) }),
    ),
  );
}

function connect(consumer: KafkaConsumer, topic: string, timeout: number) {
  return new Promise<rdkafka.Metadata>((resolve, reject) =>
    consumer.connect({ topic, allTopics: false, timeout }, (error, metadata) =>
      error ? reject(error) : resolve(metadata),
    ),
  );
}

function consume(consumer: KafkaConsumer, count: number): Promise<Message[]> {
  return new Promise((resolve, reject) =>
    consumer.consume(count, (error, messages) => (error ? reject(error) : resolve(messages))),
  );
}

/**
 * Disconnects within 5 s. It never throws: the work the client did has its own outcome, which is
 * what the caller needs to see; librdkafka frees the client when the process ends either way.
 */
export function disconnect(client: KafkaConsumer | Producer): Promise<void> {
  if (!client.isConnected()) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, 5_000);
    client.disconnect(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
