import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { CheckIds } from '../../src/upgrade/check-result.js';
import { CIRRUS, WMF_FIXTURES } from '../schemas/realistic-records.js';
import { runMwingest } from '../support/cli.js';

/**
 * `mwingest schema upgrade|check` as a user runs it: the real binary, over the real
 * CirrusSearchRequestSet history, the project's EditAttempt history, and the crafted breaking
 * changes in test/fixtures/upgrade/ (one tiny registry each: SearchEvent 10 and 11 are good, the
 * newest revision breaks one rule).
 */

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'mwingest.js');
const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'upgrade');

const mwingest = (args: string[], env: Record<string, string> = {}) =>
  runMwingest(args, { env: { NO_COLOR: '', ...env } });

interface JsonCheck {
  id: string;
  title: string;
  state: string;
  summary: string;
  findings: { path: string | null; message: string; revisions: string[] | null }[];
}
interface JsonRevision {
  revision: string;
  ok: boolean;
  reader: { revision: string; source: string } | null;
  checks: JsonCheck[];
  producerFields: { path: string; type: string; hasDefault: boolean }[];
}
interface JsonReport {
  format: number;
  command: string;
  ok: boolean;
  exitCode: number;
  counts: Record<string, number>;
  revisions: JsonRevision[];
  downstream: {
    hive: { statement: string } | null;
    job: { diff: string; before: string | null; after: string } | null;
  } | null;
  checklist: { step: number; id: string; state: string; detail: string; show: string[] }[] | null;
}

async function json(args: string[]): Promise<{ code: number; report: JsonReport }> {
  const run = await mwingest([...args, '--json']);
  assert.equal(run.stderr, '', run.stderr);
  return { code: run.code, report: JSON.parse(run.stdout) as JsonReport };
}

/** The lines under a check's row in the text output: its findings. */
function findingLines(text: string, title: string): string[] {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => new RegExp(`^ {2}(pass|WARN|FAIL|skip) ${title} `).test(l));
  assert.ok(start >= 0, `no row for ${title} in:\n${text}`);
  const rest = lines.slice(start + 1);
  const end = rest.findIndex((l) => !l.startsWith('         '));
  return rest.slice(0, end);
}

const temp = await mkdtemp(join(tmpdir(), 'mwingest-schema-cli-'));
after(() => rm(temp, { recursive: true, force: true }));

interface BreakingCase {
  dir: string;
  revision: string;
  exit: number;
  /** Check id → the finding paths it must report; every other check must pass or be skipped. */
  fail: Partial<Record<(typeof CheckIds)[number], string[]>>;
  warn?: Partial<Record<(typeof CheckIds)[number], string[]>>;
  skip?: (typeof CheckIds)[number][];
}

const NOT_LOADED = [
  'timestamp',
  'field-names',
  'backward',
  'forward',
  'added-defaults',
  'removed-fields',
  'producer-fields',
] as const;

const CASES: BreakingCase[] = [
  {
    dir: 'removed-field-no-default',
    revision: '121700200000',
    exit: 1,
    // 11 readers need query and have no default for it.
    fail: { forward: ['SearchEvent.query'] },
    warn: { 'removed-fields': ['SearchEvent.query'] },
  },
  {
    dir: 'renamed-field',
    revision: '121700200000',
    exit: 1,
    fail: {
      backward: ['SearchEvent.searchQuery'],
      forward: ['SearchEvent.query'],
      'added-defaults': ['SearchEvent.searchQuery'],
    },
    warn: { 'removed-fields': ['SearchEvent.query'] },
  },
  {
    dir: 'type-not-promotion',
    revision: '121700200000',
    exit: 1,
    // double → float narrows: old data cannot be read; new float data reads fine as double.
    fail: { backward: ['SearchEvent.results[].score'] },
  },
  {
    dir: 'reused-revision-id',
    revision: '121700200000',
    exit: 1,
    fail: { 'unique-id': ['avro/mediawiki/OtherEvent/121700200000.avsc'] },
  },
  {
    dir: 'wrong-record-name',
    revision: '121700200000',
    exit: 1,
    fail: { file: ['avro/mediawiki/SearchEvent/121700200000.avsc'] },
    skip: [...NOT_LOADED],
  },
  {
    dir: 'timestamp-removed',
    revision: '121700200000',
    exit: 1,
    fail: { timestamp: ['SearchEvent.ts'] },
    warn: { 'removed-fields': ['SearchEvent.ts'] },
  },
  {
    dir: 'snake-case-field',
    revision: '121700200000',
    exit: 1,
    fail: { 'field-names': ['SearchEvent.results[].click_position', 'SearchEvent.search_token'] },
  },
  {
    dir: 'version-gap',
    revision: '141700200000',
    exit: 0,
    fail: {},
    warn: { version: [] },
  },
  {
    dir: 'added-field-no-default',
    revision: '121700200000',
    exit: 1,
    fail: { backward: ['SearchEvent.userId'], 'added-defaults': ['SearchEvent.userId'] },
  },
];

