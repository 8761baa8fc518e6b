/**
 * The docs check (`scripts/test` runs it beside lint and typecheck; `node --import tsx
 * scripts/docs-check.ts` alone). Every `mwingest …` command in the repository's Markdown files
 * (README.md, docs/, jobs/, event-schemas/, deploy/, …) is checked against the CLI itself, without
 * running anything:
 *
 * 1. It parses: commander parses the line with every action replaced by a no-op, so an unknown
 *    subcommand, a removed or misspelt flag, a missing or extra argument or a bad option value fails.
 * 2. Every file it names exists: the values of options and arguments whose placeholder is `<file>`,
 *    `<dir>` or `<path>` (relative to the repository; for an option that writes a file, its folder).
 * 3. Every `--job` file validates with the job loader. `${env:NAME}` values the environment lacks
 *    come from the job's `<name>.env.example` beside it, if there is one.
 * 4. It runs on the local stack, or the doc says why not: a line that names a host other than this
 *    machine, or a job whose servers are elsewhere (or that needs variables the environment lacks),
 *    must carry `# needs: <reason>`, at its end or on a line of its own above it in the same block.
 *
 * Synopsis lines (`[--count N]`, `<Name>`, `FILE`, `…`) are checked for their subcommand, their
 * flags, and the concrete files they name. Fenced blocks tagged sh, bash, shell or console hold
 * commands; an untagged block with a `mwingest` line must say which it is (```sh or ```text).
 * Inline `mwingest …` code spans are commands too. The examples in each command's --help are parsed
 * (check 1 and the jobs they name).
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseEnv } from 'node:util';
import { type Command, CommanderError } from 'commander';
import { parse as parseShell } from 'shell-quote';
import { buildProgram } from '../src/cli/program.js';
import { type LoadedJob, loadJob } from '../src/job/config.js';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** One command line found in a doc. */
export interface DocCommand {
  /** `README.md`, or `mwingest schema upgrade --help`. */
  doc: string;
  /** 1-based line of the command's first line in the doc. */
  line: number;
  /** As written, continuation lines joined. */
  text: string;
  /** The doc's reason the command cannot run on the local stack (`# needs: …`). */
  needs?: string;
  source: 'block' | 'inline' | 'help';
}

export interface DocProblem {
  doc: string;
  line: number;
  command: string;
  message: string;
}

export interface CheckOptions {
  /** The repository whose Markdown is checked and against which paths resolve. @defaultValue REPO */
  root?: string;
  /** Builds the command tree to parse with (tests pass one with a flag removed). */
  build?: () => Promise<Command>;
  /** Environment for job files. @defaultValue process.env */
  env?: NodeJS.ProcessEnv;
  /** Files written by the doc's own commands (`> FILE`), relative to the root. */
  created?: readonly string[];
}

const SHELL_TAGS = new Set(['sh', 'bash', 'shell', 'console', 'zsh']);
const SKIPPED_DIRS = new Set(['node_modules', '.git', 'dist', '.demo', '.stack', 'tmp']);
const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '::1', '[::1]', '0.0.0.0']);
const MWINGEST = /^(?:(?:node\s+)?(?:\.\/)?bin\/mwingest\.js|mwingest)\s/;

