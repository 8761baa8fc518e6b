/**
 * What every fault test ends with, and the service controls they share. The records are checked by
 * avro-tools (an independent reader) against what was produced; services are stopped, killed or
 * paused through `scripts/stack`'s own pid files and started again with `scripts/stack up`, so each
 * test leaves the stack running. Fault tests run under the stack lock (`scripts/test` takes it).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { open, readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { toAvroJson } from '../../src/schemas/json.js';
import { schemaNameOfTopic } from '../../src/schemas/registry.js';
import type { TestJob } from '../scheduler/worker-harness.js';
import { canonicalJson, readWithAvroTools } from '../support/avro-tools.js';
import { listFilesRecursively, multiset } from '../support/ingest.js';

const execFileAsync = promisify(execFile);
const projectRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * Guarantee 1 by avro-tools: per topic, the hour files hold exactly the good messages produced,
 * resolved to the reader schema — none missing, none twice.
 */
export async function assertExactByAvroTools(job: TestJob): Promise<void> {
  for (const topic of job.topics) {
    const reader = job.registry.latest(schemaNameOfTopic(topic))!;
    const good = job.produced.filter((m) => m.topic === topic && !m.bad);
    const expected = multiset(
      good.map((m) => {
        const writer = job.registry.byRevision(m.revision!)!;
        const value =
          writer === reader
            ? m.record
            : reader.type.fromBuffer(writer.type.toBuffer(m.record), reader.type.createResolver(writer.type));
        return canonicalJson(toAvroJson(reader.type, value));
      }),
    );
    const files = (await listFilesRecursively(job.fs, `${job.hdfsBase}/raw/${topic}`)).filter((p) =>
      p.endsWith('.avro'),
    );
    const read = await readWithAvroTools(job.stack.avroToolsJar, job.fs, files);
    const got = multiset(read);
    let missing = 0;
    let extra = 0;
    for (const [key, n] of expected) missing += Math.max(0, n - (got.get(key) ?? 0));
    for (const [key, n] of got) extra += Math.max(0, n - (expected.get(key) ?? 0));
    assert.equal(
      missing,
      0,
      `${topic}: ${missing} produced record(s) missing (avro-tools read ${read.length})`,
    );
    assert.equal(extra, 0, `${topic}: ${extra} record(s) not produced or written twice (avro-tools)`);
    assert.equal(read.length, good.length, `${topic}: records read by avro-tools`);
  }
}

/** The stack's own log of a service (`scripts/stack logs`), e.g. the NameNode's WebHDFS request log. */
export function serviceLog(job: TestJob, service: string): string {
  return join(job.stack.stackHome, 'logs', `${service}.log`);
}

/** The log's lines written after byte `from` (a size taken earlier with `logSize`). */
export async function logSince(path: string, from: number): Promise<string[]> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    const buffer = Buffer.alloc(Math.max(0, size - from));
    await handle.read(buffer, 0, buffer.length, from);
    return buffer.toString('utf8').split('\n');
  } finally {
    await handle.close();
  }
}

export async function logSize(path: string): Promise<number> {
  return (await stat(path)).size;
}

/** The WebHDFS requests that change something (PUT, POST, DELETE) the NameNode logged under `prefix`. */
export function changingRequests(lines: string[], prefix: string): string[] {
  const pattern = new RegExp(
    `"(PUT|POST|DELETE) /webhdfs/v1${prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`,
  );
  return lines.filter((line) => pattern.test(line));
}

/** The state letter of a process in /proc (`T` stopped, `S` sleeping, `R` running…). */
export async function processState(pid: number): Promise<string> {
  const text = await readFile(`/proc/${pid}/stat`, 'utf8');
  return text.slice(text.lastIndexOf(')') + 2, text.lastIndexOf(')') + 3);
}

/** The pid of a stack service from `scripts/stack`'s pid file, or undefined when it is not running. */
export async function servicePid(job: TestJob, service: string): Promise<number | undefined> {
  try {
    const [first] = (await readFile(join(job.stack.stackHome, 'pids', `${service}.pid`), 'utf8'))
      .trim()
      .split(' ');
    const pid = Number(first);
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

/** Sends `signal` to a stack service and, for a kill, waits until it is gone. */
export async function signalService(job: TestJob, service: string, signal: NodeJS.Signals): Promise<number> {
  const pid = await servicePid(job, service);
  assert.ok(pid !== undefined, `${service} is not running (no pid in ${job.stack.stackHome}/pids)`);
  process.kill(pid, signal);
  if (signal === 'SIGKILL' || signal === 'SIGTERM') {
    for (let i = 0; i < 600; i++) {
      try {
        process.kill(pid, 0);
      } catch {
        return pid;
      }
      await sleep(100);
    }
    throw new Error(`${service} (pid ${pid}) did not stop after ${signal}`);
  }
  return pid;
}

/** `scripts/stack up`: starts what is not running and waits until every service answers. */
export async function stackUp(): Promise<void> {
  await execFileAsync(join(projectRoot, 'scripts', 'stack'), ['up'], {
    timeout: 300_000,
    maxBuffer: 16 * 1024 * 1024,
  });
}

/** Stops the Redis on `url` without saving and starts it again at once, empty, as the stack runs it. */
export async function restartRedis(url: string): Promise<void> {
  const port = new URL(url).port || '6379';
  await execFileAsync('redis-cli', ['-p', port, 'shutdown', 'nosave']).catch(() => undefined);
  await execFileAsync('redis-server', [
    '--daemonize',
    'yes',
    '--bind',
    '127.0.0.1',
    '--port',
    port,
    '--save',
    '',
    '--appendonly',
    'no',
  ]);
  for (let i = 0; i < 200; i++) {
    const { stdout } = await execFileAsync('redis-cli', ['-p', port, 'ping']).catch(() => ({ stdout: '' }));
    if (stdout.trim() === 'PONG') return;
    await sleep(100);
  }
  throw new Error(`Redis on port ${port} did not answer after the restart`);
}
