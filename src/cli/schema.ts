import { userInfo } from 'node:os';
import { Command, Option } from 'commander';
import { parseHiveAddress } from '../hive/client.js';
import { secretFromEnv } from '../job/config.js';
import { defaultRegistryRoot } from '../schemas/registry.js';
import { type AddCommandOptions, DEFAULT_SAMPLE, runAdd } from '../upgrade/add-report.js';
import { formatSchemaReport, styleFor } from '../upgrade/format.js';
import {
  reportJson,
  runCheck,
  runUpgrade,
  type SchemaCommandOptions,
  type SchemaReport,
} from '../upgrade/report.js';

import { brokersArg, positiveInt } from './arguments.js';

/**
 * `mwingest schema upgrade`, `schema check` and `schema add`: the schema upgrade checklist
 * (docs/schema-upgrade.md) and the first-deployment checklist (docs/schema-add.md). The work is
 * in src/upgrade/; this module is the options, the help text and the output.
 */

/** Exit codes of `mwingest schema …`. */
export const SchemaExit = { ok: 0, failed: 1, usage: 2 } as const;

export interface SchemaIo {
  stdout: (text: string) => void;
  stream: { isTTY?: boolean; columns?: number };
  env: NodeJS.ProcessEnv;
}

interface CliOptions {
  registry?: string;
  job?: string;
  json?: boolean;
  hql?: string;
  hive?: string;
  hiveUser?: string;
  hivePasswordEnv?: string;
  brokers?: string[];
  sample?: number;
}

function hiveOptions(options: CliOptions, env: NodeJS.ProcessEnv): NonNullable<SchemaCommandOptions['hive']> {
  const { host, port } = parseHiveAddress(options.hive!);
  const password =
    options.hivePasswordEnv === undefined
      ? undefined
      : secretFromEnv('--hive-password-env', options.hivePasswordEnv, env);
  return {
    host,
    port,
    username: options.hiveUser ?? (env.MWINGEST_HIVE_USER || userInfo().username),
    ...(password === undefined ? {} : { password }),
  };
}

const EXIT_HELP = `
Exit codes:
  0  every automatic check passed (warnings allowed)
  1  at least one automatic check failed, or a file could not be read
  2  usage: bad arguments, unknown schema, no registry at --registry, invalid job file`;

