import { Partitioners } from 'kafkajs';
import { AuditWriter, consentRulesFrom, OidcVerifier, StudyAccess, upstreamConsentLookups } from '@imaging-facade/access';
import { ConsentView } from '@imaging-facade/consent';
import { DEAD_LETTER_V1, STUDY_COMPLETED_V1, topicName } from '@imaging-facade/events';
import { Upstream } from '@imaging-facade/fhir';
import { createKafka, ensureTopics, EventPublisher, kafkaReadiness, startWhileRetriable } from '@imaging-facade/kafka';
import { createLogger, createMetricsRegistry, runService, startOpsServer } from '@imaging-facade/service-kit';
import { loadDicomwebConfig } from './config';
import { createDicomwebApp } from './http/app';
import { startIndexConsumer } from './index/index-consumer';
import { StudyIndexDb } from './index/study-index-db';
import { viewerPages } from './viewer/pages';

const SERVICE = 'dicomweb';
const config = loadDicomwebConfig();
const logger = createLogger(SERVICE, config.logLevel);

runService(logger, async (onStop) => {
  const metrics = createMetricsRegistry(SERVICE);
  const db = new StudyIndexDb(config.indexFile);
  onStop('index', async () => db.close());

  const upstream = new Upstream({ baseUrl: config.fhir.baseUrl, timeoutMs: config.fhir.timeoutMs, connections: 8 });
  onStop('fhir-client', () => upstream.close());
  const verifier = new OidcVerifier(config.oidc);

  const kafka = createKafka({ clientId: SERVICE, brokers: config.kafka.brokers }, logger);
  const admin = kafka.admin();
  await admin.connect();
  onStop('kafka admin', () => admin.disconnect());
  const studyTopic = topicName(STUDY_COMPLETED_V1.topic, config.kafka.topicPrefix);
  const deadLetterTopic = topicName(DEAD_LETTER_V1.topic, config.kafka.topicPrefix);
  await ensureTopics(admin, [
    { topic: studyTopic, numPartitions: 3, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] },
    { topic: deadLetterTopic, numPartitions: 3 },
  ]);
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  onStop('kafka producer', () => producer.disconnect());

  // Consent decisions, read whole from their compacted topic and followed: a refusal acts at once.
  const consentView = new ConsentView({ kafka, topicPrefix: config.kafka.topicPrefix, policy: config.consentPolicy, logger, groupIdPrefix: `${SERVICE}-consent` });
  await startWhileRetriable(() => consentView.start(), logger);
  onStop('consent view', () => consentView.stop());
  const access = new StudyAccess({ rules: consentRulesFrom(consentView), lookups: upstreamConsentLookups(upstream, config.patientCacheTtlMs) });

  const audit = new AuditWriter(AuditWriter.toFhir(upstream), { batchSize: 200, flushIntervalMs: 1000, maxQueue: 100_000, shutdownFlushMs: 15_000 }, logger.child({ component: 'audit' }), metrics);
  audit.start();
  onStop('audit writer', () => audit.stop());

  const consumer = await startIndexConsumer({
    kafka,
    groupId: config.kafka.groupId,
    topic: studyTopic,
    deadLetterTopic,
    publisher: new EventPublisher(producer),
    db,
    storageDir: config.storageDir,
    defaultPatientIdSystem: config.defaultPatientIdSystem,
    logger,
    metrics,
    viewerLink: config.viewer ? (uid) => `${new URL(config.publicBaseUrl).origin}/viewer/viewer?StudyInstanceUIDs=${uid}` : undefined,
  });
  onStop('index consumer', consumer.stop);

  const deps = { db, storageDir: config.storageDir, access, maxResults: config.maxResults, verifier, publicBaseUrl: config.publicBaseUrl, audit, logger };
  const app = createDicomwebApp(deps, viewerPages(config, logger));
  const server = await startOpsServer({
    port: config.http.port,
    host: config.http.host,
    logger,
    metrics,
    app,
    readiness: [
      kafkaReadiness(admin),
      { name: 'fhir', probe: () => upstream.probe() },
      { name: 'oidc-issuer', probe: () => verifier.probe() },
      {
        name: 'consent',
        probe: async () => {
          if (!consentView.isReady()) throw consentView.error ?? new Error('the consent decisions are still being read');
        },
      },
    ],
  });
  onStop('http server', () => server.close());
  logger.info({ publicBaseUrl: config.publicBaseUrl, port: server.port, viewer: config.viewer !== undefined }, 'DICOMweb listening');
});
