import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isMwiError } from '../../src/errors.js';
import { addPartitionStatement, hivePartitionValues, hiveString } from '../../src/hive/statement.js';

describe('Hive partition-add statement', () => {
  test('partition values are strings without zero padding, as in the wmf_raw tables', () => {
    assert.deepEqual(hivePartitionValues({ year: 2026, month: 3, day: 7, hour: 0 }), {
      year: '2026',
      month: '3',
      day: '7',
      hour: '0',
    });
  });

  test('the statement adds the partition if missing, at the hour directory', () => {
    const statement = addPartitionStatement({
      database: 'wmf_raw',
      table: 'cirrussearchrequestset',
      bucket: { year: 2026, month: 11, day: 22, hour: 14 },
      location: '/wmf/data/raw/mediawiki/mediawiki_CirrusSearchRequestSet/hourly/2026/11/22/14',
    });
    assert.equal(
      statement,
      "ALTER TABLE `wmf_raw`.`cirrussearchrequestset` ADD IF NOT EXISTS PARTITION (year='2026',month='11',day='22',hour='14') " +
        "LOCATION '/wmf/data/raw/mediawiki/mediawiki_CirrusSearchRequestSet/hourly/2026/11/22/14'",
    );
  });

  test('no HQL injection through names or locations', () => {
    const bucket = { year: 2026, month: 1, day: 1, hour: 0 };
    for (const table of ['t; DROP TABLE x', 't`x', 'a.b', '']) {
      assert.throws(
        () => addPartitionStatement({ database: 'wmf_raw', table, bucket, location: '/x' }),
        (error) => isMwiError(error, 'MWI_CONFIG_INVALID'),
      );
    }
    assert.equal(hiveString("/a/it's\\x"), "'/a/it\\'s\\\\x'");
    assert.throws(
      () => hiveString('/a\n;DROP'),
      (error) => isMwiError(error, 'MWI_CONFIG_INVALID'),
    );
  });
});
