import type { Request, Response } from 'express';
import { badGateway, OutcomeError, unauthorized } from '@imaging-facade/fhir-outcomes';
import type { Logger } from '@imaging-facade/service-kit';
import { InvalidTokenError, IssuerUnavailableError, type OidcVerifier, type Principal } from './oidc';

const BEARER = /^Bearer\s+([A-Za-z0-9\-_.~+/]+=*)\s*$/i;

/**
 * Who a request speaks for, from its `Authorization: Bearer` token, as every face of the node
 * answers it (RFC 6750): no token → 401 with `WWW-Authenticate: Bearer realm=…`; a malformed
 * header → `error="invalid_request"`; a token that fails a check → `error="invalid_token"` naming
 * the check (never a claim's value); the issuer unreachable → 503.
 */
export async function authenticateBearer(
  req: Request,
  res: Response,
  verifier: Pick<OidcVerifier, 'verify'>,
  realm: string,
  logger: Logger,
): Promise<Principal> {
  const header = req.headers.authorization;
  if (!header) {
    res.set('www-authenticate', `Bearer realm="${realm}"`);
    throw new OutcomeError(unauthorized('A bearer token is required'));
  }
  const match = BEARER.exec(header);
  if (!match?.[1]) {
    res.set('www-authenticate', `Bearer realm="${realm}", error="invalid_request"`);
    throw new OutcomeError(unauthorized('The Authorization header must be "Bearer <token>"'));
  }
  try {
    return await verifier.verify(match[1]);
  } catch (error) {
    if (error instanceof InvalidTokenError) {
      res.set('www-authenticate', `Bearer realm="${realm}", error="invalid_token", error_description="${error.message.replace(/"/g, "'")}"`);
      throw new OutcomeError(unauthorized(`Invalid token: ${error.message}`));
    }
    if (error instanceof IssuerUnavailableError) {
      logger.warn({ reason: error.message }, 'the identity provider could not be reached');
      throw new OutcomeError({ ...badGateway('The identity provider could not be reached'), status: 503 });
    }
    throw error;
  }
}
