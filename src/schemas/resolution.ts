import type avro from 'avsc';
import { checkCompatibility, describeProblems } from './compatibility.js';
import type { SchemaEntry } from './registry.js';

export type Resolver = ReturnType<avro.Type['createResolver']>;
/** How records of one writer revision become records of one reader revision. */
export type Resolution = { resolver: Resolver } | { sameEncoding: true } | { failure: string };

/**
 * How records of `writer` are read as `reader`: as they are (same encoding), through an avsc
 * resolver, or not at all (a failure that says which reader revision to pick instead).
 */
export function createResolution(writer: SchemaEntry, reader: SchemaEntry): Resolution {
  if (writer.name !== reader.name) {
    return {
      failure:
        `records of ${writer.name} (revision ${writer.revision}) cannot be read with a ${reader.name} schema ` +
        `(revision ${reader.revision}): pick a reader revision of ${writer.name}`,
    };
  }
  // A revision that only changed docs or defaults has the same Parsing Canonical Form, hence the
  // same binary encoding: its bodies are already the reader's.
  if (writer.type.equals(reader.type)) return { sameEncoding: true };
  try {
    return { resolver: reader.type.createResolver(writer.type, { ignoreNamespaces: true }) };
  } catch (error) {
    const { problems } = checkCompatibility(writer.type, reader.type);
    const reasons = problems.length > 0 ? describeProblems(problems) : (error as Error).message;
    return {
      failure:
        `records of ${writer.name} revision ${writer.revision} cannot be read with reader revision ` +
        `${reader.revision}: ${reasons}; fix the reader schema or choose a reader revision these records resolve to`,
    };
  }
}
