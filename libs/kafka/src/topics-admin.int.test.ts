import { ConfigResourceTypes, Kafka, logLevel, type Admin } from 'kafkajs';
import { STUDY_COMPLETED_V1, topicName, type TopicSpec } from '@imaging-facade/events';
import { ensureTopics } from './topics-admin';

/** Against the real broker: topics are made from their specification, and existing ones are checked against it. */

const kafka = new Kafka({ clientId: 'topics-int-test', brokers: [process.env.KAFKA_BROKERS ?? 'localhost:9092'], logLevel: logLevel.NOTHING });
let admin: Admin;

beforeAll(async () => {
  admin = kafka.admin();
  await admin.connect();
});
afterAll(() => admin.disconnect());

async function cleanupPolicyOf(topic: string): Promise<string | undefined> {
  const described = await admin.describeConfigs({
    includeSynonyms: false,
    resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: ['cleanup.policy'] }],
  });
  return described.resources[0]?.configEntries[0]?.configValue;
}

it('creates a missing topic as its specification says, and finds nothing to report the second time', async () => {
  const prefix = `topics-${Date.now()}-a.`;
  expect(await ensureTopics(admin, [STUDY_COMPLETED_V1], prefix)).toEqual([]);
  const name = topicName(STUDY_COMPLETED_V1.topic, prefix);
  const [metadata] = (await admin.fetchTopicMetadata({ topics: [name] })).topics;
  expect(metadata?.partitions).toHaveLength(STUDY_COMPLETED_V1.partitions);
  expect(await cleanupPolicyOf(name)).toBe('compact');
  expect(await ensureTopics(admin, [STUDY_COMPLETED_V1], prefix)).toEqual([]);
});

it('reports an existing topic made differently (not compacted, fewer partitions) instead of silently using it', async () => {
  const prefix = `topics-${Date.now()}-b.`;
  const name = topicName(STUDY_COMPLETED_V1.topic, prefix);
  const madeByHand: TopicSpec = { topic: STUDY_COMPLETED_V1.topic, partitions: 1, cleanupPolicy: 'delete' };
  await ensureTopics(admin, [madeByHand], prefix);
  expect(await ensureTopics(admin, [STUDY_COMPLETED_V1], prefix)).toEqual([
    { topic: name, problem: 'cleanup.policy is "delete", its specification says "compact"' },
    { topic: name, problem: '1 partitions, its specification says 3' },
  ]);
});
