/**
 * mwingest installs like a real package: `npm pack` builds dist/ (prepack) and packs only what a
 * host needs; the tarball installs with `npm install --omit=dev` into an empty folder (no tsx, no
 * TypeScript, no sources), and the installed `mwingest run` ingests a fresh topic from the real Kafka
 * into the real HDFS with the schema registry the package ships. avro-tools reads the hour files.
 *
 * The Kafka client's native library is the one scripts/install-deps built for this checkout (same
 * package version, checked): its install script would otherwise build librdkafka again (minutes) or
 * download a prebuilt binary from GitHub, which only a connected machine can. So the install runs
 * with --ignore-scripts and the built library is copied in, as node-pre-gyp's own install would place
 * it. npm resolves everything else from its cache first (--prefer-offline).
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { promisify } from 'node:util';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { planTraffic } from '../../src/demo/traffic.js';
import { openFileSystem } from '../../src/hdfs/open.js';
import { hiveQueueName } from '../../src/hive/queue.js';
import { HOUR_MS } from '../../src/hours/hour.js';
import type { RunReport } from '../../src/ingest/run-report.js';
import { loadJob } from '../../src/job/config.js';
import { openKafkaSink } from '../../src/kafka/open.js';
import { MessageCodec } from '../../src/schemas/codec.js';
import { toAvroJson } from '../../src/schemas/json.js';
import { defaultRegistryRoot, SchemaRegistry } from '../../src/schemas/registry.js';
import { parseJsonExact } from '../schemas/exact-json.js';
import { canonicalJson } from '../support/avro-tools.js';
import { listFilesRecursively, multiset, produceMessages } from '../support/ingest.js';
import { requireStack, uniqueName } from '../support/stack.js';

const execFileAsync = promisify(execFile);
const root = join(import.meta.dirname, '..', '..');
const KAFKA_CLIENT = join('node_modules', '@confluentinc', 'kafka-javascript');
const cleanups: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

async function npm(args: string[], cwd: string): Promise<string> {
  const { stdout } = await execFileAsync('npm', args, { cwd, timeout: 180_000, maxBuffer: 16 * 1024 * 1024 });
  return stdout;
}

/** Runs a command of the installed package, with nothing of this checkout on its module path. */
function installedMwingest(app: string, args: string[], env: NodeJS.ProcessEnv) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(join(app, 'node_modules', '.bin', 'mwingest'), args, { cwd: app, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

test('the packed tarball installs without dev dependencies and its mwingest ingests from Kafka into HDFS', {
  timeout: 240_000,
}, async () => {
  const stack = await requireStack(['kafka', 'webhdfs', 'redis', 'tools']);
  const work = await mkdtemp(join(tmpdir(), 'mwingest-package-'));
  cleanups.push(() => rm(work, { recursive: true, force: true }));
  const started = Date.now();

  // npm pack: prepack builds dist/ from scratch; only the files a host needs go in
  const [packed] = JSON.parse(await npm(['pack', '--json', '--pack-destination', work], root)) as {
    filename: string;
    version: string;
    files: { path: string }[];
  }[];
  assert.ok(packed);
  const paths = packed.files.map((f) => f.path);
  assert.ok(paths.includes('dist/cli/main.js') && paths.includes('bin/mwingest.js'));
  assert.ok(paths.some((p) => p.startsWith('event-schemas/avro/mediawiki/EditAttempt/')));
  assert.ok(paths.includes('deploy/prometheus/mwingest.rules.yml'));
  const stray = paths.filter(
    (p) =>
      !/^(bin|dist|event-schemas|jobs|deploy|docs)\//.test(p) && !['package.json', 'README.md'].includes(p),
  );
  assert.deepEqual(stray, [], 'nothing but what a host needs');
  assert.deepEqual(
    paths.filter((p) => p.endsWith('.ts') || p.endsWith('.map')),
    [],
    'no sources or source maps',
  );
  const packedMs = Date.now() - started;

  // npm install --omit=dev into an empty folder
  const app = join(work, 'app');
  await mkdir(app);
  await writeFile(join(app, 'package.json'), '{ "name": "mwingest-host", "private": true }\n');
  await npm(
    [
      'install',
      '--omit=dev',
      '--ignore-scripts',
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
      join(work, packed.filename),
    ],
    app,
  );
  const version = async (dir: string) =>
    (JSON.parse(await readFile(join(dir, KAFKA_CLIENT, 'package.json'), 'utf8')) as { version: string })
      .version;
  assert.equal(await version(app), await version(root), 'the same Kafka client as this checkout');
  await cp(join(root, KAFKA_CLIENT, 'build'), join(app, KAFKA_CLIENT, 'build'), { recursive: true });
  const installed = join(app, 'node_modules');
  for (const dev of ['tsx', 'typescript', '@biomejs/biome', 'mwingest/src'])
    await assert.rejects(readFile(join(installed, dev, 'package.json')), `${dev} is not installed`);
  const installedMs = Date.now() - started - packedMs;

  const env: NodeJS.ProcessEnv = { ...process.env, MWINGEST_REDIS_URL: stack.redisUrl };
  delete env.MWINGEST_FROM_SOURCE;
  const shown = await installedMwingest(app, ['--version'], env);
  assert.equal(shown.stdout.trim(), packed.version, shown.stderr);

  // a fresh topic with two hours of EditAttempt, 2 % of it malformed
  const name = uniqueName('pkg').toLowerCase();
  const topic = `${name}_EditAttempt`;
  const hdfsBase = `/mwingest-test/${name}`;
  const sink = await openKafkaSink({ brokers: stack.kafkaBrokers });
  cleanups.push(async () => {
    await sink.deleteTopic(topic);
    await sink.close();
  });
  await sink.createTopic(topic, 1);
  const registry = await SchemaRegistry.load(defaultRegistryRoot());
  const codec = new MessageCodec(registry);
  const now = Date.now();
  const messages = planTraffic(registry, codec, {
    topics: [{ topic, schemaName: 'EditAttempt', partitions: 1 }],
    messagesPerTopic: 400,
    fromMs: now - 2 * HOUR_MS,
    toMs: now - 60_000,
    badRatio: 0.02,
    seed: 16,
  });
  await produceMessages(sink, messages);
  const good = messages.filter((m) => !m.bad);

  // no "registry" key: the job reads the schemas the package ships
  const job = {
    name,
    kafka: { brokers: stack.kafkaBrokers },
    topics: { include: `^${name}_` },
    fileSystem: { type: 'hdfs', url: stack.webhdfsUrl, user: 'hdfs' },
    output: { root: `${hdfsBase}/raw`, stateDir: `${hdfsBase}/state`, codec: 'snappy' },
    limits: { errorRatio: 0.1 },
  };
  const jobFile = join(work, `${name}.json`);
  await writeFile(jobFile, JSON.stringify(job, null, 2));
  const fs = await openFileSystem((await loadJob(jobFile)).config.fileSystem);
  const redis = new Redis(stack.redisUrl, { maxRetriesPerRequest: null });
  cleanups.push(async () => {
    const hive = new Queue(hiveQueueName(name), { connection: redis });
    await hive.obliterate({ force: true });
    await hive.close();
    const keys = await redis.keys(`mwingest:${name}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
    await fs.delete(hdfsBase, { recursive: true });
    await fs.close();
  });

  const run = await installedMwingest(app, ['run', '--job', jobFile, '--json', '--no-progress'], env);
  assert.equal(run.code, 0, run.stderr);
  const report = JSON.parse(run.stdout) as RunReport;
  assert.equal(report.status, 'succeeded');
  assert.equal(report.totals.written, good.length);
  assert.equal(report.totals.errors, messages.length - good.length);

  // avro-tools reads exactly the produced records, resolved to the reader schema, from the hour files
  const hourFiles = (await listFilesRecursively(fs, job.output.root)).filter((p) => p.endsWith('.avro'));
  assert.ok(hourFiles.length >= 2, `${hourFiles.length} hour files`);
  let bytes = 0;
  const fromAvroTools = await Promise.all(
    hourFiles.map(async (path, i) => {
      const data = await fs.readFile(path);
      bytes += data.length;
      const local = join(work, `${i}.avro`);
      await writeFile(local, data);
      const { stdout } = await execFileAsync(
        'java',
        ['-Xmx128m', '-XX:TieredStopAtLevel=1', '-jar', stack.avroToolsJar, 'tojson', local],
        { maxBuffer: 64 * 1024 * 1024 },
      );
      return stdout
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => canonicalJson(parseJsonExact(line)));
    }),
  );
  const reader = registry.revisions('EditAttempt').at(-1)!;
  const expected = good.map((m) => {
    const writer = registry.byRevision(m.revision!)!;
    const value =
      writer === reader
        ? m.record
        : reader.type.fromBuffer(writer.type.toBuffer(m.record), reader.type.createResolver(writer.type));
    return canonicalJson(toAvroJson(reader.type, value));
  });
  assert.deepEqual(multiset(fromAvroTools.flat()), multiset(expected));
  const bytesWritten = report.topics.flatMap((t) => t.partitions).reduce((sum, p) => sum + p.bytesWritten, 0);
  assert.equal(bytesWritten, bytes, 'the report counts the bytes of the hour files');
  console.log(
    `# packed in ${packedMs} ms, installed in ${installedMs} ms, all in ${Date.now() - started} ms`,
  );
});
