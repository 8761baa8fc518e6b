import { Command, InvalidArgumentError, Option } from 'commander';
import { describeError, MwiError } from '../errors.js';
import { MessageCodec, type MessageInspection } from '../schemas/codec.js';
import type { DecodeErrorCode, DecodeFailure } from '../schemas/decode-error.js';
import { HEADER_LENGTH } from '../schemas/header.js';
import { stringifyJson, toAvroJson } from '../schemas/json.js';
import { defaultRegistryRoot, SchemaRegistry, schemaNameOfTopic } from '../schemas/registry.js';
import { describeRevision, parseRevisionId } from '../schemas/revision.js';
import { brokersArg, nonNegativeInt, positiveInt } from './arguments.js';
import {
  fileSource,
  type InputMessage,
  kafkaMessages,
  type MessageSource,
  type OpenKafka,
  openKafkaForValidate,
  stdinSource,
} from './validate-sources.js';

/**
 * `mwingest validate`: is this a well-formed MediaWiki Avro message, and what is in it?
 * Messages come from a file, stdin or Kafka, as an async iterable of `InputMessage`s; each is
 * inspected by the codec (every check, not just the first that fails) and reported as text or
 * one JSON object per message.
 */

/** Exit codes of `mwingest validate`. With several problems or messages, the most severe wins. */
export const ValidateExit = {
  valid: 0,
  /** The input could not be read (file, stdin, Kafka) or the registry could not be loaded. */
  failed: 1,
  usage: 2,
  notMediaWiki: 3,
  unknownRevision: 4,
  badBody: 5,
  mismatch: 6,
} as const;

/** Most severe first: a message that is not MediaWiki Avro at all beats one with a wrong revision. */
const SEVERITY: readonly number[] = [
  ValidateExit.notMediaWiki,
  ValidateExit.unknownRevision,
  ValidateExit.badBody,
  ValidateExit.mismatch,
  ValidateExit.usage,
];

export function exitCodeOf(code: DecodeErrorCode): number {
  switch (code) {
    case 'EMPTY_MESSAGE':
    case 'SHORT_MESSAGE':
    case 'BAD_MAGIC':
      return ValidateExit.notMediaWiki;
    case 'UNKNOWN_REVISION':
      return ValidateExit.unknownRevision;
    case 'BODY_TRUNCATED':
    case 'TRAILING_BYTES':
    case 'INVALID_VALUE':
    case 'UNRESOLVABLE':
      return ValidateExit.badBody;
    case 'WRONG_SCHEMA':
    case 'UNEXPECTED_REVISION':
      return ValidateExit.mismatch;
    case 'UNKNOWN_READER':
      return ValidateExit.usage;
  }
}

/** The more severe of two exit codes (0 < 6 < 5 < 4 < 3). */
export function worstExit(a: number, b: number): number {
  if (a === 0) return b;
  if (b === 0) return a;
  const ra = SEVERITY.indexOf(a);
  const rb = SEVERITY.indexOf(b);
  return (ra === -1 ? SEVERITY.length : ra) <= (rb === -1 ? SEVERITY.length : rb) ? a : b;
}

export interface ValidateOptions {
  registry?: string;
  topic?: string;
  expectRev?: bigint;
  readerRev?: bigint;
  json?: boolean;
  kcatNewline: boolean;
  brokers?: string[];
  partition?: number;
  offset?: bigint | 'earliest' | 'latest';
  count?: number;
}

export interface ValidateIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  openKafka: OpenKafka;
}

