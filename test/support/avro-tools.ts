/**
 * avro-tools, the Apache Avro project's own Java reader, as the independent check of what mwingest
 * wrote: the records of many container files, each as canonical JSON (object keys sorted, since Avro
 * maps have no order), read by two JVM starts (`cat` then `tojson`) whatever the number of files.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { FileSystem } from '../../src/hdfs/filesystem.js';
import { parseJsonExact } from '../schemas/exact-json.js';

const execFileAsync = promisify(execFile);

/** JSON with object keys sorted and bigints kept, so equal records print equal. */
export function canonicalJson(value: unknown): string {
  const sorted = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(sorted)
      : v !== null && typeof v === 'object'
        ? Object.fromEntries(
            Object.keys(v)
              .sort()
              .map((k) => [k, sorted((v as Record<string, unknown>)[k])]),
          )
        : typeof v === 'bigint'
          ? `${v}n`
          : v;
  return JSON.stringify(sorted(value));
}

/** Every record of the Avro container files at `paths` on `fs`, as avro-tools prints them (canonical JSON). */
export async function readWithAvroTools(jar: string, fs: FileSystem, paths: string[]): Promise<string[]> {
  if (paths.length === 0) return [];
  const work = await mkdtemp(join(tmpdir(), 'mwingest-avro-tools-'));
  try {
    const locals: string[] = [];
    for (const [i, path] of paths.entries()) {
      const local = join(work, `${i}.avro`);
      await writeFile(local, await fs.readFile(path));
      locals.push(local);
    }
    const all = join(work, 'all.avro');
    const java = ['-Xmx256m', '-XX:TieredStopAtLevel=1', '-jar', jar];
    await execFileAsync('java', [...java, 'cat', ...locals, all], { maxBuffer: 16 * 1024 * 1024 });
    const { stdout } = await execFileAsync('java', [...java, 'tojson', all], {
      maxBuffer: 512 * 1024 * 1024,
    });
    return stdout
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => canonicalJson(parseJsonExact(line)));
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
