import { Command, CommanderError } from 'commander';
import { describeError, isMwiError } from '../errors.js';

// Each subcommand lives in its own module and is registered here, in the order `--help` lists them.
const program = new Command('mwingest')
  .description(
    'Ingest MediaWiki Avro log events from Kafka into hourly HDFS directories and register them in Hive.',
  )
  .version(process.env.npm_package_version ?? '0.1.0')
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride();

// -- subcommands --
// Each lives in its own module, loaded only when it is the one asked for (all of them for the
// top-level help): `mwingest run` then never loads the web server, the Hive client or Parquet.
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
};
const asked = process.argv[2];
const wanted = asked !== undefined && Object.hasOwn(subcommands, asked) ? [asked] : Object.keys(subcommands);
for (const name of wanted) program.addCommand(await subcommands[name]!());

// `mwingest … | head` closes stdout early: that is the reader's choice, not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
  process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
});

async function main(argv: string[]): Promise<number> {
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end through here with code 0; usage mistakes with 2.
      return error.exitCode === 0 ? 0 : 2;
    }
    process.stderr.write(`mwingest: ${describeError(error)}\n`);
    if (isMwiError(error, 'MWI_USAGE') || isMwiError(error, 'MWI_CONFIG_INVALID')) return 2;
    return 1;
  }
}

process.exitCode = await main(process.argv);
