import { INSTANCE_STORED_V1, STUDY_COMPLETED_V1 } from '@imaging-facade/events';
import { Partitioners } from 'kafkajs';
import { createKafka, ensureTopics, EventPublisher } from '@imaging-facade/kafka';
import { createMetricsRegistry, startOpsServer, type Logger, type OnStop } from '@imaging-facade/service-kit';
import type { IngestConfig } from './config';
import { startDicomServer } from './dimse/dicom-server';
import { readDicomTlsMaterial } from './dimse/tls-options';
import { kafkaIngestEvents } from './ingest-events';
import { InstanceFiles } from './storage/instance-files';
import { InstanceStore } from './storage/instance-store';
import { routeLibraryLogs } from './library-logs';
import { createIngestMetrics } from './metrics';
import { InstanceOutbox } from './studies/instance-outbox';
import { PendingMarkers } from './studies/pending-markers';
import { storageReadiness } from './storage/storage-readiness';
import { StudyCompletion } from './studies/study-completion';
import { LineSettlement } from './studies/line-settlement';
import { StudyIndex } from './studies/study-index';
import { ManifestThread } from './studies/kos-thread';
import { StudyManifests } from './studies/study-manifests';

export interface RunningIngest {
  dicomPort: number;
  /** The DICOM TLS port, when configured. */
  dicomTlsPort: number | undefined;
  httpPort: number;
}

/**
 * Starts every part in dependency order and registers how to stop it right away; stops run in
 * reverse: the SCP (draining associations), the study scheduler, the producer, the admin client
 * and last the ops server.
 */
export async function startIngestService(config: IngestConfig, logger: Logger, onStop: OnStop): Promise<RunningIngest> {
  routeLibraryLogs(logger);
  // Read first: a TLS port that cannot serve must stop the start before anything else runs.
  const tlsConfig = config.dicom.tls;
  const tls = tlsConfig === undefined ? undefined : { port: tlsConfig.port, ...(await readDicomTlsMaterial(tlsConfig)) };
  const registry = createMetricsRegistry('dicom-ingest');
  const metrics = createIngestMetrics(registry);
  const files = new InstanceFiles(config.storageDir);
  const kafka = createKafka({ clientId: config.kafka.clientId, brokers: config.kafka.brokers }, logger);
  const admin = kafka.admin();

  const ops = await startOpsServer({
    port: config.httpPort,
    host: config.httpBind,
    opsToken: config.opsToken,
    logger,
    metrics: registry,
    // Store-and-forward: the SCP takes durable stores whether Kafka answers or not (events wait in
    // the outbox), so readiness, like the SCP's answers, depends on the storage only.
    readiness: [storageReadiness(files)],
  });
  onStop('ops server', ops.close);

  await admin.connect();
  onStop('kafka admin', () => admin.disconnect());
  await ensureTopics(admin, [INSTANCE_STORED_V1, STUDY_COMPLETED_V1], config.kafka.topicPrefix, logger);

  const producer = kafka.producer({
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  onStop('kafka producer', () => producer.disconnect());
  const events = kafkaIngestEvents(new EventPublisher(producer), config.kafka.topicPrefix);

  const leftovers = await files.prepare();
  if (leftovers > 0) {
    logger.warn({ files: leftovers }, 'removed files a previous run had not finished writing');
  }
  const markers = new PendingMarkers(config.storageDir);
  await markers.prepare();
  const index = new StudyIndex(config.storageDir);
  const retry = { initialMs: 1_000, maxMs: config.study.publishRetryMaxMs };
  // Lines are written while their files are: what is published waits for both (see LineSettlement).
  const settlement = new LineSettlement();
  const lineState = settlement.stateOf.bind(settlement);
  const outbox = new InstanceOutbox({ index, events, retry, lineState, logger: logger.child({ component: 'outbox' }) });
  const manifestThread = new ManifestThread();
  // Stopped after the study completion (stops run in reverse): no manifest is asked for any more.
  onStop('manifest thread', () => manifestThread.close());
  const completion = new StudyCompletion({
    index,
    outbox,
    settlement,
    markers,
    events,
    quietPeriodMs: config.study.quietPeriodMs,
    retry,
    logger: logger.child({ component: 'study-completion' }),
    metrics,
    placement: files,
    manifests: new StudyManifests(
      files,
      {
        aeTitle: config.dicom.aeTitle,
        locationUid: config.manifest.retrieveLocationUid,
        dicomWebBaseUrl: config.manifest.dicomWebBaseUrl,
      },
      { write: manifestThread.write },
    ),
  });
  const recovered = await completion.recover();
  if (recovered > 0) {
    logger.info({ studies: recovered }, 'studies left pending by a previous run are scheduled again');
  }
  // Only now: until the pending studies were recovered, their indexes could point at spool files.
  const unanswered = await files.startSpool();
  if (unanswered > 0) {
    logger.info({ files: unanswered }, 'removed spool files a previous run left (unused, or instances never answered)');
  }
  // Stopped after the SCP (stops run in reverse): no C-STORE claims a file any more.
  onStop('spool files', () => files.closeSpool());
  // Stopped after the study completion and the SCP: nothing appends to an index any more.
  onStop('study indexes', () => index.close());
  onStop('study completion', async () => {
    await completion.stop();
    await outbox.stop();
  });

  const store = new InstanceStore({ files, completion, logger: logger.child({ component: 'store' }), metrics });
  const dicom = await startDicomServer({
    port: config.dicom.port,
    aeTitle: config.dicom.aeTitle,
    maxPduLength: config.dicom.maxPduLength,
    maxAssociateRqLength: config.dicom.maxAssociateRqLength,
    associationLimits: config.dicom.associationLimits,
    timeouts: config.dicom.timeouts,
    allowedCallers: config.dicom.allowedCallers,
    tls,
    shutdownGraceMs: config.dicom.shutdownGraceMs,
    files,
    store: (received) => store.store(received),
    logger: logger.child({ component: 'scp' }),
    metrics,
  });
  onStop('dicom scp', dicom.close);

  return { dicomPort: dicom.port, dicomTlsPort: dicom.tlsPort, httpPort: ops.port };
}
