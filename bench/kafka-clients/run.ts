/**
 * Kafka client comparison on the real broker (docs/kafka-clients.md has the results and the decision).
 *
 *   npm run bench:kafka-clients -- [--apiaction 1000000] [--cirrus 300000] [--codecs snappy,gzip,lz4,zstd]
 *       [--runs 3] [--clients kcat,confluent,mwingest,platformatic,batches,batches-2t,batches-split] [--no-check]
 *       [--keep] [--out FILE]
 *
 * 1. Topics (bench/kafka-clients/data.ts): real ApiAction (~150 B) and CirrusSearchRequestSet
 *    (~890 B) Avro messages in 4 partitions, one topic per codec, produced by librdkafka; kept for
 *    the next run with --keep.
 * 2. Bounded ranges: every client reads a middle range [from, to) of each partition (starting and
 *    ending inside record batches) with every value hashed; the digest must equal kcat's for the
 *    same ranges (`kcat -p P -o from -c count`), so no record before `from` or from `to` on counts.
 * 3. Rates: every client reads every partition from its log start to the end offset snapshotted
 *    before the run, `--runs` times, runs interleaved, each a process of its own under GNU time
 *    (wall, CPU user+sys, peak RSS as the OS counts it). Medians are reported.
 *    kcat: `kcat -C -e -o beginning -q -f '%o\n'` (its output counted), the raw limit.
 * 4. With the ingest's per-record check (header, body check, time field) for the snappy topics:
 *    the current seam, and the batch reader in one and two threads.
 * 5. Deletes its topics unless --keep, prints Markdown tables (and writes them to --out).
 *
 * Clients that are not installed are skipped with a note.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { mixedRegistryRoot } from '../../test/support/ingest.js';
import {
  type BenchTopic,
  CODECS,
  type Codec,
  DATASETS,
  type DatasetKey,
  deleteTopics,
  ensureTopic,
} from './data.js';
import type { ReadResult, ReadSpec } from './readers/harness.js';

const { values: args } = parseArgs({
  options: {
    apiaction: { type: 'string', default: '1000000' },
    cirrus: { type: 'string', default: '300000' },
    codecs: { type: 'string', default: CODECS.join(',') },
    runs: { type: 'string', default: '3' },
    clients: {
      type: 'string',
      default: 'kcat,confluent,mwingest,platformatic,batches,batches-2t,batches-split',
    },
    'no-check': { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    out: { type: 'string' },
  },
});
const RUNS = Number(args.runs);
const BROKERS = (process.env.MWINGEST_KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const KCAT = process.env.MWINGEST_KCAT ?? 'kcat';
const GNU_TIME = '/usr/bin/time';
const READ_TIMEOUT_MS = 300_000;
const root = new URL('../..', import.meta.url).pathname;
// The Node readers run compiled, as deployed: tsx in every process (and in every worker thread of a
// threaded reader) would add its own start-up to each. Inside node_modules so packages resolve.
const COMPILED = join(root, 'node_modules', '.cache', 'kbench');

/** Each client: the reader script, its threads, and the package it needs. */
const CLIENTS: Record<string, { script: string; threads?: number; label: string; pkg?: string }> = {
  kcat: { script: '', label: 'kcat (librdkafka, C)' },
  confluent: {
    script: 'confluent',
    label: '@confluentinc/kafka-javascript',
    pkg: '@confluentinc/kafka-javascript',
  },
  mwingest: {
    script: 'mwingest',
    label: 'src seam (librdkafka binding)',
    pkg: '@confluentinc/kafka-javascript',
  },
  platformatic: { script: 'platformatic', label: '@platformatic/kafka fetch()', pkg: '@platformatic/kafka' },
  batches: { script: 'batches', label: 'batch reader, 1 thread', pkg: '@platformatic/kafka' },
  'batches-2t': {
    script: 'batches',
    threads: 2,
    label: 'batch reader, 2 threads',
    pkg: '@platformatic/kafka',
  },
  'batches-split': {
    script: 'batches-split',
    threads: 2,
    label: 'batch reader, fetch thread + 2 walker threads',
    pkg: '@platformatic/kafka',
  },
  kafkajs: { script: 'kafkajs', label: 'kafkajs', pkg: 'kafkajs' },
  idle: { script: 'idle', label: 'node, doing nothing' },
};
const CHECK_CLIENTS = ['mwingest', 'batches', 'batches-2t', 'batches-split'];

