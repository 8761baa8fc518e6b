import { describeError } from '../errors.js';
import type { KafkaConnection, KafkaSource, PartitionOffsets } from '../kafka/client.js';
import { MessageCodec } from '../schemas/codec.js';
import type { SchemaRegistry } from '../schemas/registry.js';
import { type CheckFinding, check, countOf, skipped, type UpgradeCheck } from './check-result.js';
import type { StepFinding } from './schema-file-state.js';

/**
 * `schema add`'s Kafka checks: the topic `mediawiki_<Name>` exists, with how many partitions (a
 * topic carrying traffic on one partition is what Kafka's auto-creation gives, and is a warning),
 * and a sample of its latest messages passes what `mwingest validate` checks: the magic byte, the
 * revision (the one added), the body.
 */

export interface AddKafkaInput {
  connection: KafkaConnection;
  /** Where the brokers came from, for messages: `--brokers` or `job <name>`. */
  source: string;
  name: string;
  idText: string;
  registry: SchemaRegistry;
  /** Latest messages read from each partition. */
  sample: number;
  /** @defaultValue openKafkaSource */
  open?: (connection: KafkaConnection) => Promise<KafkaSource>;
}

export interface AddKafkaResult {
  topicCheck: UpgradeCheck;
  sampleCheck: UpgradeCheck;
  /** Step 6: the topic and its partitions. */
  topicStep: StepFinding;
  /** Step 9: the events in Kafka. */
  eventsStep: StepFinding;
  /** Messages of the added revision in the sample: evidence that producers send it (steps 7, 8). */
  ofRevision: number;
  sampled: number;
}

/** How many bad messages are listed one by one; the rest are counted. */
const LISTED = 5;

export async function checkAddKafka(input: AddKafkaInput): Promise<AddKafkaResult> {
  const topic = `mediawiki_${input.name}`;
  const brokers = input.connection.brokers.join(',');
  const notYet = (
    why: string,
  ): Pick<AddKafkaResult, 'sampleCheck' | 'eventsStep' | 'ofRevision' | 'sampled'> => ({
    sampleCheck: skipped('kafka-sample', why),
    eventsStep: { state: 'todo', detail: why, show: [] },
    ofRevision: 0,
    sampled: 0,
  });
  let source: KafkaSource;
  try {
    const open = input.open ?? (await import('../kafka/open.js')).openKafkaSource;
    source = await open(input.connection);
  } catch (error) {
    const why = `cannot reach Kafka at ${brokers} (${input.source}): ${describeError(error)}`;
    return {
      topicCheck: check('kafka-topic', 'fail', `cannot reach Kafka at ${brokers}`, [{ message: why }]),
      topicStep: { state: 'manual', detail: `not checked: ${why}`, show: [] },
      ...notYet(`not run: Kafka at ${brokers} did not answer`),
      eventsStep: { state: 'manual', detail: `not checked: ${why}`, show: [] },
    };
  }
  try {
    const topics = await source.listTopics();
    if (!topics.includes(topic)) {
      const create = `kafka-topics.sh --bootstrap-server ${input.connection.brokers[0]} --create --topic ${topic} --partitions <count>`;
      return {
        topicCheck: check('kafka-topic', 'fail', `no topic ${topic} on ${brokers}`, [
          {
            message:
              `create it before any producer sends to it: Kafka would auto-create it with one partition ` +
              `(num.partitions), and one partition is read by one worker at a time`,
          },
        ]),
        topicStep: {
          state: 'todo',
          detail:
            `no topic ${topic} on ${brokers}: create it with the partition count its rate needs (more than one, ` +
            'so that several workers share it); a topic Kafka auto-creates on the first message has one',
          show: [create],
        },
        ...notYet(`not run: no topic ${topic} yet`),
      };
    }
    const partitions = await source.partitionOffsets(topic);
    const messages = partitions.reduce((sum, p) => sum + (p.latest - p.earliest), 0n);
    const where = `${topic} on ${brokers}`;
    const shape = `${countOf(partitions.length, 'partition')}, ${countOf(Number(messages), 'message')} in the log`;
    let topicCheck: UpgradeCheck;
    let topicStep: StepFinding;
    if (partitions.length === 1 && messages > 0n) {
      const message =
        'one partition, and it carries traffic: that is what Kafka gives a topic it auto-creates when the first ' +
        'message arrives. One partition is read by one worker at a time; add partitions ' +
        `(kafka-topics.sh --alter --topic ${topic} --partitions <count>) while the traffic is low`;
      topicCheck = check('kafka-topic', 'warn', shape, [{ message }]);
      topicStep = { state: 'problem', detail: `${where}: ${message}`, show: [] };
    } else {
      topicCheck = check('kafka-topic', 'pass', shape);
      topicStep = { state: 'done', detail: `${where}: ${shape}`, show: [] };
    }
    if (messages === 0n) {
      return {
        topicCheck,
        topicStep,
        sampleCheck: check('kafka-sample', 'fail', `${topic} holds no messages yet`, [
          { message: 'nothing to check until producers send (steps 7 and 8)' },
        ]),
        eventsStep: {
          state: 'todo',
          detail: `${topic} holds no messages yet: after steps 7 and 8`,
          show: [],
        },
        ofRevision: 0,
        sampled: 0,
      };
    }
    const sample = await sampleTopic(source, topic, partitions, input);
    return { topicCheck, topicStep, ...sample };
  } catch (error) {
    const why = `reading ${topic} from ${brokers} failed: ${describeError(error)}`;
    return {
      topicCheck: check('kafka-topic', 'fail', `cannot read ${topic}`, [{ message: why }]),
      topicStep: { state: 'manual', detail: `not checked: ${why}`, show: [] },
      ...notYet(`not run: ${why}`),
      eventsStep: { state: 'manual', detail: `not checked: ${why}`, show: [] },
    };
  } finally {
    await source.close();
  }
}

