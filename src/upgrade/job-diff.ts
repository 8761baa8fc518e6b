import { isAbsolute, relative } from 'node:path';
import { isDeepStrictEqual } from 'node:util';

/**
 * Job-file edits made on the file's text, so that the rest of the file (order, spacing, other
 * keys) stays as written, and shown as a unified diff (`patch -p0` applies it): the upgrade's
 * `datasets.<Name>.readerRevision = <revision>`, and what `schema add` needs.
 *
 * The text is edited through a small syntax tree of the JSON that keeps every value's offsets;
 * the result is parsed back and compared with the intended object, and when the two ever differ
 * the file is re-serialized instead (a bigger diff, never a wrong one).
 */

export interface JsonEdit {
  /** The file's text after the edit. */
  text: string;
  /** The value the file had there, as written (`"111448028943"` or `111448028943`), or null. */
  before: string | null;
  /** True when the edit kept the rest of the text; false when the file had to be re-serialized. */
  minimal: boolean;
}

export type PinEdit = JsonEdit;

/** Sets `datasets.<schemaName>.readerRevision`, keeping a number a number and a string a string. */
export function pinReaderRevision(text: string, schemaName: string, revision: string): PinEdit {
  const path = ['datasets', schemaName, 'readerRevision'];
  const current = valueText(text, path);
  const asNumber = current !== null && !current.startsWith('"');
  return setJsonValue(text, path, asNumber ? Number(revision) : revision);
}

/** The text of the value at `path` in the JSON object `text`, or null when there is none. */
export function valueText(text: string, path: string[]): string | null {
  let node: JsonNode | undefined = parseTree(text);
  for (const key of path) node = node === undefined ? undefined : member(node, key);
  return node === undefined ? null : text.slice(node.start, node.end);
}

/** Sets the member at `path` (objects on the way are created) to `value`. */
export function setJsonValue(text: string, path: string[], value: unknown): JsonEdit {
  const original = JSON.parse(text) as Record<string, unknown>;
  const tree = parseTree(text);
  const expected = structuredClone(original);
  let target = expected;
  for (const key of path.slice(0, -1)) {
    const next = target[key];
    target[key] = next !== null && typeof next === 'object' && !Array.isArray(next) ? next : {};
    target = target[key] as Record<string, unknown>;
  }
  target[path.at(-1)!] = value;

  // The deepest object on the path that exists, and what is missing below it.
  let node = tree;
  let depth = 0;
  while (depth < path.length) {
    const next = member(node, path[depth]!);
    if (next === undefined || (depth < path.length - 1 && next.kind !== 'object')) break;
    node = next;
    depth++;
  }
  const unit = indentUnit(text, tree);
  let edited: string;
  let before: string | null = null;
  if (depth === path.length) {
    before = text.slice(node.start, node.end);
    edited = splice(text, node.start, node.end, JSON.stringify(value));
  } else {
    let nested: unknown = value;
    for (const key of path.slice(depth + 1).reverse()) nested = { [key]: nested };
    edited = addMember(text, node, path[depth]!, nested, unit);
  }
  let parsedBack: unknown;
  try {
    parsedBack = JSON.parse(edited);
  } catch {
    parsedBack = undefined; // handled below: the edit is replaced by a re-serialized file
  }
  if (isDeepStrictEqual(parsedBack, expected)) return { text: edited, before, minimal: true };
  return { text: `${JSON.stringify(expected, null, unit)}\n`, before, minimal: false };
}

interface JsonNode {
  start: number;
  end: number;
  kind: 'object' | 'array' | 'scalar';
  members: { key: string; value: JsonNode }[];
}

function member(node: JsonNode, key: string): JsonNode | undefined {
  if (node.kind !== 'object') return undefined;
  return node.members.findLast((m) => m.key === key)?.value;
}

function splice(text: string, start: number, end: number, insert: string): string {
  return text.slice(0, start) + insert + text.slice(end);
}

/** Appends `"key": value` as the object's last member, in the object's own layout. */
function addMember(text: string, object: JsonNode, key: string, value: unknown, unit: string): string {
  const multiLine =
    text.slice(object.start, object.end).includes('\n') ||
    (object.members.length === 0 && text.includes('\n'));
  const last = object.members.at(-1);
  if (!multiLine) {
    const item = `${JSON.stringify(key)}: ${JSON.stringify(value)}`;
    if (last === undefined) return splice(text, object.start, object.end, `{ ${item} }`);
    return splice(text, last.value.end, last.value.end, `, ${item}`);
  }
  const objectIndent = lineIndent(text, object.start);
  const indent =
    last === undefined ? objectIndent + unit : lineIndent(text, keyStartOf(text, last.value.start));
  const rendered = JSON.stringify(value, null, unit).replace(/\n/g, `\n${indent}`);
  const item = `${JSON.stringify(key)}: ${rendered}`;
  if (last === undefined)
    return splice(text, object.start, object.end, `{\n${indent}${item}\n${objectIndent}}`);
  return splice(text, last.value.end, last.value.end, `,\n${indent}${item}`);
}

