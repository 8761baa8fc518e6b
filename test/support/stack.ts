/**
 * Where the real local stack (`scripts/stack up`, docs/stack.md) is, for integration tests, and a
 * fast, clear failure when it is not running.
 *
 * Every address comes from the environment that `scripts/stack env` prints, with the same defaults
 * the script uses, so `eval "$(scripts/stack env)"` is optional on a machine with the default layout.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { access } from 'node:fs/promises';
import { connect } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';

const execFileAsync = promisify(execFile);

export interface StackConfig {
  /** `host:port` of each Kafka bootstrap broker. @defaultValue `['127.0.0.1:9092']` */
  kafkaBrokers: string[];
  /** Base URL of the NameNode's HTTP server, without `/webhdfs/v1`. @defaultValue `http://127.0.0.1:9870` */
  webhdfsUrl: string;
  /** @defaultValue `redis://127.0.0.1:6379` */
  redisUrl: string;
  /** Runnable avro-tools jar (`java -jar`). @defaultValue `<stack home>/tools/avro-tools.jar` */
  avroToolsJar: string;
  /** kcat binary (Debian may call it kafkacat). @defaultValue `kcat` */
  kcat: string;
  /** Where scripts/stack installs and runs everything. @defaultValue `~/.cache/mwingest-stack` */
  stackHome: string;
}

export function stackConfig(env: NodeJS.ProcessEnv = process.env): StackConfig {
  const stackHome = env.MWINGEST_STACK_HOME || join(homedir(), '.cache', 'mwingest-stack');
  return {
    kafkaBrokers: (env.MWINGEST_KAFKA_BROKERS || '127.0.0.1:9092')
      .split(',')
      .map((broker) => broker.trim())
      .filter((broker) => broker !== ''),
    webhdfsUrl: (env.MWINGEST_WEBHDFS_URL || 'http://127.0.0.1:9870').replace(/\/+$/, ''),
    redisUrl: env.MWINGEST_REDIS_URL || 'redis://127.0.0.1:6379',
    avroToolsJar: env.MWINGEST_AVRO_TOOLS_JAR || join(stackHome, 'tools', 'avro-tools.jar'),
    kcat: env.MWINGEST_KCAT || 'kcat',
    stackHome,
  };
}

export type StackService = 'kafka' | 'webhdfs' | 'redis' | 'tools';

const TIMEOUT_MS = 3000;
const probes = new Map<StackService, Promise<void>>();

/**
 * Resolves when each named service answers (default: all of them); rejects at once, naming every
 * one that does not, with what to do about it. Each service is probed once per test process.
 */
export async function requireStack(
  services: StackService[] = ['kafka', 'webhdfs', 'redis', 'tools'],
): Promise<StackConfig> {
  const config = stackConfig();
  const results = await Promise.allSettled(
    services.map((service) => {
      let probe = probes.get(service);
      if (probe === undefined) {
        probe = probeService(service, config);
        probes.set(service, probe);
      }
      return probe;
    }),
  );
  const problems = results.flatMap((result) =>
    result.status === 'rejected'
      ? [result.reason instanceof Error ? result.reason.message : String(result.reason)]
      : [],
  );
  if (problems.length > 0) {
    throw new Error(
      `The local stack is not serving:\n  - ${problems.join('\n  - ')}\n` +
        'Run scripts/stack up first (scripts/stack status shows what runs, scripts/stack logs NAME why not).',
    );
  }
  return config;
}

async function probeService(service: StackService, config: StackConfig): Promise<void> {
  switch (service) {
    case 'kafka':
      return probeKafka(config.kafkaBrokers);
    case 'webhdfs':
      return probeWebHdfs(config.webhdfsUrl);
    case 'redis':
      return probeRedis(config.redisUrl);
    case 'tools':
      return probeTools(config);
  }
}

async function probeKafka(brokers: string[]): Promise<void> {
  const first = brokers[0];
  if (first === undefined) throw new Error('Kafka: MWINGEST_KAFKA_BROKERS names no broker');
  const [host = '', portText = ''] = first.split(/:(?=\d+$)/);
  await new Promise<void>((resolve, reject) => {
    const socket = connect({ host, port: Number(portText), timeout: TIMEOUT_MS });
    socket.once('connect', () => {
      socket.destroy();
      resolve();
    });
    socket.once('timeout', () => {
      socket.destroy();
      reject(new Error(`Kafka: no answer from ${first} within ${TIMEOUT_MS} ms`));
    });
    socket.once('error', (error) =>
      reject(new Error(`Kafka: cannot connect to ${first} (${error.message})`)),
    );
  });
}