interface Measured {
  ok: boolean;
  error?: string;
  records: number;
  valueBytes: number;
  readMs: number;
  wallS: number;
  cpuS: number;
  rssMiB: number;
  digest?: string;
}

function installed(client: string): boolean {
  const pkg = CLIENTS[client]?.pkg;
  if (pkg === undefined) return CLIENTS[client] !== undefined;
  try {
    import.meta.resolve(pkg);
    return true;
  } catch {
    return false;
  }
}

function versionOf(client: string): string {
  const { label, pkg } = CLIENTS[client]!;
  if (pkg === undefined || !['confluent', 'platformatic', 'kafkajs'].includes(client)) return label;
  const path = new URL(`../../node_modules/${pkg}/package.json`, import.meta.url);
  return `${label} ${JSON.parse(readFileSync(path, 'utf8')).version}`;
}

/** Runs a command under GNU time in its own process group; kills the group on timeout. */
async function timed(
  command: string[],
  options: { onStdout?: (chunk: Buffer) => void; timeoutMs: number; env?: NodeJS.ProcessEnv },
): Promise<{
  code: number | null;
  stdout: string;
  stderr: string;
  wallS: number;
  cpuS: number;
  rssMiB: number;
  timedOut: boolean;
}> {
  const dir = await mkdtemp(join(tmpdir(), 'kbench-time-'));
  const timeFile = join(dir, 'time');
  const child = spawn(GNU_TIME, ['-f', '%e %U %S %M', '-o', timeFile, ...command], {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
    env: options.env ?? process.env,
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    if (options.onStdout) options.onStdout(chunk);
    else stdout += chunk;
  });
  child.stderr.on('data', (chunk) => {
    if (stderr.length < 20_000) stderr += chunk;
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
  }, options.timeoutMs);
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  clearTimeout(timer);
  const times =
    (await readFile(timeFile, 'utf8').catch(() => '')).trim().split('\n').at(-1)?.split(' ').map(Number) ??
    [];
  await rm(dir, { recursive: true, force: true });
  const [wallS = Number.NaN, userS = Number.NaN, sysS = Number.NaN, rssKiB = Number.NaN] = times;
  return { code, stdout, stderr, wallS, cpuS: userS + sysS, rssMiB: rssKiB / 1024, timedOut };
}

function firstErrorLine(stderr: string): string {
  const line = stderr.split('\n').find((l) => /error/i.test(l)) ?? stderr.split('\n')[0] ?? '';
  return line.trim().slice(0, 200);
}

function countNewlines(): { add: (chunk: Buffer) => void; count: () => number } {
  let n = 0;
  return {
    add: (chunk) => {
      for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) n++;
    },
    count: () => n,
  };
}

async function measureKcat(topic: BenchTopic): Promise<Measured> {
  const lines = countNewlines();
  const run = await timed(
    [KCAT, '-C', '-b', BROKERS.join(','), '-t', topic.topic, '-e', '-o', 'beginning', '-q', '-f', '%o\\n'],
    { onStdout: lines.add, timeoutMs: READ_TIMEOUT_MS },
  );
  const ok = run.code === 0 && lines.count() === topic.records;
  return {
    ok,
    ...(ok ? {} : { error: firstErrorLine(run.stderr) || `${lines.count()} records` }),
    records: lines.count(),
    valueBytes: topic.valueBytes,
    readMs: run.wallS * 1000,
    wallS: run.wallS,
    cpuS: run.cpuS,
    rssMiB: run.rssMiB,
  };
}

