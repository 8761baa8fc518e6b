import { createWriteStream } from 'node:fs';
import { finished } from 'node:stream/promises';
import { Command, InvalidArgumentError } from 'commander';
import type { FileSystem } from '../hdfs/filesystem.js';
import { hourKey, parseHourKey } from '../hours/hour.js';
import { StatePaths } from '../ingest/state-store.js';
import { type LoadedJob, loadJob, topicMatcher } from '../job/config.js';
import { openJobFileSystem } from '../job/context.js';
import {
  type ErrorFilter,
  type ErrorRecordWithHour,
  hexDump,
  readErrorRecords,
  summariseErrors,
} from '../ops/error-records.js';
import { nonNegativeInt, positiveInt } from './arguments.js';

/** Exit codes of `mwingest errors`. */
export const ErrorsExit = { ok: 0, failed: 1, usage: 2, notFound: 3 } as const;

/** `mwingest errors list | show | export`: the error records a job wrote, with their raw bytes. */
export function errorsCommand(): Command {
  const errors = new Command('errors').summary(
    'list, show and export the error records of a job (bad messages, with reason and raw bytes)',
  );
  errors.addCommand(listCommand());
  errors.addCommand(showCommand());
  errors.addCommand(exportCommand());
  return errors;
}

interface FilterCli {
  job: string;
  topic?: string;
  partition?: number;
  hour?: string;
  code?: string;
  json?: boolean;
}

export function hourArgument(value: string): string {
  try {
    const key = hourKey(parseHourKey(value.trim()));
    if (key === value.trim()) return key;
  } catch {
    // the message below says what is expected
  }
  throw new InvalidArgumentError(
    `expected an hour as YYYY-MM-DDTHH (UTC), e.g. 2026-12-07T14; got "${value}"`,
  );
}

const filterOptions = (command: Command) =>
  command
    .requiredOption('-j, --job <file>', 'job definition, e.g. jobs/demo.json')
    .option('--topic <topic>', "only this topic (default: every topic the job's include/exclude match)")
    .option('--partition <n>', 'only this partition', nonNegativeInt)
    .option(
      '--hour <hour>',
      'only messages whose Kafka timestamp is in this UTC hour, e.g. 2026-12-07T14',
      hourArgument,
    )
    .option('--code <code>', 'only this reason code, e.g. UNKNOWN_REVISION');

const WHERE = `
Error records live beside the state: <stateDir>/<job>/errors/<topic>/<partition>/*.errors.jsonl, one
JSON object per bad message (topic, partition, offset, Kafka timestamp, reason code and sentence,
writer revision when known, the raw bytes in base64). A bad message's own time is not trusted, so
--hour selects by its Kafka timestamp.`;

function listCommand(): Command {
  return filterOptions(new Command('list').summary('counts by topic, hour and code, then the records'))
    .option('--limit <n>', 'records listed after the counts', positiveInt, 50)
    .option('--json', 'print { counts, records } as JSON (records up to --limit)')
    .addHelpText(
      'after',
      `${WHERE}

Exit codes: 0 listed (also when there are none), 1 the state could not be read, 2 usage or job error.

Examples:
  mwingest errors list --job jobs/demo.json
  mwingest errors list --job jobs/demo.json --topic mediawiki_EditAttempt --hour 2026-12-07T14 --code UNKNOWN_REVISION --json`,
    )
    .action(async (options: FilterCli & { limit: number }) => {
      process.exitCode = await withJob(options, async (loaded, fs, filter) => {
        const records = await readErrorRecords(fs, pathsOf(loaded), filter);
        const counts = summariseErrors(records);
        const shown = records.slice(0, options.limit);
        if (options.json) {
          process.stdout.write(
            `${JSON.stringify({ total: records.length, counts, records: shown }, null, 2)}\n`,
          );
          return ErrorsExit.ok;
        }
        if (records.length === 0) {
          process.stdout.write('no error records match\n');
          return ErrorsExit.ok;
        }
        const lines = [`${records.length} error record(s)`, '', 'topic  hour  code  count'];
        for (const c of counts) lines.push(`${c.topic}  ${c.hour}  ${c.code}  ${c.count}`);
        lines.push('');
        for (const r of shown)
          lines.push(`${r.topic}/${r.partition}@${r.offset}  ${r.kafkaTimestamp}  ${r.code}: ${r.message}`);
        if (records.length > shown.length)
          lines.push(`… ${records.length - shown.length} more (--limit, or mwingest errors export)`);
        process.stdout.write(`${lines.join('\n')}\n`);
        return ErrorsExit.ok;
      });
    });
}

