/**
 * Kafka client comparison on the real broker (docs/kafka-clients.md has the results and the decision).
 *
 *   npm run bench:kafka-clients -- [--records 1000000] [--size 600] [--runs 3] [--clients kcat,kafkajs,…] [--keep] [--out FILE]
 *
 * 1. Writes `--records` lines of about `--size` bytes (bench/kafka-clients/payload.ts) to a file,
 *    creates four fresh topics `kbench_<stamp>_p{1,4}_{none,snappy}` and fills each with kcat
 *    (`-z none|snappy`, records spread over the partitions), then snapshots their end offsets.
 * 2. Every client reads every topic from offset 0 to the snapshotted end, `--runs` times, each run a
 *    process of its own under GNU time (CPU user+sys, peak RSS). Best run = shortest read.
 *    kcat runs as `kcat -C -e -o beginning -q > /dev/null`, the raw limit.
 * 3. Codec check: 20,000 records per codec (gzip, snappy, lz4, zstd) produced by kcat `-z codec`
 *    into one topic each; every client reads them back and must deliver the same values.
 * 4. Deletes its topics (unless --keep) and prints Markdown tables.
 *
 * Clients that are not installed are skipped with a note (only the chosen one is a dependency:
 * `npm install --no-save kafkajs@2.2.4 @platformatic/kafka@^1` brings the others back).
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { openKafkaSink, openKafkaSource } from '../../src/kafka/open.js';
import { createPayloads, writePayloadFile } from './payload.js';
import type { ReadResult, ReadSpec } from './readers/harness.js';

const { values: args } = parseArgs({
  options: {
    records: { type: 'string', default: '1000000' },
    size: { type: 'string', default: '600' },
    runs: { type: 'string', default: '3' },
    clients: { type: 'string', default: 'kcat,kafkajs,confluent,platformatic,mwingest' },
    keep: { type: 'boolean', default: false },
    out: { type: 'string' },
  },
});
const RECORDS = Number(args.records);
const SIZE = Number(args.size);
const RUNS = Number(args.runs);
const CODEC_RECORDS = Math.min(20_000, RECORDS);
const BROKERS = (process.env.MWINGEST_KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const KCAT = process.env.MWINGEST_KCAT ?? 'kcat';
const GNU_TIME = '/usr/bin/time';
const READ_TIMEOUT_MS = 180_000;
const here = new URL('.', import.meta.url).pathname;

const PACKAGES: Record<string, string> = {
  kafkajs: 'kafkajs',
  confluent: '@confluentinc/kafka-javascript',
  platformatic: '@platformatic/kafka',
  mwingest: '@confluentinc/kafka-javascript',
};

interface Measured {
  client: string;
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
  const name = PACKAGES[client];
  if (name === undefined) return true;
  try {
    import.meta.resolve(name);
    return true;
  } catch {
    return false;
  }
}

function versionOf(client: string): string {
  if (client === 'kcat') return 'kcat (librdkafka)';
  if (client === 'mwingest') return 'src/kafka/open.ts';
  const name = PACKAGES[client]!;
  const path = new URL(`../../node_modules/${name}/package.json`, import.meta.url);
  return `${name} ${JSON.parse(readFileSync(path, 'utf8')).version}`;
}

/** Runs a command under GNU time in its own process group; kills the group on timeout. */
async function timed(
  command: string[],
  options: { stdout?: 'capture' | 'ignore'; timeoutMs: number },
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
    stdio: ['ignore', options.stdout === 'capture' ? 'pipe' : 'ignore', 'pipe'],
    detached: true,
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk) => {
    stdout += chunk;
  });
  child.stderr?.on('data', (chunk) => {
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
  const reason = /[\w -]*(?:not implemented|not supported)[^"\n]*/.exec(stderr)?.[0];
  const line = reason ?? stderr.split('\n').find((l) => /error/i.test(l)) ?? stderr.split('\n')[0] ?? '';
  return line.trim().slice(0, 160);
}

async function measure(client: string, spec: ReadSpec, timeoutMs = READ_TIMEOUT_MS): Promise<Measured> {
  if (client === 'kcat') {
    const run = await timed(
      [KCAT, '-C', '-b', spec.brokers.join(','), '-t', spec.topic, '-e', '-o', 'beginning', '-q'],
      {
        stdout: 'ignore',
        timeoutMs,
      },
    );
    const expected = spec.partitions.reduce((sum, p) => sum + Number(BigInt(p.to) - BigInt(p.from)), 0);
    return {
      client,
      ok: run.code === 0,
      ...(run.code === 0 ? {} : { error: firstErrorLine(run.stderr) }),
      records: run.code === 0 ? expected : 0,
      valueBytes: 0,
      readMs: run.wallS * 1000,
      wallS: run.wallS,
      cpuS: run.cpuS,
      rssMiB: run.rssMiB,
    };
  }
  const script = join(here, 'readers', `${client}.ts`);
  const run = await timed([process.execPath, '--import', 'tsx', script, JSON.stringify(spec)], {
    stdout: 'capture',
    timeoutMs,
  });
  const line = run.stdout.trim().split('\n').at(-1) ?? '';
  let result: ReadResult | undefined;
  try {
    result = JSON.parse(line) as ReadResult;
  } catch {
    result = undefined;
  }
  const ok = run.code === 0 && result !== undefined && !run.timedOut;
  return {
    client,
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

async function kcatProduce(topic: string, file: string, codec: string): Promise<void> {
  const child = spawn(
    KCAT,
    ['-P', '-b', BROKERS.join(','), '-t', topic, '-z', codec, '-l', file].concat([
      '-X',
      'linger.ms=50',
      '-X',
      'sticky.partitioning.linger.ms=0',
      '-X',
      'queue.buffering.max.kbytes=262144',
    ]),
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  if (code !== 0) throw new Error(`kcat -P -z ${codec} into ${topic} failed (${code}): ${stderr.trim()}`);
}

/** The digest the readers compute with `verify`: sha256 of each partition's values, then of those digests. */
function expectedDigest(lines: string[]): string {
  const partition = createHash('sha256');
  for (const line of lines) partition.update(line);
  return createHash('sha256').update(partition.digest()).digest('hex');
}

const fmt = (n: number, digits = 0) =>
  Number.isFinite(n)
    ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
    : '–';

async function main(): Promise<void> {
  await stat(GNU_TIME).catch(() => {
    throw new Error(`${GNU_TIME} (GNU time) is needed for CPU and memory figures: apt-get install time`);
  });
  const wanted = args.clients.split(',').map((c) => c.trim());
  const clients = wanted.filter(installed);
  const skipped = wanted.filter((c) => !installed(c));
  const stamp = Date.now().toString(36);
  const sink = await openKafkaSink({ brokers: BROKERS, clientId: 'kbench' });
  const source = await openKafkaSource({ brokers: BROKERS, clientId: 'kbench' });
  const topics: string[] = [];
  const load = [loadavg()[0]!];
  const lines: string[] = [];
  const out = (line = '') => {
    lines.push(line);
    console.log(line);
  };
  try {
    const payload = join(tmpdir(), `kbench-payload-${RECORDS}-${SIZE}.txt`);
    const bytes = await stat(payload).then(
      (s) => s.size - RECORDS,
      () => writePayloadFile(payload, RECORDS, SIZE),
    );
    console.error(`payload: ${payload} (${RECORDS} records, ${fmt(bytes / RECORDS)} bytes each on average)`);

    const specs: { label: string; spec: ReadSpec }[] = [];
    for (const partitions of [1, 4]) {
      for (const codec of ['none', 'snappy']) {
        const topic = `kbench_${stamp}_p${partitions}_${codec}`;
        await sink.createTopic(topic, partitions);
        topics.push(topic);
        const started = Date.now();
        await kcatProduce(topic, payload, codec);
        const offsets = await source.partitionOffsets(topic);
        const total = offsets.reduce((sum, p) => sum + Number(p.latest - p.earliest), 0);
        if (total !== RECORDS) throw new Error(`${topic} holds ${total} records, expected ${RECORDS}`);
        console.error(`${topic}: produced in ${((Date.now() - started) / 1000).toFixed(1)} s`);
        specs.push({
          label: `${partitions} partition${partitions > 1 ? 's' : ''}, ${codec === 'none' ? 'uncompressed' : codec}`,
          spec: {
            brokers: BROKERS,
            topic,
            verify: false,
            partitions: offsets.map((p) => ({
              partition: p.partition,
              from: p.earliest.toString(),
              to: p.latest.toString(),
            })),
          },
        });
      }
    }

    const idle = await measure('idle', { brokers: BROKERS, topic: '', partitions: [], verify: false });
    const best = new Map<string, Measured>();
    for (const { label, spec } of specs) {
      for (let run = 1; run <= RUNS; run++) {
        for (const client of clients) {
          const m = await measure(client, spec);
          const ok = m.ok && m.records === RECORDS;
          console.error(
            `${label} run ${run} ${client}: ${ok ? `${fmt(m.readMs)} ms, ${fmt(m.cpuS, 2)} s CPU, ${fmt(m.rssMiB)} MiB` : `FAILED ${m.error ?? `${m.records} records`}`}`,
          );
          const key = `${label}\u0000${client}`;
          const previous = best.get(key);
          if (!ok) {
            if (previous === undefined) best.set(key, { ...m, ok: false });
          } else if (previous === undefined || !previous.ok || m.readMs < previous.readMs) {
            best.set(key, m);
          }
        }
      }
    }

    const codecRows: { codec: string; results: Map<string, string> }[] = [];
    const nextPayload = createPayloads(SIZE);
    const codecLines = Array.from({ length: CODEC_RECORDS }, () => nextPayload());
    const codecFile = join(tmpdir(), `kbench-codec-${CODEC_RECORDS}-${SIZE}.txt`);
    await writeFile(codecFile, `${codecLines.join('\n')}\n`);
    const digest = expectedDigest(codecLines);
    for (const codec of ['gzip', 'snappy', 'lz4', 'zstd']) {
      const topic = `kbench_${stamp}_codec_${codec}`;
      await sink.createTopic(topic, 1);
      topics.push(topic);
      await kcatProduce(topic, codecFile, codec);
      const spec: ReadSpec = {
        brokers: BROKERS,
        topic,
        verify: true,
        partitions: [{ partition: 0, from: '0', to: String(CODEC_RECORDS) }],
      };
      const results = new Map<string, string>();
      for (const client of clients.filter((c) => c !== 'kcat')) {
        const m = await measure(client, spec, 30_000);
        results.set(
          client,
          m.ok && m.records === CODEC_RECORDS && m.digest === digest
            ? 'ok'
            : `fails: ${m.error ?? `wrong data (${m.records} records)`}`,
        );
        console.error(`codec ${codec} ${client}: ${results.get(client)}`);
      }
      codecRows.push({ codec, results });
    }
    load.push(loadavg()[0]!);

    out(`## Kafka client comparison (${new Date().toISOString().slice(0, 10)})`);
    out();
    out(
      `Machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, load average ${load.map((l) => l.toFixed(1)).join(' → ')} (shared machine).`,
    );
    out(
      `Data: ${fmt(RECORDS)} records of ~${SIZE} bytes per topic (${fmt(bytes / 1e6)} MB of values), produced by kcat. Best of ${RUNS} runs; MB/s counts value bytes.`,
    );
    out(
      `Baseline: \`node --import tsx\` doing nothing uses ${fmt(idle.cpuS, 2)} s CPU and ${fmt(idle.rssMiB)} MiB; the Node rows include it.`,
    );
    if (skipped.length > 0) out(`Not installed, skipped: ${skipped.join(', ')}.`);
    out();
    for (const { label } of specs) {
      out(`### ${label}`);
      out();
      out('| client | records/s | MB/s | read (s) | CPU user+sys (s) | CPU µs/record | peak RSS (MiB) |');
      out('|---|---:|---:|---:|---:|---:|---:|');
      for (const client of clients) {
        const m = best.get(`${label}\u0000${client}`);
        if (m === undefined) continue;
        if (!m.ok) {
          out(`| ${versionOf(client)} | failed: ${m.error ?? '?'} | | | | | |`);
          continue;
        }
        const seconds = m.readMs / 1000;
        out(
          `| ${versionOf(client)} | ${fmt(RECORDS / seconds)} | ${fmt(bytes / 1e6 / seconds)} | ${fmt(seconds, 2)} | ${fmt(m.cpuS, 2)} | ${fmt((m.cpuS * 1e6) / RECORDS, 1)} | ${fmt(m.rssMiB)} |`,
        );
      }
      out();
    }
    out(`### Reading batches written with each codec (${fmt(CODEC_RECORDS)} records, kcat -z CODEC)`);
    out();
    const readers = clients.filter((c) => c !== 'kcat');
    out(`| codec | ${readers.map(versionOf).join(' | ')} |`);
    out(`|---|${readers.map(() => '---').join('|')}|`);
    for (const { codec, results } of codecRows)
      out(`| ${codec} | ${readers.map((c) => results.get(c) ?? '–').join(' | ')} |`);
    if (args.out !== undefined) await writeFile(args.out, `${lines.join('\n')}\n`);
  } finally {
    if (!args.keep) for (const topic of topics) await sink.deleteTopic(topic);
    await source.close();
    await sink.close();
  }
}

await main();
