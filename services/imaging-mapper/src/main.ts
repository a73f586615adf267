import { Partitioners } from 'kafkajs';
import { DEAD_LETTER_V1, STUDY_COMPLETED_V1, topicName } from '@imaging-facade/events';
import { createFhirClient, fhirReadiness } from '@imaging-facade/fhir';
import { createKafka, ensureTopics, EventPublisher, kafkaReadiness } from '@imaging-facade/kafka';
import {
  createLogger,
  createMetricsRegistry,
  loadConfig,
  runService,
  startOpsServer,
} from '@imaging-facade/service-kit';
import { configSchema } from './config';
import { startStudyConsumer } from './study-consumer';

const SERVICE = 'imaging-mapper';

/** Wires the mapper and starts it; each part's stop is registered as soon as it runs. */
function main(): void {
  const config = loadConfig(configSchema);
  const logger = createLogger(SERVICE, config.LOG_LEVEL);
  const studyTopic = topicName(STUDY_COMPLETED_V1.topic, config.KAFKA_TOPIC_PREFIX);
  const deadLetterTopic = topicName(DEAD_LETTER_V1.topic, config.KAFKA_TOPIC_PREFIX);

  runService(logger, async (onStop) => {
    const metrics = createMetricsRegistry(SERVICE);
    const fhir = createFhirClient({ baseUrl: config.FHIR_BASE_URL, timeoutMs: config.FHIR_TIMEOUT_MS });
    const kafka = createKafka({ clientId: SERVICE, brokers: config.KAFKA_BROKERS }, logger);
    const admin = kafka.admin();
    // Only dead letters are produced: at-least-once is enough, keyed like their source message.
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });

    // First up, last down: /readyz reports the dependencies while the rest starts and stops.
    const ops = await startOpsServer({
      port: config.MAPPER_HTTP_PORT,
      logger,
      metrics,
      readiness: [kafkaReadiness(admin), fhirReadiness(fhir)],
    });
    onStop('ops server', ops.close);

    await admin.connect();
    onStop('kafka admin', () => admin.disconnect());
    await ensureTopics(admin, [
      { topic: studyTopic, numPartitions: 3 },
      { topic: deadLetterTopic, numPartitions: 3 },
    ]);

    await producer.connect();
    onStop('kafka producer', () => producer.disconnect());

    const consumer = await startStudyConsumer({
      kafka,
      groupId: config.MAPPER_GROUP_ID,
      topic: studyTopic,
      deadLetterTopic,
      publisher: new EventPublisher(producer),
      fhir,
      settings: { defaultPatientIdSystem: config.MAPPER_DEFAULT_PATIENT_ID_SYSTEM },
      logger,
      metrics,
    });
    onStop('study consumer', consumer.stop);
  });
}

main();