describe('crafted breaking changes: verdict, field paths, exit code', { concurrency: 3 }, () => {
  for (const c of CASES) {
    test(`${c.dir} → exit ${c.exit}`, async () => {
      const args = ['schema', 'upgrade', 'SearchEvent', c.revision, '--registry', join(FIXTURES, c.dir)];
      const { code, report } = await json(args);
      assert.equal(code, c.exit);
      assert.equal(report.exitCode, c.exit);
      assert.equal(report.ok, c.exit === 0);
      const checks = report.revisions[0]!.checks;
      assert.deepEqual(
        checks.map((k) => k.id),
        [...CheckIds],
      );
      for (const check of checks) {
        const expected = c.fail[check.id as keyof typeof c.fail]
          ? 'fail'
          : c.warn?.[check.id as keyof typeof c.warn]
            ? 'warn'
            : c.skip?.includes(check.id as (typeof NOT_LOADED)[number])
              ? 'skip'
              : 'pass';
        assert.equal(check.state, expected, `${check.id}: ${check.summary}`);
        const paths = c.fail[check.id as keyof typeof c.fail] ?? c.warn?.[check.id as keyof typeof c.warn];
        if (paths !== undefined && paths.length > 0) {
          assert.deepEqual(
            check.findings.map((f) => f.path),
            paths,
          );
        }
      }

      const text = await mwingest(args);
      assert.equal(text.code, c.exit);
      for (const [id, paths] of Object.entries(c.fail)) {
        const title = checks.find((k) => k.id === id)!.title;
        assert.match(text.stdout, new RegExp(`\\n {2}FAIL ${title} `));
        const under = findingLines(text.stdout, title);
        for (const path of paths) {
          assert.ok(
            under.some((l) => l.trimStart().startsWith(path)),
            `${path} not under FAIL ${title}:\n${under.join('\n')}`,
          );
        }
      }
      assert.match(text.stdout, new RegExp(`\\(exit ${c.exit}\\)\\n$`));
    });
  }

  test('schema check over a broken history fails only the broken revision', async () => {
    const { code, report } = await json([
      'schema',
      'check',
      'SearchEvent',
      '--registry',
      join(FIXTURES, 'renamed-field'),
    ]);
    assert.equal(code, 1);
    assert.deepEqual(
      report.revisions.map((r) => [r.revision, r.ok]),
      [
        ['101700000000', true],
        ['111700100000', true],
        ['121700200000', false],
      ],
    );
  });
});

