/**
 * Hour buckets: the UTC hour a record belongs to. Always UTC, whatever the machine's zone
 * (Camus defaulted to America/Los_Angeles; mwingest never does).
 */
export interface HourBucket {
  year: number;
  /** 1–12 */
  month: number;
  /** 1–31 */
  day: number;
  /** 0–23 */
  hour: number;
}

export const HOUR_MS = 3_600_000;

/** The bucket that contains `epochMs`. */
export function hourOf(epochMs: number): HourBucket {
  const date = new Date(epochMs);
  return {
    year: date.getUTCFullYear(),
    month: date.getUTCMonth() + 1,
    day: date.getUTCDate(),
    hour: date.getUTCHours(),
  };
}

/** First millisecond of the bucket. */
export function hourStartMs(bucket: HourBucket): number {
  return Date.UTC(bucket.year, bucket.month - 1, bucket.day, bucket.hour);
}

/** Hours since the epoch; the ingest's cheap map key for a bucket. */
export function hourIndexOf(epochMs: number): number {
  return Math.floor(epochMs / HOUR_MS);
}

const pad2 = (n: number) => String(n).padStart(2, '0');

/** `2026-11-22T14`: sorts like time, names state documents, BullMQ job ids and report entries. */
export function hourKey(bucket: HourBucket): string {
  return `${String(bucket.year).padStart(4, '0')}-${pad2(bucket.month)}-${pad2(bucket.day)}T${pad2(bucket.hour)}`;
}

const HOUR_KEY = /^(\d{4})-(\d{2})-(\d{2})T(\d{2})$/;

/** Inverse of {@link hourKey}; throws on anything that is not a real UTC hour. */
export function parseHourKey(key: string): HourBucket {
  const match = HOUR_KEY.exec(key);
  if (match !== null) {
    const bucket = {
      year: Number(match[1]),
      month: Number(match[2]),
      day: Number(match[3]),
      hour: Number(match[4]),
    };
    // Round trip through Date rejects 2026-02-30T10 and hour 24.
    if (hourKey(hourOf(hourStartMs(bucket))) === key) return bucket;
  }
  throw new RangeError(`"${key}" is not an hour key; expected YYYY-MM-DDTHH in UTC, e.g. 2026-11-22T14`);
}
