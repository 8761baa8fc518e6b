import { type CheckFinding, type CheckState, countOf, type UpgradeCheck } from './check-result.js';
import type { ChecklistStep, StepState } from './checklist-step.js';
import { describeParts, type RevisionVerdict } from './checks.js';
import type { SchemaReport } from './report.js';

/**
 * The schema report as a person reads it in a terminal: a header, the automatic checks with
 * aligned state marks and their findings indented under them, the checklist, and a result line.
 * Lines are wrapped to `width` (at most 99 columns). `unicode` selects ✓ ✗ ! · marks (and colour
 * when `color`); without it every mark is plain ASCII, for logs, pipes and NO_COLOR.
 */

export interface TextStyle {
  unicode: boolean;
  color: boolean;
  /** Columns; lines stay shorter than this. @defaultValue 100 */
  width: number;
}

export const PLAIN: TextStyle = { unicode: false, color: false, width: 100 };

/** The style for a stream: marks and colour only on a terminal, never with NO_COLOR set. */
export function styleFor(
  stream: { isTTY?: boolean; columns?: number },
  env: NodeJS.ProcessEnv = process.env,
): TextStyle {
  const tty = stream.isTTY === true;
  const noColor = env.NO_COLOR !== undefined && env.NO_COLOR !== '';
  const columns = tty && stream.columns !== undefined && stream.columns > 0 ? stream.columns : 100;
  return { unicode: tty && !noColor, color: tty && !noColor, width: Math.max(60, Math.min(100, columns)) };
}

const CHECK_MARKS: Record<CheckState, { unicode: string; ascii: string; color: string }> = {
  pass: { unicode: '✓', ascii: 'pass', color: '32' },
  warn: { unicode: '!', ascii: 'WARN', color: '33' },
  fail: { unicode: '✗', ascii: 'FAIL', color: '31' },
  skip: { unicode: '·', ascii: 'skip', color: '2' },
};

const STEP_MARKS: Record<StepState, { unicode: string; ascii: string; color: string }> = {
  done: { unicode: '✓', ascii: '[x]', color: '32' },
  todo: { unicode: '○', ascii: '[ ]', color: '33' },
  manual: { unicode: '·', ascii: '[-]', color: '36' },
  problem: { unicode: '✗', ascii: '[!]', color: '31' },
};

export function formatSchemaReport(report: SchemaReport, style: TextStyle = PLAIN): string {
  const out = new Writer(style);
  header(out, report);
  if (report.command === 'check') {
    for (const verdict of report.revisions) {
      out.blank();
      out.heading(revisionHeading(verdict));
      checks(out, verdict.checks);
    }
  } else {
    out.blank();
    out.heading(report.command === 'add' ? 'Schema file checks' : 'Automatic checks');
    checks(out, report.revisions[0]!.checks);
    if (report.deployment !== undefined) {
      out.blank();
      out.heading('Deployment checks');
      checks(out, report.deployment);
    }
    if (report.checklist !== undefined) {
      out.blank();
      out.heading(report.command === 'add' ? 'First-deployment checklist' : 'Checklist');
      checklistLines(out, report.checklist);
    }
  }
  out.blank();
  resultLines(report, out);
  return out.text();
}

/** The steps, numbered, each with its mark, state, title, detail and verbatim lines. */
function checklistLines(out: Writer, steps: ChecklistStep[]): void {
  const style = out.style;
  const numberWidth = String(steps.length).length;
  steps.forEach((s, i) => {
    const mark = STEP_MARKS[s.state];
    const number = String(i + 1).padStart(numberWidth);
    const head = `  ${number} ${out.paint(mark.color, style.unicode ? mark.unicode : mark.ascii)} ${s.state.padEnd(7)} `;
    const width = 2 + numberWidth + 1 + (style.unicode ? 1 : 3) + 1 + 8;
    out.line(`${head}${out.bold(s.title)}`);
    out.wrapped(s.detail, ' '.repeat(width), ' '.repeat(width));
    for (const line of s.show) out.verbatim(line, width + 2, (text) => diffColor(out, text));
  });
}

