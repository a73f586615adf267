import type { Request, Response } from 'express';
import { badGateway, OutcomeError, tooManyRequests, unauthorized } from '@imaging-facade/fhir-outcomes';
import { FailedSignIns, type Logger } from '@imaging-facade/service-kit';
import { InvalidTokenError, IssuerUnavailableError, type OidcVerifier, type Principal } from './oidc';

const BEARER = /^Bearer\s+([A-Za-z0-9\-_.~+/]+=*)\s*$/i;

/** Counts of failed tokens per client address (service-kit's FailedSignIns, as for the desk's sign-ins). */
export type FailedTokens = Pick<FailedSignIns, 'gate' | 'failed'>;

/** Failed tokens from one client address before it is locked out, and how long (also the counting window). */
export interface FailedTokenLimits {
  perClient: number;
  lockoutSeconds: number;
}

/** The counter a face keeps: a token names no account the client could be trusted on, so only its address counts. */
export function failedTokenCounter(limits: FailedTokenLimits): FailedTokens {
  return new FailedSignIns({ perClient: limits.perClient, perAccount: limits.perClient, lockoutSeconds: limits.lockoutSeconds });
}

/**
 * Who a request speaks for, from its `Authorization: Bearer` token, as every face of the node
 * answers it (RFC 6750): no token → 401 with `WWW-Authenticate: Bearer realm=…`; a malformed
 * header → `error="invalid_request"`; a token that fails a check → `error="invalid_token"` naming
 * the check (never a claim's value); the issuer unreachable → 503.
 *
 * With `failedTokens`, a client address that presented too many bad tokens (a malformed header, a
 * forged, foreign or tampered token) is answered 429 with Retry-After until its lock-out ends,
 * whatever it sends, before any token is checked. An expired token does not count: only the
 * issuer can sign one, and an honest app (the viewer's burst of requests after its session ran
 * out) would otherwise lock itself and its neighbours behind the same address out.
 */
export async function authenticateBearer(
  req: Request,
  res: Response,
  verifier: Pick<OidcVerifier, 'verify'>,
  realm: string,
  logger: Logger,
  failedTokens?: FailedTokens,
): Promise<Principal> {
  const client = req.socket.remoteAddress ?? 'unknown';
  if (failedTokens) {
    const gate = await failedTokens.gate(client);
    if (!gate.allowed) {
      res.set('retry-after', String(gate.retryAfterSeconds));
      throw new OutcomeError(tooManyRequests(`Too many invalid tokens from this client address: try again in ${gate.retryAfterSeconds} s`));
    }
  }
  const header = req.headers.authorization;
  if (!header) {
    res.set('www-authenticate', `Bearer realm="${realm}"`);
    throw new OutcomeError(unauthorized('A bearer token is required'));
  }
  const match = BEARER.exec(header);
  if (!match?.[1]) {
    await failedTokens?.failed(client);
    res.set('www-authenticate', `Bearer realm="${realm}", error="invalid_request"`);
    throw new OutcomeError(unauthorized('The Authorization header must be "Bearer <token>"'));
  }
  try {
    return await verifier.verify(match[1]);
  } catch (error) {
    if (error instanceof InvalidTokenError) {
      if (!error.expired) {
        await failedTokens?.failed(client);
      }
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
