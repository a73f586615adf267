import { ConsentView } from '@imaging-facade/consent';
import { CONSENT_DECISION_V1, topicName } from '@imaging-facade/events';
import { notFoundHandler } from '@imaging-facade/fhir-outcomes';
import { createKafka, ensureTopics, startWhileRetriable } from '@imaging-facade/kafka';
import { createLogger, createMetricsRegistry, runService, startOpsServer } from '@imaging-facade/service-kit';
import { AuditWriter, consentRulesFrom, OidcVerifier, upstreamConsentLookups } from '@imaging-facade/access';
import { loadGatewayConfig } from './config';
import { DevIssuer } from './dev-issuer';
import { createGatewayApp } from './http-app';
import { Upstream } from '@imaging-facade/fhir';

const config = loadGatewayConfig();
const logger = createLogger('fhir-gateway', config.logLevel);

runService(logger, async (onStop) => {
  const metrics = createMetricsRegistry('fhir-gateway');

  const upstream = new Upstream(config.upstream);
  onStop('fhir-client', () => upstream.close());

  const devIssuer = config.devIssuer ? await DevIssuer.start(config.devIssuer, logger) : undefined;
  const verifier = new OidcVerifier(config.oidc);

  // Consent decisions, read whole from the compacted topic and followed (libs/consent).
  const kafka = createKafka({ clientId: config.kafka.clientId, brokers: config.kafka.brokers }, logger);
  const decisionsTopic = topicName(CONSENT_DECISION_V1.topic, config.kafka.topicPrefix);
  const admin = kafka.admin();
  await admin.connect();
  try {
    await ensureTopics(admin, [{ topic: decisionsTopic, numPartitions: 3, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }]);
  } finally {
    await admin.disconnect();
  }
  const consentView = new ConsentView({ kafka, topicPrefix: config.kafka.topicPrefix, policy: config.consentPolicy, logger, groupIdPrefix: 'fhir-gateway-consent' });
  await startWhileRetriable(() => consentView.start(), logger);
  onStop('consent-view', () => consentView.stop());

  const audit = new AuditWriter(AuditWriter.toFhir(upstream), config.audit, logger.child({ component: 'audit' }), metrics);
  audit.start();
  onStop('audit-writer', () => audit.stop());

  const app = createGatewayApp(
    {
      publicBaseUrl: config.publicBaseUrl,
      upstream,
      verifier,
      consent: {
        rules: consentRulesFrom(consentView),
        lookups: upstreamConsentLookups(upstream, config.patientCacheTtlMs),
        isReady: () => consentView.isReady(),
      },
      audit,
      logger,
      metrics,
    },
    devIssuer && config.devIssuer ? [{ path: config.devIssuer.mountPath, router: devIssuer.router() }] : [],
  );
  const server = await startOpsServer({
    port: config.http.port,
    host: config.http.host,
    logger,
    metrics,
    app,
    readiness: [
      { name: 'fhir', probe: () => upstream.probe() },
      { name: 'oidc-issuer', probe: () => verifier.probe() },
      {
        name: 'consent',
        probe: async () => {
          if (!consentView.isReady()) {
            throw consentView.error ?? new Error('the consent decisions are still being read');
          }
        },
      },
    ],
  });
  app.use(notFoundHandler);
  onStop('http-server', () => server.close());
  logger.info(
    { publicBaseUrl: config.publicBaseUrl, issuer: config.oidc.issuer, devIssuer: devIssuer !== undefined, port: server.port },
    'FHIR gateway listening',
  );
});
