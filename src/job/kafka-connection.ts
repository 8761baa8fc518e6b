import { readFileSync } from 'node:fs';
import { MwiError } from '../errors.js';
import type { KafkaConnection } from '../kafka/client.js';
import { checkClientProperties } from '../kafka/properties.js';
import { registerSecret } from '../secrets.js';
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
  const { sasl } = kafka;
  if (sasl?.mechanism === 'gssapi') {
    connection.sasl = { ...sasl, keytab: resolveJobPath(loaded, sasl.keytab) };
  } else if (sasl?.mechanism === 'oauthbearer') {
    connection.sasl = {
      mechanism: 'oauthbearer',
      tokenEndpointUrl: sasl.tokenEndpointUrl,
      clientId: sasl.clientId,
      clientSecret: secret('kafka.sasl.clientSecretEnv', sasl.clientSecretEnv, env),
      ...(sasl.scope === undefined ? {} : { scope: sasl.scope }),
    };
  } else if (sasl !== undefined) {
    connection.sasl = {
      mechanism: sasl.mechanism,
      username: sasl.username,
      password: secret('kafka.sasl.passwordEnv', sasl.passwordEnv, env),
    };
  }
  if (Object.keys(kafka.properties).length > 0) {
    checkClientProperties(kafka.properties);
    connection.properties = kafka.properties;
  }
  return connection;
}

/** A secret from the environment, masked in everything mwingest prints from now on. */
function secret(key: string, variable: string, env: NodeJS.ProcessEnv): string {
  const value = secretFromEnv(key, variable, env);
  registerSecret(value, `\${env:${variable}}`);
  return value;
}
