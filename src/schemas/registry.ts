import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type avro from 'avsc';
import { describeError, MwiError } from '../errors.js';
import { avroTypeOf, shortName } from './avro-type.js';
import { tryParseRevisionId } from './revision.js';

/**
 * The schema registry: a directory laid out like Wikimedia's event-schemas repository,
 *
 *   <root>/avro/mediawiki/<Name>/<revision>.avsc
 *
 * where <Name> is the record's name (and the topic is `mediawiki_<Name>`) and <revision> is a
 * revision id (./revision.ts). Loading checks every file: the name is a revision id, the JSON
 * parses as an Avro record schema, the record is named like its folder, and no revision id is
 * used by two schemas. A broken file is listed in `problems` with its path and the reason, and
 * the other files still load, unless `strict` is set (then loading fails with all problems).
 * Files not ending in `.avsc` (Avro IDL, READMEs) are ignored.
 */

export interface SchemaEntry {
  /** The folder name, equal to the record's unqualified name. */
  name: string;
  revision: bigint;
  version: number;
  /** Unix seconds, from the revision id. */
  createdAt: number;
  /** The .avsc file. */
  path: string;
  text: string;
  /** The parsed schema JSON, as written in the file. */
  json: unknown;
  /** avsc type with exact longs (./avro-type.ts). */
  type: avro.Type;
}

export const RegistryProblemCodes = [
  'BAD_FILE_NAME',
  'UNREADABLE',
  'INVALID_JSON',
  'INVALID_SCHEMA',
  'NOT_A_RECORD',
  'NAME_MISMATCH',
  'DUPLICATE_REVISION',
] as const;
export type RegistryProblemCode = (typeof RegistryProblemCodes)[number];

export interface RegistryProblem {
  path: string;
  code: RegistryProblemCode;
  /** One sentence naming the file, what is wrong and what to do. */
  reason: string;
}

export interface RegistryLoadOptions {
  /** Fail on the first load with every problem instead of skipping broken files. @defaultValue false */
  strict?: boolean;
}

/** A schema file's location and content, before it is checked. */
export interface SchemaFile {
  /** `…/<Name>/<revision>.avsc`: the last two segments give the name and the revision. */
  path: string;
  text: string;
}

const SCHEMA_DIR = join('avro', 'mediawiki');

export class SchemaRegistry {
  readonly root: string;
  readonly problems: RegistryProblem[];
  private readonly byName = new Map<string, SchemaEntry[]>();
  private readonly byId = new Map<bigint, SchemaEntry>();

  private constructor(root: string, entries: SchemaEntry[], problems: RegistryProblem[]) {
    this.root = root;
    this.problems = problems;
    for (const entry of entries) {
      this.byId.set(entry.revision, entry);
      const list = this.byName.get(entry.name);
      if (list === undefined) this.byName.set(entry.name, [entry]);
      else list.push(entry);
    }
    for (const list of this.byName.values()) list.sort((a, b) => (a.revision < b.revision ? -1 : 1));
  }

  /** Loads `<root>/avro/mediawiki/*\/*.avsc`. Throws `MWI_REGISTRY_INVALID` if that folder cannot be listed. */
  static async load(root: string, options: RegistryLoadOptions = {}): Promise<SchemaRegistry> {
    const base = join(root, SCHEMA_DIR);
    let names: string[];
    try {
      names = (await readdir(base, { withFileTypes: true }))
        .filter((d) => d.isDirectory())
        .map((d) => d.name);
    } catch (error) {
      throw new MwiError(
        'MWI_REGISTRY_INVALID',
        `cannot list the schema registry folder ${base} (${describeError(error)}): point --registry (or the job's ` +
          '"registry") at the root of an event-schemas checkout, the folder that contains avro/mediawiki/',
        { cause: error, details: { root } },
      );
    }
    const files: SchemaFile[] = [];
    const unreadable: RegistryProblem[] = [];
    await Promise.all(
      names.sort().map(async (name) => {
        const dir = join(base, name);
        let list: string[];
        try {
          list = (await readdir(dir)).filter((file) => file.endsWith('.avsc'));
        } catch (error) {
          unreadable.push({
            path: dir,
            code: 'UNREADABLE',
            reason: `${dir}: cannot list the folder: ${describeError(error)}`,
          });
          return;
        }
        for (const file of list.sort()) {
          const path = join(dir, file);
          try {
            files.push({ path, text: await readFile(path, 'utf8') });
          } catch (error) {
            unreadable.push({
              path,
              code: 'UNREADABLE',
              reason: `${path}: cannot read the file: ${describeError(error)}`,
            });
          }
        }
      }),
    );
    return SchemaRegistry.fromFiles(root, files, options, unreadable);
  }

