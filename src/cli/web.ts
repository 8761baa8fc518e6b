import { once } from 'node:events';
import { Command } from 'commander';
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
    .option(
      '--host <host>',
      'address to listen on (no authentication: keep it local or behind a proxy)',
      '127.0.0.1',
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

Example:
  mwingest web --job jobs/demo.json --port 8080   # then open http://127.0.0.1:8080/`,
    )
    .action(async (options: { job: string[]; port: number; host: string; hours: number; redis?: string }) => {
      const jobs = [];
      for (const path of options.job) jobs.push(await loadJob(path));
      const log = createLogger('mwingest-web');
      const server = await startWebServer({
        jobs,
        port: options.port,
        host: options.host,
        hours: options.hours,
        log,
        ...(options.redis === undefined ? {} : { redisUrl: options.redis }),
      });
      process.stderr.write(`mwingest web: ${server.url}/\n`);
      await Promise.race([once(process, 'SIGTERM'), once(process, 'SIGINT')]);
      await server.close();
    });
}
