/**
 * Values a job took from the environment (`${env:NAME}`, see src/job/config.ts) are secrets:
 * whatever mwingest prints or logs shows `${env:NAME}` in their place. The job loader registers
 * each one; the logger and the CLI's stdout and stderr pass their text through {@link maskSecrets}.
 *
 * Masking replaces every occurrence of the value, so a value that is also an ordinary word (a user
 * name, a job name) is hidden wherever that word appears: the price of never printing it.
 */

/** value → what is shown instead, longest value first so a value inside another is masked last. */
let secrets: [value: string, shownAs: string][] = [];

export function registerSecret(value: string, shownAs: string): void {
  if (value === '' || secrets.some(([known]) => known === value)) return;
  secrets = [...secrets, [value, shownAs] as [string, string]].sort((a, b) => b[0].length - a[0].length);
}

/** The text with every registered value replaced by its `${env:NAME}`. */
export function maskSecrets(text: string): string {
  let masked = text;
  for (const [value, shownAs] of secrets) {
    if (masked.includes(value)) masked = masked.split(value).join(shownAs);
  }
  return masked;
}

/** Forgets every registered value (tests). */
export function clearSecrets(): void {
  secrets = [];
}

/**
 * Masks what this process writes to stdout and stderr from now on. Text and UTF-8 buffers are
 * masked; a buffer is masked only when it holds a secret, so binary output passes unchanged.
 */
export function maskProcessOutput(streams: NodeJS.WriteStream[] = [process.stdout, process.stderr]): void {
  for (const stream of streams) {
    const write = stream.write.bind(stream) as (chunk: unknown, ...rest: unknown[]) => boolean;
    stream.write = ((chunk: unknown, ...rest: unknown[]) =>
      write(maskChunk(chunk), ...rest)) as typeof stream.write;
  }
}

function maskChunk(chunk: unknown): unknown {
  if (secrets.length === 0) return chunk;
  if (typeof chunk === 'string') return maskSecrets(chunk);
  if (chunk instanceof Uint8Array) {
    const buffer = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (!secrets.some(([value]) => buffer.includes(value))) return chunk;
    return Buffer.from(maskSecrets(buffer.toString('utf8')), 'utf8');
  }
  return chunk;
}
