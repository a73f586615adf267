import path from 'node:path';
import { Partitioners } from 'kafkajs';
import { ConsentView, pseudonymizer, ReconciledPatients, StudyCatalog } from '@imaging-facade/consent';
import { CONSENT_DECISION_V1, DEAD_LETTER_V1, STUDY_COMPLETED_V1, topicName } from '@imaging-facade/events';
import { createFhirClient, fhirReadiness } from '@imaging-facade/fhir';
import { createKafka, ensureTopics, EventPublisher, kafkaReadiness, StalledMessages, startWhileRetriable } from '@imaging-facade/kafka';
import { caughtUp, createMetricsRegistry, errorMessage, startOpsServer, type Logger, type OnStop } from '@imaging-facade/service-kit';
import { nodeSettings, type MapperConfig } from './config';
import { ConsentGate } from './consent/consent-gate';
import { patientLabels } from './consent/withheld-label';
import { linkedPatients } from './consent/linked-patients';
import { indexWriter } from './index-writer';
import { startStudyConsumer } from './study-consumer';

export const SERVICE = 'imaging-mapper';

export { loadMapperConfig } from './config';

/** Wires the mapper and starts it; each part's stop is registered as soon as it runs. */
export async function startMapper(config: MapperConfig, logger: Logger, onStop: OnStop): Promise<void> {
  const studyTopic = topicName(STUDY_COMPLETED_V1.topic, config.KAFKA_TOPIC_PREFIX);
  const deadLetterTopic = topicName(DEAD_LETTER_V1.topic, config.KAFKA_TOPIC_PREFIX);
  const node = nodeSettings(config);
  const settings = { defaultPatientIdSystem: node.patientIdSystem, defaultAccessionNumberSystem: node.accessionNumberSystem, timeZone: node.timeZone, node };
  // What the logs name a patient by, next to the study: never the identifier (libs/consent pseudonym).
  const pseudonymize = pseudonymizer(config.logPseudonymKey);

  const metrics = createMetricsRegistry(SERVICE);
  const fhir = createFhirClient({ baseUrl: config.FHIR_BASE_URL, timeoutMs: config.FHIR_TIMEOUT_MS });
  const kafka = createKafka({ clientId: SERVICE, brokers: config.KAFKA_BROKERS }, logger);
  const admin = kafka.admin();
  // Only dead letters are produced: at-least-once is enough, keyed like their source message.
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });

  // Closed last, after the gate has stopped writing to it.
  const decisionsTopic = topicName(CONSENT_DECISION_V1.topic, config.KAFKA_TOPIC_PREFIX);
  const reconciled = new ReconciledPatients(path.join(node.dataDir, SERVICE, 'consent-gate', `${decisionsTopic}.sqlite`));
  onStop('record of applied consent decisions', async () => reconciled.close());
  // Every patient's consent and the node's studies, from their compacted topics, each kept in a file read on from at a restart.
  const consentView = new ConsentView({
    kafka,
    topicPrefix: config.KAFKA_TOPIC_PREFIX,
    policy: config.FACADE_CONSENT_POLICY,
    logger,
    groupIdPrefix: `${SERVICE}-decisions`,
    directory: path.join(node.dataDir, SERVICE, 'consent-view'),
    // Until a first sweep of every patient has completed with this record (at its first start, and
    // after one stopped or crashed), patients whose decisions were all revoked are named only by the replay.
    // Once it has, a changed policy sweeps the catalogue too, and the record's rows name the rest.
    fromBeginning: reconciled.policy() === undefined,
    pseudonymize,
  });
  const catalog = new StudyCatalog({
    kafka,
    topicPrefix: config.KAFKA_TOPIC_PREFIX,
    defaultPatientIdSystem: config.FACADE_PATIENT_ID_SYSTEM,
    logger,
    groupIdPrefix: `${SERVICE}-studies`,
    // A study held or refused is published later from its snapshot, once consent allows it.
    keepSnapshots: true,
    directory: path.join(node.dataDir, SERVICE, 'study-catalog'),
  });
  const gate = new ConsentGate({
    consent: consentView,
    catalog,
    index: indexWriter(fhir, settings),
    labels: patientLabels(fhir, consentView),
    links: linkedPatients(fhir),
    reconciled,
    defaultPatientIdSystem: config.FACADE_PATIENT_ID_SYSTEM,
    logger,
    pseudonymize,
    metrics,
  });
  // Before the view starts: the replay tells the gate which patients to sweep.
  consentView.onChange(gate.onConsentChange);

  // A study retried for minutes holds every partition of the topic: /readyz says so (topic, partition, offset).
  const stalled = new StalledMessages();
  // First up, last down: /readyz reports the dependencies while the rest starts and stops.
  const ops = await startOpsServer({
    port: config.MAPPER_HTTP_PORT,
    host: config.MAPPER_HTTP_BIND,
    opsToken: node.opsToken,
    logger,
    metrics,
    readiness: [kafkaReadiness(admin), fhirReadiness(fhir), caughtUp('consent-views', [consentView, catalog], 'the consent decisions and study topics'), stalled.readiness('study-consumer')],
  });
  onStop('ops server', ops.close);

  await admin.connect();
  onStop('kafka admin', () => admin.disconnect());
  await ensureTopics(admin, [STUDY_COMPLETED_V1, DEAD_LETTER_V1], config.KAFKA_TOPIC_PREFIX, logger);

  await producer.connect();
  onStop('kafka producer', () => producer.disconnect());

  await startWhileRetriable(() => consentView.start(), logger);
  onStop('consent view', () => consentView.stop());
  await startWhileRetriable(() => catalog.start(), logger);
  onStop('study catalog', () => catalog.stop());
  // Not one study is decided before the view knows every refusal.
  await Promise.all([consentView.ready(), catalog.ready()]);
  onStop('consent gate', () => gate.stop());
  // Decisions recorded while the mapper was down: applied to every study they concern. Not after the
  // consumer has joined its group: after a crash that waits for the dead member's session to expire.
  gate.sweep().catch((error: unknown) => logger.error({ reason: errorMessage(error) }, 'consent sweep failed'));
  if (config.MAPPER_RECORD_CHECK_INTERVAL_MS > 0) {
    const check = setInterval(() => {
      gate.checkRecords().catch((error: unknown) => logger.warn({ reason: errorMessage(error) }, 'the check of patient records failed, will run again'));
    }, config.MAPPER_RECORD_CHECK_INTERVAL_MS);
    check.unref();
    onStop('withheld label check', async () => clearInterval(check));
  }

  const consumer = await startStudyConsumer({
    kafka,
    groupId: config.MAPPER_GROUP_ID,
    topic: studyTopic,
    deadLetterTopic,
    publisher: new EventPublisher(producer),
    gate,
    logger,
    metrics,
    defaultPatientIdSystem: config.FACADE_PATIENT_ID_SYSTEM,
    stalled,
  });
  onStop('study consumer', consumer.stop);

  logger.info({ policy: config.FACADE_CONSENT_POLICY, studies: catalog.size }, 'consent gate ready');
}
