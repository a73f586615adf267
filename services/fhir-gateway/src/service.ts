import { ConsentView } from '@imaging-facade/consent';
import { CONSENT_DECISION_V1 } from '@imaging-facade/events';
import { notFoundHandler } from '@imaging-facade/fhir-outcomes';
import { createKafka, ensureTopics, startWhileRetriable } from '@imaging-facade/kafka';
import { caughtUp, createMetricsRegistry, errorMessage, retry, startOpsServer, type Logger, type OnStop } from '@imaging-facade/service-kit';
import { AuditWriter, consentRulesFrom, failedTokenCounter, OidcVerifier, upstreamConsentLookups, upstreamStudyReported } from '@imaging-facade/access';
import type { GatewayConfig } from './config';
import { DevIssuer } from './dev-issuer/dev-issuer';
import { createGatewayApp } from './app';
import { ensureValidatedReportSearchParameter, Upstream } from '@imaging-facade/fhir';
import { systemResolve } from './subscriptions/endpoint-check';

export const SERVICE = 'fhir-gateway';

/** Wires the gateway and starts it; each part's stop is registered as soon as it runs. */
export async function startGateway(config: GatewayConfig, logger: Logger, onStop: OnStop): Promise<void> {
  const metrics = createMetricsRegistry(SERVICE);

  const upstream = new Upstream(config.upstream);
  onStop('fhir-client', () => upstream.close());

  const devIssuer = config.devIssuer ? await DevIssuer.start(config.devIssuer, logger) : undefined;
  const verifier = new OidcVerifier(config.oidc);

  // Consent decisions, from the compacted topic into a file read on from at a restart, and followed (libs/consent).
  const kafka = createKafka({ clientId: config.kafka.clientId, brokers: config.kafka.brokers }, logger);
  const admin = kafka.admin();
  await admin.connect();
  try {
    await ensureTopics(admin, [CONSENT_DECISION_V1], config.kafka.topicPrefix, logger);
  } finally {
    await admin.disconnect();
  }
  const consentView = new ConsentView({
    kafka,
    topicPrefix: config.kafka.topicPrefix,
    policy: config.consentPolicy,
    logger,
    groupIdPrefix: 'fhir-gateway-consent',
    directory: config.consentViewDir,
  });
  await startWhileRetriable(() => consentView.start(), logger);
  onStop('consent-view', () => consentView.stop());

  if (config.gpRoleScope !== undefined) {
    // GPs' searches are filtered by it in HAPI's query: put it there unless it is, without holding
    // the start back (until it is, a GP's search is refused by HAPI: nothing unreported is shown).
    void retry(() => ensureValidatedReportSearchParameter(upstream), {
      isRetryable: () => true,
      initialMs: 1000,
      maxMs: 10_000,
      attempts: 60,
      onRetry: ({ attempt, error }) => logger.warn({ attempt, reason: errorMessage(error) }, 'the validated-report search parameter is not on the FHIR server yet, will retry'),
    }).then(
      (done) => logger.info({ searchParameter: 'validated-report', done }, 'GP searches are filtered by the FHIR server'),
      (error: unknown) => logger.error({ reason: errorMessage(error) }, 'the validated-report search parameter could not be put on the FHIR server: GP searches are refused'),
    );
  }

  const audit = new AuditWriter(AuditWriter.toFhir(upstream), config.audit, logger.child({ component: 'audit' }), metrics);
  audit.start();
  onStop('audit-writer', () => audit.stop());

  const app = createGatewayApp(
    {
      publicBaseUrl: config.publicBaseUrl,
      upstream,
      verifier,
      failedTokens: config.failedTokens ? failedTokenCounter(config.failedTokens) : undefined,
      consent: {
        rules: consentRulesFrom(consentView),
        lookups: upstreamConsentLookups(upstream, config.patientCacheTtlMs),
        reports: { roleScope: config.gpRoleScope, studyReported: upstreamStudyReported(upstream) },
        isReady: () => consentView.isReady(),
      },
      audit,
      logger,
      metrics,
      subscriptionEndpoints: { rules: config.subscriptionEndpoints, resolve: systemResolve },
    },
    devIssuer && config.devIssuer ? [{ path: config.devIssuer.mountPath, router: devIssuer.router() }] : [],
  );
  const server = await startOpsServer({
    port: config.http.port,
    host: config.http.host,
    opsToken: config.opsToken,
    logger,
    metrics,
    app,
    readiness: [
      { name: 'fhir', probe: () => upstream.probe() },
      { name: 'oidc-issuer', probe: () => verifier.probe() },
      caughtUp('consent', [consentView], 'the consent decisions'),
      audit.readiness,
    ],
  });
  app.use(notFoundHandler);
  onStop('http-server', () => server.close());
  logger.info(
    { publicBaseUrl: config.publicBaseUrl, issuer: config.oidc.issuer, devIssuer: devIssuer !== undefined, port: server.port },
    'FHIR gateway listening',
  );
}
