/**
 * The systemd units under deploy/systemd: `systemd-analyze verify` finds nothing to say about them
 * (with the `mwingest` command pointed at this checkout's bin/mwingest.js, since verify checks that
 * the program exists), every option an ExecStart= passes is one the command has, every ${VARIABLE}
 * it uses has a default in the unit, and the settings operators rely on are there: exit 75 counts
 * as success for `run`, the workers stop on SIGTERM within their shutdown grace and restart on
 * failure, and every unit runs as the user deploy/systemd/mwingest.sysusers.conf creates.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import type { Command } from 'commander';
import { hiveCommand } from '../../src/cli/hive.js';
import { runCommand } from '../../src/cli/run.js';
import { workerCommand } from '../../src/cli/worker.js';

const execFileAsync = promisify(execFile);
const root = join(import.meta.dirname, '..', '..');
const dir = join(root, 'deploy', 'systemd');
const UNITS = [
  'mwingest-run@.service',
  'mwingest-run@.timer',
  'mwingest-worker@.service',
  'mwingest-hive-worker@.service',
];

/** A unit file → section → key → values (a key may repeat); comments and blank lines dropped. */
async function unit(name: string): Promise<Map<string, Map<string, string[]>>> {
  const sections = new Map<string, Map<string, string[]>>();
  let section: Map<string, string[]> | undefined;
  for (const line of (await readFile(join(dir, name), 'utf8')).split('\n')) {
    if (line.trim() === '' || line.startsWith('#')) continue;
    const header = /^\[(\w+)\]$/.exec(line);
    if (header) {
      section = new Map();
      sections.set(header[1]!, section);
      continue;
    }
    const eq = line.indexOf('=');
    assert.ok(section && eq > 0, `${name}: not a key=value line in a section: ${line}`);
    const key = line.slice(0, eq);
    section.set(key, [...(section.get(key) ?? []), line.slice(eq + 1)]);
  }
  return sections;
}

function one(sections: Map<string, Map<string, string[]>>, section: string, key: string): string | undefined {
  return sections.get(section)?.get(key)?.at(-1);
}

/** `Environment=A=1 B=2` lines → { A: '1', B: '2' }. */
function environmentOf(sections: Map<string, Map<string, string[]>>): Record<string, string> {
  const pairs = (sections.get('Service')?.get('Environment') ?? []).flatMap((line) => line.split(/\s+/));
  return Object.fromEntries(pairs.map((pair) => pair.split('=', 2) as [string, string]));
}

async function systemdAnalyze(): Promise<string | undefined> {
  try {
    await execFileAsync('systemd-analyze', ['--version']);
    return 'systemd-analyze';
  } catch {
    return undefined;
  }
}

const commands: Record<string, () => Command> = {
  run: runCommand,
  worker: workerCommand,
  'hive worker': () => hiveCommand().commands.find((c) => c.name() === 'worker')!,
};

