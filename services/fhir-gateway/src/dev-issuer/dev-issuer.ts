import { randomUUID } from 'node:crypto';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import express, { type Router } from 'express';
import { exportJWK, generateKeyPair, importJWK, jwtVerify, SignJWT, type JWK, type KeyLike } from 'jose';
import { badRequest, forbidden, OutcomeError } from '@imaging-facade/fhir-outcomes';
import type { Logger } from '@imaging-facade/service-kit';
import { parseScope } from '@imaging-facade/access';
import { AuthorizationCodes, bearerOf, signInRouter, type Grant, type SignInSettings } from './dev-sign-in';

/**
 * A development OpenID Connect issuer, served by the gateway itself when DEV_ISSUER_ENABLED:
 * discovery, a JWKS with an RS256 and an ES256 key, and a token endpoint (client credentials,
 * no client authentication) that answers only callers on this machine. The gateway verifies its
 * tokens exactly as a real provider's: through the discovery document and the JWKS.
 */

export interface DevIssuerSettings {
  /** The issuer identifier, e.g. http://localhost:8000/oidc */
  issuer: string;
  /** The `aud` of every token (the gateway's OIDC_AUDIENCE). */
  audience: string;
  tokenTtlSeconds: number;
  /** Where the signing keys are kept, so that tokens survive a restart. */
  keyFile: string;
  /** Browser sign-in (authorization code with PKCE) for these public clients. */
  signIn: SignInSettings;
}

type Algorithm = 'RS256' | 'ES256';
const ALGORITHMS: readonly Algorithm[] = ['RS256', 'ES256'];

interface SigningKey {
  alg: Algorithm;
  kid: string;
  privateKey: KeyLike | Uint8Array;
  publicJwk: JWK;
}

interface StoredKeys {
  keys: Array<JWK & { alg: Algorithm; kid: string }>;
}

async function generate(alg: Algorithm): Promise<JWK & { alg: Algorithm; kid: string }> {
  const { privateKey } = await generateKeyPair(alg, { extractable: true });
  return { ...(await exportJWK(privateKey)), alg, kid: `${alg.toLowerCase()}-${randomUUID()}`, use: 'sig' };
}

/** The keys kept in `keyFile`, created (mode 0600) when it does not exist. */
export async function loadOrCreateKeys(keyFile: string, logger: Logger): Promise<SigningKey[]> {
  let stored: StoredKeys | undefined;
  try {
    stored = JSON.parse(await readFile(keyFile, 'utf8')) as StoredKeys;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new Error(`the development issuer's key file ${keyFile} cannot be read: ${(error as Error).message}`);
    }
  }
  const complete = (keys: StoredKeys | undefined): keys is StoredKeys => keys !== undefined && ALGORITHMS.every((alg) => keys.keys.some((key) => key.alg === alg));
  if (!complete(stored)) {
    stored = { keys: await Promise.all(ALGORITHMS.map(generate)) };
    await mkdir(path.dirname(keyFile), { recursive: true });
    const temporary = `${keyFile}.${process.pid}.tmp`;
    await writeFile(temporary, JSON.stringify(stored), { mode: 0o600 });
    await chmod(temporary, 0o600);
    await rename(temporary, keyFile);
    logger.info({ keyFile }, 'development issuer: new signing keys generated');
  }
  return Promise.all(
    stored.keys.map(async (jwk) => {
      const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...publicJwk } = jwk;
      return { alg: jwk.alg, kid: jwk.kid, privateKey: await importJWK(jwk, jwk.alg), publicJwk: { ...publicJwk, use: 'sig' } };
    }),
  );
}

/** True for a loopback peer: 127.0.0.0/8, ::1, or an IPv4-mapped loopback address. */
export function isLoopback(address: string | undefined): boolean {
  if (!address) {
    return false;
  }
  const v4 = address.startsWith('::ffff:') ? address.slice('::ffff:'.length) : address;
  return address === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4);
}

export interface TokenRequest {
  scope: string;
  /** The signed-in user's display name (browser sign-in). */
  name?: string | undefined;
  patient?: string | undefined;
  clientId?: string | undefined;
  subject?: string | undefined;
  alg?: string | undefined;
}

export class DevIssuer {
  private readonly codes = new AuthorizationCodes();

  private constructor(
    private readonly settings: DevIssuerSettings,
    private readonly keys: SigningKey[],
  ) {}

  static async start(settings: DevIssuerSettings, logger: Logger): Promise<DevIssuer> {
    return new DevIssuer(settings, await loadOrCreateKeys(settings.keyFile, logger));
  }

