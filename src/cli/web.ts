import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { Command } from 'commander';
import { describeError, MwiError } from '../errors.js';
import { loadJob } from '../job/config.js';
import { REDIS_URL_DEFAULT_HELP } from '../job/context.js';
import { createLogger } from '../log.js';
import { startWebServer } from '../ops/web/server.js';
import { port, positiveInt } from './arguments.js';

/** `mwingest web`: bull-board for the queues and a page of hours × topics per job. */
export function webCommand(): Command {
  return new Command('web')
    .summary('serve the operator view: bull-board for the queues, hours × topics per job')
    .requiredOption('-j, --job <file...>', 'job definition(s), e.g. jobs/demo.json')
    .option('--port <port>', 'port to listen on', port, 8080)
    .option('--host <host>', 'address to listen on (keep it local or behind a proxy)', '127.0.0.1')
    .option(
      '--allowed-host <name...>',
      'further Host names to answer to, e.g. the name a proxy forwards (requests for any other Host get 403)',
    )
    .option(
      '--allow-changes',
      'serve changes to the queues (retry, clean, remove, add) to requests carrying the change token',
    )
    .option(
      '--token-file <file>',
      'read the change token from this file (default: $MWINGEST_WEB_TOKEN, else a random one printed at start)',
    )
    .option('--hours <n>', 'hours shown on a job page', positiveInt, 48)
    .option('--redis <url>', `Redis of the queues (${REDIS_URL_DEFAULT_HELP})`)
    .addHelpText(
      'after',
      `
Pages:
  /jobs/<name>               hours × topics: complete / pending / late / failed, schedule, runs, lag
  /jobs/<name>/status.json   the same as \`mwingest status --json\`
  /queues                    bull-board: the runs, partitions and Hive partition-add queues
  /unlock                    with --allow-changes: enter the change token once per browser

The queues are read-only unless --allow-changes is given; then a change needs the change token, as
"Authorization: Bearer <token>", an "X-Mwingest-Token: <token>" header, or the cookie /unlock sets.
Requests whose Host header is not this server's address (or an --allowed-host) get 403.

Examples:
  mwingest web --job jobs/demo.json --port 8080   # then open http://127.0.0.1:8080/
  mwingest web --job jobs/demo.json --allow-changes --token-file /etc/mwingest/web-token`,
    )
    .action(async (options: WebOptions) => {
      const jobs = [];
      for (const path of options.job) jobs.push(await loadJob(path));
      const log = createLogger('mwingest-web');
      const token = options.allowChanges ? await changeToken(options.tokenFile) : undefined;
      const server = await startWebServer({
        jobs,
        port: options.port,
        host: options.host,
        hours: options.hours,
        log,
        ...(options.redis === undefined ? {} : { redisUrl: options.redis }),
        ...(options.allowedHost === undefined ? {} : { allowedHosts: options.allowedHost }),
        ...(token === undefined ? {} : { allowChanges: true, changeToken: token.value }),
      });
      process.stderr.write(`mwingest web: ${server.url}/\n`);
      if (token === undefined)
        process.stderr.write('mwingest web: read-only (start with --allow-changes to change queues)\n');
      else
        process.stderr.write(
          `mwingest web: changes allowed with the change token ${token.generated ? `${token.value} (random, this start only)` : `from ${token.from}`}; ` +
            `browsers enter it at ${server.url}/unlock\n`,
        );
      await Promise.race([once(process, 'SIGTERM'), once(process, 'SIGINT')]);
      await server.close();
    });
}

interface WebOptions {
  job: string[];
  port: number;
  host: string;
  hours: number;
  redis?: string;
  allowedHost?: string[];
  allowChanges?: boolean;
  tokenFile?: string;
}

/** The change token: from `--token-file`, else `$MWINGEST_WEB_TOKEN`, else a random one for this start. */
async function changeToken(
  file: string | undefined,
): Promise<{ value: string; from?: string; generated: boolean }> {
  if (file !== undefined) {
    let value: string;
    try {
      value = (await readFile(file, 'utf8')).trim();
    } catch (error) {
      throw new MwiError(
        'MWI_USAGE',
        `cannot read the change token from --token-file ${file}: ${describeError(error)}`,
      );
    }
    if (value.length < 16)
      throw new MwiError(
        'MWI_USAGE',
        `the change token in ${file} is ${value.length} characters long; use at least 16 (e.g. openssl rand -hex 24 > ${file})`,
      );
    return { value, from: file, generated: false };
  }
  const fromEnv = process.env.MWINGEST_WEB_TOKEN?.trim();
  if (fromEnv !== undefined && fromEnv !== '') {
    if (fromEnv.length < 16)
      throw new MwiError('MWI_USAGE', 'MWINGEST_WEB_TOKEN is shorter than 16 characters; use a longer token');
    return { value: fromEnv, from: '$MWINGEST_WEB_TOKEN', generated: false };
  }
  return { value: randomBytes(24).toString('hex'), generated: true };
}
