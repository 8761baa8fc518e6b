import { MwiError } from '../errors.js';
import type { KafkaSource, PartitionOffsets } from './client.js';

/**
 * Where to put a partition's resume point: the log start, the log end, the first offset at or after
 * a time (Kafka's offsets-for-times), or an offset. `mwingest offsets reset --to …` takes all four;
 * a job's `startPosition` the first three (and `after-imported`, src/ingest/start-position.ts).
 */
export type OffsetTarget =
  | { kind: 'earliest' }
  | { kind: 'latest' }
  | { kind: 'time'; ms: number; text: string }
  | { kind: 'offset'; offset: bigint };

const ISO_TIME = /^\d{4}-\d{2}-\d{2}(T\d{2}(:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

/** `earliest`, `latest`, an ISO-8601 time (UTC unless it names a zone) or, when allowed, an offset. */
export function parseOffsetTarget(
  text: string,
  options: { offsets?: boolean } = {},
): OffsetTarget | undefined {
  const value = text.trim();
  if (value === 'earliest' || value === 'latest') return { kind: value };
  if (options.offsets !== false && /^\d+$/.test(value)) return { kind: 'offset', offset: BigInt(value) };
  if (ISO_TIME.test(value)) {
    const zoned = /(Z|[+-]\d{2}:?\d{2})$/.test(value) || !value.includes('T') ? value : `${value}Z`;
    const ms = Date.parse(value.includes('T') ? zoned : `${value}T00:00:00Z`);
    if (Number.isFinite(ms)) return { kind: 'time', ms, text: new Date(ms).toISOString() };
  }
  return undefined;
}

export function describeTarget(target: OffsetTarget): string {
  switch (target.kind) {
    case 'earliest':
    case 'latest':
      return target.kind;
    case 'time':
      return target.text;
    case 'offset':
      return `offset ${target.offset}`;
  }
}

/**
 * The offset `target` means on each partition of `topic` now. A time after the newest record is
 * the log end; an offset must lie within the log (`MWI_USAGE` otherwise: reading from before the
 * log start loses nothing more but cannot be done, past the end would wait for offsets that may
 * never come).
 */
export async function resolveOffsetTarget(
  source: KafkaSource,
  topic: string,
  logs: PartitionOffsets[],
  target: OffsetTarget,
): Promise<Map<number, bigint>> {
  const resolved = new Map<number, bigint>();
  const atTime = target.kind === 'time' ? await source.offsetsForTime(topic, target.ms) : undefined;
  for (const log of logs) {
    switch (target.kind) {
      case 'earliest':
        resolved.set(log.partition, log.earliest);
        break;
      case 'latest':
        resolved.set(log.partition, log.latest);
        break;
      case 'time': {
        const offset = atTime?.get(log.partition) ?? null;
        resolved.set(
          log.partition,
          // biome-ignore lint/complexity/useMathMinMax: offsets are bigints, which Math.max does not take
          offset === null ? log.latest : offset < log.earliest ? log.earliest : offset,
        );
        break;
      }
      case 'offset':
        if (target.offset < log.earliest || target.offset > log.latest) {
          throw new MwiError(
            'MWI_USAGE',
            `${topic}/${log.partition}: offset ${target.offset} is outside the log (${log.earliest}–${log.latest}); ` +
              'choose an offset in that range, or earliest / latest',
          );
        }
        resolved.set(log.partition, target.offset);
        break;
    }
  }
  return resolved;
}