  discovery(): Record<string, unknown> {
    const base = this.settings.issuer.replace(/\/+$/, '');
    return {
      issuer: this.settings.issuer,
      jwks_uri: `${base}/jwks`,
      token_endpoint: `${base}/token`,
      authorization_endpoint: `${base}/authorize`,
      userinfo_endpoint: `${base}/userinfo`,
      end_session_endpoint: `${base}/logout`,
      grant_types_supported: ['authorization_code', 'client_credentials'],
      token_endpoint_auth_methods_supported: ['none'],
      response_types_supported: ['code'],
      code_challenge_methods_supported: ['S256'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: [...ALGORITHMS],
      scopes_supported: ['patient/*.rs', 'user/*.rs', 'system/*.rs', 'user/AuditEvent.rs', 'system/AuditEvent.rs', 'user/Subscription.crd', 'patient/Subscription.crd', 'system/Subscription.crd'],
    };
  }

  jwks(): { keys: JWK[] } {
    return { keys: this.keys.map((key) => key.publicJwk) };
  }

  /** Issues a token; throws an OutcomeError for a request that makes no sense. */
  async issue(request: TokenRequest): Promise<{ access_token: string; token_type: 'Bearer'; expires_in: number; scope: string; patient?: string }> {
    const scopes = request.scope.split(/\s+/).filter(Boolean);
    if (scopes.length === 0) {
      throw new OutcomeError(badRequest('scope is required, e.g. "user/ImagingStudy.rs"'));
    }
    const alg = (request.alg ?? 'RS256').toUpperCase();
    const key = this.keys.find((candidate) => candidate.alg === alg);
    if (!key) {
      throw new OutcomeError(badRequest(`alg must be one of ${ALGORITHMS.join(', ')}`));
    }
    if (request.patient !== undefined && !/^[A-Za-z0-9\-.]{1,64}$/.test(request.patient)) {
      throw new OutcomeError(badRequest('patient must be a Patient id'));
    }
    const clientId = request.clientId ?? 'dev-client';
    const userScoped = scopes.some((scope) => parseScope(scope)?.context === 'user');
    const subject = request.subject ?? (userScoped ? 'dev-user' : clientId);
    const claims: Record<string, unknown> = { scope: scopes.join(' '), client_id: clientId, azp: clientId, ...(request.name ? { name: request.name } : {}) };
    if (request.patient !== undefined) {
      claims.patient = request.patient;
    }
    const token = await new SignJWT(claims)
      .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'at+jwt' })
      .setIssuer(this.settings.issuer)
      .setSubject(subject)
      .setAudience(this.settings.audience)
      .setIssuedAt()
      .setNotBefore('0s')
      .setExpirationTime(`${this.settings.tokenTtlSeconds}s`)
      .setJti(randomUUID())
      .sign(key.privateKey);
    return {
      access_token: token,
      token_type: 'Bearer',
      expires_in: this.settings.tokenTtlSeconds,
      scope: scopes.join(' '),
      ...(request.patient !== undefined ? { patient: request.patient } : {}),
    };
  }

  /** The OpenID Connect ID token of a browser sign-in (audience: the client). */
  private async idToken(grant: Grant): Promise<string> {
    const key = this.keys.find((candidate) => candidate.alg === 'RS256') as SigningKey;
    return new SignJWT({ name: grant.name, ...(grant.nonce ? { nonce: grant.nonce } : {}) })
      .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT' })
      .setIssuer(this.settings.issuer)
      .setSubject(grant.subject)
      .setAudience(grant.clientId)
      .setIssuedAt()
      .setExpirationTime(`${this.settings.tokenTtlSeconds}s`)
      .sign(key.privateKey);
  }

  /** The claims of one of this issuer's access tokens, or a 401. */
  private async claimsOf(token: string): Promise<Record<string, unknown>> {
    for (const key of this.keys) {
      try {
        const publicKey = await importJWK(key.publicJwk, key.alg);
        return (await jwtVerify(token, publicKey, { issuer: this.settings.issuer, audience: this.settings.audience })).payload;
      } catch {
        // another key, or not ours
      }
    }
    throw new OutcomeError({ status: 401, outcome: { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'login', diagnostics: 'invalid token' }] } });
  }

  /** The issuer's routes, mounted at the issuer's path. */
  router(): Router {
    const router = express.Router();
    // Browser apps of other origins read the discovery, the keys, tokens and userinfo (bearer tokens, no cookies).
    router.use((req, res, next) => {
      res.set('access-control-allow-origin', '*');
      if (req.method === 'OPTIONS') {
        res.set('access-control-allow-methods', 'GET, POST, OPTIONS');
        res.set('access-control-allow-headers', 'Authorization, Content-Type');
        res.status(204).end();
        return;
      }
      next();
    });
    router.use(signInRouter(this.settings.signIn, this.codes));
    router.get('/userinfo', async (req, res) => {
      const claims = await this.claimsOf(bearerOf(req));
      res.set('cache-control', 'no-store');
      res.json({ sub: claims.sub, name: claims.name ?? claims.sub });
    });
    router.get('/.well-known/openid-configuration', (_req, res) => {
      res.json(this.discovery());
    });
    router.get('/jwks', (_req, res) => {
      res.json(this.jwks());
    });
    router.post('/token', express.urlencoded({ extended: false, limit: '16kb' }), express.json({ limit: '16kb' }), async (req, res) => {
      if (!isLoopback(req.socket.remoteAddress)) {
        throw new OutcomeError(forbidden('The development token endpoint answers only callers on this machine'));
      }
      const body = (req.body ?? {}) as Record<string, unknown>;
      const field = (name: string): string | undefined => (typeof body[name] === 'string' && body[name] !== '' ? (body[name] as string) : undefined);
      const grant = field('grant_type');
      res.set('cache-control', 'no-store');
      if (grant === 'authorization_code') {
        const granted = this.codes.redeem(field('code') ?? '', { clientId: field('client_id') ?? '', redirectUri: field('redirect_uri') ?? '', codeVerifier: field('code_verifier') ?? '' });
        const access = await this.issue({ scope: granted.scope || 'openid', patient: granted.patient, clientId: granted.clientId, subject: granted.subject, name: granted.name });
        res.json({ ...access, id_token: await this.idToken(granted) });
        return;
      }
      if (grant !== undefined && grant !== 'client_credentials') {
        throw new OutcomeError(badRequest('grant_type must be client_credentials or authorization_code'));
      }
      res.json(await this.issue({ scope: field('scope') ?? '', patient: field('patient'), clientId: field('client_id'), subject: field('sub'), alg: field('alg') }));
    });
    return router;
  }
}
