/**
 * Guarantee 1 at each state of the partition task, without a stack: a file-system call that fails
 * just before or just after each state's effect (a temp file created or closed, the manifest written
 * and claimed, each final rename, the offsets document, the temp dir deleted), then a rerun on a
 * healthy file system, leaves exactly what a run that never failed leaves: the same hour files with
 * the same records, the same error records, the same offsets documents, and no temp files.
 *
 * The file system is a real `LocalFileSystem` wrapped in `FailingFileSystem`; Kafka is an in-memory
 * `KafkaSource` of real encoded messages (the seam the task reads through, not a claim about Kafka);
 * the lease is a stub of the `Lease` interface. The real-stack form of these tests, with `kill -9`,
 * is crash.integration.test.ts.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { planTraffic } from '../../src/demo/traffic.js';
import { MwiError } from '../../src/errors.js';
import { FailingFileSystem, type FailingMethod } from '../../src/hdfs/failing.js';
import type { FileStatus, FileSystem, FileWriter } from '../../src/hdfs/filesystem.js';
import { LocalFileSystem } from '../../src/hdfs/local.js';
import { HOUR_MS } from '../../src/hours/hour.js';
import type { PartitionResult, PartitionTask } from '../../src/ingest/partition-result.js';
import { ingestPartition } from '../../src/ingest/partition-task.js';
import { StatePaths } from '../../src/ingest/state-store.js';
import { buildTopicPlan } from '../../src/ingest/topic-plan.js';
import { type LoadedJob, parseJobConfig } from '../../src/job/config.js';
import type { Lease } from '../../src/job/lease.js';
import type { KafkaRecord, KafkaSource, ReadRange } from '../../src/kafka/client.js';
import { MessageCodec } from '../../src/schemas/codec.js';
import { SchemaRegistry } from '../../src/schemas/registry.js';
import { decodeContainer, listFilesRecursively, quietLog } from '../support/ingest.js';

const projectRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const TOPIC = 'mediawiki_EditAttempt';
const OUTPUT = '/raw';
const STATE = '/state';
const H0 = Date.UTC(2026, 0, 12, 8);

let registry: SchemaRegistry;
let codec: MessageCodec;
let records: KafkaRecord[];
let task: PartitionTask;
const dirs: string[] = [];

/** The Kafka seam over a fixed list of records: `read` yields those in the range, in batches of 16. */
function memorySource(log: KafkaRecord[]): KafkaSource {
  return {
    listTopics: async () => [TOPIC],
    partitionOffsets: async () => [{ partition: 0, earliest: 0n, latest: log.at(-1)!.offset + 1n }],
    async *read(range: ReadRange) {
      const inRange = log.filter((r) => r.offset >= range.from && r.offset < range.to);
      for (let i = 0; i < inRange.length; i += 16) yield inRange.slice(i, i + 16);
    },
    commitGroupOffsets: async () => undefined,
    groupOffsets: async () => new Map(),
    offsetsForTime: async () => new Map(),
    close: async () => undefined,
  };
}

function leaseStub(token: number, assertHeld: () => Promise<void> = async () => undefined): Lease {
  return {
    key: `lease:${TOPIC}/0`,
    token,
    owner: `test/${token}`,
    assertHeld,
    renew: assertHeld,
    release: async () => undefined,
  };
}

function job(errorRatio = 0.5, maxRecordsPerRun?: number): LoadedJob {
  const config = parseJobConfig(
    {
      name: 'states',
      kafka: { brokers: ['127.0.0.1:9'] },
      topics: { include: `^${TOPIC}$` },
      registry: join(projectRoot, 'event-schemas'),
      fileSystem: { type: 'local', root: '/unused' },
      output: { root: OUTPUT, stateDir: STATE, codec: 'snappy' },
      limits: { errorRatio, ...(maxRecordsPerRun === undefined ? {} : { maxRecordsPerRun }) },
    },
    'commit-states.test.ts',
  );
  return { config, path: join(projectRoot, 'jobs', 'states.json'), baseDir: join(projectRoot, 'jobs') };
}