async function measure(client: string, spec: ReadSpec, timeoutMs = READ_TIMEOUT_MS): Promise<Measured> {
  const { script, threads } = CLIENTS[client]!;
  const run = await timed(
    [
      process.execPath,
      join(COMPILED, 'bench', 'kafka-clients', 'readers', `${script}.js`),
      JSON.stringify({ ...spec, threads }),
    ],
    { timeoutMs },
  );
  const line = run.stdout.trim().split('\n').at(-1) ?? '';
  let result: ReadResult | undefined;
  try {
    result = JSON.parse(line) as ReadResult;
  } catch {
    result = undefined;
  }
  const ok = run.code === 0 && result !== undefined && !run.timedOut;
  return {
    ok,
    ...(ok
      ? {}
      : {
          error: run.timedOut
            ? `no result within ${timeoutMs / 1000} s: ${firstErrorLine(run.stderr)}`
            : firstErrorLine(run.stderr),
        }),
    records: result?.records ?? 0,
    valueBytes: result?.valueBytes ?? 0,
    readMs: result?.readMs ?? Number.NaN,
    wallS: run.wallS,
    cpuS: run.cpuS,
    rssMiB: run.rssMiB,
    ...(result?.digest === undefined ? {} : { digest: result.digest }),
  };
}

/** A middle range of each partition, starting and ending off batch boundaries. */
function middleRanges(topic: BenchTopic): ReadSpec['partitions'] {
  return topic.partitions.map(({ partition, from, to }) => {
    const span = to - from;
    return { partition, from: String(from + span / 3n + 7n), to: String(from + (2n * span) / 3n + 3n) };
  });
}

