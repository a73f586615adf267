import path from 'node:path';
import express, { type ErrorRequestHandler } from 'express';
import { ConsentView, pseudonymizer, StudyCatalog } from '@imaging-facade/consent';
import { CONSENT_DECISION_V1, STUDY_COMPLETED_V1, topicName } from '@imaging-facade/events';
import { createFhirClient, fhirReadiness } from '@imaging-facade/fhir';
import { createKafka, ensureTopics, EventPublisher, kafkaReadiness, startWhileRetriable } from '@imaging-facade/kafka';
import {
  caughtUp,
  createMetricsRegistry,
  errorMessage,
  FailedSignIns,
  RequestsUnderWay,
  startOpsServer,
  type Logger,
  type OnStop,
  type ReadinessCheck,
} from '@imaging-facade/service-kit';
import { AccountVerifier } from './auth/accounts';
import { consentApi } from './api/routes';
import type { ConsentConfig } from './config';
import { ConsentStore } from './decisions/consent-store';
import { DecisionService } from './decisions/decisions';
import { deskPages } from './desk/routes';
import { SECURE_COOKIES, SessionStore } from './desk/session';
import type { ConsentDesk } from './decisions/patient-consent';
import { PatientDirectory } from './decisions/patients';
import { Reconciliation } from './decisions/reconciliation';
import { StatePublisher } from './decisions/state-publisher';

export const SERVICE = 'consent-desk';

/** How often states that Kafka refused are offered again, and the start-up reconciliation retried. */
const RETRY_INTERVAL_MS = 5_000;
/**
 * How long a stop waits for the requests under way: past a FHIR call's timeout (FHIR_TIMEOUT_MS, 15 s
 * by default), within the 30 s an orchestrator usually allows a stop.
 */
const REQUESTS_STOP_MS = 20_000;

/**
 * Wires and starts the consent desk; registers each part's stop as soon as it runs. Resolves with
 * the HTTP port once the views of Kafka have caught up and start-up reconciliation has run.
 */
