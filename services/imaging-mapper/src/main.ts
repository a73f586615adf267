import { ConfigResourceTypes, Partitioners, type Admin } from 'kafkajs';
import { ConsentView, StudyCatalog } from '@imaging-facade/consent';
import { DEAD_LETTER_V1, STUDY_COMPLETED_V1, topicName } from '@imaging-facade/events';
import { createFhirClient, fhirReadiness } from '@imaging-facade/fhir';
import { createKafka, ensureTopics, EventPublisher, kafkaReadiness, startWhileRetriable } from '@imaging-facade/kafka';
import {
  createLogger,
  createMetricsRegistry,
  errorMessage,
  loadConfig,
  runService,
  startOpsServer,
  type Logger,
  type ReadinessCheck,
} from '@imaging-facade/service-kit';
import { configSchema, nodeSettings } from './config';
import { ConsentGate } from './consent/consent-gate';
import { mapStudySnapshot } from './pipeline';
import { startStudyConsumer } from './study-consumer';
import { withdrawStudy } from './consent/withdrawal';

const SERVICE = 'imaging-mapper';

/** Wires the mapper and starts it; each part's stop is registered as soon as it runs. */
function main(): void {
  const config = loadConfig(configSchema);
  const logger = createLogger(SERVICE, config.LOG_LEVEL);
  const studyTopic = topicName(STUDY_COMPLETED_V1.topic, config.KAFKA_TOPIC_PREFIX);
  const deadLetterTopic = topicName(DEAD_LETTER_V1.topic, config.KAFKA_TOPIC_PREFIX);
  const settings = { defaultPatientIdSystem: config.MAPPER_DEFAULT_PATIENT_ID_SYSTEM, node: nodeSettings(config) };

  runService(logger, async (onStop) => {
    const metrics = createMetricsRegistry(SERVICE);
    const fhir = createFhirClient({ baseUrl: config.FHIR_BASE_URL, timeoutMs: config.FHIR_TIMEOUT_MS });
    const kafka = createKafka({ clientId: SERVICE, brokers: config.KAFKA_BROKERS }, logger);
    const admin = kafka.admin();
    // Only dead letters are produced: at-least-once is enough, keyed like their source message.
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });

    // Every patient's consent and the node's studies, read into memory from their compacted topics.
    const consentView = new ConsentView({
      kafka,
      topicPrefix: config.KAFKA_TOPIC_PREFIX,
      policy: config.CONSENT_POLICY,
      logger,
      groupIdPrefix: `${SERVICE}-decisions`,
    });
    const catalog = new StudyCatalog({
      kafka,
      topicPrefix: config.KAFKA_TOPIC_PREFIX,
      defaultPatientIdSystem: config.MAPPER_DEFAULT_PATIENT_ID_SYSTEM,
      logger,
      groupIdPrefix: `${SERVICE}-studies`,
      // A study held or refused is published later from its snapshot, once consent allows it.
      keepSnapshots: true,
    });
    const gate = new ConsentGate({
      consent: consentView,
      catalog,
      index: {
        publish: (snapshot) => mapStudySnapshot(snapshot, fhir, settings),
        withdraw: (studyInstanceUid) => withdrawStudy(fhir, studyInstanceUid),
      },
      defaultPatientIdSystem: config.MAPPER_DEFAULT_PATIENT_ID_SYSTEM,
      logger,
      metrics,
    });
    // Before the view starts: the replay tells the gate which patients to sweep.
    consentView.onChange(gate.onConsentChange);

    // First up, last down: /readyz reports the dependencies while the rest starts and stops.
    const ops = await startOpsServer({
      port: config.MAPPER_HTTP_PORT,
      logger,
      metrics,
      readiness: [kafkaReadiness(admin), fhirReadiness(fhir), caughtUp(consentView, catalog)],
    });
    onStop('ops server', ops.close);

    await admin.connect();
    onStop('kafka admin', () => admin.disconnect());
    await ensureTopics(admin, [
      // Compacted: the last snapshot per study is the node's durable catalogue of its studies, read
      // whole at every start (StudyCatalog), e.g. to publish a study again once consent allows it.
      // dicom-ingest creates it with the same settings; whichever starts first creates it.
      { topic: studyTopic, numPartitions: 3, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] },
      { topic: deadLetterTopic, numPartitions: 3 },
    ]);
    await warnUnlessCompacted(admin, studyTopic, logger);

    await producer.connect();
    onStop('kafka producer', () => producer.disconnect());

    await startWhileRetriable(() => consentView.start(), logger);
    onStop('consent view', () => consentView.stop());
    await startWhileRetriable(() => catalog.start(), logger);
    onStop('study catalog', () => catalog.stop());
    // Not one study is decided before the view knows every refusal.
    await Promise.all([consentView.ready(), catalog.ready()]);
    onStop('consent gate', () => gate.stop());

    const consumer = await startStudyConsumer({
      kafka,
      groupId: config.MAPPER_GROUP_ID,
      topic: studyTopic,
      deadLetterTopic,
      publisher: new EventPublisher(producer),
      gate,
      logger,
      metrics,
    });
    onStop('study consumer', consumer.stop);

    // Decisions recorded while the mapper was down: applied to every study they concern.
    gate.sweep().catch((error: unknown) => logger.error({ reason: errorMessage(error) }, 'consent sweep failed'));
    logger.info({ policy: config.CONSENT_POLICY, studies: catalog.size }, 'consent gate ready');
  });
}

/** Ready once the consent view and the study catalogue have read their topics to the end. */
function caughtUp(consentView: ConsentView, catalog: StudyCatalog): ReadinessCheck {
  return {
    name: 'consent-views',
    probe: async () => {
      const failure = consentView.error ?? catalog.error;
      if (failure) {
        throw failure;
      }
      if (!consentView.isReady() || !catalog.isReady()) {
        throw new Error('still reading the consent decisions and study topics');
      }
    },
  };
}

/** A study topic created before it was compacted keeps every snapshot ever sent: say so, once. */
async function warnUnlessCompacted(admin: Admin, topic: string, logger: Logger): Promise<void> {
  const described = await admin.describeConfigs({
    includeSynonyms: false,
    resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: ['cleanup.policy'] }],
  });
  const policy = described.resources[0]?.configEntries.find((entry) => entry.configName === 'cleanup.policy')?.configValue ?? '';
  if (!policy.split(',').includes('compact')) {
    logger.warn({ topic, cleanupPolicy: policy }, 'the study topic is not compacted: set cleanup.policy=compact (kafka-configs --alter)');
  }
}

main();
