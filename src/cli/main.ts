import { CommanderError } from 'commander';
import { describeError, isMwiError } from '../errors.js';
import { maskProcessOutput } from '../secrets.js';
import { buildProgram } from './program.js';

// Nothing a job took from the environment (`${env:NAME}`) reaches the terminal or a log.
maskProcessOutput();

const program = await buildProgram(process.argv[2]);

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
