import { MwiError } from '../errors.js';
import type { HourBucket } from './hour.js';

/**
 * Where an hour's files go. A template mixes dataset placeholders in angle brackets and time
 * placeholders in braces:
 *
 *   <root>   the job's output.root          <topic>  the Kafka topic      <name>  the schema name
 *   {yyyy}   year                           {MM} {dd} {HH}  zero-padded   {M} {d} {H}  not padded
 *
 * The default is Wikimedia's Camus layout, `<root>/<topic>/hourly/{yyyy}/{MM}/{dd}/{HH}`; the older
 * documented form is `<root>/<name>/{yyyy}/{MM}/{dd}/{HH}`. Every template must name the dataset
 * (`<topic>` or `<name>`) before the time, and the year, month, day and hour in that order, so
 * that two datasets or two hours can never share a directory.
 */
export interface PathTemplate {
  readonly source: string;
  /** The hour's directory, e.g. `/wmf/data/raw/mediawiki/mediawiki_ApiAction/hourly/2026/11/22/14`. */
  hourDir(vars: DatasetVars, bucket: HourBucket): string;
  /** The directory above the first time placeholder: the Hive table's LOCATION. */
  datasetRoot(vars: DatasetVars): string;
}

export interface DatasetVars {
  root: string;
  topic: string;
  name: string;
}

type Piece = { literal: string } | { dataset: keyof DatasetVars } | { time: TimeField; padded: boolean };
type TimeField = 'year' | 'month' | 'day' | 'hour';

const TIME_TOKENS: Record<string, { time: TimeField; padded: boolean }> = {
  yyyy: { time: 'year', padded: true },
  MM: { time: 'month', padded: true },
  M: { time: 'month', padded: false },
  dd: { time: 'day', padded: true },
  d: { time: 'day', padded: false },
  HH: { time: 'hour', padded: true },
  H: { time: 'hour', padded: false },
};
const DATASET_TOKENS = new Set<keyof DatasetVars>(['root', 'topic', 'name']);
const TIME_ORDER: TimeField[] = ['year', 'month', 'day', 'hour'];

export function compilePathTemplate(source: string, key = 'output.pathTemplate'): PathTemplate {
  const pieces = parse(source, key);
  const problem = (message: string) =>
    new MwiError('MWI_CONFIG_INVALID', `${key}: ${message} (got "${source}")`, {
      details: { key, value: source },
    });

  const times = pieces.flatMap((p) => ('time' in p ? [p.time] : []));
  if (times.join() !== TIME_ORDER.join()) {
    throw problem('needs {yyyy}, {MM} or {M}, {dd} or {d}, and {HH} or {H}, once each and in that order');
  }
  const firstTime = pieces.findIndex((p) => 'time' in p);
  const prefix = pieces.slice(0, firstTime);
  if (!prefix.some((p) => 'dataset' in p && p.dataset !== 'root')) {
    throw problem(
      'must contain <topic> or <name> before the time, or every dataset would share one directory',
    );
  }
  const first = pieces[0];
  if (
    !(
      first !== undefined &&
      (('dataset' in first && first.dataset === 'root') ||
        ('literal' in first && first.literal.startsWith('/')))
    )
  ) {
    throw problem('must start with <root> or an absolute path');
  }

  const render = (list: Piece[], vars: DatasetVars, bucket?: HourBucket): string => {
    let out = '';
    for (const piece of list) {
      if ('literal' in piece) out += piece.literal;
      else if ('dataset' in piece) out += vars[piece.dataset];
      else {
        const value = bucket![piece.time];
        out += piece.padded ? String(value).padStart(piece.time === 'year' ? 4 : 2, '0') : String(value);
      }
    }
    return out.replace(/\/{2,}/g, '/');
  };
  return {
    source,
    hourDir: (vars, bucket) => render(pieces, vars, bucket).replace(/\/+$/, ''),
    datasetRoot: (vars) => render(prefix, vars).replace(/\/+$/, '') || '/',
  };
}

function parse(source: string, key: string): Piece[] {
  const pieces: Piece[] = [];
  const pattern = /<([^<>]*)>|\{([^{}]*)\}/g;
  let last = 0;
  for (const match of source.matchAll(pattern)) {
    if (match.index > last) pieces.push({ literal: source.slice(last, match.index) });
    last = match.index + match[0].length;
    if (match[1] !== undefined) {
      const name = match[1] as keyof DatasetVars;
      if (!DATASET_TOKENS.has(name)) throw unknown(`<${match[1]}>`, source, key);
      pieces.push({ dataset: name });
    } else {
      const token = TIME_TOKENS[match[2]!];
      if (token === undefined) throw unknown(`{${match[2]}}`, source, key);
      pieces.push(token);
    }
  }
  if (last < source.length) pieces.push({ literal: source.slice(last) });
  for (const piece of pieces) {
    if ('literal' in piece && /[<>{}]/.test(piece.literal)) {
      throw new MwiError('MWI_CONFIG_INVALID', `${key}: unbalanced <, >, { or } in "${source}"`, {
        details: { key },
      });
    }
  }
  return pieces;
}

function unknown(token: string, source: string, key: string): MwiError {
  return new MwiError(
    'MWI_CONFIG_INVALID',
    `${key}: unknown placeholder ${token} in "${source}"; use <root> <topic> <name> and {yyyy} {MM} {dd} {HH} (or {M} {d} {H} unpadded)`,
    { details: { key, value: source } },
  );
}
