/** The largest time a JS Date holds, in ms either side of the epoch (ECMA-262 TimeClip). */
const DATE_LIMIT_MS = 8.64e15;

/**
 * A Kafka record's timestamp as a time, or `undefined` when it is not one: −1 (the producer set
 * none), zero or negative, not an integer, or beyond what a Date holds (a malformed message may
 * carry 9e15). Every use of a Kafka timestamp goes through here.
 */
export function kafkaTimeMs(timestamp: number): number | undefined {
  return Number.isSafeInteger(timestamp) && timestamp > 0 && timestamp <= DATE_LIMIT_MS
    ? timestamp
    : undefined;
}

/** ISO-8601 text of a Kafka timestamp, or `null` when it is not a time (see {@link kafkaTimeMs}). */
export function kafkaTimeText(timestamp: number): string | null {
  const ms = kafkaTimeMs(timestamp);
  return ms === undefined ? null : new Date(ms).toISOString();
}
