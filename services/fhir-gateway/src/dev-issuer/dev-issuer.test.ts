import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { isOutcomeError } from '@imaging-facade/fhir-outcomes';
import { createLogger } from '@imaging-facade/service-kit';
import { DevIssuer, isLoopback } from './dev-issuer';

const logger = createLogger('test', 'silent');
const signIn = { clients: [{ clientId: 'imaging-viewer', redirectUris: ['http://localhost:8002/viewer/callback'] }], codeTtlSeconds: 60 };
const settings = (keyFile: string) => ({ issuer: 'http://localhost:8000/oidc', audience: 'http://localhost:8000/fhir', tokenTtlSeconds: 600, keyFile, signIn });

describe('DevIssuer', () => {
  const keyFile = path.join(mkdtempSync(path.join(tmpdir(), 'dev-issuer-')), 'keys', 'dev-issuer-keys.json');

  test('issues RS256 and ES256 tokens its JWKS verifies, with SMART claims', async () => {
    const issuer = await DevIssuer.start(settings(keyFile), logger);
    const keys = createLocalJWKSet(issuer.jwks());
    for (const alg of ['RS256', 'ES256']) {
      const { access_token: token, patient } = await issuer.issue({ scope: 'patient/*.rs', patient: 'p1', alg });
      expect(decodeProtectedHeader(token).alg).toBe(alg);
      const { payload } = await jwtVerify(token, keys, { issuer: 'http://localhost:8000/oidc', audience: 'http://localhost:8000/fhir' });
      expect(payload).toMatchObject({ scope: 'patient/*.rs', patient: 'p1', client_id: 'dev-client' });
      expect(patient).toBe('p1');
    }
  });

  test('the JWKS publishes no private key material', async () => {
    const issuer = await DevIssuer.start(settings(keyFile), logger);
    for (const key of issuer.jwks().keys) {
      expect(Object.keys(key)).not.toEqual(expect.arrayContaining(['d']));
      expect(key).not.toHaveProperty('p');
    }
  });

  test('keys are kept (mode 0600) so that tokens survive a restart', async () => {
    const first = await DevIssuer.start(settings(keyFile), logger);
    const token = (await first.issue({ scope: 'user/ImagingStudy.rs' })).access_token;
    const second = await DevIssuer.start(settings(keyFile), logger);
    await expect(jwtVerify(token, createLocalJWKSet(second.jwks()))).resolves.toBeDefined();
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
  });

  test.each([
    ['no scope', { scope: '' }],
    ['an unknown algorithm', { scope: 'user/Patient.rs', alg: 'HS256' }],
    ['a patient that is not an id', { scope: 'patient/*.rs', patient: 'Patient/../x' }],
  ])('refuses a request with %s', async (_situation, request) => {
    const issuer = await DevIssuer.start(settings(keyFile), logger);
    const error: unknown = await issuer.issue(request).catch((failure: unknown) => failure);
    expect(isOutcomeError(error) && error.status).toBe(400);
  });
});

describe('isLoopback', () => {
  test.each([
    ['127.0.0.1', true],
    ['127.1.2.3', true],
    ['::1', true],
    ['::ffff:127.0.0.1', true],
    ['10.0.0.5', false],
    ['::ffff:192.168.1.1', false],
    ['172.17.0.1', false],
    [undefined, false],
  ])('%s → %s', (address, expected) => {
    expect(isLoopback(address)).toBe(expected);
  });
});
