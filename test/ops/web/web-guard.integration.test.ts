/**
 * The web view guards the queues (real bull-board over the real Redis): read-only by default, a
 * foreign `Host` header (DNS rebinding) refused, and changes served only when the server allows them
 * and the request carries the change token.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { Queue } from 'bullmq';
import { type HivePartitionAddJob, hiveQueueName } from '../../../src/hive/queue.js';
import { startWebServer, type WebServer } from '../../../src/ops/web/server.js';
import { createTestJob, type TestJob } from '../../scheduler/worker-harness.js';
import { quietLog } from '../../support/ingest.js';

const TOKEN = 'a-change-token-for-the-guard-test';
let job: TestJob;
let hive: Queue<HivePartitionAddJob>;
const servers: WebServer[] = [];

before(async () => {
  job = await createTestJob('webguard', { schemas: ['EditAttempt'], partitions: 1 });
  hive = new Queue<HivePartitionAddJob>(hiveQueueName(job.name), { connection: job.redis });
});

after(async () => {
  for (const server of servers) await server.close();
  await hive?.close();
  await job?.cleanup();
});

async function serve(options: { allowChanges?: boolean } = {}): Promise<WebServer> {
  const server = await startWebServer({
    jobs: [job.loaded],
    port: 0,
    log: quietLog,
    ...(options.allowChanges ? { allowChanges: true, changeToken: TOKEN } : {}),
  });
  servers.push(server);
  return server;
}

/** One HTTP request with full control of the headers (fetch does not let a caller set Host). */
function send(
  server: WebServer,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  const url = new URL(server.url);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: url.hostname, port: url.port, method, path, headers: { host: url.host, ...headers } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text, headers: res.headers }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const obliterate = () => `/queues/api/queues/${encodeURIComponent(hiveQueueName(job.name))}/obliterate`;

async function queuedJob(): Promise<string> {
  const added = await hive.add('add-partition', {
    topic: job.topics[0]!,
    hour: '2026-01-01T00',
  } as unknown as HivePartitionAddJob);
  return added.id!;
}

describe('mwingest web guards the queues', () => {
  test('by default the queues are read-only: bull-board says so and refuses to obliterate a queue', async () => {
    const server = await serve();
    const id = await queuedJob();
    const listed = await send(server, 'GET', '/queues/api/queues');
    assert.equal(listed.status, 200);
    const queues = JSON.parse(listed.body).queues as { name: string; readOnlyMode: boolean }[];
    assert.ok(queues.length >= 3 && queues.every((q) => q.readOnlyMode), listed.body.slice(0, 300));

    const refused = await send(server, 'PUT', obliterate(), { authorization: `Bearer ${TOKEN}` });
    assert.equal(refused.status, 403);
    assert.match(refused.body, /read-only.*--allow-changes/);
    assert.ok(await hive.getJob(id), 'the queued job is still there');
    const edit = await send(
      server,
      'PATCH',
      `/queues/api/queues/${encodeURIComponent(hiveQueueName(job.name))}/${id}/update-data`,
      { 'content-type': 'application/json' },
      JSON.stringify({ jobData: { topic: 'edited' } }),
    );
    assert.equal(edit.status, 403);
    assert.equal((await hive.getJob(id))?.data.topic, job.topics[0], 'job data unchanged');
  });

  test('a request whose Host is not the served address is refused (DNS rebinding)', async () => {
    const server = await serve();
    const port = new URL(server.url).port;
    for (const host of [`attacker.example:${port}`, `127.0.0.1.nip.io:${port}`, 'localhost:1']) {
      const page = await send(server, 'GET', '/queues/api/queues', { host });
      assert.equal(page.status, 403, host);
      assert.ok(!page.body.includes(hiveQueueName(job.name)), 'nothing of the queues leaks');
    }
    assert.equal((await send(server, 'GET', '/', { host: `localhost:${port}` })).status, 302);
    assert.equal((await send(server, 'GET', '/queues/api/queues')).status, 200);
  });

  test('with --allow-changes a change needs the token: refused without it, done with it', async () => {
    const server = await serve({ allowChanges: true });
    const listed = JSON.parse((await send(server, 'GET', '/queues/api/queues')).body) as {
      queues: { readOnlyMode: boolean }[];
    };
    assert.ok(listed.queues.every((q) => !q.readOnlyMode));
    const id = await queuedJob();
    assert.equal((await send(server, 'PUT', obliterate())).status, 401);
    assert.equal(
      (await send(server, 'PUT', obliterate(), { authorization: 'Bearer not-the-token' })).status,
      401,
    );
    assert.ok(await hive.getJob(id), 'refused changes changed nothing');

    // A browser unlocks once; the cookie then carries the token (SameSite=Strict).
    const wrong = await send(
      server,
      'POST',
      '/unlock',
      { 'content-type': 'application/x-www-form-urlencoded' },
      'token=guess',
    );
    assert.equal(wrong.status, 401);
    const unlocked = await send(
      server,
      'POST',
      '/unlock',
      { 'content-type': 'application/x-www-form-urlencoded' },
      `token=${TOKEN}`,
    );
    assert.equal(unlocked.status, 303);
    const cookie = String((unlocked.headers['set-cookie'] as string[])[0]);
    assert.match(cookie, /SameSite=Strict/i);
    assert.match(cookie, /HttpOnly/i);

    const pause = `/queues/api/queues/${encodeURIComponent(hiveQueueName(job.name))}/pause`;
    assert.equal((await send(server, 'PUT', pause, { cookie: cookie.split(';')[0]! })).status, 200);
    assert.equal(await hive.isPaused(), true);
    const done = await send(server, 'PUT', obliterate(), { 'x-mwingest-token': TOKEN });
    assert.equal(done.status, 200, done.body);
    assert.equal(await hive.getJob(id), undefined, 'the token holder obliterated the queue');
  });
});
