import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { LocalFileSystem } from '../../src/hdfs/local.js';
import { partitionJobId } from '../../src/hive/queue.js';
import { findUnqueuedHours, hoursToCheck, UNQUEUED_REASON } from '../../src/ingest/hive-reconcile.js';
import { type LoadedJob, parseJobConfig } from '../../src/job/config.js';

const roots: string[] = [];
after(async () => {
  for (const root of roots) await rm(root, { recursive: true, force: true });
});

const NOW = Date.parse('2026-11-22T15:20:00Z');
const TOPIC = 'mediawiki_ApiAction';

function jobOf(root: string, extra: Record<string, unknown> = {}): LoadedJob {
  const config = parseJobConfig(
    {
      name: 'analytics',
      kafka: { brokers: ['127.0.0.1:9092'] },
      topics: { include: '^mediawiki_(ApiAction|EditAttempt)$' },
      fileSystem: { type: 'local', root },
      output: { root: '/data', stateDir: '/state' },
      hive: { reconcile: { lookbackHours: 3 } },
      ...extra,
    },
    'unit test job',
  );
  return { config, path: '/jobs/analytics.json', baseDir: '/jobs' };
}

const dirOf = (topic: string, hour: string) =>
  `/data/${topic}/hourly/${hour.slice(0, 4)}/${hour.slice(5, 7)}/${hour.slice(8, 10)}/${hour.slice(11)}`;

/** A job's file system after the ingest announced `announced` hours of `topic` (each with `_IMPORTED`). */
async function announcedFs(topic: string, announced: string[]) {
  const root = await mkdtemp(join(tmpdir(), 'mwi-reconcile-'));
  roots.push(root);
  const fs = new LocalFileSystem(root);
  const state = {
    topic,
    sequence: 1,
    engine: { announcedThrough: announced.at(-1) ?? null },
    announcedThrough: announced.at(-1) ?? null,
    countedThrough: {},
    pendingCounts: {},
    late: {},
    announced: announced.map((hour) => ({ hour, records: 1, at: '2026-11-22T15:00:00.000Z' })),
    updatedAt: '2026-11-22T15:00:00.000Z',
  };
  await fs.mkdirs(`/state/analytics/completeness/${topic}`);
  await fs.writeFile(
    `/state/analytics/completeness/${topic}/00000000000000000001.json`,
    JSON.stringify(state),
  );
  for (const hour of announced) {
    await fs.mkdirs(dirOf(topic, hour));
    await fs.writeFile(`${dirOf(topic, hour)}/_IMPORTED`, '{}\n');
  }
  return { root, fs };
}

describe('hoursToCheck', () => {
  test('the last ended hours of the window plus every hour the record announced, at or after the start hour', () => {
    assert.deepEqual(
      hoursToCheck({ announced: ['2026-11-01T03', '2026-11-22T13'], nowMs: NOW, lookbackHours: 3 }),
      ['2026-11-01T03', '2026-11-22T12', '2026-11-22T13', '2026-11-22T14'],
    );
    assert.deepEqual(
      hoursToCheck({
        announced: ['2026-11-01T03', '2026-11-22T13'],
        nowMs: NOW,
        lookbackHours: 3,
        startMs: Date.parse('2026-11-22T12:30:00Z'),
      }),
      ['2026-11-22T12', '2026-11-22T13', '2026-11-22T14'],
    );
  });
});

describe('findUnqueuedHours', () => {
  test('announced hours without _SUCCESS and without a queued add are missing, with the reason', async () => {
    const hours = ['2026-11-01T03', '2026-11-22T12', '2026-11-22T13', '2026-11-22T14'];
    const { root, fs } = await announcedFs(TOPIC, hours);
    await fs.writeFile(`${dirOf(TOPIC, '2026-11-22T12')}/_SUCCESS`, '');
    const queuedIds = new Set([partitionJobId(TOPIC, '2026-11-22T13')]);
    const done = new Set<string>();
    const gaps = await findUnqueuedHours({
      loaded: jobOf(root),
      fs,
      queued: async (ids) => ids.map((id) => queuedIds.has(id)),
      now: () => NOW,
      done,
    });
    assert.deepEqual(gaps.topics, [TOPIC]);
    assert.deepEqual(
      gaps.hours,
      ['2026-11-01T03', '2026-11-22T14'].map((hour) => ({
        topic: TOPIC,
        hour,
        directory: dirOf(TOPIC, hour),
        reason: UNQUEUED_REASON,
      })),
      'the old hour only the record lists, and the newest; not the one with _SUCCESS nor the queued one',
    );
    assert.deepEqual([...done], [`${TOPIC}/2026-11-22T12`], 'a finished hour is remembered');

    const reads: string[] = [];
    const counting = new Proxy(fs, {
      get(target, key, receiver) {
        if (key === 'list')
          return (path: string) => {
            reads.push(path);
            return target.list(path);
          };
        return Reflect.get(target, key, receiver);
      },
    });
    await findUnqueuedHours({
      loaded: jobOf(root),
      fs: counting,
      queued: async (ids) => ids.map((id) => queuedIds.has(id)),
      now: () => NOW,
      done,
    });
    assert.ok(!reads.includes(dirOf(TOPIC, '2026-11-22T12')), 'a remembered finished hour is not read again');
  });

  test('hours before completeness.startHour and topics the job no longer ingests are left alone', async () => {
    const { root, fs } = await announcedFs('mediawiki_Other', ['2026-11-22T14']);
    await fs.mkdirs(`/state/analytics/completeness/${TOPIC}`);
    await fs.writeFile(
      `/state/analytics/completeness/${TOPIC}/00000000000000000001.json`,
      JSON.stringify({
        topic: TOPIC,
        announced: [{ hour: '2026-11-22T10', records: 1, at: '' }],
        announcedThrough: null,
      }),
    );
    await fs.mkdirs(dirOf(TOPIC, '2026-11-22T10'));
    await fs.writeFile(`${dirOf(TOPIC, '2026-11-22T10')}/_IMPORTED`, '{}\n');
    const gaps = await findUnqueuedHours({
      loaded: jobOf(root, { completeness: { startHour: '2026-11-22T11:00:00Z' } }),
      fs,
      queued: async (ids) => ids.map(() => false),
      now: () => NOW,
    });
    assert.deepEqual(gaps.topics, [TOPIC]);
    assert.deepEqual(gaps.hours, []);
  });

  test('a state directory with no completeness record yet has nothing missing', async () => {
    const root = await mkdtemp(join(tmpdir(), 'mwi-reconcile-'));
    roots.push(root);
    const gaps = await findUnqueuedHours({
      loaded: jobOf(root),
      fs: new LocalFileSystem(root),
      queued: async (ids) => ids.map(() => false),
      now: () => NOW,
    });
    assert.deepEqual(gaps, { hours: [], topics: [], checked: 0 });
  });
});
