import { Kafka, KafkaJSNonRetriableError, logLevel } from 'kafkajs';
import { Registry } from 'prom-client';
import { z } from 'zod';
import { createLogger } from '@imaging-facade/service-kit';
import { runValidatedConsumer } from './consumer';
import { EventPublisher } from './publisher';
import { ensureTopics } from './topics-admin';

/**
 * Against the real broker: kafkajs leaves a consumer stopped for good after a crash it does not
 * count as retriable (here: writing to the dead-letter topic fails once with such an error; just
 * after a broker restart, KafkaJSGroupCoordinatorNotFound does the same). The validated consumer starts again from the committed offsets, so the poison message is
 * dead-lettered on the second try and the next message is still handled: the service does not sit
 * there reading nothing.
 */

const brokers = [process.env.KAFKA_BROKERS ?? 'localhost:9092'];
const kafka = new Kafka({ clientId: 'consumer-restart-int-test', brokers, logLevel: logLevel.NOTHING });
const logger = createLogger('consumer-restart-int-test', 'silent');
const run = `${Date.now()}-${process.pid}`;
const topic = `test.${run}.restart`;
const deadLetterTopic = `test.${run}.restart-dead-letter`;
const schema = z.object({ id: z.string() });

/** The dead-letter publisher, refused once as kafkajs refuses for good (e.g. a message too large for the topic). */
class FailingOnce extends EventPublisher {
  calls = 0;
  override async send(...args: Parameters<EventPublisher['send']>): ReturnType<EventPublisher['send']> {
    this.calls += 1;
    if (this.calls === 1) {
      throw new KafkaJSNonRetriableError('the dead-letter topic could not be written');
    }
    return super.send(...args);
  }
}

test('a consumer stopped for good by kafkajs is started again and goes on from its committed offset', async () => {
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, [
    { topic, partitions: 1, cleanupPolicy: 'delete' },
    { topic: deadLetterTopic, partitions: 1, cleanupPolicy: 'delete' },
  ], '');
  await admin.disconnect();
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic, messages: [{ key: 'a', value: 'not json' }, { key: 'b', value: JSON.stringify({ id: 'b' }) }] });

  const consumer = kafka.consumer({ groupId: `group-${run}` });
  const fatalCrashes: string[] = [];
  consumer.on(consumer.events.CRASH, (event) => {
    if (!event.payload.restart) fatalCrashes.push(event.payload.error.message);
  });
  const publisher = new FailingOnce(producer);
  const handled: string[] = [];
  await consumer.connect();
  const { stop } = await runValidatedConsumer({
    consumer,
    groupId: `group-${run}`,
    topic,
    deadLetterTopic,
    schema,
    publisher,
    logger,
    metrics: new Registry(),
    isRetryable: () => false,
    handle: async (event) => void handled.push(event.id),
  });
  try {
    const deadline = Date.now() + 60_000;
    while (handled.length === 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(fatalCrashes).toHaveLength(1);
    expect(publisher.calls).toBe(2);
    expect(handled).toEqual(['b']);
  } finally {
    await stop();
    await producer.disconnect();
  }
});
