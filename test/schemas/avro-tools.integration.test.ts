import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { promisify } from 'node:util';
import { MessageCodec } from '../../src/schemas/codec.js';
import { toAvroJson } from '../../src/schemas/json.js';
import { defaultRegistryRoot, type SchemaEntry, SchemaRegistry } from '../../src/schemas/registry.js';
import { parseJsonExact } from './exact-json.js';
import { goldenFixtures } from './golden-fixtures.js';
import { randomValue } from './random-values.js';
import { apiActionRecord, cirrusRecord, seededRandom, WMF_FIXTURES } from './realistic-records.js';

/**
 * An independent decoder agrees with ours: Apache avro-tools `fragtojson` (Java) reads the same
 * body bytes with the same schema file and prints the record as Avro JSON. One JVM per schema
 * revision reads all that revision's messages (fragtojson reads fragments until the input ends),
 * a few at a time.
 */
const PER_SCHEMA = 40;
const execFileAsync = promisify(execFile);

function avroToolsJar(): string {
  const jar =
    process.env.MWINGEST_AVRO_TOOLS_JAR ??
    join(
      process.env.MWINGEST_STACK_HOME ?? join(homedir(), '.cache', 'mwingest-stack'),
      'tools',
      'avro-tools.jar',
    );
  assert.ok(
    existsSync(jar),
    `avro-tools is not at ${jar}: run scripts/stack up (it installs it) or set MWINGEST_AVRO_TOOLS_JAR`,
  );
  return jar;
}

const temp = await mkdtemp(join(tmpdir(), 'mwingest-avro-tools-'));
after(() => rm(temp, { recursive: true, force: true }));

const registries = {
  wmf: await SchemaRegistry.load(WMF_FIXTURES, { strict: true }),
  project: await SchemaRegistry.load(defaultRegistryRoot(), { strict: true }),
};

interface Batch {
  /** Which registry: both hold Wikimedia's ApiAction and CirrusSearchRequestSet revisions. */
  label: string;
  entry: SchemaEntry;
  codec: MessageCodec;
  messages: Buffer[];
}

function batches(): Batch[] {
  const out: Batch[] = [];
  const golden = goldenFixtures();
  for (const [label, registry] of Object.entries(registries)) {
    const codec = new MessageCodec(registry);
    for (const name of registry.names()) {
      for (const entry of registry.revisions(name)) {
        const random = seededRandom(Number(entry.revision % 100_000n));
        const messages = golden
          .filter((f) => f.registry === label && f.expect.ok && f.bytes.readBigInt64BE(1) === entry.revision)
          .map((f) => f.bytes);
        while (messages.length < PER_SCHEMA) {
          const record =
            name === 'CirrusSearchRequestSet'
              ? cirrusRecord(random)
              : name === 'ApiAction'
                ? apiActionRecord(random)
                : randomValue(entry.type, random);
          messages.push(codec.encode(entry.revision, record));
        }
        out.push({ label, entry, codec, messages });
      }
    }
  }
  return out;
}

async function fragToJson(jar: string, batch: Batch, bodies: Buffer[]): Promise<unknown[]> {
  const { entry } = batch;
  const input = join(temp, `${batch.label}-${entry.name}-${entry.revision}.bin`);
  await writeFile(input, Buffer.concat(bodies));
  const { stdout } = await execFileAsync(
    'java',
    [
      '-Xmx128m',
      '-XX:TieredStopAtLevel=1',
      '-jar',
      jar,
      'fragtojson',
      '--no-pretty',
      '--schema-file',
      entry.path,
      input,
    ],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  return stdout
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => parseJsonExact(line));
}

test('avro-tools fragtojson decodes every body exactly as we do, for every revision of both registries', async () => {
  const jar = avroToolsJar();
  const work = batches();
  const started = Date.now();
  const results: { batch: Batch; java: unknown[] }[] = [];
  const queue = [...work];
  await Promise.all(
    Array.from({ length: 3 }, async () => {
      for (let batch = queue.shift(); batch !== undefined; batch = queue.shift()) {
        results.push({
          batch,
          java: await fragToJson(
            jar,
            batch,
            batch.messages.map((m) => m.subarray(9)),
          ),
        });
      }
    }),
  );
  for (const { batch, java } of results) {
    const { entry, codec, messages } = batch;
    assert.equal(
      java.length,
      messages.length,
      `${entry.name} ${entry.revision}: avro-tools read ${java.length} records`,
    );
    messages.forEach((message, i) => {
      const ours = codec.decode(message, { schemaName: entry.name });
      assert.ok(ours.ok, ours.ok ? '' : ours.message);
      assert.deepEqual(
        toAvroJson(entry.type, ours.record),
        java[i],
        `${entry.name} ${entry.revision} message ${i}`,
      );
    });
  }
  const total = work.reduce((n, b) => n + b.messages.length, 0);
  assert.ok(total >= 9 * PER_SCHEMA);
  console.log(
    `# ${total} messages of ${work.length} revisions compared with avro-tools in ${Date.now() - started} ms`,
  );
});
