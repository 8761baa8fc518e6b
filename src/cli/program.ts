import { Command } from 'commander';
import { VERSION } from '../version.js';

// Each subcommand lives in its own module, loaded only when it is the one asked for (all of them for
// the top-level help): `mwingest run` then never loads the web server, the Hive client or Parquet.
// Registered here in the order `--help` lists them.
const subcommands: Record<string, () => Promise<Command>> = {
  run: async () => (await import('./run.js')).runCommand(),
  schedule: async () => (await import('./schedule.js')).scheduleCommand(),
  worker: async () => (await import('./worker.js')).workerCommand(),
  status: async () => (await import('./status.js')).statusCommand(),
  web: async () => (await import('./web.js')).webCommand(),
  demo: async () => (await import('./demo.js')).demoCommand(),
  validate: async () => (await import('./validate.js')).validateCommand(),
  schema: async () => (await import('./schema.js')).schemaCommand(),
  hive: async () => (await import('./hive.js')).hiveCommand(),
  offsets: async () => (await import('./offsets.js')).offsetsCommand(),
  errors: async () => (await import('./errors.js')).errorsCommand(),
  explain: async () => (await import('./explain.js')).explainCommand(),
};

/**
 * The `mwingest` command, with only the subcommand `asked` (the first argument) when there is one
 * by that name, else with all of them. Building it has no effects: nothing runs until it is parsed
 * (bin/mwingest.js through src/cli/main.ts; scripts/docs-check.ts parses the docs' commands with it).
 */
export async function buildProgram(asked?: string): Promise<Command> {
  const program = new Command('mwingest')
    .description(
      'Ingest MediaWiki Avro log events from Kafka into hourly HDFS directories and register them in Hive.',
    )
    .version(VERSION)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  const wanted =
    asked !== undefined && Object.hasOwn(subcommands, asked) ? [asked] : Object.keys(subcommands);
  for (const name of wanted) program.addCommand(await subcommands[name]!());
  return program;
}