/** sha256 over each partition's values in [from, to) as kcat reads them, then over those digests. */
async function kcatDigest(
  topic: string,
  ranges: ReadSpec['partitions'],
): Promise<{ digest: string; records: number }> {
  const all = createHash('sha256');
  let records = 0;
  for (const { partition, from, to } of ranges) {
    const count = Number(BigInt(to) - BigInt(from));
    const hash = createHash('sha256');
    const child = spawn(
      KCAT,
      [
        '-C',
        '-b',
        BROKERS.join(','),
        '-t',
        topic,
        '-p',
        String(partition),
        '-o',
        from,
        '-c',
        String(count),
        '-e',
        '-q',
        '-f',
        '%s',
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    child.stdout.on('data', (chunk: Buffer) => hash.update(chunk));
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
    if (code !== 0) throw new Error(`kcat reading ${topic} partition ${partition} failed (${code})`);
    all.update(hash.digest());
    records += count;
  }
  return { digest: all.digest('hex'), records };
}

const fmt = (n: number, digits = 0) =>
  Number.isFinite(n)
    ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
    : '–';

function median(values: number[]): number {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function medianOf(runs: Measured[]): Measured | undefined {
  const ok = runs.filter((m) => m.ok);
  if (ok.length === 0) return runs[0];
  return {
    ok: true,
    records: ok[0]!.records,
    valueBytes: ok[0]!.valueBytes,
    readMs: median(ok.map((m) => m.readMs)),
    wallS: median(ok.map((m) => m.wallS)),
    cpuS: median(ok.map((m) => m.cpuS)),
    rssMiB: median(ok.map((m) => m.rssMiB)),
    ...(ok.length < runs.length
      ? {
          error: `${runs.length - ok.length} of ${runs.length} runs failed: ${runs.find((m) => !m.ok)?.error}`,
        }
      : {}),
  };
}

async function main(): Promise<void> {
  await stat(GNU_TIME).catch(() => {
    throw new Error(`${GNU_TIME} (GNU time) is needed for CPU and memory figures: apt-get install time`);
  });
  const wanted = args.clients.split(',').map((c) => c.trim());
  for (const c of wanted)
    if (CLIENTS[c] === undefined)
      throw new Error(`unknown client ${c}; known: ${Object.keys(CLIENTS).join(', ')}`);
  const clients = wanted.filter(installed);
  const skipped = wanted.filter((c) => !installed(c));
  const codecs = args.codecs.split(',').map((c) => c.trim()) as Codec[];
  for (const c of codecs)
    if (!CODECS.includes(c)) throw new Error(`unknown codec ${c}; known: ${CODECS.join(', ')}`);
  const counts: Record<DatasetKey, number> = {
    apiaction: Number(args.apiaction),
    cirrus: Number(args.cirrus),
  };
  console.error(`compiling the readers into ${COMPILED} …`);
  await rm(COMPILED, { recursive: true, force: true });
  await new Promise<void>((resolve, reject) =>
    spawn(
      'npx',
      [
        '--no-install',
        'tsc',
        '-p',
        join(root, 'tsconfig.test.json'),
        '--noEmit',
        'false',
        '--sourceMap',
        'false',
        '--outDir',
        COMPILED,
      ],
      { stdio: 'inherit', cwd: root },
    ).once('close', (code) => (code === 0 ? resolve() : reject(new Error(`tsc failed (${code})`)))),
  );
  const registry = await mixedRegistryRoot();
  const load = [loadavg()[0]!];
  const lines: string[] = [];
  const out = (line = '') => {
    lines.push(line);
    console.log(line);
  };
  const topics: BenchTopic[] = [];
  try {
    for (const dataset of Object.keys(DATASETS) as DatasetKey[]) {
      if (counts[dataset] <= 0) continue;
      for (const codec of codecs) topics.push(await ensureTopic(BROKERS, dataset, counts[dataset], codec));
    }
    const readers = clients.filter((c) => c !== 'kcat');
    const idle = await measure('idle', { brokers: BROKERS, topic: '', partitions: [], verify: false });

    // 2. Bounded middle ranges, compared with kcat's values.
    const rangeResults = new Map<string, string>();
    for (const topic of topics) {
      const ranges = middleRanges(topic);
      const expected = await kcatDigest(topic.topic, ranges);
      for (const client of readers) {
        const m = await measure(
          client,
          { brokers: BROKERS, topic: topic.topic, partitions: ranges, verify: true },
          60_000,
        );
        const verdict =
          m.ok && m.records === expected.records && m.digest === expected.digest
            ? 'ok'
            : `fails: ${m.error ?? `${m.records} of ${expected.records} records, digest ${m.digest === expected.digest ? 'equal' : 'differs'}`}`;
        rangeResults.set(`${topic.topic}\u0000${client}`, verdict);
        console.error(`range ${topic.topic} ${client}: ${verdict}`);
      }
    }

    // 3. Rates, runs interleaved so a burst of load on the shared machine hits every client alike.
    const spec = (topic: BenchTopic, check = false): ReadSpec => ({
      brokers: BROKERS,
      topic: topic.topic,
      verify: false,
      partitions: topic.partitions.map((p) => ({
        partition: p.partition,
        from: String(p.from),
        to: String(p.to),
      })),
      ...(check ? { check: { registry, schemaName: DATASETS[topic.dataset].schemaName } } : {}),
    });
    const runsOf = new Map<string, Measured[]>();
    const note = (key: string, label: string, m: Measured, expected: number) => {
      const ok = m.ok && m.records === expected;
      const entry = ok ? m : { ...m, ok: false, error: m.error ?? `${m.records} of ${expected} records` };
      runsOf.set(key, [...(runsOf.get(key) ?? []), entry]);
      console.error(
        `${label}: ${ok ? `${fmt(m.readMs)} ms read, ${fmt(m.wallS, 2)} s wall, ${fmt(m.cpuS, 2)} s CPU, ${fmt(m.rssMiB)} MiB` : `FAILED ${entry.error}`}`,
      );
    };
    for (const topic of topics) {
      for (let run = 1; run <= RUNS; run++) {
        for (const client of clients) {
          const m = client === 'kcat' ? await measureKcat(topic) : await measure(client, spec(topic));
          note(`${topic.topic}\u0000${client}`, `${topic.topic} run ${run} ${client}`, m, topic.records);
        }
      }
    }
    // 4. With the ingest's check, on the production codec.
    const checkTopics = args['no-check'] ? [] : topics.filter((t) => t.codec === 'snappy');
    const checkClients = CHECK_CLIENTS.filter((c) => clients.includes(c));
    for (const topic of checkTopics) {
      for (let run = 1; run <= RUNS; run++) {
        for (const client of checkClients) {
          const m = await measure(client, spec(topic, true));
          note(
            `${topic.topic}\u0000${client}+check`,
            `${topic.topic} run ${run} ${client} + check`,
            m,
            topic.records,
          );
        }
      }
    }
    load.push(loadavg()[0]!);

    out(`## Kafka client comparison (${new Date().toISOString().slice(0, 10)})`);
    out();
    out(
      `Machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, load average ${load.map((l) => l.toFixed(1)).join(' → ')} (shared machine).`,
    );
    out(
      `Median of ${RUNS} runs. records/s and MB/s (message values) over the read inside the process (kcat: its whole run); wall, CPU and peak RSS of the whole process (GNU time); × kcat = kcat's wall time / the client's wall time, both from process start to exit.`,
    );
    out(
      `Readers run compiled (tsc), one process each. Node doing nothing: ${fmt(idle.wallS, 2)} s wall, ${fmt(idle.cpuS, 2)} s CPU, ${fmt(idle.rssMiB)} MiB; the Node rows include it.`,
    );
    if (skipped.length > 0) out(`Not installed, skipped: ${skipped.join(', ')}.`);
    out();
    const table = (topic: BenchTopic, rows: { key: string; label: string }[]) => {
      const kcat = medianOf(runsOf.get(`${topic.topic}\u0000kcat`) ?? []);
      out('| client | records/s | MB/s | wall (s) | CPU (s) | CPU µs/record | peak RSS (MiB) | × kcat |');
      out('|---|---:|---:|---:|---:|---:|---:|---:|');
      for (const { key, label } of rows) {
        const m = medianOf(runsOf.get(`${topic.topic}\u0000${key}`) ?? []);
        if (m === undefined) continue;
        if (!m.ok) {
          out(`| ${label} | failed: ${m.error ?? '?'} | | | | | | |`);
          continue;
        }
        const seconds = m.readMs / 1000;
        out(
          `| ${label}${m.error ? ` (${m.error})` : ''} | ${fmt(topic.records / seconds)} | ${fmt(topic.valueBytes / 1e6 / seconds)} | ${fmt(m.wallS, 2)} | ${fmt(m.cpuS, 2)} | ${fmt((m.cpuS * 1e6) / topic.records, 2)} | ${fmt(m.rssMiB)} | ${kcat?.ok ? fmt(kcat.wallS / m.wallS, 2) : '–'} |`,
        );
      }
      out();
    };
    for (const topic of topics) {
      out(
        `### ${DATASETS[topic.dataset].schemaName}, ${fmt(topic.records)} records (~${fmt(topic.valueBytes / topic.records)} B), 4 partitions, ${topic.codec}`,
      );
      out();
      table(
        topic,
        clients.map((c) => ({ key: c, label: versionOf(c) })),
      );
    }
    for (const topic of checkTopics) {
      out(
        `### ${DATASETS[topic.dataset].schemaName}, ${topic.codec}: read + the ingest's check (header, body, time field)`,
      );
      out();
      table(topic, [
        { key: 'kcat', label: 'kcat (read only)' },
        ...checkClients.map((c) => ({ key: `${c}+check`, label: `${versionOf(c)} + check` })),
      ]);
    }
    out('### Bounded middle ranges [from, to) of each partition, values compared with kcat (sha256)');
    out();
    out(`| topic | ${readers.map(versionOf).join(' | ')} |`);
    out(`|---|${readers.map(() => '---').join('|')}|`);
    for (const topic of topics)
      out(
        `| ${DATASETS[topic.dataset].schemaName} ${topic.codec} | ${readers.map((c) => rangeResults.get(`${topic.topic}\u0000${c}`) ?? '–').join(' | ')} |`,
      );
    if (args.out !== undefined) await writeFile(args.out, `${lines.join('\n')}\n`);
  } finally {
    await rm(registry, { recursive: true, force: true });
    if (!args.keep)
      await deleteTopics(
        BROKERS,
        topics.map((t) => t.topic),
      );
  }
}

await main();