export async function startConsentDesk(config: ConsentConfig, logger: Logger, onStop: OnStop): Promise<{ port: number }> {
  const metrics = createMetricsRegistry(SERVICE);
  const fhir = createFhirClient({ baseUrl: config.fhir.baseUrl, timeoutMs: config.fhir.timeoutMs });
  const kafka = createKafka({ clientId: SERVICE, brokers: config.kafka.brokers }, logger);
  const admin = kafka.admin();
  const producer = kafka.producer({ idempotent: true });
  const decisionsTopic = topicName(CONSENT_DECISION_V1.topic, config.kafka.topicPrefix);
  const studiesTopic = topicName(STUDY_COMPLETED_V1.topic, config.kafka.topicPrefix);
  // What the logs name a patient by: never the identifier (libs/consent pseudonym).
  const pseudonymize = pseudonymizer(config.logPseudonymKey);

  const view = new ConsentView({
    kafka,
    topicPrefix: config.kafka.topicPrefix,
    policy: config.policy,
    logger,
    groupIdPrefix: `${SERVICE}-decisions`,
    directory: path.join(config.dataDir, SERVICE, 'consent-view'),
    pseudonymize,
  });
  const catalog = new StudyCatalog({
    kafka,
    topicPrefix: config.kafka.topicPrefix,
    defaultPatientIdSystem: config.defaultPatientIdSystem,
    logger,
    groupIdPrefix: `${SERVICE}-studies`,
    directory: path.join(config.dataDir, SERVICE, 'study-catalog'),
  });
  const store = new ConsentStore(fhir);
  const decisions = new DecisionService({
    store,
    publisher: new StatePublisher(new EventPublisher(producer), decisionsTopic, logger, pseudonymize),
    catalog,
    settings: config.consent,
    logger,
    pseudonymize,
    metrics,
  });
  // The decisions topic compared with FHIR at start, then every CONSENT_RECONCILE_INTERVAL_MS (a desk that died between the two writes).
  const reconciliation = new Reconciliation({ store, decisions, view, logger, pseudonymize, metrics, marginMs: config.reconcile.marginMs });
  const desk: ConsentDesk = {
    policy: config.policy,
    defaultPatientIdSystem: config.defaultPatientIdSystem,
    decisions,
    directory: new PatientDirectory(catalog, store),
    doses: store,
  };
  // Stopping, the requests under way finish before what they use is closed; new ones get a 503.
  const requests = new RequestsUnderWay();
  const isReady = () => !requests.closing && view.isReady() && catalog.isReady();

  const app = express();
  app.disable('x-powered-by');
  if (config.trustProxy !== undefined) {
    app.set('trust proxy', config.trustProxy.split(',').map((name) => name.trim()));
  }
  // In production the desk is served over HTTPS (through a proxy): its cookies are Secure whatever a request says.
  app.set(SECURE_COOKIES, config.environment === 'production');
  const ops = await startOpsServer({
    port: config.httpPort,
    host: config.httpBind,
    opsToken: config.opsToken,
    logger,
    metrics,
    readiness: [kafkaReadiness(admin), fhirReadiness(fhir), caughtUp('kafka-views', [view, catalog], 'the decisions and studies topics'), announced(decisions), reconciliation.readiness, requests.readiness],
    app,
  });
  onStop('http server', ops.close);
  // After the ops routes, so that the page's sign-in redirect never shadows /healthz, /readyz, /metrics.
  app.use(requests.track);
  const verifier = new AccountVerifier(config.accounts);
  const failedSignIns = new FailedSignIns(config.signInLimits);
  app.use('/api', consentApi({ desk, verifier, failedSignIns, logger, pseudonymize, isReady }));
  app.use(deskPages({ desk, verifier, failedSignIns, sessions: new SessionStore({ idleMs: config.sessionIdleMs, maxMs: config.sessionMaxMs }), logger, pseudonymize, isReady }));
  // Last: whatever escaped the page's and the API's own handlers gets a plain 500, never Express's page with a stack.
  app.use(((error, _req, res, _next) => {
    logger.error({ err: error }, 'unhandled error');
    if (res.headersSent) {
      res.destroy();
      return;
    }
    res.status(500).type('text/plain').send('Internal error');
  }) as ErrorRequestHandler);

  await admin.connect();
  onStop('kafka admin', () => admin.disconnect());
  await ensureTopics(admin, [CONSENT_DECISION_V1, STUDY_COMPLETED_V1], config.kafka.topicPrefix, logger);

  await producer.connect();
  onStop('kafka producer', () => producer.disconnect());

  await startWhileRetriable(() => view.start(), logger);
  onStop('consent view', () => view.stop());
  await startWhileRetriable(() => catalog.start(), logger);
  onStop('study catalog', () => catalog.stop());
  // Registered after what requests use, so stopped before it: requests are served from the moment the views are ready.
  onStop('requests under way', () => requests.close(REQUESTS_STOP_MS));
  await Promise.all([view.ready(), catalog.ready()]);

  await reconciliation.startUp();
  let background = Promise.resolve();
  const timer = setInterval(() => {
    background = background.then(async () => {
      if (!reconciliation.startedUp) {
        await reconciliation.startUp();
      }
      await decisions.announcePending().catch((error: unknown) => logger.warn({ reason: errorMessage(error) }, 'announcing pending states failed'));
    });
  }, RETRY_INTERVAL_MS);
  onStop('announcement retries', async () => {
    clearInterval(timer);
    await background;
  });
  reconciliation.start(config.reconcile.intervalMs);
  // Stopped first: a sweep under way ends at its next patient, before the producer and the view close.
  onStop('reconciliation sweeps', () => reconciliation.stop());

  logger.info({ port: ops.port, policy: config.policy, decisionsTopic, studiesTopic, studies: catalog.size }, 'consent desk ready');
  return { port: ops.port };
}

function announced(decisions: DecisionService): ReadinessCheck {
  return {
    name: 'decisions-announced',
    probe: async () => {
      if (decisions.unannouncedCount > 0) {
        throw new Error(`${decisions.unannouncedCount} patient(s) with a decision in FHIR not yet on Kafka (retrying)`);
      }
    },
  };
}