function header(out: Writer, report: SchemaReport): void {
  const first = report.revisions[0];
  const parts = first?.parts === undefined ? '' : ` (${describeParts(first.parts)})`;
  const title =
    report.command === 'upgrade'
      ? `Schema upgrade: ${report.schema} → ${first?.idText}${parts}`
      : report.command === 'add'
        ? `Schema add: ${report.schema} ${first?.idText}${parts}, first deployment`
        : `Schema check: ${report.schema}, ${countOf(report.revisions.length, 'revision file')}`;
  out.boldLast(out.wrapped(title, '', '  '));
  const row = (label: string, value: string) => out.wrapped(value, `  ${label.padEnd(9)} `, ' '.repeat(12));
  row('registry', report.registryRoot);
  const ts = `${report.timestamp.field} as ${report.timestamp.format}`;
  if (report.job === undefined) {
    row('job', `none, so the defaults: timestamp ${ts}, Hive table wmf_raw.${report.schema.toLowerCase()}`);
  } else {
    const job = report.job;
    const reader =
      job.readerRevision === undefined
        ? 'reader: latest in its registry'
        : `reader pinned: ${job.readerRevision}`;
    row('job', `${job.loaded.config.name} (${job.loaded.path})`);
    row('', `${reader}; timestamp ${ts}; Hive table ${job.hive.database}.${job.hive.table}`);
    if (job.registryRoot !== report.registryRoot) row('', `its registry: ${job.registryRoot}`);
  }
  if (report.command === 'add' && first !== undefined) row('file', first.relativePath);
  if (report.command === 'upgrade' && first !== undefined) {
    row('file', first.relativePath);
    row(
      'earlier',
      first.earlier.length === 0
        ? 'none: this is the first revision'
        : first.earlier.map((e) => e.revision).join(', '),
    );
    if (first.later.length > 0)
      row('later', `${first.later.map((e) => e.revision).join(', ')} (checked as of this revision)`);
    if (first.reader !== undefined) {
      const why = first.reader.source === 'job' ? 'pinned by the job' : 'the previous revision';
      row('reader', `${first.reader.entry.revision}, ${why}: the reader of the forward check`);
    }
  }
  for (const problem of report.registryProblems)
    out.wrapped(problem.reason, `  ${out.paint('33', 'note')}      `, ' '.repeat(12));
}

function revisionHeading(verdict: RevisionVerdict): string {
  const what = verdict.parts === undefined ? 'not a revision id' : describeParts(verdict.parts);
  const reader = verdict.reader === undefined ? '' : `; reader ${verdict.reader.entry.revision}`;
  return `Revision ${verdict.idText}: ${what}${verdict.earlier.length === 0 ? '; the first revision' : reader}`;
}

function checks(out: Writer, list: UpgradeCheck[]): void {
  const titleWidth = Math.max(...list.map((c) => c.title.length));
  const markWidth = out.style.unicode ? 1 : 4;
  const summaryColumn = 2 + markWidth + 1 + titleWidth + 2;
  const findingIndent = ' '.repeat(2 + markWidth + 1 + 2);
  for (let i = 0; i < list.length; i++) {
    const c = list[i]!;
    const mark = CHECK_MARKS[c.state];
    const shown = out.paint(mark.color, out.style.unicode ? mark.unicode : mark.ascii);
    // Skipped checks that share a reason are one row, the checks named under it.
    let same = 1;
    while (c.state === 'skip' && list[i + same]?.state === 'skip' && list[i + same]?.summary === c.summary)
      same++;
    if (same > 1) {
      out.wrapped(
        c.summary,
        `  ${shown} ${`${same} checks`.padEnd(titleWidth)}  `,
        ' '.repeat(summaryColumn),
        summaryColumn,
      );
      const names = list.slice(i, i + same).map((s) => s.title);
      out.wrapped(names.join(', '), findingIndent, findingIndent);
      i += same - 1;
      continue;
    }
    const first = `  ${shown} ${c.title.padEnd(titleWidth)}  `;
    out.wrapped(c.summary, first, ' '.repeat(summaryColumn), summaryColumn);
    for (const finding of c.findings) findingLines(out, finding, findingIndent);
  }
}

function findingLines(out: Writer, finding: CheckFinding, indent: string): void {
  const from = finding.revisions === undefined ? '' : ` (from ${finding.revisions.join(', ')})`;
  if (finding.path === undefined) {
    out.wrapped(finding.message, indent, `${indent}  `);
    return;
  }
  const oneLine = `${indent}${finding.path}${from}: ${finding.message}`;
  if (oneLine.length < out.style.width) {
    out.line(oneLine);
    return;
  }
  out.line(`${indent}${finding.path}${from}`);
  out.wrapped(finding.message, `${indent}  `, `${indent}  `);
}

