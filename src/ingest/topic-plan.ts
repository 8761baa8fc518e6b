import { describeError, MwiError } from '../errors.js';
import type { FileSystem, FileWriter } from '../hdfs/filesystem.js';
import { HOUR_MS, hourKey, hourOf, hourStartMs, parseHourKey } from '../hours/hour.js';
import { compilePathTemplate } from '../hours/path-template.js';
import { createTimestampParser, type TimestampParser } from '../hours/timestamp.js';
import { type EffectiveDataset, effectiveDataset, type LoadedJob } from '../job/config.js';
import type { DecodeResult, IngestDecodeResult, MessageCodec } from '../schemas/codec.js';
import type { SchemaEntry, SchemaRegistry } from '../schemas/registry.js';
import { schemaNameOfTopic } from '../schemas/registry.js';
import { createAvroContainerWriter } from '../writers/avro-container.js';
import type { RecordFileWriter } from '../writers/record-writer.js';
import { loadCompletenessState } from './completeness-state.js';
import type { StatePaths } from './state-store.js';

/** What a topic plan is built from (a run's resources have all of it). */
export interface TopicPlanSources {
  loaded: LoadedJob;
  registry: SchemaRegistry;
  fs: FileSystem;
  paths: StatePaths;
}

/** Everything about one topic that stays fixed during a run. */
export interface TopicPlan {
  topic: string;
  schemaName: string;
  dataset: EffectiveDataset;
  /** The reader schema every hour file of this run is written with. */
  reader: SchemaEntry;
  /** The dataset's time field (top-level name or dotted path) and how to read its value. */
  timestampField: string;
  parseTimestamp: TimestampParser;
  /** The output format takes record bodies already in the reader's encoding (Avro does, Parquet does not). */
  acceptsEncoded: boolean;
  /** Hour index = floor(epoch ms / 3 600 000), UTC. */
  hourKey(hourIndex: number): string;
  hourDir(hourIndex: number): string;
  /** Root of the dataset (Hive LOCATION of the table). */
  datasetRoot: string;
  /** Newest hour already announced, as an hour index; records at or before it are late. */
  announcedThrough: number | undefined;
  announcedThroughKey: string | null;
  extension: string;
  createWriter(sink: FileWriter): RecordFileWriter;
  /** Hour files open at once per partition before the least recently used is finished. */
  maxOpenFiles: number;
  /** Appends after which an open hour file counts as idle (tests lower it). @defaultValue 4096 */
  idleAppends?: number;
}

interface OutputFormat {
  extension: string;
  acceptsEncoded: boolean;
  maxOpenFiles: number;
  createWriter(sink: FileWriter): RecordFileWriter;
}

/**
 * The dataset's file format. Parquet is loaded only for datasets that use it; its schema is checked
 * here, before anything is read, and each open Parquet file holds a filling row group (about 4× its
 * byte size), so fewer of them stay open than Avro files (one 64 KiB block each).
 */
async function outputFormatOf(
  dataset: EffectiveDataset,
  reader: SchemaEntry,
  output: LoadedJob['config']['output'],
): Promise<OutputFormat> {
  const schema = reader.json as object;
  if (dataset.format === 'parquet') {
    const { parquetSchemaOf } = await import('../writers/parquet-schema.js');
    const { createParquetRecordWriter } = await import('../writers/parquet-writer.js');
    try {
      parquetSchemaOf(schema);
    } catch (error) {
      throw new MwiError(
        'MWI_CONFIG_INVALID',
        `datasets.${dataset.schemaName}.format "parquet": ${describeError(error)}`,
        {
          cause: error,
        },
      );
    }
    const { codec, rowGroupRows, rowGroupBytes } = dataset.parquet;
    return {
      extension: 'parquet',
      acceptsEncoded: false,
      maxOpenFiles: 4,
      createWriter: (sink) => createParquetRecordWriter(sink, { schema, codec, rowGroupRows, rowGroupBytes }),
    };
  }
  return {
    extension: 'avro',
    acceptsEncoded: true,
    maxOpenFiles: 24,
    createWriter: (sink) =>
      createAvroContainerWriter(sink, {
        schema,
        type: reader.type,
        codec: output.codec,
        blockBytes: output.blockBytes,
      }),
  };
}

