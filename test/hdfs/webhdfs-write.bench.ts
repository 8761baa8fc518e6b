/**
 * Write throughput to the real HDFS: `create()` (one streaming upload per file) against the
 * alternative design, CREATE then one APPEND per buffered chunk, at several chunk sizes.
 *
 *     node --import tsx test/hdfs/webhdfs-write.bench.ts [MiB=256] [repeats=2]
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { uploadToDataNode } from '../../src/hdfs/datanode-upload.js';
import { WebHdfsFileSystem } from '../../src/hdfs/webhdfs.js';

const url = process.env.MWINGEST_WEBHDFS_URL ?? 'http://127.0.0.1:9870';
const user = process.env.MWINGEST_HDFS_USER ?? 'hdfs';
const MiB = 1024 * 1024;
const sizeMiB = Number(process.argv[2] ?? 256);
const repeats = Number(process.argv[3] ?? 2);
const base = `/tmp/mwingest-bench/${randomUUID()}`;
const source = randomBytes(MiB);
const fs = new WebHdfsFileSystem({ url, user });

interface Result {
  seconds: number;
  rssGrowthMiB: number;
}

async function measure(run: (sample: () => void) => Promise<void>): Promise<Result> {
  const baseline = process.memoryUsage().rss;
  let peak = baseline;
  const started = process.hrtime.bigint();
  await run(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  });
  return { seconds: Number(process.hrtime.bigint() - started) / 1e9, rssGrowthMiB: (peak - baseline) / MiB };
}

/** The chosen design: `create()`, one upload streaming the whole file. */
function viaCreate(path: string): Promise<Result> {
  return measure(async (sample) => {
    const writer = await fs.create(path);
    for (let i = 0; i < sizeMiB; i += 1) {
      await writer.write(source);
      sample();
    }
    await writer.close();
  });
}

/** The alternative: an empty CREATE, then the bytes collected into chunks, each sent with APPEND. */
function viaAppendChunks(path: string, chunkMiB: number): Promise<Result> {
  const context = { action: 'append to', path, where: url };
  const location = async (method: 'PUT' | 'POST', op: string) => {
    const step1 = await fetch(`${url}/webhdfs/v1${path}?op=${op}&noredirect=true&user.name=${user}`, {
      method,
    });
    return ((await step1.json()) as { Location: string }).Location;
  };
  return measure(async (sample) => {
    await uploadToDataNode(await location('PUT', 'CREATE'), 'PUT', new Uint8Array(0), context, 60_000);
    const chunk = Buffer.alloc(chunkMiB * MiB);
    for (let sent = 0; sent < sizeMiB; sent += chunkMiB) {
      for (let i = 0; i < chunkMiB; i += 1) source.copy(chunk, i * MiB);
      sample();
      await uploadToDataNode(await location('POST', 'APPEND'), 'POST', chunk, context, 60_000);
    }
  });
}

await fs.mkdirs(base);
try {
  const report = (name: string, result: Result) => {
    const rate = ((sizeMiB * MiB) / 1e6 / result.seconds).toFixed(1).padStart(7);
    console.log(
      `${name.padEnd(36)} ${rate} MB/s  ${result.seconds.toFixed(2)} s  RSS +${result.rssGrowthMiB.toFixed(1)} MiB`,
    );
  };
  for (let r = 0; r < repeats; r += 1) {
    report('create(): one streaming upload', await viaCreate(`${base}/create-${r}`));
    for (const chunkMiB of [8, 16, 32]) {
      report(
        `CREATE + APPEND per ${chunkMiB} MiB chunk`,
        await viaAppendChunks(`${base}/append-${chunkMiB}-${r}`, chunkMiB),
      );
    }
  }
} finally {
  await fs.delete(base, { recursive: true });
}
console.log(`\n${sizeMiB} MiB per file, ${repeats} repeats, ${url}`);