async function probeWebHdfs(webhdfsUrl: string): Promise<void> {
  const url = `${webhdfsUrl}/webhdfs/v1/?op=GETFILESTATUS`;
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS) });
  } catch (error) {
    throw new Error(`WebHDFS: no answer from ${url} (${describe(error)})`);
  }
  if (!response.ok) throw new Error(`WebHDFS: ${url} answered HTTP ${response.status}`);
  await response.body?.cancel();
}

async function probeRedis(redisUrl: string): Promise<void> {
  const redis = new Redis(redisUrl, {
    lazyConnect: true,
    connectTimeout: TIMEOUT_MS,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  redis.on('error', () => {}); // the failed connect() below reports the error
  try {
    await redis.connect();
    const answer = await redis.ping();
    if (answer !== 'PONG') throw new Error(`PING answered ${answer}`);
  } catch (error) {
    throw new Error(`Redis: no PONG from ${redisUrl} (${error instanceof Error ? error.message : error})`);
  } finally {
    redis.disconnect();
  }
}

async function probeTools(config: StackConfig): Promise<void> {
  try {
    await access(config.avroToolsJar);
  } catch {
    throw new Error(`avro-tools: ${config.avroToolsJar} does not exist (MWINGEST_AVRO_TOOLS_JAR)`);
  }
  try {
    await execFileAsync(config.kcat, ['-V'], { timeout: TIMEOUT_MS });
  } catch (error) {
    throw new Error(`kcat: '${config.kcat} -V' failed (${error instanceof Error ? error.message : error})`);
  }
}

/** fetch's own message is just "fetch failed"; the reason (ECONNREFUSED…) is in its cause. */
function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  return error.cause instanceof Error ? `${error.message}: ${error.cause.message}` : error.message;
}

let nameCounter = 0;

/**
 * A name no other test, process or earlier run has used, valid as a Kafka topic, an HDFS path
 * component and a BullMQ queue name: `<prefix>-<time>-<pid>-<counter>-<random>`.
 */
export function uniqueName(prefix: string): string {
  if (!/^[A-Za-z0-9._-]{1,100}$/.test(prefix)) {
    throw new Error(`uniqueName: prefix '${prefix}' must be 1-100 characters of A-Z a-z 0-9 . _ -`);
  }
  nameCounter += 1;
  return [
    prefix,
    Date.now().toString(36),
    process.pid.toString(36),
    nameCounter,
    randomBytes(3).toString('hex'),
  ].join('-');
}

/**
 * Creates a topic through Kafka's own admin tool on the stack's classpath (the broker does not
 * create topics on first use). Takes a JVM start, about 2 s.
 */
export async function createTopic(topic: string, partitions = 1, config = stackConfig()): Promise<void> {
  await kafkaTopicCommand(config, ['--create', '--topic', topic, '--partitions', String(partitions)]);
}

export async function deleteTopic(topic: string, config = stackConfig()): Promise<void> {
  await kafkaTopicCommand(config, ['--delete', '--topic', topic]);
}

async function kafkaTopicCommand(config: StackConfig, args: string[]): Promise<void> {
  const javaArgs = [
    '-Xmx128m',
    '-XX:TieredStopAtLevel=1',
    '-XX:+UseSerialGC',
    `-Dlog4j.configuration=file:${join(config.stackHome, 'run', 'kafka', 'tools-log4j.properties')}`,
    '-cp',
    join(config.stackHome, 'lib', 'kafka', '*'),
    'org.apache.kafka.tools.TopicCommand',
    '--bootstrap-server',
    config.kafkaBrokers.join(','),
    ...args,
  ];
  try {
    await execFileAsync('java', javaArgs, { timeout: 60_000 });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr?.trim();
    throw new Error(`kafka-topics ${args.join(' ')} failed: ${stderr || (error as Error).message}`, {
      cause: error,
    });
  }
}