export function validateCommand(io: Partial<ValidateIo> = {}): Command {
  const deps: ValidateIo = {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    stdin: process.stdin,
    openKafka: openKafkaForValidate,
    ...io,
  };
  return new Command('validate')
    .summary('check that a Kafka message is a well-formed MediaWiki Avro event, and show it')
    .description(
      'Checks a message the way the ingest reads it, from a file, stdin or Kafka:\n' +
        '  1. the 9-byte header: magic byte 0x00, then the schema revision id\n' +
        '     (signed 64-bit big-endian)\n' +
        '  2. the revision is in the schema registry, belongs to the schema of\n' +
        '     --topic, and is the one --expect-rev names\n' +
        '  3. the rest is exactly one Avro record of that revision: no early end,\n' +
        '     no trailing bytes, no value the schema forbids (enum index, union\n' +
        '     branch, negative length, invalid UTF-8, int/long overflow)\n' +
        '  4. with --reader-rev, the record resolves to that revision\n' +
        'It prints the magic byte, the revision (version, creation time), the\n' +
        'schema file, the record in Avro JSON (as avro-tools prints it, longs\n' +
        'exact) and every problem as a sentence.',
    )
    .argument('[file]', 'the message: a file with exactly one message, or - for stdin (the default)')
    .option(
      '--registry <dir>',
      `root of the schema registry (containing avro/mediawiki/) (default: ${defaultRegistryRoot()})`,
    )
    .option(
      '--topic <name>',
      "the message's topic; its schema is the part after the first _ (mediawiki_ApiAction → ApiAction)",
    )
    .addOption(
      new Option('--expect-rev <revision>', 'fail (exit 6) unless the message has this revision').argParser(
        revisionArg,
      ),
    )
    .addOption(
      new Option(
        '--reader-rev <revision>',
        'also resolve the record to this revision of its schema',
      ).argParser(revisionArg),
    )
    .option('--json', 'one JSON object per message on stdout: magic, revision, schema, record, errors, …')
    .option(
      '--no-kcat-newline',
      "count a final newline after a complete record as trailing bytes (by default one final 0x0a in a file or on stdin is taken as kcat's message delimiter, ignored and noted)",
    )
    .addOption(
      new Option('--brokers <host:port,...>', 'read from Kafka instead of a file (needs --topic)').argParser(
        brokersArg,
      ),
    )
    .addOption(new Option('--partition <n>', 'Kafka partition (default: 0)').argParser(nonNegativeInt))
    .addOption(
      new Option(
        '--offset <offset>',
        'Kafka offset: a number, earliest, or latest (the last --count messages) (default: latest)',
      ).argParser(offsetArg),
    )
    .addOption(new Option('--count <n>', 'how many Kafka messages (default: 1)').argParser(positiveInt))
    .addHelpText(
      'after',
      `
Exit codes (with several problems or messages, the most severe, in the order 3, 4, 5, 6):
  0  every message is valid
  1  the input or the registry could not be read (missing file, Kafka unreachable)
  2  usage: bad option, unknown --reader-rev, nothing at the Kafka offset
  3  not a MediaWiki Avro message: empty, shorter than the 9-byte header, or magic byte not 0x00
  4  the revision is not in the registry (or is not a revision id at all)
  5  the body does not decode: it ends early, has trailing bytes, holds a value the schema forbids,
     or does not resolve to --reader-rev
  6  the revision differs from --expect-rev, or belongs to another schema than --topic's

Examples:
  # the newest message of a topic, saved by kcat, then checked
  kcat -C -b kafka1012:9092 -t mediawiki_CirrusSearchRequestSet -o -1 -c 1 -e > msg.avro
  mwingest validate --topic mediawiki_CirrusSearchRequestSet msg.avro

  # in a script: is the producer on the revision we deployed?
  kcat -C -b kafka1012:9092 -t mediawiki_ApiAction -o -1 -c 1 -e | mwingest validate --expect-rev 101453221640 -

  # the last 100 messages of partition 3, straight from Kafka, as JSON lines
  mwingest validate --brokers kafka1012:9092 --topic mediawiki_ApiAction --partition 3 --count 100 --json

  # does an old message read with the newest schema?
  mwingest validate --reader-rev 121456865906 --registry ~/event-schemas msg.avro

kcat ends each message with a newline unless given -D ''; one final newline in a file or on stdin is
recognised and ignored (--no-kcat-newline to refuse it). A file must hold exactly one message.`,
    )
    .exitOverride()
    .action(async (file: string | undefined, options: ValidateOptions) => {
      process.exitCode = await validateAction(file, options, deps);
    });
}

