import { createServer, type Server } from 'node:http';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { Queue } from 'bullmq';
import express, { type Request, type Response } from 'express';
import type { Logger } from 'pino';
import { describeError, MwiError } from '../../errors.js';
import { type HivePartitionAddJob, hiveQueueName } from '../../hive/queue.js';
import { openRunResources, type RunResources } from '../../ingest/run.js';
import type { LoadedJob } from '../../job/config.js';
import { listenOn } from '../../listen.js';
import { partitionsQueueName, runsQueueName } from '../../scheduler/run-flow-state.js';
import { collectJobStatus, type StatusSources } from '../status.js';
import { changeGuard, hostGuard, hostNames, UNLOCK_PATH, unlockHandlers } from './guard.js';
import { renderJobPage } from './job-page.js';

/**
 * `mwingest web`: what an operator opens. `/queues` is bull-board over each job's runs, partitions
 * and Hive partition-add queues (retry, inspect, clean); `/jobs/<name>` is the job's page of hours ×
 * topics (complete / pending / late / failed) with its schedule, runs and lag; `/jobs/<name>/status.json`
 * is the same status as `mwingest status --json`. Read-only unless `allowChanges`; requests whose
 * `Host` is not this server's address are refused (see `guard.ts`).
 */
export interface WebServerOptions {
  jobs: LoadedJob[];
  /** 0 picks a free port. */
  port: number;
  /** @defaultValue "127.0.0.1" */
  host?: string;
  redisUrl?: string;
  log: Logger;
  /** Hours shown on a job page. @defaultValue 48 */
  hours?: number;
  /** Serve state-changing requests (retry, clean, remove…) to holders of `changeToken`. @defaultValue false */
  allowChanges?: boolean;
  /** The token a change must carry; required with `allowChanges`. */
  changeToken?: string;
  /** Further `Host` names the view answers to (a proxy's name), besides its own address. */
  allowedHosts?: string[];
}

export interface WebServer {
  /** `http://host:port` */
  readonly url: string;
  close(): Promise<void>;
}

const QUEUES_PATH = '/queues';

export async function startWebServer(options: WebServerOptions): Promise<WebServer> {
  const { log } = options;
  if (options.allowChanges && !options.changeToken) {
    throw new MwiError('MWI_USAGE', 'the web view allows changes only with a change token; none was given');
  }
  const opened: { resources: RunResources; sources: StatusSources; queues: Queue[] }[] = [];
  // The `Host` names requests may carry, known once the server listens (port 0 picks one).
  const served: { names: ReadonlySet<string> } = { names: new Set() };
  const server = await (async () => {
    try {
      for (const loaded of options.jobs) {
        const resources = await openRunResources(
          loaded,
          log.child({ job: loaded.config.name }),
          options.redisUrl,
        );
        const connection = resources.redis;
        const name = loaded.config.name;
        const runs = new Queue(runsQueueName(name), { connection });
        const partitions = new Queue(partitionsQueueName(name), { connection });
        const hive = new Queue<HivePartitionAddJob>(hiveQueueName(name), { connection });
        opened.push({
          resources,
          sources: { ...resources, runs, hive },
          queues: [runs, partitions, hive],
        });
      }
      return listen(
        buildApp(
          opened.map((o) => ({ name: o.sources.loaded.config.name, sources: o.sources, queues: o.queues })),
          options,
          served,
        ),
        options,
      );
    } catch (error) {
      await closeAll(opened);
      throw error;
    }
  })();
  const address = server.address();
  if (typeof address !== 'object' || address === null)
    throw new Error('the web view is not listening on TCP');
  served.names = hostNames(options.host ?? '127.0.0.1', address.port, options.allowedHosts ?? []);
  const url = `http://${address.address.includes(':') ? `[${address.address}]` : address.address}:${address.port}`;
  log.info({ url, jobs: options.jobs.map((j) => j.config.name) }, 'web view running');
  return {
    url,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await closeAll(opened);
    },
  };
}

