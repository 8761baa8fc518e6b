import type { MessageCodec } from '../schemas/codec.js';
import { encodeHeader } from '../schemas/header.js';
import type { SchemaRegistry } from '../schemas/registry.js';
import { createRandom, createRecordGenerator } from './records.js';

/**
 * MediaWiki-like Kafka traffic for the demo, the integration tests and the benchmarks: records of
 * every revision of a schema (old producers keep running after an upgrade), timestamps spread over
 * a range of hours and slightly out of order, and a share of malformed messages of each kind the
 * ingest must turn into error records. Each message says what the ingest should make of it.
 */
export interface TrafficTopic {
  topic: string;
  schemaName: string;
  partitions: number;
}

export interface TrafficOptions {
  topics: TrafficTopic[];
  /** Messages per topic. */
  messagesPerTopic: number;
  /** Record times are drawn from [fromMs, toMs). */
  fromMs: number;
  toMs: number;
  /** Share of malformed messages. @defaultValue 0.01 */
  badRatio?: number;
  /** How far a record's time may run behind its neighbours'. @defaultValue 300 000 (5 minutes) */
  disorderMs?: number;
  /** @defaultValue 1 */
  seed?: number;
  /** Revisions producers write with, per schema name. @defaultValue every revision in the registry */
  revisions?: Record<string, bigint[]>;
}

export const BadMessageKinds = [
  'BAD_MAGIC',
  'SHORT_MESSAGE',
  'UNKNOWN_REVISION',
  'BODY_TRUNCATED',
  'TRAILING_BYTES',
  'MISSING_TIMESTAMP',
] as const;
export type BadMessageKind = (typeof BadMessageKinds)[number];

export interface PlannedMessage {
  topic: string;
  partition: number;
  value: Buffer;
  /** Kafka timestamp (ms): when the message was "produced". */
  timestampMs: number;
  /** The record as written (writer schema), for good messages. */
  record?: Record<string, unknown>;
  revision?: bigint;
  /** The record's own time (ms), for good messages. */
  recordMs?: number;
  /** What the ingest must report for a malformed message. */
  bad?: BadMessageKind;
}

/** A revision id that no registry holds: version 99, made at the end of 2286. */
export const UNKNOWN_REVISION = 999_999_999_999n;

export function planTraffic(
  registry: SchemaRegistry,
  codec: MessageCodec,
  options: TrafficOptions,
): PlannedMessage[] {
  const random = createRandom(options.seed ?? 1);
  const badRatio = options.badRatio ?? 0.01;
  const disorderMs = options.disorderMs ?? 300_000;
  const messages: PlannedMessage[] = [];
  for (const [topicIndex, spec] of options.topics.entries()) {
    const entries = (
      options.revisions?.[spec.schemaName] ?? registry.revisions(spec.schemaName).map((e) => e.revision)
    ).map((revision) => {
      const entry = registry.get(spec.schemaName, revision);
      if (entry === undefined)
        throw new Error(`no revision ${revision} of ${spec.schemaName} in ${registry.root}`);
      return entry;
    });
    if (entries.length === 0) throw new Error(`no schema named ${spec.schemaName} in ${registry.root}`);
    const generators = entries.map((entry, i) =>
      createRecordGenerator(entry.json, (options.seed ?? 1) * 7919 + topicIndex * 31 + i),
    );
    const span = options.toMs - options.fromMs;
    for (let i = 0; i < options.messagesPerTopic; i++) {
      // Time advances through the range; each record lags its position by up to `disorderMs`.
      const position = options.fromMs + Math.floor((span * (i + random())) / options.messagesPerTopic);
      const recordMs = Math.max(options.fromMs, position - Math.floor(random() * disorderMs));
      const partition = Math.floor(random() * spec.partitions);
      const which = Math.floor(random() * entries.length);
      const entry = entries[which]!;
      const record = generators[which]!.next(Math.floor(recordMs / 1000));
      const base = { topic: spec.topic, partition, timestampMs: position };
      if (random() < badRatio) {
        const bad = BadMessageKinds[Math.floor(random() * BadMessageKinds.length)]!;
        messages.push({ ...base, value: malformed(codec, entry.revision, record, bad), bad });
      } else {
        messages.push({
          ...base,
          value: codec.encode(entry.revision, record),
          record,
          revision: entry.revision,
          recordMs: Math.floor(recordMs / 1000) * 1000,
        });
      }
    }
  }
  return messages;
}

function malformed(
  codec: MessageCodec,
  revision: bigint,
  record: Record<string, unknown>,
  kind: BadMessageKind,
): Buffer {
  const good = codec.encode(revision, record);
  switch (kind) {
    case 'BAD_MAGIC': {
      const value = Buffer.from(good);
      value[0] = 0x01;
      return value;
    }
    case 'SHORT_MESSAGE':
      return good.subarray(0, 5);
    case 'UNKNOWN_REVISION':
      return Buffer.concat([encodeHeader(UNKNOWN_REVISION), good.subarray(9)]);
    case 'BODY_TRUNCATED':
      return good.subarray(0, good.length - 1);
    case 'TRAILING_BYTES':
      return Buffer.concat([good, Buffer.from([0x02, 0x04])]);
    case 'MISSING_TIMESTAMP':
      return codec.encode(revision, { ...record, ts: 0 });
  }
}