function resultLines(report: SchemaReport, out: Writer): void {
  const c = report.counts;
  const parts = [`${c.pass} passed`, countOf(c.warn, 'warning'), `${c.fail} failed`];
  if (c.skip > 0) parts.push(`${c.skip} skipped`);
  const verdict =
    report.exitCode === 0
      ? c.warn > 0
        ? 'every automatic check passed; read the warnings'
        : 'every automatic check passed'
      : report.command === 'add'
        ? 'a step is not done yet, or is wrong: see the checklist'
        : 'fix the failed checks';
  const written = out.wrapped(
    `${parts.join(', ')}: ${verdict} (exit ${report.exitCode})`,
    'Result: ',
    '        ',
  );
  out.paintLast(report.exitCode === 0 ? '32' : '31', written);
}

function diffColor(out: Writer, line: string): string {
  if (line.startsWith('+') && !line.startsWith('+++')) return out.paint('32', line);
  if (line.startsWith('-') && !line.startsWith('---')) return out.paint('31', line);
  return line;
}

/** Collects lines; wraps words at the style's width; colours only when asked. */
class Writer {
  private readonly lines: string[] = [];
  constructor(readonly style: TextStyle) {}

  paint(code: string, text: string): string {
    return this.style.color ? `\u001b[${code}m${text}\u001b[0m` : text;
  }

  bold(text: string): string {
    return this.paint('1', text);
  }

  heading(text: string): void {
    this.boldLast(this.wrapped(text, '', '  '));
  }

  line(text: string): void {
    this.lines.push(this.style.unicode ? text : toAscii(text));
  }

  /** Makes the last line bold (after `wrapped` of a one-line title). */
  boldLast(count = 1): void {
    this.paintLast('1', count);
  }

  /** Colours the last `count` lines (what one `wrapped` call wrote). */
  paintLast(code: string, count = 1): void {
    for (let i = Math.max(0, this.lines.length - count); i < this.lines.length; i++) {
      this.lines[i] = this.paint(code, this.lines[i]!);
    }
  }

  /**
   * A line to copy as it is (a command, a diff line): never wrapped. Indented by `indent` when it
   * fits so, by 4 when only that fits, else not at all.
   */
  verbatim(text: string, indent: number, paint: (text: string) => string = (t) => t): void {
    const plain = this.style.unicode ? text : toAscii(text);
    const room = this.style.width - 1;
    const at = plain.length + indent <= room ? indent : plain.length + 4 <= room ? 4 : 0;
    this.line(`${' '.repeat(at)}${paint(plain)}`);
  }

  blank(): void {
    if (this.lines.length > 0 && this.lines.at(-1) !== '') this.lines.push('');
  }

  /**
   * Words of `input` after `first`, continued after `rest`, every line shorter than the width;
   * returns how many lines that took. `firstWidth` is the printed width of `first` when it holds
   * colour codes.
   */
  wrapped(input: string, first: string, rest: string, firstWidth = visibleLength(first)): number {
    const before = this.lines.length;
    const text = this.style.unicode ? input : toAscii(input);
    const max = this.style.width - 1;
    let prefix = first;
    let used = firstWidth;
    let current = '';
    const flush = () => {
      this.line(`${prefix}${current}`.trimEnd());
      prefix = rest;
      used = rest.length;
      current = '';
    };
    for (const word of text.split(/ +/)) {
      let w = word;
      while (used + w.length > max && w.length > max - rest.length) {
        // A word longer than a whole line (a path, a JSON fragment): cut it.
        if (current !== '') flush();
        const room = max - used;
        current = w.slice(0, room);
        w = w.slice(room);
        flush();
      }
      const candidate = current === '' ? w : `${current} ${w}`;
      if (used + candidate.length > max && current !== '') {
        flush();
        current = w;
      } else {
        current = candidate;
      }
    }
    flush();
    return this.lines.length - before;
  }

  text(): string {
    return `${this.lines.join('\n')}\n`;
  }
}

const ASCII: Record<string, string> = { '→': '->', '↔': '<->', '…': '...', '–': '-', '—': '-' };

/** The plain style's text: the arrows and dashes of the messages in ASCII. */
function toAscii(text: string): string {
  return text.replace(/[→↔…–—]/g, (c) => ASCII[c] ?? c);
}

function visibleLength(text: string): number {
  return text.replace(/\u001b\[[0-9;]*m/g, '').length;
}