export function schemaCommand(io: Partial<SchemaIo> = {}): Command {
  const deps: SchemaIo = {
    stdout: (text) => process.stdout.write(text),
    stream: process.stdout,
    env: process.env,
    ...io,
  };
  const print = (report: SchemaReport, json: boolean | undefined) => {
    deps.stdout(
      json
        ? `${JSON.stringify(reportJson(report), null, 2)}\n`
        : formatSchemaReport(report, styleFor(deps.stream, deps.env)),
    );
    process.exitCode = report.exitCode;
  };
  const common = (command: Command) =>
    command
      .option(
        '--registry <dir>',
        `schema registry root, the folder holding avro/mediawiki/ (default: the job's registry, else ${defaultRegistryRoot()})`,
      )
      .option(
        '--job <file>',
        'job definition: its pinned reader, timestamp field, Hive table, registry and last run',
      )
      .option('--json', 'print one JSON document (shape: docs/schema-upgrade.md) instead of text')
      .exitOverride();

  const upgrade = common(
    new Command('upgrade')
      .summary('check a new schema revision and show the upgrade checklist')
      .description(
        [
          'Checks a new revision, avro/mediawiki/<Name>/<revision>.avsc, against the',
          'revisions before it: the file, its revision id and version, that no other',
          "schema uses the id, the job's timestamp field, camelCase field names,",
          'backward (every earlier revision resolves to the new one), forward (the new',
          'one resolves to the reader the job pins), defaults of added fields, removed',
          "or renamed fields, and the fields MediaWiki's PHP encoder now needs sent.",
          '',
          'Then prints the upgrade checklist, each step done, todo, manual or problem:',
          '  1 commit the schema           5 deploy the producers',
          '  2 bump the ingest registry    6 verify the next run wrote the revision',
          '  3 alter the Hive table        7 verify the hours got Hive partitions',
          '  4 pin the new reader (a diff of the job file)',
        ].join('\n'),
      )
      .argument('<Name>', 'schema name, the folder under avro/mediawiki/ (e.g. CirrusSearchRequestSet)')
      .argument('<revision>', 'the new revision id, the file name without .avsc (e.g. 121456865906)'),
  )
    .option('--hql <file>', 'also write the full Hive ALTER TABLE statement to this file (for beeline -f)')
    .option(
      '--hive <host:port>',
      "read the table's avro.schema.literal from HiveServer2 (default: not checked)",
    )
    .option('--hive-user <name>', 'Hive session user (default $MWINGEST_HIVE_USER, else the OS user)')
    .option('--hive-password-env <VAR>', 'environment variable holding the Hive password (LDAP/CUSTOM auth)')
    .addHelpText(
      'after',
      `${EXIT_HELP}

Examples:
  # a new revision in the project's registry, no job: the defaults (ts, wmf_raw.<name>)
  mwingest schema upgrade EditAttempt 121725201754

  # against a job: its pinned reader, its timestamp field, its Hive table, its last run
  mwingest schema upgrade CirrusSearchRequestSet 121456865906 --registry ~/event-schemas \\
    --job jobs/analytics.json --hql alter.hql --hive an-coord1001:10000

  # in CI: the failed checks of a schema's whole history (exit 1 when there are any)
  mwingest schema check EditAttempt --json | jq '.revisions[].checks[] | select(.state=="fail")'

Marks: ✓ pass  ! warning  ✗ fail  · skipped; checklist ✓ done  ○ todo  · manual  ✗ problem.
Without a terminal, or with NO_COLOR set: pass WARN FAIL skip; [x] [ ] [-] [!].`,
    )
    .action(async (name: string, revision: string, options: CliOptions) => {
      const opts: SchemaCommandOptions = {
        ...(options.registry === undefined ? {} : { registry: options.registry }),
        ...(options.job === undefined ? {} : { job: options.job }),
        ...(options.hql === undefined ? {} : { hqlFile: options.hql }),
        ...(options.hive === undefined ? {} : { hive: hiveOptions(options, deps.env) }),
      };
      print(await runUpgrade(name, revision, opts), options.json);
    });

  const check = common(
    new Command('check')
      .summary('check every revision of a schema, each against the revisions before it')
      .description(
        [
          'Runs the automatic checks of `schema upgrade` on every .avsc file of',
          'avro/mediawiki/<Name>/, in revision order, each against the revisions before',
          'it (backward) and against the reader the job pins, else the revision before',
          'it (forward). No checklist: that is for one upgrade.',
        ].join('\n'),
      )
      .argument('<Name>', 'schema name, the folder under avro/mediawiki/ (e.g. EditAttempt)'),
  )
    .addHelpText(
      'after',
      `${EXIT_HELP}

Examples:
  mwingest schema check EditAttempt
  mwingest schema check CirrusSearchRequestSet --registry ~/event-schemas --json`,
    )
    .action(async (name: string, options: CliOptions) => {
      const opts: SchemaCommandOptions = {
        ...(options.registry === undefined ? {} : { registry: options.registry }),
        ...(options.job === undefined ? {} : { job: options.job }),
      };
      print(await runCheck(name, opts), options.json);
    });

  const add = common(
    new Command('add')
      .summary("check a new schema's first deployment and show its 14-step checklist")
      .description(
        [
          'Checks the first revision of a new schema, avro/mediawiki/<Name>/<revision>.avsc:',
          'it loads, its revision id is well formed, it is the first revision, it has',
          "the job's timestamp field with a type the job can read, its field names are",
          'camelCase. Then what a machine can see of its deployment: the registry the',
          'job reads has the file; the job ingests mediawiki_<Name>, with its Hive table',
          'and reader revision set or defaulted (else the job change, as a diff); the',
          'Kafka topic exists (its partition count; one partition carrying traffic is',
          "what auto-creation gives, a warning) and its latest messages pass validate's",
          'checks; the Hive table has the right columns and partition keys (else its',
          'CREATE EXTERNAL TABLE); the first hours are _IMPORTED and have _SUCCESS; a',
          'query of the first added hour returns records.',
          '',
          'Then prints the 14-step checklist, each step done, todo, manual (not',
          'checkable here, and why) or problem:',
          '   1 commit the schema            8 deploy with a low sampling rate',
          '   2 bump the ingest registry     9 check the events in Kafka',
          '   3 Hive partition adds ready   10 check they reach HDFS',
          '   4 configure the ingest        11 create the Hive table',
          '   5 deploy                      12 partitions added automatically',
          '   6 create the Kafka topic      13 raise the sampling rate',
          "   7 point MediaWiki's config    14 query the data",
        ].join('\n'),
      )
      .argument('<Name>', 'the new schema, the folder under avro/mediawiki/ (e.g. EditAttempt)'),
  )
    .addOption(
      new Option(
        '--brokers <host:port,...>',
        "Kafka to look for the topic in (default: the job's brokers)",
      ).argParser(brokersArg),
    )
    .addOption(
      new Option(
        '--sample <n>',
        `latest messages checked per partition (default: ${DEFAULT_SAMPLE})`,
      ).argParser(positiveInt),
    )
    .option('--hive <host:port>', "HiveServer2 to look for the table in (default: the job's hive.server)")
    .option('--hive-user <name>', 'Hive session user (default $MWINGEST_HIVE_USER, else the OS user)')
    .option('--hive-password-env <VAR>', 'environment variable holding the Hive password (LDAP/CUSTOM auth)')
    .addHelpText(
      'after',
      `
Exit codes:
  0  every automatic check passed (warnings allowed): as deployed as a machine can see
  1  at least one automatic check failed: something is not done yet or is wrong (the
     checklist says which step), or Kafka or Hive could not be reached
  2  usage: bad arguments, unknown schema, no registry at --registry, invalid job file

Examples:
  # the schema file alone, in the project's registry (what CI can run)
  mwingest schema add ApiAction

  # the whole deployment: the job, its Kafka, its Hive
  mwingest schema add ApiAction --job jobs/analytics.local.json --hive 127.0.0.1:10000

  # where a deployment stands, as JSON: the steps not done yet
  mwingest schema add ApiAction --job jobs/analytics.local.json --json | jq '.checklist[] | select(.state!="done")'

Marks: ✓ pass  ! warning  ✗ fail  · skipped; checklist ✓ done  ○ todo  · manual  ✗ problem.
Without a terminal, or with NO_COLOR set: pass WARN FAIL skip; [x] [ ] [-] [!].`,
    )
    .action(async (name: string, options: CliOptions) => {
      const opts: AddCommandOptions = {
        ...(options.registry === undefined ? {} : { registry: options.registry }),
        ...(options.job === undefined ? {} : { job: options.job }),
        ...(options.brokers === undefined ? {} : { brokers: options.brokers }),
        ...(options.sample === undefined ? {} : { sample: options.sample }),
        ...(options.hive === undefined ? {} : { hive: hiveOptions(options, deps.env) }),
      };
      print(await runAdd(name, opts), options.json);
    });

  return new Command('schema')
    .summary('check a new schema or a schema upgrade and show its checklist (add, upgrade, check)')
    .description(
      [
        'Schema upgrades touch the registry, the Hive table, the job and the',
        'producers, in a fixed order. `schema upgrade` checks a new revision and',
        'shows that checklist with what is already done; `schema check` checks a',
        "schema's whole history. See docs/schema-upgrade.md. `schema add` does the",
        "same for a new schema's first deployment (docs/schema-add.md).",
      ].join('\n'),
    )
    .addCommand(add)
    .addCommand(upgrade)
    .addCommand(check)
    .exitOverride();
}
