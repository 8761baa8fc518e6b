import { randomBytes } from 'node:crypto';
import { rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { describeError, MwiError } from '../errors.js';
import { openRunResources } from '../ingest/run.js';
import type { LoadedJob } from '../job/config.js';
import { startJobGauges } from './gauges.js';
import type { IngestMetrics } from './metrics.js';

/**
 * `mwingest run --metrics-textfile PATH`: what a one-shot run exports to node_exporter's textfile
 * collector, which reads every `*.prom` file of its directory at each scrape. The file is written
 * to a temp name beside it and renamed, so a scrape never sees half of it.
 */

/** Writes the registry's exposition to `path` atomically (temp file in the same directory, then rename). */
export async function writeMetricsTextfile(registry: Registry, path: string): Promise<void> {
  // node_exporter reads only names ending in .prom: the temp name does not, so it is never read.
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await writeFile(temp, await registry.metrics(), { mode: 0o644 });
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true }).catch(() => undefined);
    throw new MwiError(
      'MWI_FS_IO',
      `cannot write the metrics textfile ${path}: ${describeError(error)}; check that its directory exists and is writable (node_exporter's --collector.textfile.directory)`,
      { cause: error },
    );
  }
}

/**
 * After a run: sets the job gauges (lag, last run, last success, pending hours, …) from the shared
 * state, as `mwingest worker` serves them, then writes the textfile. A status that cannot be read
 * counts in `mwingest_status_refresh_failures_total`; the run's own counters are written anyway.
 */
export async function exportRunMetrics(options: {
  loaded: LoadedJob;
  metrics: IngestMetrics;
  path: string;
  log: Logger;
  redisUrl?: string;
}): Promise<void> {
  const { loaded, metrics, log } = options;
  try {
    const resources = await openRunResources(loaded, log, options.redisUrl);
    try {
      const gauges = startJobGauges({ resources, metrics, log, intervalMs: 0 });
      try {
        await gauges.refresh();
      } finally {
        await gauges.stop();
      }
    } finally {
      await resources.close();
    }
  } catch (error) {
    metrics.statusRefreshFailed(loaded.config.name);
    log.warn(
      { err: error },
      'could not read the job status for the metrics textfile; writing the run counters only',
    );
  }
  await writeMetricsTextfile(metrics.registry, options.path);
}
