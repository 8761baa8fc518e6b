import { readFile } from 'node:fs/promises';
import { describeError, MwiError } from '../errors.js';
import type { KafkaSource } from '../kafka/client.js';
import { openKafkaSource } from '../kafka/open.js';

/** Where `mwingest validate` reads messages from: a file, stdin, or a range of one Kafka partition. */

/** One message to validate, with where it came from. */
export interface InputMessage {
  /** How messages name this input: a file name, "stdin", "mediawiki_X/0@1234". */
  label: string;
  bytes: Buffer;
  /** True for bytes that came from a file or stdin, where kcat may have added a newline. */
  fromFile: boolean;
  topic?: string;
  partition?: number;
  offset?: bigint;
  /** A Kafka record with a null value. */
  tombstone?: boolean;
}

export type MessageSource = AsyncIterable<InputMessage>;

export async function* fileSource(path: string): MessageSource {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw new MwiError('MWI_FS_IO', `cannot read ${path}: ${describeError(error)}`, { cause: error });
  }
  yield { label: path, bytes, fromFile: true };
}

export async function* stdinSource(stream: NodeJS.ReadableStream = process.stdin): MessageSource {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  yield { label: 'stdin', bytes: Buffer.concat(chunks), fromFile: true };
}

export interface KafkaSelection {
  topic: string;
  partition: number;
  /** An offset, or the first/last messages of the log. */
  offset: bigint | 'earliest' | 'latest';
  count: number;
}

/** Reads `count` messages of one partition starting at `offset` ("latest": the last `count`). Closes the source. */
export async function* kafkaMessages(source: KafkaSource, selection: KafkaSelection): MessageSource {
  const { topic, partition, count } = selection;
  try {
    const partitions = await source.partitionOffsets(topic);
    const log = partitions.find((p) => p.partition === partition);
    if (log === undefined) {
      throw new MwiError(
        'MWI_USAGE',
        `topic ${topic} has no partition ${partition} (it has ${partitions.length === 0 ? 'none: does the topic exist?' : partitions.map((p) => p.partition).join(', ')})`,
      );
    }
    if (log.latest <= log.earliest) {
      throw new MwiError(
        'MWI_USAGE',
        `${topic}/${partition} holds no messages (log start and end are both ${log.latest}): nothing to validate`,
      );
    }
    const from =
      selection.offset === 'earliest'
        ? log.earliest
        : selection.offset === 'latest'
          ? maxBig(log.earliest, log.latest - BigInt(count))
          : selection.offset;
    if (from < log.earliest || from >= log.latest) {
      throw new MwiError(
        'MWI_USAGE',
        `offset ${from} is not in ${topic}/${partition}, which holds offsets ${log.earliest}–${log.latest - 1n}: pick one of those, or earliest/latest`,
      );
    }
    const to = minBig(from + BigInt(count), log.latest);
    for await (const batch of source.read({ topic, partition, from, to })) {
      for (const record of batch) {
        if (record.offset < from || record.offset >= to) continue;
        yield {
          label: `${topic}/${partition}@${record.offset}`,
          bytes: record.value ?? Buffer.alloc(0),
          fromFile: false,
          topic,
          partition,
          offset: record.offset,
          ...(record.value === null ? { tombstone: true } : {}),
        };
      }
    }
  } finally {
    await source.close();
  }
}

export type OpenKafka = (brokers: string[]) => Promise<KafkaSource>;

/** Opens the Kafka source for `--brokers`: the ingest's own client, reading without a consumer group. */
export const openKafkaForValidate: OpenKafka = (brokers) =>
  openKafkaSource({ brokers, clientId: 'mwingest-validate' });

function maxBig(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}

function minBig(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}
