import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { pinReaderRevision, unifiedDiff } from '../../src/upgrade/job-diff.js';

const temp = await mkdtemp(join(tmpdir(), 'mwingest-job-diff-'));
after(() => rm(temp, { recursive: true, force: true }));

const NEW = '121456865906';

/** Applies a diff with GNU patch, an independent reader of the format. */
async function applyWithPatch(name: string, before: string, diff: string): Promise<string> {
  const file = join(temp, `${name}.json`);
  const patchFile = join(temp, `${name}.patch`);
  const out = join(temp, `${name}.patched.json`);
  await writeFile(file, before);
  await writeFile(patchFile, diff);
  const result = spawnSync('patch', ['--silent', '--force', '-o', out, file, patchFile], {
    encoding: 'utf8',
  });
  assert.equal(result.status, 0, `patch refused the diff:\n${diff}\n${result.stdout}${result.stderr}`);
  return readFile(out, 'utf8');
}

const multiLine = `{
  "name": "analytics",
  "kafka": { "brokers": ["kafka1012:9092"] },
  "datasets": {
    "ApiAction": { "format": "parquet" },
    "CirrusSearchRequestSet": {
      "readerRevision": "111448028943",
      "timestamp": { "field": "ts" }
    }
  },
  "fileSystem": { "type": "local", "root": "data" }
}
`;

interface Case {
  name: string;
  text: string;
  /** The readerRevision value the result must hold (type included). */
  pinned: string | number;
  before: string | null;
  /** How many lines of the original may change. */
  removedLines: number;
}

const cases: Case[] = [
  {
    name: 'replaces an existing string pin',
    text: multiLine,
    pinned: NEW,
    before: '"111448028943"',
    removedLines: 1,
  },
  {
    name: 'keeps a numeric pin numeric',
    text: multiLine.replace('"111448028943"', '111448028943'),
    pinned: Number(NEW),
    before: '111448028943',
    removedLines: 1,
  },
  {
    name: 'adds the key to a dataset that has none',
    text: multiLine.replace('"readerRevision": "111448028943",\n      ', ''),
    pinned: NEW,
    before: null,
    removedLines: 1,
  },
  {
    name: 'adds the dataset next to the others',
    text: multiLine.replace(/,\n {4}"CirrusSearchRequestSet": \{[^}]*\}\n {4}\}/, ''),
    pinned: NEW,
    before: null,
    removedLines: 1,
  },
  {
    name: 'adds datasets to a job without any',
    text: '{\n  "name": "demo",\n  "fileSystem": { "type": "local", "root": "data" }\n}\n',
    pinned: NEW,
    before: null,
    removedLines: 1,
  },
  {
    name: 'fills an empty datasets object',
    text: '{\n  "name": "demo",\n  "datasets": {}\n}\n',
    pinned: NEW,
    before: null,
    removedLines: 1,
  },
  {
    name: 'edits a one-line file in place',
    text: '{"name":"demo","datasets":{"CirrusSearchRequestSet":{"readerRevision":"111448028943"}}}',
    pinned: NEW,
    before: '"111448028943"',
    removedLines: 1,
  },
  {
    name: 'follows tab indentation',
    text: '{\n\t"name": "demo",\n\t"datasets": {\n\t\t"Other": {}\n\t}\n}\n',
    pinned: NEW,
    before: null,
    removedLines: 1,
  },
];

describe('pinReaderRevision + unifiedDiff', () => {
  for (const c of cases) {
    test(c.name, async () => {
      const edit = pinReaderRevision(c.text, 'CirrusSearchRequestSet', NEW);
      assert.equal(edit.minimal, true);
      assert.equal(edit.before, c.before);
      const expected = JSON.parse(c.text);
      expected.datasets ??= {};
      expected.datasets.CirrusSearchRequestSet = {
        ...expected.datasets.CirrusSearchRequestSet,
        readerRevision: c.pinned,
      };
      assert.deepEqual(JSON.parse(edit.text), expected);

      const diff = unifiedDiff(c.text, edit.text, 'job.json', 'job.json');
      const removed = diff.split('\n').filter((l) => l.startsWith('-') && !l.startsWith('---'));
      assert.equal(removed.length, c.removedLines, diff);
      assert.equal(await applyWithPatch(c.name.replace(/\W+/g, '-'), c.text, diff), edit.text);
      if (c.text.includes('\t'))
        assert.match(edit.text, /\n\t\t"CirrusSearchRequestSet": \{\n\t\t\t"readerRevision"/);
    });
  }

  test('nothing to change: an empty diff', () => {
    const text = multiLine.replace('111448028943', NEW);
    const edit = pinReaderRevision(text, 'CirrusSearchRequestSet', NEW);
    assert.equal(edit.text, text);
    assert.equal(unifiedDiff(text, edit.text, 'a', 'b'), '');
  });

  test('a file without a final newline gets the marker patch needs', async () => {
    const text = '{\n  "datasets": { "CirrusSearchRequestSet": { "readerRevision": "111448028943" } }\n}';
    const edit = pinReaderRevision(text, 'CirrusSearchRequestSet', NEW);
    const diff = unifiedDiff(text, edit.text, 'job.json', 'job.json');
    assert.equal(await applyWithPatch('no-final-newline', text, diff), edit.text);
  });

  test('context is three lines either side, and line numbers count from 1', () => {
    const before = `${Array.from({ length: 20 }, (_, i) => `line ${i + 1}`).join('\n')}\n`;
    const after = before.replace('line 10\n', 'line ten\n');
    const diff = unifiedDiff(before, after, 'a', 'b');
    assert.equal(
      diff,
      [
        '--- a',
        '+++ b',
        '@@ -7,7 +7,7 @@',
        ' line 7',
        ' line 8',
        ' line 9',
        '-line 10',
        '+line ten',
        ' line 11',
        ' line 12',
        ' line 13',
        '',
      ].join('\n'),
    );
  });
});
