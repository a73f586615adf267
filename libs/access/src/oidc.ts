import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload } from 'jose';
import { parseScopes, type ResourceScope } from './scopes';
import { referencedId } from './compartment';

/** The parts of an OpenID Provider's discovery document the gateway uses. */
export interface DiscoveryDocument {
  issuer: string;
  jwks_uri: string;
  token_endpoint?: string;
  authorization_endpoint?: string;
  grant_types_supported?: string[];
  scopes_supported?: string[];
  code_challenge_methods_supported?: string[];
  token_endpoint_auth_methods_supported?: string[];
  introspection_endpoint?: string;
  revocation_endpoint?: string;
}

export interface VerifierSettings {
  /** The issuer identifier, exactly as tokens carry it in `iss`. */
  issuer: string;
  audience: string;
  clockToleranceSeconds: number;
  jwksCacheMaxAgeMs: number;
  jwksCooldownMs: number;
  discoveryMaxAgeMs: number;
  /** Longest wait for the issuer's discovery document or keys. */
  fetchTimeoutMs?: number;
}

/** Who a valid token speaks for, and what it may do. */
export interface Principal {
  issuer: string;
  subject?: string | undefined;
  clientId?: string | undefined;
  scopes: ResourceScope[];
  /** Every scope the token grants, as written (role scopes such as `dose-officer` included, which `scopes` leaves out). */
  grantedScopes?: readonly string[] | undefined;
  /** The SMART launch context's patient (a Patient id). */
  patientId?: string | undefined;
  fhirUser?: string | undefined;
  tokenId?: string | undefined;
}

/** The token is not acceptable (answered 401). The reason names the check that failed, never a claim's value. */
export class InvalidTokenError extends Error {
  override readonly name = 'InvalidTokenError';

  /** `expired`: the issuer did sign it (the signature is checked before the claims), it is only too old. */
  constructor(
    message: string,
    readonly expired = false,
  ) {
    super(message);
  }
}

/** The issuer could not be asked (discovery or keys): not the client's fault (answered 502). */
export class IssuerUnavailableError extends Error {
  override readonly name = 'IssuerUnavailableError';
}

/** Asymmetric algorithms only: a shared secret would let anyone holding it mint tokens. */
export const ACCEPTED_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];

export function discoveryUrl(issuer: string): string {
  return `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
}

/**
 * Verifies bearer tokens (JWT) against an OpenID Connect issuer: the discovery document is read
 * once and kept (DISCOVERY_MAX_AGE), the keys (JWKS) are cached by jose and fetched again when a
 * token names a key id not seen yet (a rotation), at most once per cooldown. Checks signature,
 * `iss`, `aud`, `exp`/`nbf` with the configured clock tolerance.
 */
export class OidcVerifier {
  /**
   * Tokens verified recently, by their exact text: an app sends the same token with every request,
   * and a signature check costs more than the rest of the gateway's work on a request. An entry is
   * used until the token expires, for at most a minute (so a key withdrawn from the JWKS stops
   * working soon after), and the cache is bounded.
   */
  private readonly verified = new Map<string, { principal: Principal; until: number }>();
  private static readonly VERIFIED_MAX_AGE_MS = 60_000;
  private static readonly VERIFIED_MAX_ENTRIES = 10_000;
  private discovered: { at: number; document: DiscoveryDocument; keys: ReturnType<typeof createRemoteJWKSet> } | undefined;
  private pending: Promise<NonNullable<OidcVerifier['discovered']>> | undefined;

  constructor(private readonly settings: VerifierSettings) {}

  /** The issuer's discovery document (cached). */
  async discovery(): Promise<DiscoveryDocument> {
    return (await this.current()).document;
  }

  /** Readiness: the issuer answers its discovery document now. */
  async probe(): Promise<void> {
    await this.load();
  }

  async verify(token: string): Promise<Principal> {
    const now = Date.now();
    const known = this.verified.get(token);
    if (known && now < known.until) {
      return known.principal;
    }
    this.verified.delete(token);
    const { keys } = await this.current();
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keys, {
        issuer: this.settings.issuer,
        audience: this.settings.audience,
        algorithms: ACCEPTED_ALGORITHMS,
        clockTolerance: this.settings.clockToleranceSeconds,
        requiredClaims: ['exp'],
      }));
    } catch (error) {
      throw classify(error);
    }
    const principal = principalFrom(payload, this.settings.issuer);
    if (this.verified.size >= OidcVerifier.VERIFIED_MAX_ENTRIES) {
      // Maps iterate in insertion order: the oldest goes.
      this.verified.delete(this.verified.keys().next().value as string);
    }
    this.verified.set(token, { principal, until: Math.min((payload.exp as number) * 1000, now + OidcVerifier.VERIFIED_MAX_AGE_MS) });
    return principal;
  }

  private async current(): Promise<NonNullable<OidcVerifier['discovered']>> {
    if (this.discovered && Date.now() - this.discovered.at < this.settings.discoveryMaxAgeMs) {
      return this.discovered;
    }
    try {
      return await this.load();
    } catch (error) {
      if (this.discovered) {
        // The issuer is briefly away: the document and keys known keep working.
        return this.discovered;
      }
      throw error;
    }
  }

  private load(): Promise<NonNullable<OidcVerifier['discovered']>> {
    this.pending ??= this.fetchDiscovery().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  private async fetchDiscovery(): Promise<NonNullable<OidcVerifier['discovered']>> {
    const timeout = this.settings.fetchTimeoutMs ?? 5000;
    let document: DiscoveryDocument;
    try {
      const response = await fetch(discoveryUrl(this.settings.issuer), { signal: AbortSignal.timeout(timeout), headers: { accept: 'application/json' } });
      if (!response.ok) {
        throw new Error(`HTTP ${response.status}`);
      }
      document = (await response.json()) as DiscoveryDocument;
    } catch (error) {
      throw new IssuerUnavailableError(`the issuer's discovery document could not be read: ${(error as Error).message}`);
    }
    if (document.issuer !== this.settings.issuer) {
      throw new IssuerUnavailableError('the discovery document names another issuer than OIDC_ISSUER');
    }
    if (typeof document.jwks_uri !== 'string') {
      throw new IssuerUnavailableError('the discovery document has no jwks_uri');
    }
    const keys =
      this.discovered?.document.jwks_uri === document.jwks_uri
        ? this.discovered.keys
        : createRemoteJWKSet(new URL(document.jwks_uri), {
            cacheMaxAge: this.settings.jwksCacheMaxAgeMs,
            cooldownDuration: this.settings.jwksCooldownMs,
            timeoutDuration: timeout,
          });
    this.discovered = { at: Date.now(), document, keys };
    return this.discovered;
  }
}

