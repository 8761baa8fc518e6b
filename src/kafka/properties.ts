import rdkafka from '@confluentinc/kafka-javascript';
import { MwiError } from '../errors.js';

/**
 * Checks the job's extra librdkafka properties (`kafka.properties`) with librdkafka itself: it
 * knows every property's name and type, and refuses a wrong one when a client is configured,
 * before anything connects. Each property is tried on its own, so every bad one is named.
 */
export function checkClientProperties(properties: Record<string, string | number | boolean>): void {
  const problems: string[] = [];
  for (const [key, value] of Object.entries(properties)) {
    try {
      // constructing configures the client (and validates); nothing connects until connect()
      new rdkafka.KafkaConsumer({ 'group.id': 'mwingest-property-check', [key]: value }, {});
    } catch (error) {
      problems.push(`kafka.properties.${key}: ${(error as Error).message}`);
    }
  }
  if (problems.length > 0) {
    throw new MwiError(
      'MWI_CONFIG_INVALID',
      `librdkafka refused ${problems.length === 1 ? 'a property' : 'properties'} of the job:\n  ${problems.join('\n  ')}\n` +
        'see librdkafka CONFIGURATION.md for the names and values it takes',
      { details: { keys: Object.keys(properties) } },
    );
  }
}
