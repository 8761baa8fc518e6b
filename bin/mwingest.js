#!/usr/bin/env node
// Runs the compiled CLI (dist/). In a checkout (src/ present) the TypeScript sources run through tsx
// instead whenever the build is older than a source file, so a stale build never runs there; an
// installed package has no src/ and no tsx (a devDependency) and always runs dist/.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const compiled = join(root, 'dist', 'cli', 'main.js');
const sources = join(root, 'src');

function newestSource(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSource(path) : statSync(path).mtimeMs);
  }
  return newest;
}

const useCompiled =
  !existsSync(sources) ||
  (!process.env.MWINGEST_FROM_SOURCE &&
    existsSync(compiled) &&
    statSync(compiled).mtimeMs >= newestSource(sources));
if (useCompiled) {
  if (!existsSync(compiled)) {
    process.stderr.write(`mwingest: ${compiled} is missing: build it with \`npm run build\`\n`);
    process.exit(1);
  }
  await import(pathToFileURL(compiled).href);
} else {
  let tsx;
  try {
    tsx = await import('tsx/esm/api');
  } catch {
    process.stderr.write(
      'mwingest: the sources are newer than dist/ and tsx (a devDependency) is not installed: ' +
        'run `npm run build`, or `npm install` to run the sources\n',
    );
    process.exit(1);
  }
  tsx.register();
  await import(pathToFileURL(join(sources, 'cli', 'main.ts')).href);
}