function tokenOf(options: WebServerOptions): { token?: string } {
  return options.changeToken === undefined ? {} : { token: options.changeToken };
}

function buildApp(
  jobs: { name: string; sources: StatusSources; queues: Queue[] }[],
  options: WebServerOptions,
  served: { names: ReadonlySet<string> },
): express.Express {
  const app = express();
  const guard = { allowChanges: options.allowChanges ?? false, ...tokenOf(options) };
  app.use(hostGuard({ allowedHosts: () => served.names }));
  app.use(changeGuard(guard));
  const unlock = unlockHandlers(guard);
  app.get(UNLOCK_PATH, unlock.form);
  app.post(UNLOCK_PATH, express.urlencoded({ extended: false, limit: '4kb' }), unlock.submit);
  const board = new ExpressAdapter();
  board.setBasePath(QUEUES_PATH);
  const readOnlyMode = !guard.allowChanges;
  createBullBoard({
    queues: jobs.flatMap((job) => job.queues.map((queue) => new BullMQAdapter(queue, { readOnlyMode }))),
    serverAdapter: board,
    options: { uiConfig: { boardTitle: 'mwingest queues' } },
  });
  app.use(QUEUES_PATH, board.getRouter());

  const byName = new Map(jobs.map((job) => [job.name, job]));
  app.get('/', (_request: Request, response: Response) => {
    if (jobs.length === 1) {
      response.redirect(`/jobs/${encodeURIComponent(jobs[0]!.name)}`);
      return;
    }
    const links = jobs
      .map((job) => `<li><a href="/jobs/${encodeURIComponent(job.name)}">${job.name}</a></li>`)
      .join('');
    response
      .type('html')
      .send(
        `<!doctype html><title>mwingest</title><h1>mwingest jobs</h1><ul>${links}</ul><p><a href="${QUEUES_PATH}">queues</a></p>`,
      );
  });
  app.get('/jobs/:name/status.json', async (request: Request, response: Response) => {
    const job = byName.get(String(request.params.name));
    if (job === undefined) return notFound(response, String(request.params.name), jobs);
    try {
      response.json(await collectJobStatus(job.sources));
    } catch (error) {
      failed(response, options.log, job.name, error);
    }
  });
  app.get('/jobs/:name', async (request: Request, response: Response) => {
    const job = byName.get(String(request.params.name));
    if (job === undefined) return notFound(response, String(request.params.name), jobs);
    try {
      const hours = Number(request.query.hours);
      const status = await collectJobStatus(job.sources);
      response.type('html').send(
        renderJobPage(status, {
          queuesPath: QUEUES_PATH,
          statusPath: `/jobs/${encodeURIComponent(job.name)}/status.json`,
          hours: Number.isInteger(hours) && hours > 0 && hours <= 24 * 31 ? hours : (options.hours ?? 48),
        }),
      );
    } catch (error) {
      failed(response, options.log, job.name, error);
    }
  });
  return app;
}

function notFound(response: Response, name: string, jobs: { name: string }[]): void {
  response
    .status(404)
    .type('text')
    .send(`no job named "${name}" here; this server shows: ${jobs.map((j) => j.name).join(', ')}\n`);
}

function failed(response: Response, log: Logger, job: string, error: unknown): void {
  log.error({ err: error, job }, 'could not read the job status');
  response
    .status(503)
    .type('text')
    .send(`the status of job ${job} cannot be read right now: ${describeError(error)}\n`);
}

function listen(app: express.Express, options: WebServerOptions): Promise<Server> {
  return listenOn(createServer(app), options.host ?? '127.0.0.1', options.port, 'the web view', '--port');
}

async function closeAll(opened: { resources: RunResources; queues: Queue[] }[]): Promise<void> {
  for (const { resources, queues } of opened) {
    for (const queue of queues) await queue.close();
    await resources.close();
  }
}
