import { randomUUID } from 'node:crypto';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import {
  CONSENT_DECISION_V1,
  makeEvent,
  patientKey,
  STUDY_COMPLETED_V1,
  topicName,
  type ConsentDecisionV1Data,
  type StudyCompletedV1Data,
} from '@imaging-facade/events';

export const brokers = (): string[] => (process.env.KAFKA_BROKERS ?? 'localhost:9092').split(',');

export function testKafka(): Kafka {
  return new Kafka({ clientId: `consent-int-${process.pid}`, brokers: brokers(), logLevel: logLevel.NOTHING });
}

/** A topic prefix of its own, so that a test sees only what it wrote. */
export function uniquePrefix(): string {
  return `int-${randomUUID().slice(0, 8)}.`;
}

export async function createCompactedTopics(kafka: Kafka, prefix: string, partitions = 3): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({
      waitForLeaders: true,
      topics: [CONSENT_DECISION_V1.topic, STUDY_COMPLETED_V1.topic].map((base) => ({
        topic: topicName(base, prefix),
        numPartitions: partitions,
        configEntries: [{ name: 'cleanup.policy', value: 'compact' }],
      })),
    });
  } finally {
    await admin.disconnect();
  }
}

export async function connectedProducer(kafka: Kafka): Promise<Producer> {
  const producer = kafka.producer();
  await producer.connect();
  return producer;
}

export async function sendDecisionState(producer: Producer, prefix: string, state: ConsentDecisionV1Data): Promise<void> {
  const event = makeEvent(CONSENT_DECISION_V1.type, 'urn:test', 'test', state);
  await producer.send({
    topic: topicName(CONSENT_DECISION_V1.topic, prefix),
    acks: -1,
    messages: [{ key: patientKey(state.patient), value: JSON.stringify(event) }],
  });
}

export async function sendRaw(producer: Producer, topic: string, key: string, value: string | null): Promise<void> {
  await producer.send({ topic, acks: -1, messages: [{ key, value }] });
}

export async function sendStudy(producer: Producer, prefix: string, snapshot: StudyCompletedV1Data): Promise<void> {
  const event = makeEvent(STUDY_COMPLETED_V1.type, 'urn:test', snapshot.studyInstanceUid, snapshot);
  await producer.send({
    topic: topicName(STUDY_COMPLETED_V1.topic, prefix),
    acks: -1,
    messages: [{ key: snapshot.studyInstanceUid, value: JSON.stringify(event) }],
  });
}

/** Polls until `probe` returns a value other than undefined (tests wait on conditions, not sleeps). */
export async function eventually<T>(probe: () => T | undefined | Promise<T | undefined>, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}${lastError instanceof Error ? `: ${lastError.message}` : ''}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
