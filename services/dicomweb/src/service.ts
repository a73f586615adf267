import { Partitioners } from 'kafkajs';
import {
  AuditWriter,
  consentRulesFrom,
  failedTokenCounter,
  LinkedDecisions,
  OidcVerifier,
  StudyAccess,
  upstreamConsentLookups,
  fhirPatientRecords,
  withLinkedDecisions,
} from '@imaging-facade/access';
import { ConsentView } from '@imaging-facade/consent';
import { DEAD_LETTER_V1, STUDY_COMPLETED_V1, topicName } from '@imaging-facade/events';
import { createFhirClient, Upstream } from '@imaging-facade/fhir';
import { createKafka, ensureTopics, EventPublisher, kafkaReadiness, startWhileRetriable } from '@imaging-facade/kafka';
import { caughtUp, createMetricsRegistry, startOpsServer, type Logger, type OnStop } from '@imaging-facade/service-kit';
import type { DicomwebConfig } from './config';
import { createDicomwebApp } from './http/app';
import { RenderThread } from './wado/render-thread';
import { startIndexConsumer } from './index/index-consumer';
import { StudyIndexDb } from './index/study-index-db';
import { IndexCatchUp } from './index/index-catch-up';
import { viewerPages } from './viewer/pages';
import { viewerApi } from './viewer/summary-routes';
import { fhirSummarySource } from './viewer/summary-source';
import { dosePages } from './dose/dose-pages';
import { loadReferenceTable } from './dose/reference-table-file';

export const SERVICE = 'dicomweb';

/** Wires the DICOMweb service and starts it; each part's stop is registered as soon as it runs. */
export async function startDicomweb(config: DicomwebConfig, logger: Logger, onStop: OnStop): Promise<void> {
  const metrics = createMetricsRegistry(SERVICE);
  const db = new StudyIndexDb(config.indexFile);
  onStop('index', async () => db.close());

  // Checked first: a bad reference table stops the start before anything is connected.
  const referenceTable = loadReferenceTable(config.dose.referenceLevelsFile);
  const upstream = new Upstream({ baseUrl: config.fhir.baseUrl, timeoutMs: config.fhir.timeoutMs, connections: 8 });
  onStop('fhir-client', () => upstream.close());
  const verifier = new OidcVerifier(config.oidc);

  const kafka = createKafka({ clientId: SERVICE, brokers: config.kafka.brokers }, logger);
  const admin = kafka.admin();
  await admin.connect();
  onStop('kafka admin', () => admin.disconnect());
  const studyTopic = topicName(STUDY_COMPLETED_V1.topic, config.kafka.topicPrefix);
  const deadLetterTopic = topicName(DEAD_LETTER_V1.topic, config.kafka.topicPrefix);
  await ensureTopics(admin, [STUDY_COMPLETED_V1, DEAD_LETTER_V1], config.kafka.topicPrefix, logger);
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  onStop('kafka producer', () => producer.disconnect());

  // Consent decisions, from their compacted topic into a file read on from at a restart, and followed: a refusal acts at once.
  const consentView = new ConsentView({
    kafka,
    topicPrefix: config.kafka.topicPrefix,
    policy: config.consentPolicy,
    logger,
    groupIdPrefix: `${SERVICE}-consent`,
    directory: config.consentViewDir,
  });
  // The index knows a study's patient by the identifier in its DICOM header only: the decisions kept
  // under other identifiers of the same Patient record count too (LinkedDecisions). Followed before the view starts.
  const linked = new LinkedDecisions(fhirPatientRecords(createFhirClient({ baseUrl: config.fhir.baseUrl, timeoutMs: config.fhir.timeoutMs })));
  const unfollow = linked.follow(consentView, { intervalMs: config.linkRefreshMs, logger });
  onStop('linked decisions', async () => unfollow());
  await startWhileRetriable(() => consentView.start(), logger);
  onStop('consent view', () => consentView.stop());
  const access = new StudyAccess({
    rules: withLinkedDecisions(consentRulesFrom(consentView), linked),
    lookups: upstreamConsentLookups(upstream, config.patientCacheTtlMs),
  }, config.gpRoleScope);

  const audit = new AuditWriter(AuditWriter.toFhir(upstream), { batchSize: 200, flushIntervalMs: 1000, maxQueue: 100_000, shutdownFlushMs: 15_000 }, logger.child({ component: 'audit' }), metrics);
  audit.start();
  onStop('audit writer', () => audit.stop());
  const renderThread = new RenderThread();
  onStop('render thread', () => renderThread.close());

  const groupId = db.consumerGroup(config.kafka.groupId);
  const rebuilding = db.rebuilding;
  if (rebuilding) {
    logger.info({ groupId, topic: studyTopic }, 'the index is being rebuilt (new, derived otherwise, or not caught up before a restart): reading the study topic until it has caught up');
  }
  const consumer = await startIndexConsumer({
    kafka,
    groupId,
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
  const indexCatchUp = new IndexCatchUp(admin, { groupId, topic: studyTopic, rebuilding, onCaughtUp: () => db.caughtUp(), logger });
  onStop('index catch-up', async () => indexCatchUp.stop());

  const deps = {
    db,
    storageDir: config.storageDir,
    access,
    // Every route with patient data or images answers 503 until the view has read the decisions to the end, and whenever it stops following them,
    // and until the records linking other identifiers to them are read.
    consentView: { isReady: () => consentView.isReady() && linked.isReady() },
    // Likewise until a rebuilt index has read the study topic as far as it was at start.
    index: indexCatchUp,
    maxResults: config.maxResults,
    rendering: { render: renderThread.render, maxPixels: config.maxRenderPixels },
    frameCacheBytes: config.frameCacheBytes,
    verifier,
    failedTokens: config.failedTokens ? failedTokenCounter(config.failedTokens) : undefined,
    publicBaseUrl: config.publicBaseUrl,
    audit,
    logger,
  };
  const dose = dosePages({ ...config.dose, issuer: config.oidc.issuer, table: referenceTable, upstream, deps });
  const viewer = config.viewer ? [...viewerPages(config, logger), viewerApi({ ...deps, summaries: fhirSummarySource(upstream) })] : [];
  const app = createDicomwebApp(deps, [...viewer, dose]);
  const server = await startOpsServer({
    port: config.http.port,
    host: config.http.host,
    opsToken: config.opsToken,
    logger,
    metrics,
    app,
    readiness: [
      kafkaReadiness(admin),
      { name: 'fhir', probe: () => upstream.probe() },
      { name: 'oidc-issuer', probe: () => verifier.probe() },
      caughtUp('consent', [consentView, linked], 'the consent decisions and the patient records linked to them'),
      audit.readiness,
      {
        name: 'index',
        probe: async () => {
          if (indexCatchUp.error) throw indexCatchUp.error;
          if (!indexCatchUp.isReady()) throw new Error(indexCatchUp.describe());
        },
      },
    ],
  });
  onStop('http server', () => server.close());
  logger.info({ publicBaseUrl: config.publicBaseUrl, port: server.port, viewer: config.viewer !== undefined, doseReferenceLevels: referenceTable.name }, 'DICOMweb listening');
}