describe('systemd units (deploy/systemd)', () => {
  test('systemd-analyze verify has nothing to say about any unit', async (t) => {
    const analyze = await systemdAnalyze();
    if (analyze === undefined) {
      t.skip('systemd-analyze is not installed (Debian package systemd)');
      return;
    }
    assert.deepEqual(
      (await readdir(dir)).filter((f) => /\.(service|timer)$/.test(f)).sort(),
      [...UNITS].sort(),
    );
    const work = await mkdtemp(join(tmpdir(), 'mwingest-units-'));
    try {
      for (const name of UNITS) {
        const text = await readFile(join(dir, name), 'utf8');
        // verify checks that ExecStart's program exists: this checkout's CLI stands for the installed one
        await writeFile(
          join(work, name),
          text.replace(/^ExecStart=mwingest /gm, `ExecStart=${root}/bin/mwingest.js `),
        );
      }
      for (const name of UNITS) {
        const instance = name.replace('@.', '@analytics.');
        const said: string = await execFileAsync(analyze, ['verify', instance], { cwd: work }).then(
          ({ stdout, stderr }) => `${stdout}${stderr}`,
          (error: { stdout: string; stderr: string }) => `${error.stdout}${error.stderr} (exit non-zero)`,
        );
        assert.equal(said.trim(), '', `systemd-analyze verify ${instance}`);
      }
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  });

  test('every ExecStart= passes options its command has, with variables the unit gives defaults', async () => {
    for (const name of UNITS.filter((n) => n.endsWith('.service'))) {
      const sections = await unit(name);
      const exec = one(sections, 'Service', 'ExecStart') ?? '';
      const words = exec.split(/\s+/);
      assert.equal(words[0], 'mwingest', name);
      const flags = words.filter((w) => w.startsWith('--'));
      const path = words
        .slice(
          1,
          words.findIndex((w) => w.startsWith('-')),
        )
        .join(' ');
      const command = commands[path]?.();
      assert.ok(command, `${name}: no command "${path}"`);
      for (const flag of flags)
        assert.ok(
          command.options.some((o) => o.long === flag),
          `${name}: mwingest ${path} has no ${flag}`,
        );
      assert.ok(flags.includes('--job'), `${name}: --job`);
      const defaults = environmentOf(sections);
      for (const [, variable] of exec.matchAll(/\$\{(\w+)\}/g))
        assert.ok(variable! in defaults, `${name}: \${${variable}} has no Environment= default`);
    }
  });

  test('run: a oneshot where exit 75 (another run is going) is success, started hourly by its timer', async () => {
    const service = await unit('mwingest-run@.service');
    assert.equal(one(service, 'Service', 'Type'), 'oneshot');
    assert.ok(one(service, 'Service', 'SuccessExitStatus')?.split(/\s+/).includes('75'));
    const timer = await unit('mwingest-run@.timer');
    // hourly, in UTC like the worker's default schedule "15 * * * *"
    assert.match(one(timer, 'Timer', 'OnCalendar') ?? '', /^\*-\*-\* \*:15:00 UTC$/);
    assert.equal(one(timer, 'Timer', 'Persistent'), 'true');
    assert.equal(one(timer, 'Install', 'WantedBy'), 'timers.target');
  });

  test('workers stop on SIGTERM within their shutdown grace and restart after a failure', async () => {
    for (const name of ['mwingest-worker@.service', 'mwingest-hive-worker@.service']) {
      const sections = await unit(name);
      assert.equal(one(sections, 'Service', 'KillSignal'), 'SIGTERM', name);
      assert.equal(one(sections, 'Service', 'Restart'), 'on-failure', name);
      const stop = Number(one(sections, 'Service', 'TimeoutStopSec'));
      const grace = Number(environmentOf(sections).MWINGEST_SHUTDOWN_GRACE ?? 0);
      assert.ok(stop > grace + 5, `${name}: TimeoutStopSec=${stop} leaves no time after a ${grace} s grace`);
      assert.equal(one(sections, 'Install', 'WantedBy'), 'multi-user.target', name);
    }
  });

  test('every service runs as the dedicated user, with the shared and the per-job environment file', async () => {
    const sysusers = await readFile(join(dir, 'mwingest.sysusers.conf'), 'utf8');
    const user = /^u\s+(\S+)/m.exec(sysusers)?.[1];
    assert.ok(user);
    for (const name of UNITS.filter((n) => n.endsWith('.service'))) {
      const sections = await unit(name);
      assert.equal(one(sections, 'Service', 'User'), user, name);
      assert.deepEqual(sections.get('Service')?.get('EnvironmentFile'), [
        '-/etc/mwingest/mwingest.env',
        '-/etc/mwingest/%i.env',
      ]);
      assert.equal(one(sections, 'Service', 'NoNewPrivileges'), 'yes', name);
      assert.equal(
        one(sections, 'Service', 'MemoryDenyWriteExecute'),
        undefined,
        `${name}: V8 needs W+X memory`,
      );
    }
  });

  test('every MWINGEST_ variable of the example environment file is read by a unit or by mwingest', async () => {
    const units = (await Promise.all(UNITS.map((name) => readFile(join(dir, name), 'utf8')))).join('\n');
    const sources = await readdir(join(root, 'src'), { recursive: true });
    const code = (
      await Promise.all(
        sources.filter((f) => f.endsWith('.ts')).map((f) => readFile(join(root, 'src', f), 'utf8')),
      )
    ).join('\n');
    const example = await readFile(join(dir, 'mwingest.env.example'), 'utf8');
    const keys = [...example.matchAll(/^#?(MWINGEST_[A-Z0-9_]+)=/gm)].map((m) => m[1]!);
    assert.ok(keys.length >= 5);
    for (const key of keys)
      assert.ok(units.includes(`\${${key}}`) || code.includes(key), `${key} is read by nothing`);
  });
});
