import { randomBytes } from 'node:crypto';
import { isOutcomeError } from '@imaging-facade/fhir-outcomes';
import { AuthorizationCodes, DEV_ACCOUNTS, grantedScope, parseAuthorizeRequest, pkceChallenge, type Account, type Grant } from './dev-sign-in';

const settings = { clients: [{ clientId: 'imaging-viewer', redirectUris: ['http://localhost:8002/viewer/callback'] }], codeTtlSeconds: 60 };
const verifier = randomBytes(32).toString('base64url');
const authorize = (overrides: Record<string, string | undefined> = {}) => ({
  client_id: 'imaging-viewer',
  redirect_uri: 'http://localhost:8002/viewer/callback',
  response_type: 'code',
  code_challenge: pkceChallenge(verifier),
  code_challenge_method: 'S256',
  scope: 'openid user/ImagingStudy.rs',
  state: 'xyz',
  ...overrides,
});
const message = (run: () => unknown): string => {
  try {
    run();
  } catch (error) {
    return isOutcomeError(error) ? error.message : String(error);
  }
  return 'accepted';
};

describe('authorization requests (the sign-in page is shown only for a registered client and redirect URI)', () => {
  test.each([
    ['a registered client with PKCE', {}, 'accepted'],
    ['an unknown client', { client_id: 'evil' }, 'unknown client_id'],
    ['a redirect URI not registered (no open redirect)', { redirect_uri: 'https://evil.example/cb' }, 'unknown client_id'],
    ['a redirect URI that only starts like a registered one', { redirect_uri: 'http://localhost:8002/viewer/callback/../../x' }, 'unknown client_id'],
    ['the implicit flow', { response_type: 'token' }, 'response_type must be code'],
    ['no PKCE', { code_challenge: undefined }, 'PKCE is required'],
    ['PKCE plain', { code_challenge_method: 'plain' }, 'PKCE is required'],
  ])('%s → %s', (_situation, overrides, expected) => {
    expect(message(() => parseAuthorizeRequest(authorize(overrides), settings))).toContain(expected);
  });
});

describe('authorization codes', () => {
  const grant = (): Grant => ({
    clientId: 'imaging-viewer',
    redirectUri: 'http://localhost:8002/viewer/callback',
    codeChallenge: pkceChallenge(verifier),
    scope: 'openid user/ImagingStudy.rs',
    subject: 'clinician',
    name: 'Dr Dev',
    expiresAt: Date.now() + 60_000,
  });
  const exchange = { clientId: 'imaging-viewer', redirectUri: 'http://localhost:8002/viewer/callback', codeVerifier: verifier };

  test('a code is exchanged once, with the verifier of its challenge', () => {
    const codes = new AuthorizationCodes();
    const code = codes.issue(grant());
    expect(codes.redeem(code, exchange).subject).toBe('clinician');
    expect(message(() => codes.redeem(code, exchange))).toContain('unknown, used or expired');
  });

  test.each([
    ['another verifier', { codeVerifier: randomBytes(32).toString('base64url') }, 'code verifier does not match'],
    ['another client', { clientId: 'other' }, 'another client'],
    ['another redirect URI', { redirectUri: 'http://localhost:8002/other' }, 'another client'],
  ])('refused with %s, and spent', (_situation, change, expected) => {
    const codes = new AuthorizationCodes();
    const code = codes.issue(grant());
    expect(message(() => codes.redeem(code, { ...exchange, ...change }))).toContain(expected);
    expect(message(() => codes.redeem(code, exchange))).toContain('unknown, used or expired');
  });

  test('an expired code is refused', () => {
    const codes = new AuthorizationCodes();
    const code = codes.issue({ ...grant(), expiresAt: Date.now() - 1 });
    expect(message(() => codes.redeem(code, exchange))).toContain('expired');
  });
});

describe('the development accounts: what each may be granted of what an app asks', () => {
  const account = (user: string): Account => DEV_ACCOUNTS.find((candidate) => candidate.user === user) as Account;
  test.each([
    ['clinician', 'openid user/ImagingStudy.rs user/Observation.rs', 'openid user/ImagingStudy.rs user/Observation.rs'],
    ['clinician', 'openid dose-officer user/Observation.rs', 'openid user/Observation.rs'],
    ['clinician', 'openid user/AuditEvent.rs', 'openid'],
    ['dose-officer', 'openid profile dose-officer user/Observation.rs', 'openid profile dose-officer user/Observation.rs'],
    ['dose-officer', 'openid user/ImagingStudy.rs user/Patient.rs user/*.rs dose-officer', 'openid dose-officer'],
    ['dose-officer', 'user/Observation.cruds user/AuditEvent.rs', ''],
  ])('%s asking "%s" is granted "%s"', (user, asked, granted) => {
    expect(grantedScope(asked, account(user))).toBe(granted);
  });
});
