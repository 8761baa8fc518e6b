/**
 * The four codecs of Kafka record batches (attribute bits 0–2), on the libraries the project
 * already has: node:zlib for gzip and zstd (zstd is in node:zlib from Node 22.15), the `snappy`
 * package (napi-rs) for snappy, and the LZ4 frame decoder @platformatic/kafka ships (WASM).
 */

import { gunzip, gunzipSync, zstdDecompress, zstdDecompressSync } from 'node:zlib';
import { lz4Decompress } from '@platformatic/wasm-utils';
import { uncompress, uncompressSync } from 'snappy';

export const NONE = 0;
export const GZIP = 1;
export const SNAPPY = 2;
export const LZ4 = 3;
export const ZSTD = 4;

export const CODEC_NAMES = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];

// Java producers frame snappy the xerial way: this 8-byte magic, two int32 versions, then
// [int32 length][raw snappy block]… librdkafka writes one raw block.
const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);

function isXerial(data: Buffer): boolean {
  return data.length >= 16 && data.compare(XERIAL_MAGIC, 0, 8, 0, 8) === 0;
}

function xerialBlocks(data: Buffer): Buffer[] {
  const blocks: Buffer[] = [];
  for (let at = 16; at < data.length; ) {
    if (at + 4 > data.length) throw new Error('xerial snappy: truncated block length');
    const length = data.readUInt32BE(at);
    if (at + 4 + length > data.length) throw new Error('xerial snappy: block runs past the batch');
    blocks.push(data.subarray(at + 4, at + 4 + length));
    at += 4 + length;
  }
  return blocks;
}

export function decompressSync(codec: number, data: Buffer): Buffer {
  switch (codec) {
    case GZIP:
      return gunzipSync(data);
    case SNAPPY:
      if (!isXerial(data)) return uncompressSync(data) as Buffer;
      return Buffer.concat(xerialBlocks(data).map((block) => uncompressSync(block) as Buffer));
    case LZ4:
      return lz4Decompress(data);
    case ZSTD:
      return zstdDecompressSync(data);
    default:
      throw new Error(`record batch compressed with unknown codec ${codec} (attribute bits 0-2)`);
  }
}

/** Decompresses on libuv's thread pool where the library can (gzip, zstd, snappy); lz4 runs here. */
export async function decompress(codec: number, data: Buffer): Promise<Buffer> {
  switch (codec) {
    case GZIP:
      return new Promise((resolve, reject) => gunzip(data, (e, out) => (e ? reject(e) : resolve(out))));
    case ZSTD:
      return new Promise((resolve, reject) =>
        zstdDecompress(data, (e, out) => (e ? reject(e) : resolve(out))),
      );
    case SNAPPY:
      if (!isXerial(data)) return (await uncompress(data)) as Buffer;
      return Buffer.concat(
        await Promise.all(xerialBlocks(data).map(async (b) => (await uncompress(b)) as Buffer)),
      );
    default:
      return decompressSync(codec, data);
  }
}
