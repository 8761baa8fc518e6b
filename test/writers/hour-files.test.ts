/**
 * The hour files of one partition stay bounded in two ways at once: never more than `maxOpenFiles`
 * open, and never one file per record when records interleave over more hours than that (a
 * producer's clock spread over days). Real Avro container files on a `LocalFileSystem`.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import avro from 'avsc';
import type { FileSystem, FileWriter } from '../../src/hdfs/filesystem.js';
import { LocalFileSystem } from '../../src/hdfs/local.js';
import { createAvroContainerWriter } from '../../src/writers/avro-container.js';
import { type FinishedFile, HourFiles } from '../../src/writers/hour-files.js';
import { decodeContainer } from '../support/ingest.js';

const schema = { type: 'record', name: 'E', fields: [{ name: 'n', type: 'long' }] };
const type = avro.Type.forSchema(schema as avro.Schema);
const dirs: string[] = [];
after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

/** Counts the files open at once through `create` … `close`. */
function countingOpen(inner: FileSystem): { fs: FileSystem; peak: () => number } {
  let open = 0;
  let peak = 0;
  const fs = Object.create(inner) as FileSystem;
  fs.create = async (path, options) => {
    const writer = await inner.create(path, options);
    peak = Math.max(peak, ++open);
    const done = () => {
      open -= 1;
    };
    return {
      get path() {
        return writer.path;
      },
      get bytesWritten() {
        return writer.bytesWritten;
      },
      write: (chunk) => writer.write(chunk),
      close: () => writer.close().then(done),
      abort: () => writer.abort().then(done),
    } satisfies FileWriter;
  };
  return { fs, peak: () => peak };
}

async function writeInterleaved(hours: number, records: number, maxOpenFiles: number) {
  const root = await mkdtemp(join(tmpdir(), 'mwingest-hour-files-'));
  dirs.push(root);
  const { fs, peak } = countingOpen(new LocalFileSystem(root));
  const files = new HourFiles(
    fs,
    {
      maxOpenFiles,
      extension: 'avro',
      hourKey: (h) => `h${h}`,
      hourDir: (h) => `/raw/h${h}`,
      createWriter: (sink) =>
        createAvroContainerWriter(sink, { schema, type, codec: 'null', blockBytes: 4096 }),
    },
    { topic: 't', partition: 0, tempDir: '/tmp/attempt', errorsDir: '/errors' },
  );
  // Round robin over the hours: every record's hour is the one used longest ago.
  for (let n = 0; n < records; n++) {
    const pending = files.append(n % hours, BigInt(n), { n }, false);
    if (pending !== undefined) await pending;
  }
  const finished = await files.finish();
  const byHour = new Map<string, number[]>();
  for (const file of finished as FinishedFile[]) {
    const { records: decoded } = await decodeContainer(await fs.readFile(file.temp));
    const list = byHour.get(file.hour!) ?? [];
    for (const record of decoded) list.push(Number((record as { n: number }).n));
    byHour.set(file.hour!, list);
  }
  return { finished, byHour, peak: peak() };
}

test('records spread over 30 hours with 24 open files: a few files per hour, not one per record', async () => {
  const { finished, byHour, peak } = await writeInterleaved(30, 3000, 24);
  assert.ok(peak <= 25, `at most maxOpenFiles open, plus the one being written from the overflow (${peak})`);
  assert.ok(finished.length <= 2 * 30, `${finished.length} files for 30 hours`);
  assert.equal(byHour.size, 30);
  for (const [hour, ns] of byHour) {
    const h = Number(hour.slice(1));
    const expected = Array.from({ length: 100 }, (_, i) => i * 30 + h);
    assert.deepEqual(
      [...ns].sort((a, b) => a - b),
      expected,
      `${hour}: every record once`,
    );
  }
  for (const file of finished) {
    assert.equal(file.final, `/raw/${file.hour}/t.0.${file.firstOffset}-${file.lastOffset}.avro`);
  }
  assert.equal(new Set(finished.map((f) => f.final)).size, finished.length, 'final names are unique');
});

test('records within the open-file bound: one file per hour', async () => {
  const { finished } = await writeInterleaved(20, 2000, 24);
  assert.equal(finished.length, 20);
});