describe('the real CirrusSearchRequestSet history', () => {
  test('the upgrade to 121456865906 passes, and producers must send its five new fields', async () => {
    const { code, report } = await json([
      'schema',
      'upgrade',
      CIRRUS,
      '121456865906',
      '--registry',
      WMF_FIXTURES,
    ]);
    assert.equal(code, 0);
    const revision = report.revisions[0]!;
    assert.ok(
      revision.checks.every((k) => k.state === 'pass'),
      JSON.stringify(revision.checks.filter((k) => k.state !== 'pass')),
    );
    assert.deepEqual(revision.reader, { revision: '111448028943', source: 'previous' });
    assert.deepEqual(
      revision.producerFields.map((f) => f.path),
      [
        'CirrusSearchRequestSet.id',
        'CirrusSearchRequestSet.tookMs',
        'CirrusSearchRequestSet.hits',
        'CirrusSearchRequestSet.requests[].maxScore',
        'CirrusSearchRequestSet.requests[].hits',
      ],
    );
    assert.match(
      report.downstream!.hive!.statement,
      /^ALTER TABLE `wmf_raw`\.`cirrussearchrequestset` SET TBLPROPERTIES \('avro\.schema\.literal'='\{"type":"record"/,
    );
  });

  test('the upgrade to 111448028943 passes, checked as of its time (121456865906 came later)', async () => {
    const { code, report } = await json([
      'schema',
      'upgrade',
      CIRRUS,
      '111448028943',
      '--registry',
      WMF_FIXTURES,
    ]);
    assert.equal(code, 0);
    const revision = report.revisions[0]!;
    assert.ok(revision.checks.every((k) => k.state === 'pass'));
    assert.deepEqual(revision.reader, { revision: '101446746400', source: 'previous' });
    assert.deepEqual(
      revision.producerFields.map((f) => f.path),
      ['CirrusSearchRequestSet.payload', 'CirrusSearchRequestSet.requests[].payload'],
    );
  });

  test('schema check: three revisions, nothing fails', async () => {
    const run = await mwingest(['schema', 'check', CIRRUS, '--registry', WMF_FIXTURES]);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    for (const revision of ['101446746400', '111448028943', '121456865906']) {
      assert.match(run.stdout, new RegExp(`\\nRevision ${revision}: version 1[012], made `));
    }
    assert.doesNotMatch(run.stdout, /FAIL|WARN/);
  });
});

describe("the project's EditAttempt history", () => {
  test('schema check passes every revision (the default registry)', async () => {
    const { code, report } = await json(['schema', 'check', 'EditAttempt']);
    assert.equal(code, 0);
    assert.deepEqual(
      report.revisions.map((r) => r.revision),
      ['101704113721', '111714553318', '121725201754'],
    );
    assert.equal(report.counts.fail, 0);
    assert.equal(report.counts.warn, 0);
  });

  test('the upgrade to 121725201754: committed, and the new nested record is listed for producers', async () => {
    const { code, report } = await json(['schema', 'upgrade', 'EditAttempt', '121725201754']);
    assert.equal(code, 0);
    assert.equal(report.checklist![0]!.state, 'done');
    const performance = report.revisions[0]!.producerFields.find((f) => f.path === 'EditAttempt.performance');
    assert.deepEqual(performance, {
      path: 'EditAttempt.performance',
      type: 'EditPerformance',
      hasDefault: true,
    });
  });
});

describe('--json shape', () => {
  test('top level, checks and checklist have the documented keys and states', async () => {
    const run = await mwingest([
      'schema',
      'upgrade',
      CIRRUS,
      '121456865906',
      '--registry',
      WMF_FIXTURES,
      '--json',
    ]);
    const report = JSON.parse(run.stdout) as Record<string, unknown> & JsonReport;
    assert.deepEqual(Object.keys(report), [
      'format',
      'command',
      'schema',
      'ok',
      'exitCode',
      'counts',
      'registry',
      'registryProblems',
      'job',
      'timestamp',
      'revisions',
      'downstream',
      'deployment',
      'checklist',
    ]);
    assert.equal(report.format, 1);
    assert.equal(report.command, 'upgrade');
    assert.deepEqual(Object.keys(report.counts), ['pass', 'warn', 'fail', 'skip']);
    for (const check of report.revisions[0]!.checks) {
      assert.deepEqual(Object.keys(check), ['id', 'title', 'state', 'summary', 'findings']);
      assert.ok(['pass', 'warn', 'fail', 'skip'].includes(check.state));
    }
    assert.deepEqual(
      report.checklist!.map((s) => [s.step, s.id]),
      [
        [1, 'commit-schema'],
        [2, 'bump-registry'],
        [3, 'alter-hive-table'],
        [4, 'pin-reader'],
        [5, 'deploy-producers'],
        [6, 'verify-run'],
        [7, 'verify-partitions'],
      ],
    );
    for (const s of report.checklist!) assert.ok(['done', 'todo', 'manual', 'problem'].includes(s.state));
    assert.equal(report.job, null);
    assert.equal(report.downstream!.job, null);
  });

  test('schema check has no downstream and no checklist', async () => {
    const { report } = await json(['schema', 'check', CIRRUS, '--registry', WMF_FIXTURES]);
    assert.equal(report.command, 'check');
    assert.equal(report.downstream, null);
    assert.equal(report.checklist, null);
    assert.equal(report.revisions.length, 3);
  });
});

describe('with a job file', () => {
  test('the diff pins the new reader; applied with patch, the step is done', async () => {
    const jobFile = join(temp, 'analytics.json');
    const original = `{
  "name": "analytics",
  "kafka": { "brokers": ["127.0.0.1:9092"] },
  "registry": ${JSON.stringify(WMF_FIXTURES)},
  "fileSystem": { "type": "local", "root": "data" },
  "datasets": {
    "CirrusSearchRequestSet": { "readerRevision": "111448028943", "hive": { "table": "cirrus_requests" } }
  }
}
`;
    await writeFile(jobFile, original);
    const hql = join(temp, 'alter.hql');
    const { code, report } = await json([
      'schema',
      'upgrade',
      CIRRUS,
      '121456865906',
      '--job',
      jobFile,
      '--hql',
      hql,
    ]);
    assert.equal(code, 0);
    const pin = report.checklist!.find((s) => s.id === 'pin-reader')!;
    assert.equal(pin.state, 'todo');
    const diff = report.downstream!.job!.diff;
    assert.equal(report.downstream!.job!.before, '"111448028943"');
    assert.deepEqual(
      diff.split('\n').filter((l) => /^[-+][^-+]/.test(l)),
      [
        '-    "CirrusSearchRequestSet": { "readerRevision": "111448028943", "hive": { "table": "cirrus_requests" } }',
        '+    "CirrusSearchRequestSet": { "readerRevision": "121456865906", "hive": { "table": "cirrus_requests" } }',
      ],
    );
    assert.deepEqual(pin.show, diff.trimEnd().split('\n'));

    const statement = await readFile(hql, 'utf8');
    assert.match(
      statement,
      /^ALTER TABLE `wmf_raw`\.`cirrus_requests` SET TBLPROPERTIES \('avro\.schema\.literal'='/,
    );
    assert.ok(statement.endsWith("');\n"));

    const patchFile = join(temp, 'pin.patch');
    await writeFile(patchFile, diff);
    const patched = spawnSync('patch', ['--silent', '--force', jobFile, patchFile], { encoding: 'utf8' });
    assert.equal(patched.status, 0, patched.stdout + patched.stderr);
    const again = await json(['schema', 'upgrade', CIRRUS, '121456865906', '--job', jobFile]);
    assert.equal(again.report.checklist!.find((s) => s.id === 'pin-reader')!.state, 'done');
    assert.equal(again.report.downstream!.job!.diff, '');
    // The job now pins this revision: forward is checked against the one before.
    assert.deepEqual(again.report.revisions[0]!.reader, { revision: '111448028943', source: 'previous' });
  });

  test('the text output shows the diff under the pin step', async () => {
    const jobFile = join(temp, 'unpinned.json');
    await writeFile(
      jobFile,
      `${JSON.stringify({ name: 'unpinned', kafka: { brokers: ['127.0.0.1:9092'] }, registry: WMF_FIXTURES, fileSystem: { type: 'local', root: 'data' } }, null, 2)}\n`,
    );
    const run = await mwingest(['schema', 'upgrade', CIRRUS, '121456865906', '--job', jobFile]);
    assert.equal(run.code, 0, run.stderr);
    const lines = run.stdout.split('\n');
    const step = lines.findIndex((l) => /^ {2}4 \[ \] todo {4}pin the new reader$/.test(l));
    assert.ok(step > 0, run.stdout);
    const block = lines.slice(step + 1, step + 20).join('\n');
    assert.match(block, /pins no reader/);
    assert.match(
      block,
      /\n {18}\+ {2}"datasets": \{\n {18}\+ {4}"CirrusSearchRequestSet": \{\n {18}\+ {6}"readerRevision": "121456865906"\n/,
    );
  });
});

describe('usage and terminal', () => {
  test('usage mistakes exit 2 with a sentence on stderr', async () => {
    for (const args of [
      ['schema', 'upgrade', CIRRUS, 'latest', '--registry', WMF_FIXTURES],
      ['schema', 'upgrade', 'NoSuchSchema', '121456865906', '--registry', WMF_FIXTURES],
      ['schema', 'check', CIRRUS, '--registry', temp],
      ['schema', 'upgrade', CIRRUS],
    ]) {
      const run = await mwingest(args);
      assert.equal(run.code, 2, `${args.join(' ')}: ${run.stdout}${run.stderr}`);
      assert.match(run.stderr, /\S/);
      assert.equal(run.stdout, '');
    }
  });

  test('--help teaches: the checks, exit codes and examples', async () => {
    const run = await mwingest(['schema', 'upgrade', '--help']);
    assert.equal(run.code, 0);
    for (const text of [
      'backward',
      'forward',
      'Exit codes:',
      '0  every automatic check passed',
      'Examples:',
      '--hql <file>',
    ]) {
      assert.ok(run.stdout.includes(text), text);
    }
  });

  test('on a terminal: unicode marks; with NO_COLOR: the ASCII ones', async () => {
    const command = `${process.execPath} ${BIN} schema upgrade ${CIRRUS} 121456865906 --registry ${WMF_FIXTURES}`;
    const tty = spawnSync('script', ['-qec', command, '/dev/null'], {
      encoding: 'utf8',
      env: { ...process.env, MWINGEST_FROM_SOURCE: '1', NO_COLOR: '' },
    });
    assert.equal(tty.status, 0, tty.stdout + tty.stderr);
    assert.match(tty.stdout, /✓.*backward/);
    assert.doesNotMatch(tty.stdout, /\bpass backward/);
    const noColor = spawnSync('script', ['-qec', command, '/dev/null'], {
      encoding: 'utf8',
      env: { ...process.env, MWINGEST_FROM_SOURCE: '1', NO_COLOR: '1' },
    });
    assert.match(noColor.stdout, /pass backward/);
    assert.doesNotMatch(noColor.stdout, /✓|\u001b\[/);
  });
});