/** One call the task made to the file system: its method (as `FailingFileSystem` counts them) and path. */
interface Call {
  method: FailingMethod;
  path: string;
}

/** Logs every call, to find the n-th call of a method that has a given effect. */
class RecordingFileSystem implements FileSystem {
  readonly description = 'recording';
  readonly calls: Call[] = [];
  constructor(private readonly inner: FileSystem) {}
  private log(method: FailingMethod, path: string): void {
    this.calls.push({ method, path });
  }
  async create(path: string, options?: { overwrite?: boolean }): Promise<FileWriter> {
    this.log('create', path);
    const writer = await this.inner.create(path, options);
    const log = (method: FailingMethod) => this.log(method, path);
    return {
      get path() {
        return writer.path;
      },
      get bytesWritten() {
        return writer.bytesWritten;
      },
      write(chunk) {
        log('writer.write');
        return writer.write(chunk);
      },
      close() {
        log('writer.close');
        return writer.close();
      },
      abort: () => writer.abort(),
    };
  }
  writeFile(path: string, data: Uint8Array | string, options?: { overwrite?: boolean }) {
    this.log('writeFile', path);
    return this.inner.writeFile(path, data, options);
  }
  readFile(path: string) {
    this.log('readFile', path);
    return this.inner.readFile(path);
  }
  rename(src: string, dst: string) {
    this.log('rename', dst);
    return this.inner.rename(src, dst);
  }
  mkdirs(path: string) {
    this.log('mkdirs', path);
    return this.inner.mkdirs(path);
  }
  list(path: string): Promise<FileStatus[]> {
    this.log('list', path);
    return this.inner.list(path);
  }
  stat(path: string) {
    this.log('stat', path);
    return this.inner.stat(path);
  }
  exists(path: string) {
    this.log('exists', path);
    return this.inner.exists(path);
  }
  delete(path: string, options?: { recursive?: boolean }) {
    this.log('delete', path);
    return this.inner.delete(path, options);
  }
  close() {
    return this.inner.close();
  }
}

// LocalFileSystem fsyncs every file and directory it commits: on tmpfs that costs nothing.
const scratch = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();

async function freshRoot(): Promise<string> {
  const dir = await mkdtemp(join(scratch, 'mwingest-states-'));
  dirs.push(dir);
  return dir;
}

/** One run of the partition task on `fs`, as run `runId` with lease token `token`. */
async function runTask(
  fs: FileSystem,
  runId: string,
  token: number,
  options: { lease?: Lease; errorRatio?: number; maxRecordsPerRun?: number; task?: PartitionTask } = {},
): Promise<PartitionResult> {
  const loaded = job(options.errorRatio, options.maxRecordsPerRun);
  const paths = new StatePaths(STATE, loaded.config.name);
  const plan = await buildTopicPlan({ loaded, registry, fs, paths }, TOPIC);
  // Records out of hour order: the least recently used file is finished early (idle after 8 records),
  // records of hours without a slot wait in the overflow.
  plan.maxOpenFiles = 2;
  plan.idleAppends = 8;
  return ingestPartition(
    {
      job: loaded.config,
      fs,
      paths,
      source: memorySource(records),
      codec,
      plan,
      runId,
      lease: options.lease ?? leaseStub(token),
      log: quietLog,
    },
    options.task ?? task,
  );
}

