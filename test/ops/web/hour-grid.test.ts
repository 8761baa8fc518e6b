/**
 * The hour grid of the job page: which state each hour × topic is drawn in, from the completeness
 * state of the topic and the Hive partition-add queue.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { JobStatus, TopicState } from '../../../src/ops/status.js';
import { hourGrid } from '../../../src/ops/web/hour-grid.js';
import { renderJobPage } from '../../../src/ops/web/job-page.js';

const at = '2026-11-22T14:20:00.000Z';

function topic(overrides: Partial<TopicState>): TopicState {
  return {
    topic: 'mediawiki_EditAttempt',
    schemaName: 'EditAttempt',
    partitions: [],
    lag: '0',
    lastCompleteHour: '2026-11-22T12',
    lastCompleteHourEndMs: null,
    hoursPendingCompleteness: 1,
    pendingHours: { '2026-11-22T13': 40, '2026-11-22T14': 3 },
    late: { '2026-11-22T10': 4 },
    announced: ['08', '09', '10', '11', '12'].map((h) => ({
      hour: `2026-11-22T${h}`,
      records: h === '09' ? 0 : 100,
      at,
    })),
    ...overrides,
  };
}

function status(
  topics: TopicState[],
  pending: {
    topic: string;
    hour: string;
    state: 'failed' | 'retrying' | 'waiting' | 'active';
    reason?: string;
  }[],
): JobStatus {
  return {
    job: 'demo',
    at,
    schedule: null,
    currentRun: null,
    lastRuns: { skippedTicks: 0 },
    skippedTicks: [],
    topics,
    partitionJobs: {
      queue: 'mwingest-demo-hive',
      counts: { waiting: 0, active: 0, delayed: 0, failed: 0, completed: 0 },
      pending: pending.map((p) => ({
        jobId: `${p.topic}__${p.hour}`,
        attemptsMade: 1,
        attempts: 20,
        reason: p.reason,
        ...p,
      })),
    },
    problems: [],
  };
}

test('each hour is complete, late, failed, pending or empty, newest first', () => {
  const grid = hourGrid(
    status(
      [topic({})],
      [
        { topic: 'mediawiki_EditAttempt', hour: '2026-11-22T11', state: 'failed', reason: 'Table not found' },
        {
          topic: 'mediawiki_EditAttempt',
          hour: '2026-11-22T12',
          state: 'retrying',
          reason: 'HiveServer2 unreachable',
        },
      ],
    ),
    { hours: 8 },
  );
  assert.deepEqual(
    grid.hours,
    ['14', '13', '12', '11', '10', '09', '08', '07'].map((h) => `2026-11-22T${h}`),
  );
  const state = (h: string) => grid.cells.get('mediawiki_EditAttempt')!.get(`2026-11-22T${h}`)!;
  assert.equal(state('14').state, 'pending', 'the current hour has data, and cannot be complete yet');
  assert.equal(state('14').records, 3);
  assert.equal(state('13').state, 'pending');
  assert.equal(state('13').waitingFor, 'completeness');
  assert.equal(state('13').records, 40);
  assert.equal(state('12').state, 'pending');
  assert.equal(state('12').waitingFor, 'hive');
  assert.match(state('12').detail, /retrying.*HiveServer2 unreachable/);
  assert.equal(state('11').state, 'failed');
  assert.match(state('11').detail, /Table not found/);
  assert.equal(state('10').state, 'late');
  assert.equal(state('10').late, 4);
  assert.equal(state('09').state, 'complete', 'an announced hour without data is complete');
  assert.equal(state('09').records, 0);
  assert.equal(state('08').state, 'complete');
  assert.equal(state('07').state, 'empty', 'before the first announced hour');
  assert.deepEqual(grid.totals, { complete: 2, pending: 3, late: 1, failed: 1, empty: 1 });
});

test('an ended hour after the last announced one is pending even without data', () => {
  const grid = hourGrid(status([topic({ lastCompleteHour: '2026-11-22T11', pendingHours: {} })], []), {
    hours: 4,
  });
  assert.equal(grid.cells.get('mediawiki_EditAttempt')!.get('2026-11-22T13')!.state, 'pending');
  assert.equal(grid.cells.get('mediawiki_EditAttempt')!.get('2026-11-22T14')!.state, 'empty');
});

test('the page escapes what it shows and marks each cell with its state', () => {
  const html = renderJobPage(status([topic({ topic: 'mediawiki_<b>x' })], []), {
    hours: 4,
    queuesPath: '/queues',
    statusPath: '/jobs/demo/status.json',
  });
  assert.ok(!html.includes('<b>x'));
  assert.ok(html.includes('mediawiki_&#60;b&#62;x'));
  assert.match(html, /data-hour="2026-11-22T13" data-state="pending"/);
  assert.match(html, /none registered/);
});