async function sampleTopic(
  source: KafkaSource,
  topic: string,
  partitions: PartitionOffsets[],
  input: AddKafkaInput,
): Promise<Pick<AddKafkaResult, 'sampleCheck' | 'eventsStep' | 'ofRevision' | 'sampled'>> {
  const codec = new MessageCodec(input.registry, { checkUtf8: true });
  const expected = BigInt(input.idText);
  const byRevision = new Map<string, number>();
  const bad: CheckFinding[] = [];
  let sampled = 0;
  let badCount = 0;
  for (const log of partitions) {
    if (log.latest <= log.earliest) continue;
    const from =
      log.latest - BigInt(input.sample) > log.earliest ? log.latest - BigInt(input.sample) : log.earliest;
    for await (const batch of source.read({ topic, partition: log.partition, from, to: log.latest })) {
      for (const record of batch) {
        if (record.offset < from || record.offset >= log.latest) continue;
        sampled++;
        const label = `${topic}/${log.partition}@${record.offset}`;
        if (record.value === null) {
          badCount++;
          if (bad.length < LISTED)
            bad.push({ path: label, message: 'a null value (tombstone), not an event' });
          continue;
        }
        const inspection = codec.inspect(record.value, { schemaName: input.name, expectRevision: expected });
        const revision = inspection.revision?.toString() ?? 'none';
        byRevision.set(revision, (byRevision.get(revision) ?? 0) + 1);
        if (inspection.problems.length === 0) continue;
        badCount++;
        if (bad.length >= LISTED) continue;
        const other =
          inspection.revision !== undefined && inspection.revision !== expected
            ? `revision ${inspection.revision}, not ${input.idText} (the revision added): `
            : '';
        bad.push({
          path: label,
          message: `${other}${inspection.problems.map((p) => `${p.code}: ${p.message}`).join('; ')}`,
        });
      }
    }
  }
  const ofRevision = byRevision.get(input.idText) ?? 0;
  const mix = [...byRevision.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([revision, n]) => `${n} of ${revision}`)
    .join(', ');
  const what = `the latest ${countOf(sampled, 'message')} of ${countOf(partitions.length, 'partition')} (${mix || 'no revisions'})`;
  if (badCount === 0) {
    return {
      sampleCheck: check('kafka-sample', 'pass', `${what}: all valid, revision ${input.idText}`),
      eventsStep: {
        state: 'done',
        detail: `${what}: magic byte, revision and body valid`,
        show: [],
      },
      ofRevision,
      sampled,
    };
  }
  if (badCount > bad.length) bad.push({ message: `and ${badCount - bad.length} more` });
  const validate = `mwingest validate --brokers ${input.connection.brokers[0]} --topic ${topic} --partition ${partitions[0]!.partition} --count ${input.sample}`;
  return {
    sampleCheck: check('kafka-sample', 'fail', `${badCount} of ${what} invalid`, bad),
    eventsStep: {
      state: 'problem',
      detail: `${badCount} of ${what} are invalid (the findings above); see each with mwingest validate`,
      show: [validate],
    },
    ofRevision,
    sampled,
  };
}
