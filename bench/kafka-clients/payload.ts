/**
 * Benchmark payloads: one line per record, about `size` bytes, shaped like a MediaWiki search
 * request log (ids, IPs, user agents, query words, hit lists) so compression ratios are realistic.
 * Lines contain no newline, so `kcat -P` can produce them one record per line. Deterministic.
 */

import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { AGENTS, createRandom, WIKIS, WORDS } from '../../src/demo/records.js';

export function createPayloads(size: number, seed = 7): () => string {
  const random = createRandom(seed);
  const int = (max: number) => Math.floor(random() * max);
  const pick = <T>(list: readonly T[]): T => list[int(list.length)]!;
  const hex = (length: number) => Array.from({ length }, () => '0123456789abcdef'[int(16)]).join('');
  let ts = 1_405_382_400;
  return () => {
    ts += int(2);
    const wiki = pick(WIKIS);
    const head =
      `{"ts":${ts},"wiki":"${wiki}","source":"web","identity":"${hex(32)}","ip":"10.${int(256)}.${int(256)}.${int(256)}",` +
      `"userAgent":"${pick(AGENTS)}","requests":[{"query":"${pick(WORDS)} ${pick(WORDS)}","queryType":"full_text",` +
      `"indices":["${wiki}_content"],"tookMs":${int(400)},"hitsTotal":${int(100_000)},"hits":[`;
    let line = head;
    while (line.length < size - 40)
      line += `{"title":"${pick(WORDS)}_${int(10_000)}","pageId":${int(9_999_999)}},`;
    line = `${line.slice(0, -1)}]}]`;
    return `${line}${' '.repeat(Math.max(0, size - 1 - line.length))}}`;
  };
}

/** Writes `count` newline-terminated payload lines to `path`; returns the total payload bytes. */
export async function writePayloadFile(path: string, count: number, size: number): Promise<number> {
  const next = createPayloads(size);
  const out = createWriteStream(path);
  let bytes = 0;
  let chunk: string[] = [];
  for (let i = 0; i < count; i++) {
    const line = next();
    bytes += line.length;
    chunk.push(line);
    if (chunk.length === 2000 || i === count - 1) {
      if (!out.write(`${chunk.join('\n')}\n`)) await once(out, 'drain');
      chunk = [];
    }
  }
  out.end();
  await once(out, 'finish');
  return bytes;
}