/** Every `mwingest` command of one Markdown text, and blocks that hide one. */
export function extractCommands(
  doc: string,
  markdown: string,
): { commands: DocCommand[]; problems: DocProblem[]; created: string[] } {
  const commands: DocCommand[] = [];
  const problems: DocProblem[] = [];
  /** Files the doc's own commands write (`kcat … > msg.avro`): later commands may name them. */
  const created: string[] = [];
  const lines = markdown.split('\n');
  let fence: { marker: string; tag: string; needs?: string } | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const fenceLine = /^\s*(`{3,}|~{3,})\s*([^\s`]*)/.exec(line);
    if (fence !== undefined) {
      if (fenceLine !== null && fenceLine[1]!.startsWith(fence.marker) && fenceLine[2] === '') {
        fence = undefined;
        continue;
      }
      const start = i;
      let text = line;
      while (text.endsWith('\\') && i + 1 < lines.length) text = `${text.slice(0, -1)} ${lines[++i]!.trim()}`;
      const trimmed = text.trim().replace(/^\$\s+/, '');
      if (SHELL_TAGS.has(fence.tag)) {
        const needs = /^#\s*needs:\s*(.+)$/.exec(trimmed);
        if (needs !== null) fence.needs = needs[1]!.trim();
        if (!trimmed.startsWith('#')) created.push(...redirectTargets(trimmed));
        if (!trimmed.startsWith('#') && mentionsMwingest(trimmed)) {
          const reason = /\s#\s*needs:\s*(.+)$/.exec(trimmed)?.[1]?.trim() ?? fence.needs;
          commands.push({
            doc,
            line: start + 1,
            text: trimmed,
            ...(reason === undefined ? {} : { needs: reason }),
            source: 'block',
          });
        }
      } else if (fence.tag === '' && MWINGEST.test(trimmed)) {
        problems.push({
          doc,
          line: start + 1,
          command: trimmed,
          message:
            'a code block without a language holds a mwingest line: tag it ```sh (a command, checked) or ```text',
        });
      }
      continue;
    }
    if (fenceLine !== null) {
      fence = { marker: fenceLine[1]!, tag: fenceLine[2]!.toLowerCase() };
      continue;
    }
    for (const span of line.matchAll(/(`+)(.+?)\1/g)) {
      const text = span[2]!.trim();
      if (MWINGEST.test(text)) commands.push({ doc, line: i + 1, text, source: 'inline' });
    }
  }
  return { commands, problems, created };
}

function redirectTargets(text: string): string[] {
  const tokens = parseShell(text, (name) => `$${name}`);
  return tokens.flatMap((token, index) => {
    const next = tokens[index + 1];
    const redirects = typeof token === 'object' && 'op' in token && (token.op === '>' || token.op === '>>');
    return redirects && typeof next === 'string' ? [next] : [];
  });
}

function mentionsMwingest(text: string): boolean {
  return MWINGEST.test(text) || /[|;&]\s*(?:node\s+)?(?:\.\/)?(?:bin\/mwingest\.js|mwingest)\s/.test(text);
}

/** The examples in every command's --help, as commands. */
export async function helpExamples(build: () => Promise<Command>): Promise<DocCommand[]> {
  const commands: DocCommand[] = [];
  const visit = (command: Command, path: string[]) => {
    let help = '';
    command.configureOutput({ writeOut: (text) => (help += text), writeErr: (text) => (help += text) });
    command.outputHelp();
    const doc = ['mwingest', ...path, '--help'].join(' ');
    const lines = help.split('\n');
    for (let i = 0; i < lines.length; i++) {
      let text = lines[i]!.trim();
      const start = i;
      while (text.endsWith('\\') && i + 1 < lines.length) text = `${text.slice(0, -1)} ${lines[++i]!.trim()}`;
      if (MWINGEST.test(text) || (/^\S+.*[|&;]\s*mwingest\s/.test(text) && !text.startsWith('#'))) {
        commands.push({ doc, line: start + 1, text, source: 'help' });
      }
    }
    for (const sub of command.commands) visit(sub, [...path, sub.name()]);
  };
  visit(await build(), []);
  return commands;
}

/** The Markdown files of the repository, sorted. */
export async function markdownFiles(root: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (dir: string) => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) {
        if (!SKIPPED_DIRS.has(entry.name)) await walk(join(dir, entry.name));
      } else if (entry.name.endsWith('.md')) {
        found.push(relative(root, join(dir, entry.name)));
      }
    }
  };
  await walk(root);
  return found.sort();
}

/** Checks every command of every Markdown file (and of every --help); returns what is wrong. */
export async function checkDocs(options: CheckOptions = {}): Promise<DocProblem[]> {
  const root = options.root ?? REPO;
  const problems: DocProblem[] = [];
  for (const doc of await markdownFiles(root)) {
    const found = extractCommands(doc, await readFile(join(root, doc), 'utf8'));
    problems.push(...found.problems);
    for (const command of found.commands) {
      problems.push(...(await checkCommand(command, { ...options, created: found.created })));
    }
  }
  for (const command of await helpExamples(options.build ?? buildProgram)) {
    problems.push(...(await checkCommand(command, options)));
  }
  return problems;
}

/** What is wrong with one command line (nothing: an empty list). */
export async function checkCommand(command: DocCommand, options: CheckOptions = {}): Promise<DocProblem[]> {
  const root = options.root ?? REPO;
  const env = options.env ?? process.env;
  const build = options.build ?? buildProgram;
  const messages: string[] = [];
  const problem = (message: string) => messages.push(message);

  // Inline spans name commands in prose (`mwingest status`, `hive worker --metrics-port`): read as synopses.
  const lineSynopsis = command.source === 'inline' || isSynopsis(command.text);
  const segments = lineSynopsis ? [synopsisTokens(command.text)] : shellSegments(command.text);
  const mwingestArgs = segments.map(argsAfterMwingest).filter((args) => args !== undefined);
  for (const args of mwingestArgs) {
    const synopsis = lineSynopsis || args.some(isPlaceholderToken);
    const program = await build();
    const parsed = synopsis
      ? checkSynopsis(program, args, problem)
      : await parseConcrete(program, args, problem);
    if (parsed === undefined) continue;
    for (const reference of parsed.files) {
      if (command.source === 'help' || isPlaceholderToken(reference.value)) continue;
      // A production path (`/etc/mwingest/…`) on a line that says it needs a production host.
      if (command.needs !== undefined && isAbsolute(reference.value)) continue;
      if (options.created?.some((file) => expandPath(root, file) === expandPath(root, reference.value)))
        continue;
      const path = reference.writes
        ? dirname(expandPath(root, reference.value))
        : expandPath(root, reference.value);
      if (!(await exists(path))) {
        problem(
          reference.writes
            ? `${reference.flag} ${reference.value}: the folder ${relative(root, path) || '.'} does not exist`
            : `${reference.flag} ${reference.value}: no such file or folder`,
        );
      }
    }
    for (const jobPath of parsed.jobs) {
      const path = expandPath(root, jobPath);
      if (!(await exists(path))) continue;
      const loaded = await loadJobForDocs(path, env).catch((error: Error) => {
        problem(`--job ${jobPath} does not validate: ${error.message.replaceAll('\n', ' ')}`);
        return undefined;
      });
      if (loaded !== undefined && command.needs === undefined && command.source !== 'help' && !synopsis) {
        const elsewhere = await jobElsewhere(path, env);
        if (elsewhere !== undefined) {
          problem(
            `--job ${jobPath} ${elsewhere}: mark the line "# needs: <reason>" or use a job for the local stack`,
          );
        }
      }
    }
  }
  if (command.needs === undefined && command.source !== 'help' && !lineSynopsis) {
    for (const host of remoteHosts(segments.flat())) {
      problem(
        `names ${host}, which is not on the local stack: mark the line "# needs: <reason>" or use 127.0.0.1`,
      );
    }
  }
  return messages.map((message) => ({
    doc: command.doc,
    line: command.line,
    command: command.text,
    message,
  }));
}

/** Loads a job as the docs check does: `${env:NAME}` the environment lacks from `<name>.env.example`. */
export async function loadJobForDocs(path: string, env: NodeJS.ProcessEnv): Promise<LoadedJob> {
  const example = path.replace(/\.json$/, '.env.example');
  let fromExample: NodeJS.ProcessEnv = {};
  if (example !== path && (await exists(example))) fromExample = parseEnv(await readFile(example, 'utf8'));
  return loadJob(path, { ...fromExample, ...env });
}

/** Why a job cannot run on the local stack as the doc's reader has it, or undefined if it can. */
async function jobElsewhere(path: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  let loaded: LoadedJob;
  try {
    loaded = await loadJob(path, env);
  } catch (error) {
    const variables = [...(error as Error).message.matchAll(/the environment variable (\w+)/g)].map(
      (m) => m[1],
    );
    return `needs ${variables.join(', ') || 'what its error says'} from the environment`;
  }
  const { config } = loaded;
  const hosts = [
    ...config.kafka.brokers,
    ...(config.fileSystem.type === 'hdfs'
      ? (config.fileSystem.namenodes ?? [config.fileSystem.url ?? ''])
      : []),
    ...(config.hive.server === undefined ? [] : [config.hive.server]),
  ];
  const remote = remoteHosts(hosts);
  return remote.length === 0 ? undefined : `talks to ${remote.join(', ')}`;
}

interface Parsed {
  files: { flag: string; value: string; writes: boolean }[];
  jobs: string[];
}

/** Parses `args` with the CLI, every action a no-op; undefined when it does not parse. */
async function parseConcrete(
  program: Command,
  args: string[],
  problem: (message: string) => void,
): Promise<Parsed | undefined> {
  let leaf: Command | undefined;
  const output: string[] = [];
  const prepare = (command: Command) => {
    command.exitOverride();
    command.configureOutput({
      writeOut: (text) => output.push(text),
      writeErr: (text) => output.push(text),
      outputError: (text) => output.push(text),
    });
    if (command.commands.length === 0) {
      command.action(() => {
        leaf = command;
      });
    }
    for (const sub of command.commands) prepare(sub);
  };
  prepare(program);
  try {
    await program.parseAsync(['node', 'mwingest', ...args]);
  } catch (error) {
    if (error instanceof CommanderError && error.exitCode === 0) return { files: [], jobs: [] }; // --help, --version
    problem(
      error instanceof CommanderError
        ? error.message.replace(/^error: /, '')
        : `does not parse: ${String(error)}`,
    );
    return undefined;
  }
  if (leaf === undefined) return { files: [], jobs: [] };
  const parsed: Parsed = { files: [], jobs: [] };
  for (const option of leaf.options) {
    const key = option.attributeName();
    if (leaf.getOptionValueSource(key) !== 'cli') continue;
    const values = [leaf.getOptionValue(key) as unknown].flat().map(String);
    if (isPathPlaceholder(option.flags)) {
      const writes = /\bwrites?\b/i.test(option.description);
      for (const value of values) parsed.files.push({ flag: option.long ?? option.flags, value, writes });
    }
    if (key === 'job') parsed.jobs.push(...values);
  }
  leaf.registeredArguments.forEach((argument, index) => {
    const value = leaf?.args[index];
    if (value !== undefined && value !== '-' && isPathPlaceholder(argument.name())) {
      parsed.files.push({ flag: `<${argument.name()}>`, value, writes: false });
    }
  });
  return parsed;
}

/** A synopsis: the subcommand must exist and each flag must be one of its options. */
function checkSynopsis(program: Command, args: string[], problem: (message: string) => void): Parsed {
  let command = program;
  let index = 0;
  for (; index < args.length; index++) {
    const sub = command.commands.find((c) => c.name() === args[index] || c.aliases().includes(args[index]!));
    if (sub === undefined) break;
    command = sub;
  }
  const path = ['mwingest', ...args.slice(0, index)].join(' ');
  const first = args[index];
  if (
    command.commands.length > 0 &&
    first !== undefined &&
    !first.startsWith('-') &&
    !isPlaceholderToken(first)
  ) {
    problem(`\`${path}\` has no subcommand "${first}"`);
  }
  const parsed: Parsed = { files: [], jobs: [] };
  for (let i = index; i < args.length; i++) {
    const flag = /^\[?(--?[A-Za-z][\w-]*)/.exec(args[i]!)?.[1];
    if (flag === undefined) continue;
    if (
      flag === '--help' ||
      flag === '-h' ||
      (command === program && (flag === '--version' || flag === '-V'))
    )
      continue;
    const option = command.options.find((o) => o.long === flag || o.short === flag);
    if (option === undefined) {
      problem(`\`${path}\` has no option ${flag}`);
      continue;
    }
    const value = args[i + 1]?.replace(/[[\]]+$/, '');
    if (
      value !== undefined &&
      isPathPlaceholder(option.flags) &&
      !value.startsWith('-') &&
      !value.startsWith('[')
    ) {
      parsed.files.push({ flag, value, writes: /\bwrites?\b/i.test(option.description) });
      if (option.attributeName() === 'job' && !isPlaceholderToken(value)) parsed.jobs.push(value);
    }
  }
  return parsed;
}

function isPathPlaceholder(flags: string): boolean {
  return /(?:^|[<[\s])(?:file|dir|path)\b/i.test(flags);
}

/** `[--x N]`, `<Name>`, `…`: written to show the form of a command, not to be run as it is. */
function isSynopsis(text: string): boolean {
  const unquoted = withoutComment(text).replace(/'[^']*'|"[^"]*"/g, "''");
  return /\[|\]|…|\.\.\.|<[A-Za-z][^>]*>/.test(unquoted);
}

/** `FILE`, `HOST:PORT`, `P`, `<Name>`, `…`: a word that stands for a value. */
function isPlaceholderToken(token: string): boolean {
  return /^[A-Z][A-Z0-9_]*(?::[A-Z_]+)?$/.test(token) || /<[^>]+>|…|\.\.\./.test(token);
}

function withoutComment(text: string): string {
  return text.replace(/(^|\s)#.*$/, '');
}

function synopsisTokens(text: string): string[] {
  return withoutComment(text).trim().split(/\s+/);
}

/** The simple commands of a shell line, split at pipes and lists; quotes resolved, comments dropped. */
function shellSegments(text: string): string[][] {
  const segments: string[][] = [[]];
  for (const token of parseShell(text, (name) => `$${name}`)) {
    if (typeof token === 'string') segments.at(-1)!.push(token);
    else if ('op' in token && token.op === 'glob') segments.at(-1)!.push(token.pattern);
    else if ('op' in token) segments.push([]);
  }
  return segments.filter((segment) => segment.length > 0);
}

/** The arguments after `mwingest` (or `node bin/mwingest.js`), or undefined for another program. */
function argsAfterMwingest(segment: string[]): string[] | undefined {
  const start = segment[0] === 'node' ? 1 : 0;
  const program = segment[start];
  if (program === 'mwingest' || program === 'bin/mwingest.js' || program === './bin/mwingest.js') {
    return segment.slice(start + 1);
  }
  return undefined;
}

/** host:port and URLs in tokens (and comma lists of them) whose host is not this machine. */
function remoteHosts(tokens: string[]): string[] {
  const remote: string[] = [];
  for (const token of tokens.flatMap((t) => t.split(','))) {
    const match =
      /^(?:[a-z][a-z0-9+.-]*:\/\/)?(?:[^@/\s]+@)?([A-Za-z0-9][A-Za-z0-9.-]*|\[[0-9a-f:]+\]):(\d{2,5})(?:\/.*)?$/.exec(
        token,
      );
    if (match === null || !/[a-z.]/i.test(match[1]!)) continue;
    if (!LOCAL_HOSTS.has(match[1]!)) remote.push(`${match[1]}:${match[2]}`);
  }
  return [...new Set(remote)];
}

function expandPath(root: string, path: string): string {
  if (path === '~' || path.startsWith('~/')) return join(homedir(), path.slice(1));
  return isAbsolute(path) ? path : resolve(root, path);
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

async function main(): Promise<number> {
  const started = Date.now();
  const problems = await checkDocs();
  for (const p of problems) process.stderr.write(`${p.doc}:${p.line}: ${p.command}\n    ${p.message}\n`);
  if (problems.length > 0) {
    process.stderr.write(
      `docs check: ${problems.length} problem(s). Mend the doc (or the CLI); see scripts/docs-check.ts for the rules.\n`,
    );
    return 1;
  }
  process.stdout.write(
    `docs check: every mwingest command in the docs and --help is sound (${Date.now() - started} ms)\n`,
  );
  return 0;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  process.exitCode = await main();
}