/** The start of the key in front of a member's value (the value's line may not begin with it). */
function keyStartOf(text: string, valueStart: number): number {
  let i = text.lastIndexOf(':', valueStart);
  i = text.lastIndexOf('"', i);
  return text.lastIndexOf('"', i - 1);
}

/** The whitespace at the start of the line holding `offset`. */
function lineIndent(text: string, offset: number): string {
  const lineStart = text.lastIndexOf('\n', offset - 1) + 1;
  return /^[ \t]*/.exec(text.slice(lineStart))![0];
}

/** The file's indentation step: its top object's first member's indent, or two spaces. */
function indentUnit(text: string, tree: JsonNode): string {
  const first = tree.members[0];
  if (first === undefined || !text.slice(tree.start, first.value.start).includes('\n')) return '  ';
  const indent = lineIndent(text, keyStartOf(text, first.value.start));
  return indent === '' ? '  ' : indent;
}

/** A syntax tree of valid JSON (JSON.parse has accepted it) with the offsets of every value. */
function parseTree(text: string): JsonNode {
  let i = 0;
  const skipSpace = () => {
    while (i < text.length && /\s/.test(text[i]!)) i++;
  };
  const readString = (): string => {
    const start = i;
    i++;
    while (text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  const value = (): JsonNode => {
    skipSpace();
    const start = i;
    const c = text[i];
    if (c === '{' || c === '[') {
      const members: JsonNode['members'] = [];
      const close = c === '{' ? '}' : ']';
      i++;
      skipSpace();
      while (text[i] !== close) {
        if (c === '{') {
          skipSpace();
          const key = readString();
          skipSpace();
          i++; // ':'
          members.push({ key, value: value() });
        } else {
          value();
        }
        skipSpace();
        if (text[i] === ',') i++;
        skipSpace();
      }
      i++;
      return { start, end: i, kind: c === '{' ? 'object' : 'array', members };
    }
    if (c === '"') {
      readString();
      return { start, end: i, kind: 'scalar', members: [] };
    }
    while (i < text.length && !/[\s,}\]]/.test(text[i]!)) i++;
    return { start, end: i, kind: 'scalar', members: [] };
  };
  return value();
}

/**
 * A unified diff of two texts whose differences are in one place (as the pin edit's are): the
 * common first and last lines are context, the rest one hunk. Empty when the texts are equal.
 */
export function unifiedDiff(
  before: string,
  after: string,
  oldLabel: string,
  newLabel: string,
  context = 3,
): string {
  if (before === after) return '';
  const a = splitLines(before);
  const b = splitLines(after);
  let prefix = 0;
  while (prefix < a.lines.length && prefix < b.lines.length && a.lines[prefix] === b.lines[prefix]) prefix++;
  let suffix = 0;
  while (
    suffix < a.lines.length - prefix &&
    suffix < b.lines.length - prefix &&
    a.lines[a.lines.length - 1 - suffix] === b.lines[b.lines.length - 1 - suffix] &&
    // A line that differs only in its final newline is a change, not context.
    (suffix > 0 || a.finalNewline === b.finalNewline)
  ) {
    suffix++;
  }
  const from = Math.max(0, prefix - context);
  const aEnd = Math.min(a.lines.length, a.lines.length - suffix + context);
  const bEnd = Math.min(b.lines.length, b.lines.length - suffix + context);
  const out = [
    `--- ${oldLabel}`,
    `+++ ${newLabel}`,
    `@@ -${range(from, aEnd - from)} +${range(from, bEnd - from)} @@`,
  ];
  const push = (mark: string, file: typeof a, index: number) => {
    out.push(`${mark}${file.lines[index]}`);
    if (index === file.lines.length - 1 && !file.finalNewline) out.push('\\ No newline at end of file');
  };
  for (let i = from; i < prefix; i++) push(' ', a, i);
  for (let i = prefix; i < a.lines.length - suffix; i++) push('-', a, i);
  for (let i = prefix; i < b.lines.length - suffix; i++) push('+', b, i);
  for (let i = a.lines.length - suffix; i < aEnd; i++) push(' ', a, i);
  return `${out.join('\n')}\n`;
}

function splitLines(text: string): { lines: string[]; finalNewline: boolean } {
  const finalNewline = text.endsWith('\n');
  const lines = text.split('\n');
  if (finalNewline) lines.pop();
  return { lines, finalNewline };
}

/** `start,count` of a hunk, 1-based; an empty range names the line before it. */
function range(start: number, count: number): string {
  return count === 0 ? `${start},0` : `${start + 1},${count}`;
}

/** A path for people: relative to the working directory when it is below it, else absolute. */
export function displayPath(path: string, cwd = process.cwd()): string {
  const rel = relative(cwd, path);
  return rel === '' || rel.startsWith('..') || isAbsolute(rel) ? path : rel;
}
