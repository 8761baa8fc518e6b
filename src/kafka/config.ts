/**
 * Maps a {@link KafkaConnection} onto librdkafka configuration properties (the client behind
 * src/kafka/open.ts is @confluentinc/kafka-javascript, a librdkafka binding; property names are
 * librdkafka's CONFIGURATION.md).
 */
import type { KafkaConnection } from './client.js';

export type LibrdkafkaConfig = Record<string, string | number | boolean>;

export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

/**
 * What one partition's reader may hold, so a backlog of millions never sits in memory: about
 * `queuedKiB` of decoded records plus one fetch in flight (whose compressed bytes grow when
 * decompressed), plus one batch on the JavaScript side. Measured: 4 partitions read at once peak
 * at ~250 MiB RSS for the whole process (docs/kafka-clients.md).
 */
export const READ_LIMITS = {
  /** Most bytes one fetch returns for one partition (a larger first batch still comes whole). @defaultValue 2 MiB */
  partitionFetchBytes: 2 * 1024 * 1024,
  /** Most bytes one fetch returns in all. @defaultValue 8 MiB */
  fetchBytes: 8 * 1024 * 1024,
  /** Pre-fetched KiB queued per partition before fetching pauses. @defaultValue 8192 (8 MiB) */
  queuedKiB: 8 * 1024,
  /** Pre-fetched messages queued per partition (librdkafka's queued.min.messages). @defaultValue 5000 */
  queuedMessages: 5000,
  /** Records handed to the caller per batch (smaller batches measured less garbage and no loss of speed). @defaultValue 1024 */
  batchRecords: 1024,
} as const;

const SASL_MECHANISMS = {
  gssapi: 'GSSAPI',
  oauthbearer: 'OAUTHBEARER',
  plain: 'PLAIN',
  'scram-sha-256': 'SCRAM-SHA-256',
  'scram-sha-512': 'SCRAM-SHA-512',
} as const;

/** What every client of the connection shares: brokers, identity, security and how long to wait for a broker. */
export function connectionConfig(connection: KafkaConnection): LibrdkafkaConfig {
  const timeout = connectTimeoutOf(connection);
  const config: LibrdkafkaConfig = {
    'bootstrap.servers': connection.brokers.join(','),
    'client.id': connection.clientId ?? 'mwingest',
    'socket.connection.setup.timeout.ms': timeout,
  };
  const tls = connection.ssl !== undefined && connection.ssl !== false;
  const { sasl } = connection;
  if (sasl) {
    config['security.protocol'] = tls ? 'sasl_ssl' : 'sasl_plaintext';
    config['sasl.mechanisms'] = SASL_MECHANISMS[sasl.mechanism];
    if (sasl.mechanism === 'gssapi') {
      config['sasl.kerberos.principal'] = sasl.principal;
      config['sasl.kerberos.keytab'] = sasl.keytab;
      config['sasl.kerberos.service.name'] = sasl.serviceName;
    } else if (sasl.mechanism === 'oauthbearer') {
      config['sasl.oauthbearer.method'] = 'oidc';
      config['sasl.oauthbearer.token.endpoint.url'] = sasl.tokenEndpointUrl;
      config['sasl.oauthbearer.client.id'] = sasl.clientId;
      config['sasl.oauthbearer.client.secret'] = sasl.clientSecret;
      if (sasl.scope !== undefined) config['sasl.oauthbearer.scope'] = sasl.scope;
    } else {
      config['sasl.username'] = sasl.username;
      config['sasl.password'] = sasl.password;
    }
  } else if (tls) {
    config['security.protocol'] = 'ssl';
  }
  if (typeof connection.ssl === 'object') {
    const { ca, cert, key, rejectUnauthorized } = connection.ssl;
    if (ca !== undefined) config['ssl.ca.pem'] = ca;
    if (cert !== undefined) config['ssl.certificate.pem'] = cert;
    if (key !== undefined) config['ssl.key.pem'] = key;
    if (rejectUnauthorized === false) {
      config['enable.ssl.certificate.verification'] = false;
      config['ssl.endpoint.identification.algorithm'] = 'none';
    }
  }
  return { ...config, ...connection.properties };
}

/**
 * A consumer that reads exactly what it is assigned: no group membership, no commits, and an
 * error instead of a jump when an offset is no longer in the log.
 */
export function readerConfig(connection: KafkaConnection): LibrdkafkaConfig {
  return {
    ...connectionConfig(connection),
    // librdkafka's consumer insists on a group id; with `assign` and no commits the group is never
    // joined and never appears on the broker.
    'group.id': 'mwingest-reader-no-group',
    'enable.auto.commit': false,
    'enable.auto.offset.store': false,
    // Never reset to earliest/latest: an offset outside the log is reported (MWI_OFFSETS_EXPIRED).
    'auto.offset.reset': 'error',
    // Tells the reader that it reached the log end, so a range ending in absent offsets ends too.
    'enable.partition.eof': true,
    // The high watermark is the end (librdkafka's default, read_committed, would stop at the last
    // stable offset and hide records of an open transaction that a later run must still read).
    'isolation.level': 'read_uncommitted',
    'max.partition.fetch.bytes': READ_LIMITS.partitionFetchBytes,
    'fetch.max.bytes': READ_LIMITS.fetchBytes,
    'queued.max.messages.kbytes': READ_LIMITS.queuedKiB,
    // librdkafka pre-fetches up to this many messages per partition (default 100 000). Its byte cap
    // counts payload only, while each queued message also costs a few hundred bytes of bookkeeping:
    // for ~150-byte MediaWiki events the default held ~55 MB per reader; this holds ~25 MB, and
    // reading is as fast (measured on 1M ApiAction records, 4 partitions at once).
    'queued.min.messages': READ_LIMITS.queuedMessages,
    // Fetch again soon after the caller drained the queue (the default waits 1 s; measured 3x slower).
    'fetch.queue.backoff.ms': 10,
    'fetch.wait.max.ms': 100,
    // the job's own tunables (fetch sizes, timeouts) win over these defaults
    ...connection.properties,
  };
}

/** Commits offsets for `group` without joining it (a "simple consumer" commit). */
export function committerConfig(connection: KafkaConnection, group: string): LibrdkafkaConfig {
  return { ...connectionConfig(connection), 'group.id': group, 'enable.auto.commit': false };
}

export function producerConfig(connection: KafkaConnection): LibrdkafkaConfig {
  return {
    ...connectionConfig(connection),
    // As MediaWiki's producers did.
    'compression.codec': 'snappy',
    'linger.ms': 5,
    acks: 'all',
    dr_cb: true,
    'message.timeout.ms': Math.max(30_000, connectTimeoutOf(connection)),
    ...connection.properties,
  };
}

export function connectTimeoutOf(connection: KafkaConnection): number {
  return connection.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
}
