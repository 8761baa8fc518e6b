import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseJsonExact } from './exact-json.js';

/**
 * The golden messages in test/fixtures/messages: `<name>.hex` holds the message bytes as annotated
 * hex (`#` starts a comment), `<name>.json` what decoding them must give, worked out by hand from
 * the schema and the annotations.
 */
export const MESSAGES_DIR = fileURLToPath(new URL('../fixtures/messages/', import.meta.url));

export interface GoldenFixture {
  name: string;
  hexPath: string;
  bytes: Buffer;
  about: string;
  /** "project": event-schemas/; "wmf": the Wikimedia fixture schemas. */
  registry: 'project' | 'wmf';
  options: { topic?: string; readerRevision?: bigint; expectRevision?: bigint; checkUtf8?: boolean };
  /** `mwingest validate` exit code for these bytes. */
  exit: number;
  expect:
    | {
        ok: true;
        revision: bigint;
        writer: string;
        reader: bigint;
        bodyIsReaderEncoding: boolean;
        record: unknown;
      }
    | { ok: false; code: string; messageIncludes: string[] };
}

export function readHex(text: string): Buffer {
  const digits = text
    .split('\n')
    .map((line) => line.replace(/#.*$/, ''))
    .join(' ')
    .replace(/\s+/g, '');
  if (!/^([0-9a-f]{2})*$/i.test(digits)) throw new Error('not hex pairs');
  return Buffer.from(digits, 'hex');
}

function asBig(value: unknown): bigint | undefined {
  return value === undefined ? undefined : BigInt(value as number | bigint);
}

export function goldenFixtures(): GoldenFixture[] {
  return readdirSync(MESSAGES_DIR)
    .filter((file) => file.endsWith('.json'))
    .sort()
    .map((file) => {
      const name = file.replace(/\.json$/, '');
      const spec = parseJsonExact(readFileSync(join(MESSAGES_DIR, file), 'utf8')) as Record<string, unknown>;
      const hexPath = join(MESSAGES_DIR, `${name}.hex`);
      const options = spec.options as Record<string, unknown>;
      const expect = spec.expect as Record<string, unknown>;
      const fixture = {
        name,
        hexPath,
        bytes: readHex(readFileSync(hexPath, 'utf8')),
        about: spec.about,
        registry: spec.registry,
        options: {
          ...(options.topic === undefined ? {} : { topic: options.topic as string }),
          ...(options.readerRevision === undefined ? {} : { readerRevision: asBig(options.readerRevision)! }),
          ...(options.expectRevision === undefined ? {} : { expectRevision: asBig(options.expectRevision)! }),
          ...(options.checkUtf8 === undefined ? {} : { checkUtf8: options.checkUtf8 as boolean }),
        },
        exit: spec.exit,
        expect: expect.ok
          ? { ...(expect as object), revision: asBig(expect.revision)!, reader: asBig(expect.reader)! }
          : expect,
      };
      return fixture as unknown as GoldenFixture;
    });
}