function showCommand(): Command {
  return new Command('show')
    .summary('one error record in full, with its raw bytes as a hex dump')
    .requiredOption('-j, --job <file>', 'job definition, e.g. jobs/demo.json')
    .requiredOption('--topic <topic>', 'the topic')
    .requiredOption('--partition <n>', 'the partition', nonNegativeInt)
    .requiredOption('--offset <n>', "the message's offset", nonNegativeInt)
    .option('--json', 'print the record as stored (raw bytes in base64)')
    .addHelpText(
      'after',
      `${WHERE}

Exit codes: 0 shown, 1 the state could not be read, 2 usage or job error, 3 no error record at that offset.

Examples:
  mwingest errors show --job jobs/demo.json --topic mediawiki_EditAttempt --partition 0 --offset 1234
  mwingest errors show --job jobs/demo.json --topic mediawiki_EditAttempt --partition 0 --offset 1234 --json`,
    )
    .action(async (options: FilterCli & { topic: string; partition: number; offset: number }) => {
      process.exitCode = await withJob(options, async (loaded, fs, filter) => {
        const [record] = await readErrorRecords(fs, pathsOf(loaded), {
          ...filter,
          offset: BigInt(options.offset),
        });
        if (record === undefined) {
          process.stderr.write(
            `mwingest errors show: no error record at ${options.topic}/${options.partition}@${options.offset}; ` +
              'mwingest errors list --job … --topic … lists the offsets that have one\n',
          );
          return ErrorsExit.notFound;
        }
        process.stdout.write(
          `${options.json ? JSON.stringify(stored(record), null, 2) : formatRecord(record)}\n`,
        );
        return ErrorsExit.ok;
      });
    });
}

function exportCommand(): Command {
  return filterOptions(
    new Command('export').summary('write the matching error records as JSON lines, raw bytes included'),
  )
    .option('-o, --out <path>', 'write to this file instead of stdout')
    .addHelpText(
      'after',
      `${WHERE}

The export is one JSON object per line, exactly as stored, so the raw bytes can be fed back once the
cause is fixed (jq -r .raw | base64 -d gives a message's value).

Exit codes: 0 exported (also when none match), 1 the state could not be read or the file written, 2 usage or job error.

Examples:
  mwingest errors export --job jobs/demo.json --code UNKNOWN_REVISION > unknown-revisions.jsonl
  mwingest errors export --job jobs/demo.json --topic mediawiki_EditAttempt --hour 2026-12-07T14 --out /tmp/errors.jsonl`,
    )
    .action(async (options: FilterCli & { out?: string }) => {
      process.exitCode = await withJob(options, async (loaded, fs, filter) => {
        const out = options.out === undefined ? process.stdout : createWriteStream(options.out);
        let count = 0;
        await readErrorRecords(fs, pathsOf(loaded), filter, (record) => {
          count += 1;
          out.write(`${JSON.stringify(stored(record))}\n`);
        });
        if (out !== process.stdout) {
          out.end();
          await finished(out);
          process.stderr.write(`${count} error record(s) written to ${options.out}\n`);
        }
        return ErrorsExit.ok;
      });
    });
}

function stored(record: ErrorRecordWithHour): Record<string, unknown> {
  const { hour: _hour, file: _file, ...rest } = record;
  return rest;
}

function formatRecord(record: ErrorRecordWithHour): string {
  const raw = record.raw === null ? null : Buffer.from(record.raw, 'base64');
  return [
    `${record.topic}/${record.partition}@${record.offset}`,
    `  Kafka timestamp: ${record.kafkaTimestamp}`,
    `  code:            ${record.code}`,
    `  reason:          ${record.message}`,
    ...(record.revision === undefined ? [] : [`  writer revision: ${record.revision}`]),
    `  file:            ${record.file}`,
    raw === null ? '  raw bytes:       none (a tombstone)' : `  raw bytes:       ${raw.length}`,
    ...(raw === null ? [] : [hexDump(raw)]),
  ].join('\n');
}

function pathsOf(loaded: LoadedJob): StatePaths {
  return new StatePaths(loaded.config.output.stateDir, loaded.config.name);
}

async function withJob(
  options: FilterCli,
  work: (loaded: LoadedJob, fs: FileSystem, filter: ErrorFilter) => Promise<number>,
): Promise<number> {
  const loaded = await loadJob(options.job);
  const fs = await openJobFileSystem(loaded);
  try {
    const topics = options.topic !== undefined ? [options.topic] : await topicsWithErrors(loaded, fs);
    const filter: ErrorFilter = {
      topics,
      ...(options.partition === undefined ? {} : { partition: options.partition }),
      ...(options.hour === undefined ? {} : { hour: options.hour }),
      ...(options.code === undefined ? {} : { code: options.code }),
    };
    return await work(loaded, fs, filter);
  } finally {
    await fs.close();
  }
}

/** Topics with an errors directory that the job's include/exclude match (no Kafka needed). */
async function topicsWithErrors(loaded: LoadedJob, fs: FileSystem): Promise<string[]> {
  const dir = `${pathsOf(loaded).base}/errors`;
  if (!(await fs.exists(dir))) return [];
  const matches = topicMatcher(loaded.config);
  return (await fs.list(dir))
    .filter((s) => s.type === 'directory' && matches(s.name))
    .map((s) => s.name)
    .sort();
}
