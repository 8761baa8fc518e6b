import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import { describeError, MwiError } from '../errors.js';
import type { FileSystem } from '../hdfs/filesystem.js';
import { openFileSystem } from '../hdfs/open.js';
import type { KafkaSource } from '../kafka/client.js';
import { SchemaRegistry } from '../schemas/registry.js';
import { fileSystemConfigOf, type LoadedJob, registryRootOf } from './config.js';
import { kafkaConnectionOf } from './kafka-connection.js';
import { LeaseManager } from './lease.js';

/**
 * The one place that turns a job definition into what a command opens: the schema registry, the
 * file system, the Kafka source, Redis and the job's leases. The Redis URL's default and the lease
 * names are written here and nowhere else; the registry root and a local file-system root resolved
 * against the job file are config.ts's (`registryRootOf`, `fileSystemConfigOf`).
 */

/** Redis when neither `--redis` nor `$MWINGEST_REDIS_URL` names one. */
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

/** The default as `--redis` help texts show it. */
export const REDIS_URL_DEFAULT_HELP = `default $MWINGEST_REDIS_URL or ${DEFAULT_REDIS_URL}`;

/** `--redis <url>`, else `$MWINGEST_REDIS_URL`, else {@link DEFAULT_REDIS_URL}. */
export function redisUrlOf(url?: string, env: NodeJS.ProcessEnv = process.env): string {
  return url ?? env.MWINGEST_REDIS_URL ?? DEFAULT_REDIS_URL;
}

/**
 * A Redis client for `url` (see {@link redisUrlOf}). BullMQ needs `maxRetriesPerRequest: null`: its
 * blocking commands must wait, not fail; that is the default here.
 */
export function redisClient(url?: string, options: RedisOptions = {}): Redis {
  const redis = new Redis(redisUrlOf(url), { maxRetriesPerRequest: null, ...options });
  // Without a listener ioredis prints "Unhandled error event" and a stack for every reconnect
  // attempt while Redis is away. Say it once per outage; callers see the failures themselves.
  let reported: string | undefined;
  redis.on('error', (error: Error) => {
    if (reported === error.message) return;
    reported = error.message;
    process.stderr.write(
      `mwingest: Redis at ${redis.options.host}:${redis.options.port} is unavailable (${error.message}); reconnecting\n`,
    );
  });
  redis.on('ready', () => {
    reported = undefined;
  });
  return redis;
}

/** Connects now; an unreachable Redis is `MWI_CONFIG_INVALID` saying where it was looked for and how to mend it. */
export async function connectRedis(url?: string): Promise<Redis> {
  const redis = redisClient(url, { lazyConnect: true });
  try {
    await redis.connect();
  } catch (error) {
    redis.disconnect();
    throw new MwiError(
      'MWI_CONFIG_INVALID',
      `cannot reach Redis at ${redis.options.host}:${redis.options.port}: ${describeError(error)}; start it or set MWINGEST_REDIS_URL`,
      { cause: error, canRetry: true },
    );
  }
  return redis;
}

export function openJobFileSystem(loaded: LoadedJob): Promise<FileSystem> {
  return openFileSystem(fileSystemConfigOf(loaded));
}

/** Loads the job's registry; each problem found in it is logged as a warning when `log` is given. */
export async function loadJobRegistry(loaded: LoadedJob, log?: Logger): Promise<SchemaRegistry> {
  const registry = await SchemaRegistry.load(registryRootOf(loaded));
  for (const problem of registry.problems)
    log?.warn({ path: problem.path }, `schema registry: ${problem.reason}`);
  return registry;
}

/** Redis key prefix of everything a job keeps in Redis outside BullMQ (leases, fences, run state). */
export function redisPrefixOf(jobName: string): string {
  return `mwingest:${jobName}`;
}

/** Lease names within a job's {@link LeaseManager}. */
export const leaseNames = {
  /** The whole run (`mwingest run` in one process). */
  run: 'run',
  /** One topic-partition: its only writer. */
  partition: (topic: string, partition: number) => `partition:${topic}:${partition}`,
} as const;

export function jobLeases(loaded: LoadedJob, redis: Redis): LeaseManager {
  const { config } = loaded;
  return new LeaseManager(redis, redisPrefixOf(config.name), { ttlMs: config.leases.ttlSeconds * 1000 });
}

/** What a command that reads or runs a job has open. */
export interface JobContext {
  loaded: LoadedJob;
  registry: SchemaRegistry;
  fs: FileSystem;
  source: KafkaSource;
  redis: Redis;
  leases: LeaseManager;
  log: Logger;
  close(): Promise<void>;
}

/** Opens the job's registry, file system, Kafka source, Redis (connected) and leases; closes what it opened on failure. */
export async function openJobContext(
  loaded: LoadedJob,
  log: Logger,
  options: { redisUrl?: string | undefined } = {},
): Promise<JobContext> {
  const registry = await loadJobRegistry(loaded, log);
  const fs = await openJobFileSystem(loaded);
  // Loaded here, not at the top: commands that only need Redis or the file system skip librdkafka.
  const { openKafkaSource } = await import('../kafka/open.js');
  const source = await openKafkaSource(kafkaConnectionOf(loaded));
  let redis: Redis;
  try {
    redis = await connectRedis(options.redisUrl);
  } catch (error) {
    await source.close();
    await fs.close();
    throw error;
  }
  return {
    loaded,
    registry,
    fs,
    source,
    redis,
    leases: jobLeases(loaded, redis),
    log,
    async close() {
      await source.close();
      await fs.close();
      redis.disconnect();
    },
  };
}
