import { Kafka, logLevel, type KafkaMessage } from 'kafkajs';
import { Registry } from 'prom-client';
import { z } from 'zod';
import { createLogger } from '@imaging-facade/service-kit';
import { runValidatedConsumer } from './consumer';
import { EventPublisher } from './publisher';
import { ensureTopics } from './topics-admin';

/** Against the real broker: poison messages and permanent failures go to the dead-letter topic; passing failures are retried. */

const brokers = [process.env.KAFKA_BROKERS ?? 'localhost:9092'];
const kafka = new Kafka({ clientId: 'consumer-int-test', brokers, logLevel: logLevel.NOTHING });
const logger = createLogger('consumer-int-test', 'silent');
const run = `${Date.now()}-${process.pid}`;
const topic = `test.${run}.orders`;
const deadLetterTopic = `test.${run}.dead-letter`;
const schema = z.object({ id: z.string(), fail: z.enum(['never', 'twice', 'always']) });

class Passing extends Error {}

const handled: string[] = [];
const attempts = new Map<string, number>();
const producer = kafka.producer();
const consumer = kafka.consumer({ groupId: `group-${run}` });
let stop: () => Promise<void>;

beforeAll(async () => {
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, [
    { topic, partitions: 1, cleanupPolicy: 'delete' },
    { topic: deadLetterTopic, partitions: 1, cleanupPolicy: 'delete' },
  ], '');
  await admin.disconnect();
  await producer.connect();
  await consumer.connect();
  ({ stop } = await runValidatedConsumer({
    consumer,
    groupId: `group-${run}`,
    topic,
    deadLetterTopic,
    schema,
    publisher: new EventPublisher(producer),
    logger,
    metrics: new Registry(),
    retry: { initialMs: 20, maxMs: 50 },
    isRetryable: (error) => error instanceof Passing,
    handle: async (event) => {
      const attempt = (attempts.get(event.id) ?? 0) + 1;
      attempts.set(event.id, attempt);
      if (event.fail === 'always') {
        throw new Error(`order ${event.id} can never be handled`);
      }
      if (event.fail === 'twice' && attempt <= 2) {
        throw new Passing('the server is down');
      }
      handled.push(event.id);
    },
  }));
});

afterAll(async () => {
  await stop();
  await producer.disconnect();
});

async function readAll(fromTopic: string, count: number): Promise<KafkaMessage[]> {
  const reader = kafka.consumer({ groupId: `reader-${run}-${fromTopic}` });
  const messages: KafkaMessage[] = [];
  await reader.connect();
  await reader.subscribe({ topic: fromTopic, fromBeginning: true });
  await reader.run({ eachMessage: async ({ message }) => void messages.push(message) });
  const deadline = Date.now() + 30_000;
  while (messages.length < count && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await reader.disconnect();
  return messages;
}

test('on one partition, poison and failing messages are set aside and the messages after them are handled in order', async () => {
  await producer.send({
    topic,
    messages: [
      { key: 'a', value: JSON.stringify({ id: 'a', fail: 'never' }) },
      { key: 'b', value: 'this is not JSON' },
      { key: 'c', value: JSON.stringify({ id: 'c', fail: 'twice' }) },
      { key: 'd', value: JSON.stringify({ id: 'd', fail: 'always' }) },
      { key: 'e', value: JSON.stringify({ id: 42 }) },
      { key: 'f', value: JSON.stringify({ id: 'f', fail: 'never' }) },
    ],
  });

  const deadLetters = await readAll(deadLetterTopic, 3);
  const deadline = Date.now() + 30_000;
  while (!handled.includes('f') && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }

  expect(handled).toEqual(['a', 'c', 'f']);
  expect(attempts.get('c')).toBe(3);
  expect(attempts.get('d')).toBe(1);

  const byKey = new Map(deadLetters.map((message) => [message.key?.toString(), message]));
  expect([...byKey.keys()].sort()).toEqual(['b', 'd', 'e']);
  expect(byKey.get('b')?.value?.toString()).toBe('this is not JSON');
  expect(byKey.get('b')?.headers?.['x-dlq-reason']?.toString()).toBe('invalid event: value is not JSON');
  expect(byKey.get('d')?.headers?.['x-dlq-reason']?.toString()).toBe('order d can never be handled');
  expect(byKey.get('e')?.headers?.['x-dlq-reason']?.toString()).toMatch(/^invalid event: id: .*; fail: /);
  expect(byKey.get('e')?.headers?.['x-dlq-source-topic']?.toString()).toBe(topic);
  expect(byKey.get('e')?.headers?.['x-dlq-source-offset']?.toString()).toBe('4');
});

test('with its partitions handled at once, messages of different partitions are handled side by side, each partition in order', async () => {
  const spread = `test.${run}.spread`;
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, [{ topic: spread, partitions: 3, cleanupPolicy: 'delete' }], '');
  await admin.disconnect();
  const message = (partition: number, id: string) => ({ partition, key: id, value: JSON.stringify({ id, fail: 'never' }) });
  await producer.send({
    topic: spread,
    messages: [message(0, 'a1'), message(0, 'a2'), message(1, 'b1'), message(1, 'b2'), message(2, 'c1'), message(2, 'c2')],
  });
  // Each partition's first message waits until all three are being handled: one at a time, they never would be.
  let allStarted: () => void = () => undefined;
  const together = new Promise<void>((resolve) => {
    allStarted = resolve;
  });
  let started = 0;
  const seen: Array<{ partition: number; id: string }> = [];
  const spreadConsumer = kafka.consumer({ groupId: `spread-${run}` });
  await spreadConsumer.connect();
  const { stop: stopSpread } = await runValidatedConsumer({
    consumer: spreadConsumer,
    groupId: `spread-${run}`,
    topic: spread,
    deadLetterTopic,
    schema,
    publisher: new EventPublisher(producer),
    logger,
    metrics: new Registry(),
    partitionsConcurrently: 3,
    isRetryable: () => false,
    handle: async (event, context) => {
      if (event.id.endsWith('1')) {
        if (++started === 3) {
          allStarted();
        }
        await Promise.race([together, new Promise((resolve) => setTimeout(resolve, 10_000))]);
      }
      seen.push({ partition: context.partition, id: event.id });
    },
  });
  try {
    const deadline = Date.now() + 30_000;
    while (seen.length < 6 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(started).toBe(3);
    // The three first messages were all under way before any of them finished.
    expect(seen.slice(0, 3).map(({ id }) => id).sort()).toEqual(['a1', 'b1', 'c1']);
    const order = (partition: number) => seen.filter((entry) => entry.partition === partition).map(({ id }) => id);
    expect([order(0), order(1), order(2)]).toEqual([['a1', 'a2'], ['b1', 'b2'], ['c1', 'c2']]);
  } finally {
    allStarted();
    await stopSpread();
  }
});
