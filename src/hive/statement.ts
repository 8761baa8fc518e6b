import { MwiError } from '../errors.js';
import type { HourBucket } from '../hours/hour.js';

/**
 * The HQL that registers one hour, as Wikimedia's Oozie job ran it after Camus:
 *   ALTER TABLE `db`.`t` ADD IF NOT EXISTS PARTITION (year='2026',month='11',day='22',hour='14') LOCATION '…'
 * Partition columns are strings whose values are not zero-padded (the wmf_raw tables).
 * Identifiers are checked and back-quoted and the location is quoted, so no topic, schema or path
 * can inject HQL.
 */
export interface HivePartitionValues {
  year: string;
  month: string;
  day: string;
  hour: string;
}

export function hivePartitionValues(bucket: HourBucket): HivePartitionValues {
  return {
    year: String(bucket.year),
    month: String(bucket.month),
    day: String(bucket.day),
    hour: String(bucket.hour),
  };
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

/** Back-quotes a database, table or column name after checking it is a plain identifier. */
export function hiveIdentifier(name: string, what: string): string {
  if (!IDENTIFIER.test(name)) {
    throw new MwiError(
      'MWI_CONFIG_INVALID',
      `${what} "${name}" is not a Hive identifier (letters, digits and _ only)`,
      {
        details: { [what]: name },
      },
    );
  }
  return `\`${name}\``;
}

/** A single-quoted HQL string literal. */
export function hiveString(value: string): string {
  if (/[\0\n\r]/.test(value)) {
    throw new MwiError(
      'MWI_CONFIG_INVALID',
      `cannot use ${JSON.stringify(value)} in HQL: it contains a NUL or line break`,
    );
  }
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

export function partitionSpec(values: HivePartitionValues): string {
  return `year=${hiveString(values.year)},month=${hiveString(values.month)},day=${hiveString(values.day)},hour=${hiveString(values.hour)}`;
}

export function addPartitionStatement(options: {
  database: string;
  table: string;
  bucket: HourBucket;
  location: string;
}): string {
  const table = `${hiveIdentifier(options.database, 'database')}.${hiveIdentifier(options.table, 'table')}`;
  const spec = partitionSpec(hivePartitionValues(options.bucket));
  return `ALTER TABLE ${table} ADD IF NOT EXISTS PARTITION (${spec}) LOCATION ${hiveString(options.location)}`;
}
