import { execFile } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describeError } from '../errors.js';
import type { StepState } from './checklist-step.js';
import type { RevisionVerdict } from './checks.js';
import { displayPath } from './job-diff.js';

/**
 * Where a schema file stands, as both checklists ask it: is it committed to its git checkout
 * (`schema upgrade` step 1, `schema add` step 1), and does the registry the job reads have it
 * (`schema upgrade` step 2, `schema add` step 2)? Each answer is a state with its detail; each
 * checklist puts it under its own step.
 */
export interface StepFinding {
  state: StepState;
  detail: string;
  show: string[];
}

function found(state: StepState, detail: string, show: string[] = []): StepFinding {
  return { state, detail, show };
}

const runGit = promisify(execFile);

/** Is the schema file committed in the git checkout it sits in? Read-only git commands only. */
export async function commitState(verdict: RevisionVerdict): Promise<StepFinding> {
  if (verdict.text === undefined) return found('todo', `${verdict.relativePath} does not load yet`);
  const dir = dirname(verdict.path);
  let out: string;
  try {
    // --no-optional-locks: status must not refresh the index of someone else's checkout.
    const result = await runGit(
      'git',
      [
        '--no-optional-locks',
        '-C',
        dir,
        'status',
        '--porcelain=v1',
        '--ignored',
        '--',
        basename(verdict.path),
      ],
      { timeout: 10_000 },
    );
    out = result.stdout;
  } catch (error) {
    const e = error as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') return found('manual', 'git is not installed here: commit the file by hand');
    if (/not a git repository/i.test(e.stderr ?? '')) {
      return found(
        'manual',
        `the registry is not a git checkout: commit ${verdict.relativePath} to event-schemas and get it reviewed`,
      );
    }
    return found('manual', `git status failed (${(e.stderr ?? describeError(error)).trim()}): check by hand`);
  }
  const code = out.slice(0, 2);
  if (out.trim() === '') {
    return found('done', 'committed, no local changes (pushing and review are up to you)');
  }
  if (code === '??') return found('todo', 'not committed yet (untracked): git add it and commit');
  if (code === '!!') return found('problem', 'the file is ignored by git: it would never be committed');
  if (code[0] === 'A') return found('todo', 'staged, not committed yet');
  return found(
    'todo',
    `has uncommitted changes (git: ${code.trim()}); a revision that producers may already use must never change`,
  );
}

/**
 * Does `jobRegistryRoot`, the registry job `jobName` reads, have the schema file checked in
 * `checkedRoot`, with the same schema?
 */
export async function registryCopyState(
  verdict: RevisionVerdict,
  jobName: string,
  jobRegistryRoot: string,
  checkedRoot: string,
): Promise<StepFinding> {
  if (verdict.text === undefined) return found('todo', 'the schema file does not load yet');
  if (resolve(jobRegistryRoot) === resolve(checkedRoot)) {
    return found('done', `job ${jobName} reads this registry (${jobRegistryRoot})`);
  }
  const target = join(jobRegistryRoot, verdict.relativePath);
  let text: string;
  try {
    text = await readFile(target, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      return found('manual', `cannot read ${target}: ${describeError(error)}`);
    }
    const folder = dirname(target);
    // A new schema's folder does not exist yet in the job's registry.
    const mkdir = (await isDirectory(folder)) ? [] : [`mkdir -p ${shellWord(displayPath(folder))}`];
    return found(
      'todo',
      `job ${jobName} reads ${jobRegistryRoot}, which does not have ${verdict.idText} yet: deploy the ` +
        'event-schemas checkout there before any producer sends it (unknown revisions become error records)',
      [...mkdir, `cp ${shellWord(displayPath(verdict.path))} ${shellWord(`${displayPath(folder)}/`)}`],
    );
  }
  if (text === verdict.text) return found('done', `${jobRegistryRoot} has it, identical`);
  if (sameJson(text, verdict.text)) {
    return found('done', `${jobRegistryRoot} has it (same schema, other formatting)`);
  }
  return found(
    'problem',
    `${target} differs from the file checked here: one revision id must name one schema everywhere`,
  );
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

/** A path as one shell word: quoted when it holds anything but plain path characters. */
function shellWord(path: string): string {
  return /^[\w@%+=:,./-]+$/.test(path) ? path : `'${path.replace(/'/g, "'\\''")}'`;
}

function sameJson(a: string, b: string): boolean {
  try {
    return JSON.stringify(JSON.parse(a)) === JSON.stringify(JSON.parse(b));
  } catch {
    return false; // not JSON: the texts already differ
  }
}