export async function validateAction(
  file: string | undefined,
  options: ValidateOptions,
  io: ValidateIo,
): Promise<number> {
  const kafkaOnly = (['partition', 'offset', 'count'] as const).filter((key) => options[key] !== undefined);
  if (options.brokers === undefined && kafkaOnly.length > 0) {
    throw new MwiError(
      'MWI_USAGE',
      `--${kafkaOnly[0]} only applies to Kafka input: add --brokers and --topic`,
    );
  }
  if (options.brokers !== undefined) {
    if (options.topic === undefined)
      throw new MwiError('MWI_USAGE', '--brokers needs --topic: which topic should be read?');
    if (file !== undefined)
      throw new MwiError('MWI_USAGE', `give either a file (${file}) or --brokers, not both`);
  } else if (file === undefined && io.stdin.isTTY === true) {
    throw new MwiError(
      'MWI_USAGE',
      'no message given: pass a file, or pipe one into stdin (e.g. kcat … | mwingest validate -)',
    );
  }

  const registry = await SchemaRegistry.load(options.registry ?? defaultRegistryRoot());
  if (!options.json) {
    for (const problem of registry.problems) io.stderr(`mwingest validate: registry: ${problem.reason}\n`);
  }
  const schemaName = options.topic === undefined ? undefined : schemaNameOfTopic(options.topic);
  if (options.readerRev !== undefined) {
    const reader = registry.byRevision(options.readerRev);
    if (reader === undefined) {
      throw new MwiError(
        'MWI_USAGE',
        `--reader-rev ${options.readerRev} is not in the registry at ${registry.root}` +
          (schemaName === undefined
            ? ''
            : `; known revisions of ${schemaName}: ${registry.describeRevisions(schemaName)}`),
      );
    }
    if (schemaName !== undefined && reader.name !== schemaName) {
      throw new MwiError(
        'MWI_USAGE',
        `--reader-rev ${options.readerRev} is a revision of ${reader.name}, not of ${schemaName} (the schema of --topic ${options.topic})`,
      );
    }
  }

  const source: MessageSource =
    options.brokers !== undefined
      ? kafkaMessages(await io.openKafka(options.brokers), {
          topic: options.topic!,
          partition: options.partition ?? 0,
          offset: options.offset ?? 'latest',
          count: options.count ?? 1,
        })
      : file === undefined || file === '-'
        ? stdinSource(io.stdin)
        : fileSource(file);

  const codec = new MessageCodec(registry, { checkUtf8: true });
  const decodeOptions = {
    ...(schemaName === undefined ? {} : { schemaName }),
    ...(options.expectRev === undefined ? {} : { expectRevision: options.expectRev }),
    ...(options.readerRev === undefined ? {} : { readerRevision: options.readerRev }),
  };
  let exit: number = ValidateExit.valid;
  let messages = 0;
  let invalid = 0;
  for await (const input of source) {
    const report = validateMessage(codec, input, decodeOptions, options.kcatNewline);
    messages++;
    if (report.exitCode !== 0) invalid++;
    exit = worstExit(exit, report.exitCode);
    io.stdout(options.json ? `${stringifyJson(reportJson(report))}\n` : formatReport(report));
  }
  if (!options.json && messages !== 1) {
    io.stdout(
      `\n${messages} message${messages === 1 ? '' : 's'}: ${messages - invalid} valid, ${invalid} invalid (exit ${exit})\n`,
    );
  }
  if (
    options.brokers !== undefined &&
    options.count !== undefined &&
    messages < options.count &&
    !options.json
  ) {
    io.stderr(
      `mwingest validate: asked for ${options.count} messages, the log had ${messages} from that offset\n`,
    );
  }
  return exit;
}

/** What validate found about one message. */
export interface MessageReport {
  input: InputMessage;
  inspection: MessageInspection;
  /** Problems, each sentence starting with the input's label. */
  errors: DecodeFailure[];
  notes: string[];
  exitCode: number;
}

export function validateMessage(
  codec: MessageCodec,
  input: InputMessage,
  options: Parameters<MessageCodec['inspect']>[1],
  acceptKcatNewline: boolean,
): MessageReport {
  const notes: string[] = [];
  let inspection = codec.inspect(input.bytes, options);
  if (
    acceptKcatNewline &&
    input.fromFile &&
    input.bytes[input.bytes.length - 1] === 0x0a &&
    hasCode(inspection, 'TRAILING_BYTES')
  ) {
    const trimmed = codec.inspect(input.bytes.subarray(0, input.bytes.length - 1), options);
    const broken = trimmed.problems.some(
      (p) => exitCodeOf(p.code) === ValidateExit.notMediaWiki || BODY_CODES.has(p.code),
    );
    if (!broken) {
      inspection = trimmed;
      notes.push(
        "the input ends with one newline (0x0a) after the record: kcat's default message delimiter, ignored " +
          "(run kcat with -D '' to leave it out, or pass --no-kcat-newline to count it as trailing bytes)",
      );
    }
  }
  if (input.tombstone) notes.push('the Kafka record has a null value (a tombstone)');
  const errors = inspection.problems.map((p) => ({ code: p.code, message: `${input.label}: ${p.message}` }));
  const exitCode = errors.reduce(
    (worst, p) => worstExit(worst, exitCodeOf(p.code)),
    ValidateExit.valid as number,
  );
  return { input, inspection, errors, notes, exitCode };
}

