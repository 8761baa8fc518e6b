import { readFileSync } from 'node:fs';
import { MwiError } from '../errors.js';
import type { KafkaConnection } from '../kafka/client.js';
import { type LoadedJob, resolveJobPath, secretFromEnv } from './config.js';

/** The job's `kafka` section as a client connection: TLS files read, the SASL password taken from its env var. */
export function kafkaConnectionOf(loaded: LoadedJob, env: NodeJS.ProcessEnv = process.env): KafkaConnection {
  const { kafka } = loaded.config;
  const connection: KafkaConnection = {
    brokers: kafka.brokers,
    clientId: kafka.clientId,
    connectTimeoutMs: kafka.connectTimeoutMs,
  };
  if (kafka.ssl === true) connection.ssl = true;
  else if (typeof kafka.ssl === 'object') {
    const read = (key: string, file: string | undefined) => {
      if (file === undefined) return undefined;
      try {
        return readFileSync(resolveJobPath(loaded, file), 'utf8');
      } catch (error) {
        throw new MwiError(
          'MWI_CONFIG_INVALID',
          `kafka.ssl.${key}: cannot read ${file}: ${(error as Error).message}`,
        );
      }
    };
    const ca = read('caFile', kafka.ssl.caFile);
    const cert = read('certFile', kafka.ssl.certFile);
    const key = read('keyFile', kafka.ssl.keyFile);
    connection.ssl = {
      rejectUnauthorized: kafka.ssl.rejectUnauthorized,
      ...(ca === undefined ? {} : { ca }),
      ...(cert === undefined ? {} : { cert }),
      ...(key === undefined ? {} : { key }),
    };
  }
  if (kafka.sasl !== undefined) {
    connection.sasl = {
      mechanism: kafka.sasl.mechanism,
      username: kafka.sasl.username,
      password: secretFromEnv('kafka.sasl.passwordEnv', kafka.sasl.passwordEnv, env),
    };
  }
  return connection;
}
