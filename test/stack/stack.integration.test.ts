/**
 * The local stack is what the other integration tests rely on: Kafka that keeps what it is given
 * and creates no topic by itself, WebHDFS whose redirects stay on loopback and whose file operations
 * work, Redis, and the verification tools (kcat, avro-tools).
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { createTopic, deleteTopic, requireStack, type StackConfig, uniqueName } from '../support/stack.js';

const execFileAsync = promisify(execFile);

/** Runs a command with `input` on stdin; resolves with its exit code and output. */
function run(
  command: string,
  args: string[],
  input = '',
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], timeout: 60_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}

/**
 * PUTs `body` with node:http. The DataNode answers a WebHDFS CREATE/APPEND with an unasked-for
 * `100 Continue` before its `201`, which Node 20's fetch (undici) rejects as "bad response";
 * node:http skips informational responses.
 */
function httpPut(url: string, body: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: 'PUT', headers: { 'content-type': 'application/octet-stream' } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

let stack: StackConfig;

before(async () => {
  stack = await requireStack();
});

describe('Kafka', () => {
  test('a record produced with kcat to a created topic is consumed back with its key', async (t) => {
    const topic = uniqueName('stack-kafka');
    await createTopic(topic, 2, stack);
    t.after(() => deleteTopic(topic, stack));
    const brokers = stack.kafkaBrokers.join(',');
    const value = `value of ${topic}`;

    const produced = await run(
      stack.kcat,
      ['-P', '-b', brokers, '-t', topic, '-p', '1', '-K', '\t'],
      `k1\t${value}\n`,
    );
    assert.equal(produced.code, 0, produced.stderr);

    const consumed = await run(stack.kcat, [
      '-C',
      '-b',
      brokers,
      '-t',
      topic,
      '-p',
      '1',
      '-o',
      'beginning',
      '-e',
      '-q',
      '-f',
      '%k|%s|%o\n',
    ]);
    assert.equal(consumed.code, 0, consumed.stderr);
    assert.equal(consumed.stdout, `k1|${value}|0\n`);
  });

  test('producing to a topic nobody created fails instead of creating it', async () => {
    const topic = uniqueName('stack-missing');
    const brokers = stack.kafkaBrokers.join(',');
    const produced = await run(
      stack.kcat,
      ['-P', '-b', brokers, '-t', topic, '-X', 'message.timeout.ms=3000'],
      'should not be stored\n',
    );
    assert.notEqual(produced.code, 0, 'kcat reported success for a topic that does not exist');

    const metadata = await run(stack.kcat, ['-L', '-b', brokers, '-t', topic]);
    assert.doesNotMatch(metadata.stdout, /partition 0, leader/, `topic ${topic} was created on first use`);
  });
});

describe('WebHDFS', () => {
  const user = process.env.USER || 'root';
  const api = (path: string, op: string, extra = '') =>
    `${stack.webhdfsUrl}/webhdfs/v1${path}?op=${op}&user.name=${encodeURIComponent(user)}${extra}`;

  test('a file is created, read, renamed, listed and deleted', async (t) => {
    const dir = `/tmp/${uniqueName('stack-webhdfs')}`;
    t.after(async () => {
      const response = await fetch(api(dir, 'DELETE', '&recursive=true'), { method: 'DELETE' });
      await response.body?.cancel();
    });
    const content = `bytes of ${dir}\n`;

    // CREATE is two steps: the NameNode answers 307 with a DataNode URL, which takes the bytes.
    const step1 = await fetch(api(`${dir}/a.txt`, 'CREATE', '&overwrite=false'), {
      method: 'PUT',
      redirect: 'manual',
    });
    assert.equal(step1.status, 307);
    const location = step1.headers.get('location') ?? '';
    assert.match(location, /^http:\/\/127\.0\.0\.1:\d+\//, 'the DataNode redirect must stay on loopback');
    const step2 = await httpPut(location, content);
    assert.equal(step2.status, 201, step2.text);

    const opened = await fetch(api(`${dir}/a.txt`, 'OPEN'));
    assert.equal(opened.status, 200);
    assert.equal(await opened.text(), content);

    const renamed = await fetch(api(`${dir}/a.txt`, 'RENAME', `&destination=${dir}/b.txt`), {
      method: 'PUT',
    });
    assert.deepEqual(await renamed.json(), { boolean: true });
    // WebHDFS reports a failed rename as HTTP 200 with false: callers must check the body
    const renameMissing = await fetch(api(`${dir}/a.txt`, 'RENAME', `&destination=${dir}/c.txt`), {
      method: 'PUT',
    });
    assert.equal(renameMissing.status, 200);
    assert.deepEqual(await renameMissing.json(), { boolean: false });

    const listed = (await (await fetch(api(dir, 'LISTSTATUS'))).json()) as {
      FileStatuses: { FileStatus: { pathSuffix: string; length: number; type: string }[] };
    };
    assert.deepEqual(
      listed.FileStatuses.FileStatus.map((s) => [s.pathSuffix, s.type, s.length]),
      [['b.txt', 'FILE', Buffer.byteLength(content)]],
    );

    const deleted = await fetch(api(`${dir}/b.txt`, 'DELETE'), { method: 'DELETE' });
    assert.deepEqual(await deleted.json(), { boolean: true });
    const gone = await fetch(api(`${dir}/b.txt`, 'GETFILESTATUS'));
    assert.equal(gone.status, 404);
    await gone.body?.cancel();
  });
});

describe('Redis', () => {
  test('answers PING and keeps a value', async (t) => {
    const redis = new Redis(stack.redisUrl, { maxRetriesPerRequest: 1 });
    const key = uniqueName('stack-redis');
    t.after(async () => {
      await redis.del(key);
      await redis.quit();
    });

    assert.equal(await redis.ping(), 'PONG');
    await redis.set(key, 'kept', 'EX', 60);
    assert.equal(await redis.get(key), 'kept');
  });
});

describe('avro-tools', () => {
  test('lists its tools and round-trips a record through an Avro container file', async (t) => {
    const listing = await run('java', ['-jar', stack.avroToolsJar]);
    for (const tool of ['tojson', 'fromjson', 'getschema', 'cat']) {
      assert.match(listing.stdout + listing.stderr, new RegExp(`^\\s+${tool}\\s`, 'm'), `no '${tool}' tool`);
    }

    const dir = await mkdtemp(join(tmpdir(), 'stack-avro-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const schema = {
      type: 'record',
      name: 'Probe',
      fields: [
        { name: 'ts', type: 'int' },
        { name: 'wiki', type: 'string' },
      ],
    };
    await writeFile(join(dir, 'probe.avsc'), JSON.stringify(schema));
    await writeFile(join(dir, 'probe.json'), '{"ts":1405382399,"wiki":"enwiki"}\n');
    const avroFile = join(dir, 'probe.avro');
    const written = await execFileAsync(
      'java',
      [
        '-jar',
        stack.avroToolsJar,
        'fromjson',
        '--schema-file',
        join(dir, 'probe.avsc'),
        join(dir, 'probe.json'),
      ],
      { encoding: 'buffer', maxBuffer: 1 << 20 },
    );
    await writeFile(avroFile, written.stdout);
    assert.equal((await readFile(avroFile)).subarray(0, 4).toString('latin1'), 'Obj\u0001');

    const { stdout } = await execFileAsync('java', ['-jar', stack.avroToolsJar, 'tojson', avroFile]);
    assert.deepEqual(JSON.parse(stdout), { ts: 1405382399, wiki: 'enwiki' });
  });
});