const BODY_CODES: ReadonlySet<DecodeErrorCode> = new Set([
  'TRAILING_BYTES',
  'BODY_TRUNCATED',
  'INVALID_VALUE',
]);

function hasCode(inspection: MessageInspection, code: DecodeErrorCode): boolean {
  return inspection.problems.some((p) => p.code === code);
}

/** The `--json` object of one message. Revisions are exact JSON integers; the record is Avro JSON. */
export function reportJson(report: MessageReport): Record<string, unknown> {
  const { input, inspection } = report;
  const entry = (e: MessageInspection['writer']) =>
    e === undefined
      ? null
      : { name: e.name, revision: e.revision, version: e.version, createdAt: e.createdAt, path: e.path };
  const recordType = inspection.reader?.type ?? inspection.writer?.type;
  return {
    input: input.label,
    ...(input.topic === undefined
      ? {}
      : { topic: input.topic, partition: input.partition, offset: input.offset }),
    valid: report.exitCode === 0,
    exitCode: report.exitCode,
    size: inspection.size,
    magic: inspection.magic ?? null,
    revision: inspection.revision ?? null,
    version: inspection.revisionParts?.version ?? null,
    createdAt: inspection.revisionParts === undefined ? null : isoTime(inspection.revisionParts.createdAt),
    schema: entry(inspection.writer),
    reader: entry(inspection.reader),
    record:
      inspection.record === undefined || recordType === undefined
        ? null
        : toAvroJson(recordType, inspection.record),
    errors: report.errors,
    notes: report.notes,
  };
}

/** The text report of one message. */
export function formatReport(report: MessageReport): string {
  const { input, inspection } = report;
  const lines: string[] = [];
  lines.push(`${input.label}: ${report.exitCode === 0 ? 'valid' : `INVALID (exit ${report.exitCode})`}`);
  const row = (name: string, value: string) => lines.push(`  ${name.padEnd(11)} ${value}`);
  row('size', sizeText(inspection));
  if (inspection.magic !== undefined)
    row('magic byte', `0x${inspection.magic.toString(16).padStart(2, '0')}`);
  if (inspection.revision !== undefined) {
    row(
      'revision',
      `${inspection.revision}${inspection.revisionParts === undefined ? ' (not a revision id)' : ` (${describeRevision(inspection.revisionParts)})`}`,
    );
  }
  if (inspection.writer !== undefined) row('schema', `${inspection.writer.name}  ${inspection.writer.path}`);
  if (inspection.reader !== undefined && inspection.reader !== inspection.writer) {
    row(
      'read as',
      `${inspection.reader.revision} (${describeRevision(inspection.reader)}), resolved from the writer's revision`,
    );
  }
  for (const error of report.errors) row('error', `${error.code}: ${error.message}`);
  for (const note of report.notes) row('note', note);
  const recordType = inspection.reader?.type ?? inspection.writer?.type;
  if (inspection.record !== undefined && recordType !== undefined) {
    const json = stringifyJson(toAvroJson(recordType, inspection.record), 2);
    lines.push(`  record (Avro JSON${inspection.reader === undefined ? ', as written' : ''}):`);
    for (const line of json.split('\n')) lines.push(`    ${line}`);
  }
  return `${lines.join('\n')}\n`;
}

function sizeText(inspection: MessageInspection): string {
  if (inspection.size < HEADER_LENGTH) return `${inspection.size} bytes`;
  return `${inspection.size} bytes: ${HEADER_LENGTH}-byte header + ${inspection.size - HEADER_LENGTH}-byte Avro body`;
}

function isoTime(unixSeconds: number): string {
  return new Date(unixSeconds * 1000).toISOString().replace('.000Z', 'Z');
}

function revisionArg(value: string): bigint {
  try {
    parseRevisionId(value);
  } catch (error) {
    throw new InvalidArgumentError(describeError(error).replace(/^MWI_USAGE: /, ''));
  }
  return BigInt(value.trim());
}

function offsetArg(value: string): bigint | 'earliest' | 'latest' {
  if (value === 'earliest' || value === 'latest') return value;
  if (/^\d+$/.test(value)) return BigInt(value);
  throw new InvalidArgumentError(`expected an offset (0 or more), earliest or latest, got "${value}"`);
}
