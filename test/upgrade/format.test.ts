import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { formatSchemaReport, PLAIN, styleFor, type TextStyle } from '../../src/upgrade/format.js';
import { runCheck, runUpgrade } from '../../src/upgrade/report.js';
import { CIRRUS, WMF_FIXTURES } from '../schemas/realistic-records.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'upgrade');
const FANCY: TextStyle = { unicode: true, color: true, width: 100 };
const ESC = '\u001b';

const renamed = await runUpgrade('SearchEvent', '121700200000', {
  registry: join(FIXTURES, 'renamed-field'),
});
const cirrus = await runCheck(CIRRUS, { registry: WMF_FIXTURES });

function visible(line: string): string {
  return line.replace(new RegExp(`${ESC}\\[[0-9;]*m`, 'g'), '');
}

describe('terminal output', () => {
  for (const [name, style] of [
    ['plain', PLAIN],
    ['unicode and colour', FANCY],
    ['narrow terminal', { unicode: true, color: false, width: 72 }],
  ] as const) {
    test(`${name}: every line fits the width`, () => {
      for (const report of [renamed, cirrus]) {
        for (const line of formatSchemaReport(report, style).split('\n')) {
          assert.ok(visible(line).length < style.width, `${visible(line).length} columns: ${line}`);
        }
      }
    });
  }

  test('plain output is ASCII, without colour codes', () => {
    const text = formatSchemaReport(renamed, PLAIN);
    assert.ok(!text.includes(ESC));
    assert.match(text, /^[\x20-\x7e\n]*$/);
    assert.match(text, /\n {2}FAIL backward {9}2 earlier revisions cannot be read as 121700200000\n/);
    // The fixture is untracked until it is committed: either state is right.
    assert.match(text, /\n {2}1 (\[ \] todo|\[x\] done) {4}commit the schema\n/);
  });

  test('on a terminal: ✓ ✗ ! marks, in colour', () => {
    const text = formatSchemaReport(renamed, FANCY);
    assert.ok(text.includes(`${ESC}[31m✗${ESC}[0m backward`));
    assert.ok(text.includes(`${ESC}[33m!${ESC}[0m removed fields`));
    assert.ok(text.includes(`${ESC}[32m✓${ESC}[0m schema file`));
  });

  test('check rows align: every summary starts in the same column', () => {
    const rows = formatSchemaReport(renamed, PLAIN)
      .split('\n')
      .filter((l) => /^ {2}(pass|WARN|FAIL|skip) /.test(l));
    assert.equal(rows.length, 11);
    const columns = new Set(rows.map((l) => l.search(/(?<=^ {2}\S+ \S.*? {2,})\S/)));
    assert.equal(columns.size, 1, rows.join('\n'));
  });

  test('failing field paths sit indented under their check', () => {
    const lines = formatSchemaReport(renamed, PLAIN).split('\n');
    const under = (title: string): string[] => {
      const start = lines.findIndex(
        (l) => l.startsWith(`  FAIL ${title} `) || l.startsWith(`  WARN ${title} `),
      );
      assert.ok(start >= 0, title);
      const end = lines.findIndex((l, i) => i > start && !l.startsWith('         '));
      return lines.slice(start + 1, end);
    };
    assert.ok(
      under('backward').some((l) =>
        l.startsWith('         SearchEvent.searchQuery (from 101700000000, 111700100000)'),
      ),
    );
    assert.ok(under('forward').some((l) => l.startsWith('         SearchEvent.query')));
    assert.ok(under('removed fields').some((l) => /^ {9}SearchEvent\.query/.test(l)));
    assert.ok(under('added fields').some((l) => /^ {9}SearchEvent\.searchQuery/.test(l)));
  });

  test('the result line counts the states and names the exit code', () => {
    assert.match(
      formatSchemaReport(renamed, PLAIN),
      /\nResult: 7 passed, 1 warning, 3 failed: fix the failed checks \(exit 1\)\n$/,
    );
    assert.match(
      formatSchemaReport(cirrus, PLAIN),
      /\nResult: 28 passed, 0 warnings, 0 failed, 5 skipped: every automatic check passed \(exit 0\)\n$/,
    );
  });
});

describe('styleFor', () => {
  test('marks and colour on a terminal only, and never with NO_COLOR', () => {
    assert.deepEqual(styleFor({ isTTY: true, columns: 120 }, {}), { unicode: true, color: true, width: 100 });
    assert.deepEqual(styleFor({ isTTY: true, columns: 80 }, { NO_COLOR: '1' }), {
      unicode: false,
      color: false,
      width: 80,
    });
    assert.deepEqual(styleFor({}, {}), { unicode: false, color: false, width: 100 });
    assert.equal(styleFor({ isTTY: true, columns: 30 }, {}).width, 60);
  });
});