export async function buildTopicPlan(resources: TopicPlanSources, topic: string): Promise<TopicPlan> {
  const { config } = resources.loaded;
  const schemaName = schemaNameOfTopic(topic);
  const dataset = effectiveDataset(config, schemaName);
  const reader = readerOf(resources, schemaName, dataset);
  const template = compilePathTemplate(config.output.pathTemplate);
  const vars = { root: config.output.root, topic, name: schemaName };
  const output = await outputFormatOf(dataset, reader, config.output);
  const state = await loadCompletenessState(resources.fs, resources.paths, topic);
  const announcedThroughKey = state.announcedThrough;
  const keys = new Map<number, string>();
  const dirs = new Map<number, string>();
  return {
    topic,
    schemaName,
    dataset,
    reader,
    timestampField: dataset.timestamp.field,
    parseTimestamp: createTimestampParser(dataset.timestamp),
    acceptsEncoded: output.acceptsEncoded,
    maxOpenFiles: output.maxOpenFiles,
    hourKey(hourIndex) {
      let key = keys.get(hourIndex);
      if (key === undefined) {
        key = hourKey(hourOf(hourIndex * HOUR_MS));
        keys.set(hourIndex, key);
      }
      return key;
    },
    hourDir(hourIndex) {
      let dir = dirs.get(hourIndex);
      if (dir === undefined) {
        dir = template.hourDir(vars, hourOf(hourIndex * HOUR_MS));
        dirs.set(hourIndex, dir);
      }
      return dir;
    },
    datasetRoot: template.datasetRoot(vars),
    announcedThrough:
      announcedThroughKey === null
        ? undefined
        : Math.floor(hourStartMs(parseHourKey(announcedThroughKey)) / HOUR_MS),
    announcedThroughKey,
    extension: output.extension,
    createWriter: output.createWriter,
  };
}

function readerOf(resources: TopicPlanSources, schemaName: string, dataset: EffectiveDataset): SchemaEntry {
  const { registry } = resources;
  if (dataset.readerRevision !== undefined) {
    const pinned = registry.get(schemaName, dataset.readerRevision);
    if (pinned === undefined) {
      throw new MwiError(
        'MWI_UNKNOWN_REVISION',
        `datasets.${schemaName}.readerRevision pins ${dataset.readerRevision}, which is not in the registry at ` +
          `${registry.root} (known: ${
            registry
              .revisions(schemaName)
              .map((e) => e.revision)
              .join(', ') || 'none'
          })`,
      );
    }
    return pinned;
  }
  const latest = registry.latest(schemaName);
  if (latest === undefined) {
    throw new MwiError(
      'MWI_UNKNOWN_SCHEMA',
      `no schema named ${schemaName} in the registry at ${registry.root}; add avro/mediawiki/${schemaName}/<revision>.avsc ` +
        'or exclude the topic with topics.exclude',
    );
  }
  return latest;
}

/**
 * Decodes a message for this topic's hour files: with the Avro body kept as it is when the format
 * takes encoded bodies, else a full decode with the time field read from the record.
 */
export function decodeMessage(plan: TopicPlan, codec: MessageCodec, value: Buffer): IngestDecodeResult {
  const { schemaName, timestampField } = plan;
  const readerRevision = plan.reader.revision;
  if (plan.acceptsEncoded)
    return codec.decodeForIngest(value, { schemaName, readerRevision, timestampField });
  return withTimestamp(codec.decode(value, { schemaName, readerRevision }), timestampField);
}

function withTimestamp(result: DecodeResult, field: string): IngestDecodeResult {
  if (!result.ok) return result;
  let value: unknown = result.record;
  for (const part of field.split('.'))
    value =
      value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[part] : undefined;
  return { ...result, timestamp: value };
}
