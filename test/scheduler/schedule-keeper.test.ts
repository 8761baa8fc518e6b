import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { isMwiError } from '../../src/errors.js';
import { LocalFileSystem } from '../../src/hdfs/local.js';
import { StatePaths } from '../../src/ingest/state-store.js';
import {
  decideSchedule,
  readScheduleRecord,
  type ScheduleRecord,
  writeScheduleRecord,
} from '../../src/scheduler/schedule-keeper.js';

const roots: string[] = [];
after(async () => {
  for (const root of roots) await rm(root, { recursive: true, force: true });
});

const JOB_CRON = '15 * * * *';
const registered = (pattern: string): ScheduleRecord => ({
  state: 'registered',
  pattern,
  at: '2026-12-07T10:00:00.000Z',
  by: 'mwingest schedule',
});
const removed: ScheduleRecord = { state: 'removed', at: '2026-12-07T11:00:00.000Z', by: 'mwingest schedule' };

const decide = (
  registeredNow: { pattern: string } | undefined,
  record: ScheduleRecord | undefined,
  removedAt?: string,
) => decideSchedule({ registered: registeredNow, record, removedAt, jobCron: JOB_CRON });

describe('decideSchedule: what a worker does about the schedule', () => {
  test('missing from Redis but recorded as registered: registered again, with the recorded pattern', () => {
    assert.deepEqual(decide(undefined, registered(JOB_CRON)), {
      action: 'restore',
      pattern: JOB_CRON,
    });
    assert.deepEqual(
      decide(undefined, registered('*/30 * * * *')),
      { action: 'restore', pattern: '*/30 * * * *' },
      "the operator's --cron, not the job file's",
    );
  });

  test('removed by the operator: never registered again', () => {
    assert.deepEqual(decide(undefined, removed), { action: 'stay-removed', at: removed.at });
  });

  test('removed with removeSchedule since Redis last lost its data: left removed whatever the record says', () => {
    assert.deepEqual(decide(undefined, registered(JOB_CRON), '2026-12-07T12:00:00.000Z'), {
      action: 'stay-removed',
      at: '2026-12-07T12:00:00.000Z',
    });
  });

  test('never registered: the operator registers it, not a worker', () => {
    assert.deepEqual(decide(undefined, undefined), { action: 'none' });
  });

  test('registered in Redis: never changed; the record follows it', () => {
    assert.deepEqual(decide({ pattern: '*/5 * * * *' }, registered('*/5 * * * *')), {
      action: 'none',
    });
    assert.deepEqual(
      decide({ pattern: '*/5 * * * *' }, undefined),
      { action: 'record', pattern: '*/5 * * * *' },
      'a schedule registered before records existed is recorded',
    );
    assert.deepEqual(decide({ pattern: '*/5 * * * *' }, registered(JOB_CRON)), {
      action: 'record',
      pattern: '*/5 * * * *',
    });
    assert.deepEqual(
      decide({ pattern: JOB_CRON }, removed),
      { action: 'none' },
      'a removal in progress (recorded first, then removed from Redis) is not undone',
    );
  });
});

describe('the schedule record', () => {
  test('is written and read back from the state directory; a damaged one is an error naming its path', async () => {
    const root = await mkdtemp(join(tmpdir(), 'mwi-schedule-'));
    roots.push(root);
    const fs = new LocalFileSystem(root);
    const paths = new StatePaths('/state', 'demo');
    assert.equal(await readScheduleRecord(fs, paths), undefined);
    await writeScheduleRecord(fs, paths, registered(JOB_CRON));
    await writeScheduleRecord(fs, paths, removed);
    assert.deepEqual(await readScheduleRecord(fs, paths), removed);
    await fs.writeFile('/state/demo/schedule.json', '{"state":"paused"}', { overwrite: true });
    await assert.rejects(
      readScheduleRecord(fs, paths),
      (error) =>
        isMwiError(error, 'MWI_CONFIG_INVALID') && error.message.includes('/state/demo/schedule.json'),
    );
  });
});
