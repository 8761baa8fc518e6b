/**
 * Turns librdkafka errors (`{ code, message }`, codes from librdkafka's rd_kafka_resp_err_t:
 * negative = local to the client, positive = the broker's protocol error codes) into MwiErrors
 * that say what failed, against which brokers, and whether trying again later can help.
 */
import rdkafka from '@confluentinc/kafka-javascript';
import { MwiError } from '../errors.js';
import type { KafkaConnection } from './client.js';

const E = rdkafka.CODES.ERRORS;

/** The shape of every error the binding reports (LibrdKafkaError). */
export interface ClientError {
  code: number;
  message: string;
}

export function isClientError(error: unknown): error is ClientError {
  return (
    typeof error === 'object' &&
    error !== null &&
    typeof (error as ClientError).code === 'number' &&
    typeof (error as ClientError).message === 'string'
  );
}

const UNREACHABLE: ReadonlySet<number> = new Set([
  E.ERR__TRANSPORT,
  E.ERR__RESOLVE,
  E.ERR__ALL_BROKERS_DOWN,
  E.ERR__TIMED_OUT,
  E.ERR__MSG_TIMED_OUT,
  E.ERR_COORDINATOR_NOT_AVAILABLE,
  E.ERR_NOT_COORDINATOR,
  E.ERR_LEADER_NOT_AVAILABLE,
  E.ERR_NOT_LEADER_FOR_PARTITION,
]);
const UNKNOWN_TOPIC: ReadonlySet<number> = new Set([
  E.ERR_UNKNOWN_TOPIC_OR_PART,
  E.ERR__UNKNOWN_TOPIC,
  E.ERR__UNKNOWN_PARTITION,
]);
const REFUSED: ReadonlySet<number> = new Set([
  E.ERR__SSL,
  E.ERR__AUTHENTICATION,
  E.ERR_SASL_AUTHENTICATION_FAILED,
  E.ERR_TOPIC_AUTHORIZATION_FAILED,
  E.ERR_GROUP_AUTHORIZATION_FAILED,
  E.ERR_CLUSTER_AUTHORIZATION_FAILED,
]);

export function brokersOf(connection: KafkaConnection): string {
  return connection.brokers.join(',');
}

export function unavailable(connection: KafkaConnection, what: string, cause?: unknown): MwiError {
  const reason = isClientError(cause) ? `: ${cause.message}` : '';
  return new MwiError(
    'MWI_KAFKA_UNAVAILABLE',
    `Kafka brokers ${brokersOf(connection)} did not answer while ${what}${reason}. ` +
      'Check that the brokers are up and reachable from this host (and the kafka.brokers setting); the run can be retried.',
    { cause, canRetry: true, details: { brokers: connection.brokers } },
  );
}

/** The MwiError for an error the client reported while doing `what` (e.g. "listing the offsets of topic x"). */
export function kafkaError(
  connection: KafkaConnection,
  what: string,
  error: unknown,
  topic?: string,
): MwiError {
  if (error instanceof MwiError) return error;
  if (!isClientError(error)) {
    return new MwiError('MWI_KAFKA_PROTOCOL', `Kafka client failed while ${what}: ${String(error)}`, {
      cause: error,
    });
  }
  if (UNREACHABLE.has(error.code)) return unavailable(connection, what, error);
  if (UNKNOWN_TOPIC.has(error.code)) {
    return new MwiError(
      'MWI_KAFKA_UNKNOWN_TOPIC',
      `Kafka (${brokersOf(connection)}) has no ${topic === undefined ? 'such topic or partition' : `topic ${topic} (or not that partition)`} ` +
        `(while ${what}): check the topic name in the job, or create the topic.`,
      { cause: error, details: { topic } },
    );
  }
  if (REFUSED.has(error.code)) {
    return new MwiError(
      'MWI_CONFIG_INVALID',
      `Kafka (${brokersOf(connection)}) refused the connection while ${what}: ${error.message}. Check kafka.ssl and kafka.sasl in the job.`,
      { cause: error },
    );
  }
  return new MwiError(
    'MWI_KAFKA_PROTOCOL',
    `Kafka (${brokersOf(connection)}) returned an error while ${what}: ${error.message} (librdkafka code ${error.code})`,
    { cause: error, canRetry: (error as { isRetriable?: boolean }).isRetriable === true },
  );
}

export { E as ClientErrorCodes };
