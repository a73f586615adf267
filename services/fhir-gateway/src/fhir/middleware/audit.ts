import type { ErrorRequestHandler, RequestHandler } from 'express';
import { Histogram } from 'prom-client';
import { isOutcomeError } from '@imaging-facade/fhir-outcomes';
import { type AuditedInteraction, buildAuditEvent } from '@imaging-facade/access';
import type { Exchange, FhirContext } from '../context';

/**
 * Every FHIR interaction, whatever its outcome (a 401 included), is measured, logged and written
 * to the audit trail as one BALP AuditEvent once its answer is sent. `audit(interaction)` opens
 * the request's Exchange, which the later middleware and the handler fill in.
 */
export function auditing(ctx: Pick<FhirContext, 'audit' | 'logger' | 'metrics' | 'publicBaseUrl'>): (interaction: AuditedInteraction) => RequestHandler {
  const duration = new Histogram({
    name: 'gateway_request_duration_seconds',
    help: 'FHIR requests answered by the gateway, by interaction and status',
    labelNames: ['interaction', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [ctx.metrics],
  });
  return (interaction) => (req, res, next) => {
    const started = process.hrtime.bigint();
    const exchange: Exchange = { interaction, patients: [], resourceType: req.params.type as string | undefined };
    res.locals.exchange = exchange;
    // 'close' comes after the answer is sent, and also when the client went away before it.
    res.once('close', () => {
      const status = res.statusCode;
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      duration.observe({ interaction, status: String(status) }, seconds);
      // Every access is in the audit trail; the log keeps the failures at info, the rest at debug.
      ctx.logger[status >= 400 ? 'info' : 'debug'](
        {
          requestId: res.locals.requestId,
          interaction,
          resourceType: exchange.resourceType,
          status,
          returned: exchange.returned,
          clientId: exchange.principal?.clientId,
          ms: Math.round(seconds * 10_000) / 10,
        },
        'fhir request',
      );
      const event = buildAuditEvent({
          interaction,
          recorded: new Date(),
          status,
          description: exchange.failure,
          principal: exchange.principal,
          clientAddress: req.socket.remoteAddress ?? 'unknown',
          gatewayBaseUrl: ctx.publicBaseUrl,
          query: exchange.query,
          cleanedQuery: exchange.cleanedQuery,
          resource: exchange.resource,
          patients: exchange.patients,
          requestId: res.locals.requestId as string,
        });
      // The client left before the answer was whole: not a success, whatever the status line said.
      ctx.audit.enqueue(res.writableFinished || event.outcome !== '0' ? event : { ...event, outcome: '4', outcomeDesc: 'the client closed the connection before the answer was sent' });
    });
    next();
  };
}

/** Notes why an audited request failed, for its AuditEvent's outcomeDesc, then lets the error handler answer. */
export const recordFailure: ErrorRequestHandler = (error, _req, res, next) => {
  const exchange = res.locals.exchange as Exchange | undefined;
  if (exchange) {
    exchange.failure = isOutcomeError(error) ? error.message : clientErrorStatus(error) !== undefined ? `the request could not be read (HTTP ${clientErrorStatus(error)})` : 'Internal server error';
  }
  next(error);
};

/** The 4xx status of an error thrown by Express's own middleware (a body that is not JSON, too large), if it is one. */
function clientErrorStatus(error: unknown): number | undefined {
  const status = (error as { status?: unknown } | undefined)?.status;
  return typeof status === 'number' && status >= 400 && status < 500 ? status : undefined;
}
