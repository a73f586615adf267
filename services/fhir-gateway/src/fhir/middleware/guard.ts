import type { RequestHandler } from 'express';
import { refuseWhileAuditFull, type AuditedInteraction } from '@imaging-facade/access';
import type { FhirContext } from '../context';
import { auditing } from './audit';
import { authenticate } from './authenticate';
import { consentReady } from './consent-ready';
import { jsonOnly } from './representation';

/**
 * What stands before every FHIR interaction's handler, in this order: audit (whatever follows fails),
 * token, `_format`, consent view. The token comes first: a caller without one learns nothing, not
 * even which representations we serve (401 before 406).
 */
export type Guard = (interaction: AuditedInteraction) => RequestHandler[];

export function guard(ctx: Pick<FhirContext, 'audit' | 'logger' | 'metrics' | 'publicBaseUrl' | 'verifier' | 'failedTokens' | 'consent'>): Guard {
  const audit = auditing(ctx);
  const checks = [authenticate(ctx), jsonOnly, consentReady(ctx)];
  return (interaction) => [auditTrailOpen(ctx), audit(interaction), ...checks];
}

/** No access that could not be recorded (libs/access `refuseWhileAuditFull`): a 503, and nothing else happens. */
function auditTrailOpen(ctx: Pick<FhirContext, 'audit'>): RequestHandler {
  return (_req, res, next) => {
    refuseWhileAuditFull(ctx.audit, res);
    next();
  };
}
