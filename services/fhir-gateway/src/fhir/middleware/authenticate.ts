import type { RequestHandler } from 'express';
import { authenticateBearer } from '@imaging-facade/access';
import { exchangeOf, type FhirContext } from '../context';

/**
 * Who the request speaks for, from its bearer token (libs/access answers 401/503 as every face
 * does), and 429 with Retry-After for a client address that sent too many bad tokens. Runs after
 * the audit middleware: every refusal is an AuditEvent with a failure outcome.
 */
export function authenticate(ctx: Pick<FhirContext, 'verifier' | 'publicBaseUrl' | 'logger' | 'failedTokens'>): RequestHandler {
  return async (req, res, next) => {
    exchangeOf(res).principal = await authenticateBearer(req, res, ctx.verifier, ctx.publicBaseUrl, ctx.logger, ctx.failedTokens);
    next();
  };
}
