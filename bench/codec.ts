/**
 * Codec throughput on realistic records:  node --import tsx bench/codec.ts [messages]
 *
 * For CirrusSearchRequestSet (nested arrays, ~850 B) and ApiAction (~150 B): header + body check +
 * decode with the writer schema, and for CirrusSearchRequestSet also decode of each older revision
 * resolved to the newest. Prints records/s, MB/s (message bytes) and the peak RSS.
 */
import { performance } from 'node:perf_hooks';
import { MessageCodec } from '../src/schemas/codec.js';
import { SchemaRegistry } from '../src/schemas/registry.js';
import {
  API_ACTION,
  apiActionRecord,
  CIRRUS,
  CIRRUS_NEWEST,
  cirrusRecord,
  seededRandom,
  WMF_FIXTURES,
} from '../test/schemas/realistic-records.js';

const COUNT = Number(process.argv[2] ?? 200_000);
const DISTINCT = 1_000;

const registry = await SchemaRegistry.load(WMF_FIXTURES, { strict: true });
const codec = new MessageCodec(registry);
let peakRss = process.memoryUsage().rss;

function messagesOf(revision: bigint, make: (random: () => number) => unknown): Buffer[] {
  const random = seededRandom(42);
  // An older revision writes the fields it knows and ignores the newer ones.
  return Array.from({ length: DISTINCT }, () => codec.encode(revision, make(random)));
}

function run(
  label: string,
  messages: Buffer[],
  options: Parameters<MessageCodec['decode']>[1],
  decode: (message: Buffer) => { ok: boolean } = (message) => codec.decode(message, options),
): void {
  // Warm up, then time COUNT decodes cycling over the distinct messages.
  for (let i = 0; i < 20_000; i++) decode(messages[i % messages.length]!);
  let bytes = 0;
  let failures = 0;
  const started = performance.now();
  for (let i = 0; i < COUNT; i++) {
    const message = messages[i % messages.length]!;
    bytes += message.length;
    if (!decode(message).ok) failures++;
    if ((i & 0xffff) === 0) peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }
  const seconds = (performance.now() - started) / 1000;
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
  if (failures > 0) throw new Error(`${label}: ${failures} messages failed to decode`);
  const avg = Math.round(bytes / COUNT);
  console.log(
    `${label.padEnd(66)} ${String(avg).padStart(4)} B  ${Math.round(COUNT / seconds)
      .toLocaleString('en')
      .padStart(10)} rec/s  ` + `${(bytes / seconds / 1e6).toFixed(1).padStart(6)} MB/s`,
  );
}

console.log(
  `node ${process.version}, ${COUNT.toLocaleString('en')} messages per line (${DISTINCT} distinct)\n`,
);
const cirrusNewest = messagesOf(CIRRUS_NEWEST, (random) => cirrusRecord(random));
const newestType = registry.byRevision(CIRRUS_NEWEST)!.type;
run(`${CIRRUS} ${CIRRUS_NEWEST}: avsc decode alone (reference)`, cirrusNewest, {}, (message) => ({
  ok: newestType.fromBuffer(message.subarray(9)) !== undefined,
}));
run(`${CIRRUS} ${CIRRUS_NEWEST}: header + decode`, cirrusNewest, { schemaName: CIRRUS });
run(`${CIRRUS} ${CIRRUS_NEWEST}: same, reader = writer`, cirrusNewest, {
  schemaName: CIRRUS,
  readerRevision: CIRRUS_NEWEST,
});
run(`${CIRRUS} ${CIRRUS_NEWEST}: header + decode + UTF-8 check`, cirrusNewest, {
  schemaName: CIRRUS,
  checkUtf8: true,
});
for (const older of registry.revisions(CIRRUS).slice(0, -1)) {
  const messages = messagesOf(older.revision, (random) => cirrusRecord(random));
  run(`${CIRRUS} ${older.revision}: header + decode`, messages, { schemaName: CIRRUS });
  run(`${CIRRUS} ${older.revision} → ${CIRRUS_NEWEST}: + resolve`, messages, {
    schemaName: CIRRUS,
    readerRevision: CIRRUS_NEWEST,
  });
}
const api = messagesOf(API_ACTION, (random) => apiActionRecord(random));
run(`ApiAction ${API_ACTION}: header + decode`, api, { schemaName: 'ApiAction' });
console.log(`\npeak RSS ${(peakRss / 1024 / 1024).toFixed(0)} MB`);