/** What a run leaves, in a form where two runs that did the same work compare equal. */
async function snapshot(fs: FileSystem) {
  const data: Record<string, unknown[]> = {};
  for (const path of await listFilesRecursively(fs, OUTPUT)) {
    const { records: decoded } = await decodeContainer(await fs.readFile(path));
    data[path] = decoded.map((r) =>
      JSON.stringify(r, (_k, v) =>
        typeof v === 'bigint' ? `${v}n` : Buffer.isBuffer(v) ? v.toString('hex') : v,
      ),
    );
  }
  const base = `${STATE}/states`;
  const errors: Record<string, string[]> = {};
  for (const path of await listFilesRecursively(fs, `${base}/errors`))
    errors[path] = (await fs.readFile(path)).toString('utf8').split('\n');
  const offsets: Record<string, unknown> = {};
  const manifests: string[] = [];
  const others: string[] = [];
  for (const path of await listFilesRecursively(fs, `${base}/partitions`)) {
    if (/\/offsets\/\d{20}\.json$/.test(path)) {
      // Who committed and when differ between runs; what was committed must not.
      const { runId, owner, token, createdAt, committedAt, files, ...committed } = JSON.parse(
        (await fs.readFile(path)).toString('utf8'),
      );
      offsets[path] = {
        ...committed,
        files: files.map(({ temp, ...file }: { temp: string }) => ({
          ...file,
          temp: temp.replace(/\/tmp\/([^/]+\/\d+)\/\d{20}-\d+-[^/]+\//, '/tmp/$1/<attempt>/'),
        })),
      };
    } else if (/\/manifests\/\d{20}\.json$/.test(path)) manifests.push(path);
    else others.push(path);
  }
  const leftovers = await listFilesRecursively(fs, `${base}/tmp`);
  return { data, errors, offsets, manifests, others, leftovers };
}

let reference: Awaited<ReturnType<typeof snapshot>>;
let referenceCalls: Call[];

before(async () => {
  registry = await SchemaRegistry.load(join(projectRoot, 'event-schemas'));
  codec = new MessageCodec(registry);
  const messages = planTraffic(registry, codec, {
    topics: [{ topic: TOPIC, schemaName: 'EditAttempt', partitions: 1 }],
    messagesPerTopic: 100,
    fromMs: H0,
    toMs: H0 + 4 * HOUR_MS,
    badRatio: 0.08,
    disorderMs: 2 * HOUR_MS,
    seed: 13,
  });
  // Offsets 0…, with one gap (absent offsets) and a tombstone among them.
  records = messages.map((m, i) => ({
    partition: 0,
    offset: BigInt(i < 40 ? i : i + 3),
    value: i === 70 ? null : m.value,
    key: null,
    timestamp: m.timestampMs,
  }));
  task = { topic: TOPIC, partition: 0, earliest: 0n, endOffset: records.at(-1)!.offset + 1n };

  const recorder = new RecordingFileSystem(new LocalFileSystem(await freshRoot()));
  const result = await runTask(recorder, 'run-1', 1);
  assert.equal(result.status, 'committed', JSON.stringify(result.error));
  referenceCalls = recorder.calls;
  reference = await snapshot(recorder);
});

after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

test('the uninterrupted run is the reference: several hour files, error records, one commit', () => {
  assert.ok(Object.keys(reference.data).length >= 5, Object.keys(reference.data).join('\n'));
  const hours = new Set(Object.keys(reference.data).map((p) => p.slice(0, p.lastIndexOf('/'))));
  assert.ok(
    Object.keys(reference.data).length > hours.size,
    'maxOpenFiles finished some hour early, so an hour has two files',
  );
  const errorLines = Object.values(reference.errors)
    .flat()
    .filter((l) => l !== '');
  assert.ok(errorLines.some((l) => JSON.parse(l).code === 'TOMBSTONE'));
  assert.ok(errorLines.length >= 5);
  const [offsets] = Object.values(reference.offsets) as { counts: { [k: string]: number } }[];
  assert.equal(Object.keys(reference.offsets).length, 1);
  const { absent, written, errors } = offsets!.counts;
  assert.equal(absent, 3);
  assert.equal(written! + errors!, records.length);
  assert.deepEqual(reference.leftovers, []);
  assert.deepEqual(reference.others, []);
});

/** A state's file-system effect: which call of the reference run it is. */
interface Effect {
  state: string;
  method: FailingMethod;
  /** Picks the calls that are this effect; the test fails at the first of them (or `pick`). */
  matches: (call: Call) => boolean;
  pick?: 'first' | 'last';
}

const isTemp = (c: Call) => c.path.includes('/tmp/');
const isFinal = (c: Call) =>
  c.method === 'rename' && !c.path.includes('/manifests/') && !c.path.includes('/offsets/');

const effects: Effect[] = [
  {
    state: 'writing: the first hour file is created',
    method: 'create',
    matches: (c) => isTemp(c) && c.path.endsWith('.avro'),
  },
  {
    state: 'writing: the error file is created',
    method: 'create',
    matches: (c) => c.path.endsWith('/errors.jsonl'),
  },
  { state: 'writing: a block is written', method: 'writer.write', matches: (c) => c.path.endsWith('.avro') },
  {
    state: 'writing: an hour file finished early (maxOpenFiles) is closed',
    method: 'writer.close',
    matches: (c) => c.path.endsWith('.avro'),
  },
  {
    state: 'closed: the last temp file is closed',
    method: 'writer.close',
    matches: () => true,
    pick: 'last',
  },
  {
    state: 'manifest written: the manifest document is written',
    method: 'writeFile',
    matches: (c) => c.path.includes('/manifests/'),
  },
  {
    state: 'manifest written: the manifest is claimed (renamed into place)',
    method: 'rename',
    matches: (c) => c.path.includes('/manifests/'),
  },
  {
    state: 'committed: the offsets document is written',
    method: 'writeFile',
    matches: (c) => c.path.includes('/offsets/'),
  },
  {
    state: 'committed: the offsets document is renamed into place',
    method: 'rename',
    matches: (c) => c.path.includes('/offsets/'),
  },
  {
    state: 'committed: the temp dir is deleted',
    method: 'delete',
    matches: (c) => /\/tmp\/[^/]+\/0\/\d{20}-1-run-1$/.test(c.path),
  },
];

/** The n-th call of `method` (1-based, as `FailingFileSystem` counts) that is the given effect. */
function nthCall(method: FailingMethod, matches: (call: Call) => boolean, pick: 'first' | 'last' = 'first') {
  const ofMethod = referenceCalls.filter((c) => c.method === method);
  const indexes = ofMethod.flatMap((c, i) => (matches(c) ? [i + 1] : []));
  assert.ok(indexes.length > 0, `the reference run made no ${method} call of that kind`);
  return pick === 'first' ? indexes[0]! : indexes.at(-1)!;
}

const planned = () => new MwiError('MWI_HDFS_UNAVAILABLE', 'planned failure', { canRetry: true });

/** Fails `method`'s n-th call, then reruns on the healthy file system and compares with the reference. */
async function failThenRerun(method: FailingMethod, nth: number, when: 'before' | 'after') {
  const fs = new FailingFileSystem(new LocalFileSystem(await freshRoot()));
  const failure = planned();
  fs.failAt(method, nth, failure, { when });
  const first = await runTask(fs, 'run-1', 1).then(
    (result) => ({ result }),
    (error: unknown) => ({ error }),
  );
  assert.ok(fs.callCount(method) >= nth, `the planned failure of ${method} #${nth} was never reached`);
  if ('error' in first) assert.equal(first.error, failure);
  else {
    assert.equal(first.result.status, 'failed', 'the run that met the failure reports it');
    assert.match(first.result.error?.message ?? '', /planned failure/);
  }
  fs.clearFailures();
  const rerun = await runTask(fs, 'run-2', 2);
  assert.notEqual(rerun.status, 'failed', JSON.stringify(rerun.error));
  assert.deepEqual(await snapshot(fs), reference);
}

for (const effect of effects) {
  describe(effect.state, () => {
    for (const when of ['before', 'after'] as const) {
      test(`a failure just ${when} it, then a rerun, leaves what an uninterrupted run leaves`, async () => {
        await failThenRerun(effect.method, nthCall(effect.method, effect.matches, effect.pick), when);
      });
    }
  });
}

describe('committed: each file is renamed to its final name', () => {
  test('a failure just before or just after each rename, then a rerun, leaves what an uninterrupted run leaves', async () => {
    const finals = referenceCalls
      .filter((c) => c.method === 'rename')
      .flatMap((c, i) => (isFinal(c) ? [i + 1] : []));
    assert.equal(finals.length, Object.keys(reference.data).length + Object.keys(reference.errors).length);
    for (const nth of finals)
      for (const when of ['before', 'after'] as const) {
        await assert.doesNotReject(failThenRerun('rename', nth, when), `rename #${nth} (${when})`);
      }
  });
});

describe('recovering: the roll-forward itself fails', () => {
  test('a claimed commit whose roll-forward fails at a rename is finished by the next run', async () => {
    const fs = new FailingFileSystem(new LocalFileSystem(await freshRoot()));
    const claim = nthCall('rename', (c) => c.path.includes('/manifests/'));
    fs.failAt('rename', claim + 1, planned()); // claimed, nothing renamed
    assert.equal((await runTask(fs, 'run-1', 1)).status, 'failed');
    fs.clearFailures();
    const renames = fs.callCount('rename');
    fs.failAt('rename', renames + 2, planned(), { when: 'after' }); // the second file of the roll-forward
    await assert.rejects(
      runTask(fs, 'run-2', 2),
      (error) => (error as MwiError).code === 'MWI_HDFS_UNAVAILABLE',
    );
    fs.clearFailures();
    assert.equal((await runTask(fs, 'run-3', 3)).status, 'up-to-date');
    assert.deepEqual(await snapshot(fs), reference);
  });
});

describe('manifest written: the lease is lost just before the claim', () => {
  test('nothing is committed and no temp file stays; the new owner commits what an uninterrupted run does', async () => {
    const fs = new LocalFileSystem(await freshRoot());
    const fenced = new MwiError('MWI_FENCED', 'the lease was taken over');
    const stale = await runTask(fs, 'run-1', 1, {
      lease: leaseStub(1, async () => {
        throw fenced;
      }),
    });
    assert.equal(stale.status, 'failed');
    assert.equal(stale.error?.code, 'MWI_FENCED');
    const nothing = await snapshot(fs);
    assert.deepEqual([nothing.data, nothing.offsets, nothing.leftovers], [{}, {}, []]);
    assert.equal((await runTask(fs, 'run-2', 2)).status, 'committed');
    assert.deepEqual(await snapshot(fs), reference);
  });
});

describe('checked: too many bad messages', () => {
  test('nothing is committed and no temp file stays; a rerun with a higher limit commits what an uninterrupted run does', async () => {
    const fs = new LocalFileSystem(await freshRoot());
    const refused = await runTask(fs, 'run-1', 1, { errorRatio: 0.01 });
    assert.equal(refused.error?.code, 'MWI_RUN_ERROR_RATIO');
    const nothing = await snapshot(fs);
    assert.deepEqual([nothing.data, nothing.offsets, nothing.leftovers, nothing.errors], [{}, {}, [], {}]);
    assert.equal((await runTask(fs, 'run-2', 2)).status, 'committed');
    assert.deepEqual(await snapshot(fs), reference);
  });
});

describe('one owner per partition: fencing tokens on storage', () => {
  test("a partition's first commit cannot be claimed twice, even from two different log starts", async () => {
    // The stale owner (token 1) planned from log start 0; retention then moved the start to 3 and the
    // new owner (token 2) committed [3, end). The stale one slipped past its Redis check and claims.
    const fs = new LocalFileSystem(await freshRoot());
    const later = { ...task, earliest: 3n };
    let fresh: PartitionResult | undefined;
    const stale = await runTask(fs, 'run-1', 1, {
      lease: leaseStub(1, async () => {
        fresh ??= await runTask(fs, 'run-2', 2, { task: later });
      }),
    });
    assert.equal(fresh?.status, 'committed', JSON.stringify(fresh?.error));
    assert.equal(stale.status, 'failed');
    assert.equal(stale.error?.code, 'MWI_FENCED');
    assert.match(stale.error!.message, /already claimed by test\/2 \(token 2, run run-2\).*stale/);

    const expected = new LocalFileSystem(await freshRoot());
    assert.equal((await runTask(expected, 'run-2', 2, { task: later })).status, 'committed');
    const got = await snapshot(fs);
    const want = await snapshot(expected);
    assert.deepEqual(got.data, want.data, 'the records of the new owner, once each');
    assert.deepEqual(got.offsets, want.offsets);
    assert.deepEqual(got.leftovers, [], 'no temp file of either owner stays');
  });

  test('an owner whose lease ran out after its claim applies nothing; the next owner rolls the claim forward', async () => {
    const fs = new LocalFileSystem(await freshRoot());
    let checks = 0;
    const stale = await runTask(fs, 'run-1', 1, {
      lease: leaseStub(1, async () => {
        if (++checks === 2) throw new MwiError('MWI_FENCED', 'the lease ran out after the claim');
      }),
    });
    assert.equal(stale.error?.code, 'MWI_FENCED');
    const claimed = await snapshot(fs);
    assert.deepEqual([claimed.data, claimed.offsets], [{}, {}], 'nothing renamed, offsets not moved');
    assert.equal(claimed.manifests.length, 1, 'the claim stays for the roll-forward');
    assert.equal((await runTask(fs, 'run-2', 2)).status, 'up-to-date');
    assert.deepEqual(await snapshot(fs), reference);
  });

  test("an attempt finds a newer owner's temp dir: it is stale and claims nothing", async () => {
    const fs = new LocalFileSystem(await freshRoot());
    const stale = await runTask(fs, 'run-1', 1, {
      lease: leaseStub(1, async () => {
        // The new owner (token 2) has started writing: its attempt directory exists.
        await fs.writeFile(`${STATE}/states/tmp/${TOPIC}/0/${'0'.repeat(20)}-2-run-2/x.avro`, 'partial');
      }),
    });
    assert.equal(stale.error?.code, 'MWI_FENCED');
    assert.match(stale.error!.message, /newer owner \(token 2, run run-2\)/);
    const nothing = await snapshot(fs);
    assert.deepEqual([nothing.data, nothing.offsets, nothing.manifests], [{}, {}, []]);
    assert.deepEqual(nothing.leftovers, [`${STATE}/states/tmp/${TOPIC}/0/${'0'.repeat(20)}-2-run-2/x.avro`]);
  });

  test('temp dirs do not pile up: the file-system calls of a run stay the same after many runs', async () => {
    const recorder = new RecordingFileSystem(new LocalFileSystem(await freshRoot()));
    const callsPerRun: number[] = [];
    for (let run = 1; run <= 12; run++) {
      const before = recorder.calls.length;
      const result = await runTask(recorder, `run-${run}`, run, { maxRecordsPerRun: 8 });
      assert.equal(result.status, 'committed');
      callsPerRun.push(
        recorder.calls
          .slice(before)
          .filter(
            (c) =>
              (c.method === 'list' || c.method === 'delete') &&
              c.path.includes('/tmp') &&
              !/\.(avro|jsonl)$/.test(c.path),
          ).length,
      );
    }
    assert.equal(
      new Set(callsPerRun.slice(1)).size,
      1,
      `listings and deletes of temp dirs per run: ${callsPerRun.join(', ')}`,
    );
    const tmp = await recorder.list(`${STATE}/states/tmp/${TOPIC}/0`);
    assert.deepEqual(tmp, [], 'no attempt directory is left behind');
  });
});
