import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type JWK, type KeyLike } from 'jose';
import { InvalidTokenError, OidcVerifier, principalFrom, type VerifierSettings } from './oidc';

interface Key {
  kid: string;
  alg: 'RS256' | 'ES256';
  privateKey: KeyLike;
  jwk: JWK;
}

async function newKey(alg: 'RS256' | 'ES256', kid: string): Promise<Key> {
  const { privateKey, publicKey } = await generateKeyPair(alg);
  return { kid, alg, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

/** A real issuer over HTTP on a free loopback port: discovery and a JWKS whose keys a test can change. */
class FakeIssuer {
  published: Key[] = [];
  jwksFetches = 0;
  discoveryFetches = 0;
  private server: Server | undefined;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      res.setHeader('content-type', 'application/json');
      if (req.url === '/realm/.well-known/openid-configuration') {
        this.discoveryFetches++;
        res.end(JSON.stringify({ issuer: this.url, jwks_uri: `${this.url}/certs`, token_endpoint: `${this.url}/token` }));
      } else if (req.url === '/realm/certs') {
        this.jwksFetches++;
        res.end(JSON.stringify({ keys: this.published.map((key) => key.jwk) }));
      } else {
        res.statusCode = 404;
        res.end('{}');
      }
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server?.address() as AddressInfo).port}/realm`;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server?.close(() => resolve()));
  }

  sign(key: Key, claims: Record<string, unknown> = {}, options: { issuer?: string; audience?: string; expires?: string | number } = {}): Promise<string> {
    const jwt = new SignJWT({ scope: 'user/ImagingStudy.rs', client_id: 'app', ...claims })
      .setProtectedHeader({ alg: key.alg, kid: key.kid })
      .setIssuer(options.issuer ?? this.url)
      .setSubject('dr-who')
      .setAudience(options.audience ?? 'https://gw.example.org/fhir')
      .setIssuedAt();
    if (options.expires !== undefined) {
      jwt.setExpirationTime(options.expires);
    } else {
      jwt.setExpirationTime('5m');
    }
    return jwt.sign(key.privateKey);
  }
}

describe('OidcVerifier', () => {
  const issuer = new FakeIssuer();
  let rsa: Key;
  let ec: Key;
  const settings = (overrides: Partial<VerifierSettings> = {}): VerifierSettings => ({
    issuer: issuer.url,
    audience: 'https://gw.example.org/fhir',
    clockToleranceSeconds: 5,
    jwksCacheMaxAgeMs: 600_000,
    jwksCooldownMs: 0,
    discoveryMaxAgeMs: 3_600_000,
    ...overrides,
  });

  beforeAll(async () => {
    await issuer.start();
    [rsa, ec] = await Promise.all([newKey('RS256', 'rsa-1'), newKey('ES256', 'ec-1')]);
  });
  beforeEach(() => {
    issuer.published = [rsa, ec];
    issuer.jwksFetches = 0;
    issuer.discoveryFetches = 0;
  });
  afterAll(() => issuer.stop());

  test.each(['RS256', 'ES256'])('a valid %s token gives its principal', async (alg) => {
    const verifier = new OidcVerifier(settings());
    const principal = await verifier.verify(await issuer.sign(alg === 'RS256' ? rsa : ec, { patient: 'Patient/p1' }));
    expect(principal).toMatchObject({ issuer: issuer.url, subject: 'dr-who', clientId: 'app', patientId: 'p1' });
    expect(principal.scopes.map((scope) => scope.resourceType)).toEqual(['ImagingStudy']);
  });

  test('discovery and keys are fetched once for many tokens', async () => {
    const verifier = new OidcVerifier(settings());
    for (let i = 0; i < 20; i++) {
      await verifier.verify(await issuer.sign(rsa));
    }
    expect(issuer.discoveryFetches).toBe(1);
    expect(issuer.jwksFetches).toBe(1);
  });

  test.each([
    ['expired', async () => issuer.sign(rsa, {}, { expires: Math.floor(Date.now() / 1000) - 60 }), /expired/],
    ['for another audience', async () => issuer.sign(rsa, {}, { audience: 'https://other.example.org' }), /"aud"/],
    ['from another issuer', async () => issuer.sign(rsa, {}, { issuer: 'https://evil.example.org' }), /"iss"/],
    ['signed by a key the issuer does not publish', async () => issuer.sign(await newKey('RS256', 'rsa-1')), /not valid/],
    ['with a kid the issuer never published', async () => issuer.sign(await newKey('RS256', 'stranger')), /key the issuer does not publish/],
    ['not a JWT', async () => 'abc.def.ghi', /not valid/],
    [
      'signed with a shared secret (HS256)',
      async () => new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setIssuer(issuer.url).setAudience('https://gw.example.org/fhir').setExpirationTime('5m').sign(new TextEncoder().encode('x'.repeat(32))),
      /not valid/,
    ],
    ['without exp', async () => new SignJWT({}).setProtectedHeader({ alg: 'RS256', kid: 'rsa-1' }).setIssuer(issuer.url).setAudience('https://gw.example.org/fhir').sign(rsa.privateKey), /"exp"|not valid/],
  ])('a token %s is refused', async (_situation, make, message) => {
    const verifier = new OidcVerifier(settings());
    const token = await make();
    await expect(verifier.verify(token)).rejects.toThrow(InvalidTokenError);
    await expect(verifier.verify(token)).rejects.toThrow(message);
  });

  test('only a token the issuer signed is marked expired (the signature is checked first): a forged old token is no honest one', async () => {
    const verifier = new OidcVerifier(settings());
    const past = { expires: Math.floor(Date.now() / 1000) - 60 };
    const refusal = (token: string) => verifier.verify(token).then(() => undefined, (error: unknown) => error);
    expect(await refusal(await issuer.sign(rsa, {}, past))).toMatchObject({ name: 'InvalidTokenError', expired: true });
    expect(await refusal(await issuer.sign(await newKey('RS256', 'rsa-1'), {}, past))).toMatchObject({ name: 'InvalidTokenError', expired: false });
  });

  test('a token with a key id not seen yet makes the verifier fetch the keys again (rotation), and then passes', async () => {
    const verifier = new OidcVerifier(settings());
    await verifier.verify(await issuer.sign(rsa));
    expect(issuer.jwksFetches).toBe(1);
    const rotated = await newKey('RS256', 'rsa-2');
    issuer.published = [rotated];
    const principal = await verifier.verify(await issuer.sign(rotated));
    expect(principal.subject).toBe('dr-who');
    expect(issuer.jwksFetches).toBe(2);
  });

  test('after a rotation that retired the old key, tokens of the old key are refused', async () => {
    const verifier = new OidcVerifier(settings());
    await verifier.verify(await issuer.sign(rsa));
    const oldToken = await issuer.sign(rsa, { jti: 'another' });
    const rotated = await newKey('RS256', 'rsa-3');
    issuer.published = [rotated];
    await verifier.verify(await issuer.sign(rotated));
    await expect(verifier.verify(oldToken)).rejects.toThrow(InvalidTokenError);
  });

  test('unknown key ids do not make the verifier hammer the issuer during the cooldown', async () => {
    const verifier = new OidcVerifier(settings({ jwksCooldownMs: 60_000 }));
    await verifier.verify(await issuer.sign(rsa));
    const stranger = await newKey('RS256', 'stranger-2');
    for (let i = 0; i < 5; i++) {
      await expect(verifier.verify(await issuer.sign(stranger))).rejects.toThrow(InvalidTokenError);
    }
    expect(issuer.jwksFetches).toBe(1);
  });

  test('a discovery document naming another issuer is not trusted', async () => {
    const verifier = new OidcVerifier(settings({ issuer: `${issuer.url}/` }));
    await expect(verifier.probe()).rejects.toThrow(/another issuer/);
  });
});

describe('principalFrom', () => {
  test.each([
    ['SMART claims', { sub: 'u', client_id: 'c', scope: 'patient/*.rs', patient: 'p1' }, { clientId: 'c', patientId: 'p1' }],
    ['azp as the client, scp as the scopes', { sub: 'u', azp: 'c2', scp: ['user/Patient.rs'] }, { clientId: 'c2', patientId: undefined }],
    ['a patient given as a reference', { sub: 'u', cid: 'c3', patient: 'Patient/p9' }, { clientId: 'c3', patientId: 'p9' }],
    ['role scopes kept as written beside the resource scopes', { sub: 'u', scope: 'openid dose-officer  user/Observation.rs' }, { grantedScopes: ['openid', 'dose-officer', 'user/Observation.rs'] }],
    ['scp as an array, as written', { sub: 'u', scp: ['dose-officer', 7] }, { grantedScopes: ['dose-officer'] }],
    ['no scope at all: none', { sub: 'u' }, { grantedScopes: [] }],
  ])('%s', (_situation, payload, expected) => {
    expect(principalFrom(payload, 'https://idp')).toMatchObject(expected);
  });

  test.each([['1,2'], ['p1&_id=p2'], ['Patient/p1/../p2'], ['a'.repeat(65)]])('a patient claim that is not a FHIR id (%s) makes the token invalid', (patient) => {
    expect(() => principalFrom({ sub: 'u', scope: 'patient/*.rs', patient }, 'https://idp')).toThrow(InvalidTokenError);
  });
});

describe('OidcVerifier cache of verified tokens', () => {
  test('a token verified once is not checked again until it expires', async () => {
    const issuer = new FakeIssuer();
    await issuer.start();
    try {
      const key = await newKey('ES256', 'ec-cache');
      issuer.published = [key];
      const verifier = new OidcVerifier({
        issuer: issuer.url,
        audience: 'https://gw.example.org/fhir',
        clockToleranceSeconds: 0,
        jwksCacheMaxAgeMs: 600_000,
        jwksCooldownMs: 0,
        discoveryMaxAgeMs: 3_600_000,
      });
      const shortLived = await issuer.sign(key, {}, { expires: Math.floor(Date.now() / 1000) + 2 });
      await verifier.verify(shortLived);
      issuer.published = [];
      // Same text, still valid: answered from the cache even though the key is gone from the JWKS.
      await expect(verifier.verify(shortLived)).resolves.toMatchObject({ subject: 'dr-who' });
      await new Promise((resolve) => setTimeout(resolve, 2100));
      await expect(verifier.verify(shortLived)).rejects.toThrow(InvalidTokenError);
    } finally {
      await issuer.stop();
    }
  });
});