  /** Builds a registry from file contents already in memory (tests, tools); same checks as `load`. */
  static fromFiles(
    root: string,
    files: SchemaFile[],
    options: RegistryLoadOptions = {},
    earlierProblems: RegistryProblem[] = [],
  ): SchemaRegistry {
    const problems = [...earlierProblems];
    const entries: SchemaEntry[] = [];
    const taken = new Map<bigint, SchemaEntry>();
    const ordered = [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    for (const file of ordered) {
      const checked = checkSchemaFile(file);
      if ('problem' in checked) {
        problems.push(checked.problem);
        continue;
      }
      const entry = checked.entry;
      const owner = taken.get(entry.revision);
      if (owner !== undefined) {
        problems.push({
          path: entry.path,
          code: 'DUPLICATE_REVISION',
          reason:
            `${entry.path}: revision ${entry.revision} is already used by ${owner.name} (${owner.path}); a revision id ` +
            'names exactly one schema, so this file was skipped: give it its own revision id',
        });
        continue;
      }
      taken.set(entry.revision, entry);
      entries.push(entry);
    }
    if (options.strict && problems.length > 0) {
      throw new MwiError(
        'MWI_SCHEMA_INVALID',
        `the schema registry at ${root} has ${problems.length} broken file${problems.length === 1 ? '' : 's'}: ` +
          problems.map((p) => p.reason).join('; '),
        { details: { root, problems } },
      );
    }
    return new SchemaRegistry(root, entries, problems);
  }

  /** Schema names, sorted. */
  names(): string[] {
    return [...this.byName.keys()].sort();
  }

  get(name: string, revision: bigint): SchemaEntry | undefined {
    const entry = this.byId.get(revision);
    return entry !== undefined && entry.name === name ? entry : undefined;
  }

  byRevision(revision: bigint): SchemaEntry | undefined {
    return this.byId.get(revision);
  }

  /** Every revision of a name, oldest (lowest id) first; empty for an unknown name. */
  revisions(name: string): SchemaEntry[] {
    return [...(this.byName.get(name) ?? [])];
  }

  latest(name: string): SchemaEntry | undefined {
    const list = this.byName.get(name);
    return list === undefined ? undefined : list[list.length - 1];
  }

  /** "101446746400, 111448028943" or "none", for messages. */
  describeRevisions(name: string): string {
    const list = this.byName.get(name);
    return list === undefined ? 'none' : list.map((e) => e.revision.toString()).join(', ');
  }
}

/** The schema name of a topic: everything after the first `_` (`mediawiki_ApiAction` → `ApiAction`). */
export function schemaNameOfTopic(topic: string): string {
  const underscore = topic.indexOf('_');
  return underscore === -1 ? topic : topic.slice(underscore + 1);
}

/** The project's own registry, `event-schemas/` at the top of the checkout (from src/ or dist/). */
export function defaultRegistryRoot(): string {
  // This module is src/schemas/registry.ts (run through tsx) or dist/schemas/registry.js.
  return fileURLToPath(new URL('../../event-schemas', import.meta.url));
}

function checkSchemaFile(file: SchemaFile): { entry: SchemaEntry } | { problem: RegistryProblem } {
  const { path, text } = file;
  const segments = path.split(/[\\/]/);
  const fileName = segments[segments.length - 1] ?? '';
  const folder = segments[segments.length - 2] ?? '';
  const problem = (code: RegistryProblemCode, reason: string) => ({
    problem: { path, code, reason: `${path}: ${reason}` },
  });

  const idText = fileName.replace(/\.avsc$/, '');
  const parts = tryParseRevisionId(idText);
  if (parts === undefined) {
    return problem(
      'BAD_FILE_NAME',
      `"${fileName}" is not named <revision>.avsc, where the revision is a version of at least 10 followed by a ` +
        '10-digit unix time (e.g. 111448028943.avsc); rename it',
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return problem('INVALID_JSON', `not valid JSON (${describeError(error)}); fix the file`);
  }
  let type: avro.Type;
  try {
    type = avroTypeOf(json);
  } catch (error) {
    return problem('INVALID_SCHEMA', `not a valid Avro schema: ${describeError(error)}`);
  }
  if (type.typeName !== 'record') {
    return problem(
      'NOT_A_RECORD',
      `the schema is a ${type.typeName}, but a MediaWiki event schema must be a record`,
    );
  }
  const recordName = shortName(type.name ?? '');
  if (recordName !== folder) {
    return problem(
      'NAME_MISMATCH',
      `the record is named ${recordName} but sits in the folder ${folder}; the folder must carry the record's name ` +
        '(it is also the topic suffix): move the file or rename the record',
    );
  }
  return {
    entry: {
      name: folder,
      revision: BigInt(idText),
      version: parts.version,
      createdAt: parts.createdAt,
      path,
      text,
      json,
      type,
    },
  };
}