function classify(error: unknown): Error {
  if (error instanceof errors.JWKSTimeout) {
    return new IssuerUnavailableError("the issuer's keys could not be fetched in time");
  }
  if (error instanceof errors.JWTExpired) {
    return new InvalidTokenError('the token has expired', true);
  }
  if (error instanceof errors.JWTClaimValidationFailed) {
    return new InvalidTokenError(`the token's "${error.claim}" claim is not acceptable`);
  }
  if (error instanceof errors.JWKSNoMatchingKey) {
    return new InvalidTokenError("the token is signed with a key the issuer does not publish");
  }
  if (error instanceof errors.JOSEError) {
    if (error.code === 'ERR_JOSE_GENERIC' || error.code === 'ERR_JWKS_INVALID') {
      return new IssuerUnavailableError(`the issuer's keys could not be read: ${error.message}`);
    }
    return new InvalidTokenError(`the token is not valid (${error.code})`);
  }
  if (error instanceof TypeError || (error as { code?: unknown }).code !== undefined) {
    return new IssuerUnavailableError(`the issuer's keys could not be fetched: ${(error as Error).message}`);
  }
  return new InvalidTokenError('the token is not valid');
}

/**
 * The patient in context: a FHIR id or a Patient reference. Anything else would be spliced into a
 * search as written (`1,2` is an OR of two patients): the token is refused rather than read.
 */
function patientIdOf(claim: string): string {
  const id = referencedId(claim, 'Patient') ?? claim;
  if (!/^[A-Za-z0-9\-.]{1,64}$/.test(id)) {
    throw new InvalidTokenError('the token\'s patient claim is not a FHIR Patient id');
  }
  return id;
}

/** The claims the gateway uses, SMART's and the common providers' spellings. */
export function principalFrom(payload: JWTPayload, issuer: string): Principal {
  const text = (value: unknown): string | undefined => (typeof value === 'string' && value.length > 0 ? value : undefined);
  const scope = payload.scope ?? payload.scp;
  const patientClaim = text(payload.patient);
  return {
    issuer,
    subject: text(payload.sub),
    clientId: text(payload.client_id) ?? text(payload.azp) ?? text(payload.cid),
    scopes: parseScopes(scope),
    grantedScopes: typeof scope === 'string' ? scope.split(/\s+/).filter(Boolean) : Array.isArray(scope) ? scope.filter((item): item is string => typeof item === 'string') : [],
    patientId: patientClaim === undefined ? undefined : patientIdOf(patientClaim),
    fhirUser: text(payload.fhirUser),
    tokenId: text(payload.jti),
  };
}
