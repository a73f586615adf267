import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { isOutcomeError } from '@imaging-facade/fhir-outcomes';
import { AuthorizationCodes, DEV_ACCOUNTS, grantedScope, parseAuthorizeRequest, pkceChallenge, SESSION_COOKIE, signInRouter, type Account, type Grant } from './dev-sign-in';

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
    ['gp', 'openid fhirUser user/ImagingStudy.rs user/Patient.rs', 'openid fhirUser user/ImagingStudy.rs user/Patient.rs gp'],
    ['gp', 'openid gp user/ImagingStudy.rs', 'openid user/ImagingStudy.rs gp'],
    ['gp', 'openid dose-officer user/AuditEvent.rs user/Subscription.cruds', 'openid gp'],
  ])('%s asking "%s" is granted "%s"', (user, asked, granted) => {
    expect(grantedScope(asked, account(user))).toBe(granted);
  });
});

describe('single sign-on at the issuer (a browser signed in once is not asked again)', () => {
  let server: Server;
  let base: string;
  const codes = new AuthorizationCodes();

  beforeAll(async () => {
    const app = express();
    app.use('/oidc', signInRouter({ ...settings, sessionTtlSeconds: 3600 }, codes));
    server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/oidc`;
  });

  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const get = (path: string, cookie?: string) => fetch(`${base}${path}`, { redirect: 'manual', headers: cookie ? { cookie } : {} });
  const query = (overrides: Record<string, string> = {}) => `?${new URLSearchParams(authorize(overrides)).toString()}`;
  const signIn = async (): Promise<string> => {
    const response = await fetch(`${base}/authorize`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ ...authorize(), user: 'clinician', password: 'clinician' }).toString(),
    });
    expect(response.status).toBe(303);
    const cookie = response.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(new RegExp(`^${SESSION_COOKIE}=[\\w-]{43}; Path=/oidc; Max-Age=3600; HttpOnly; SameSite=Lax$`));
    return cookie.split(';')[0] as string;
  };
  const codeOf = (response: Response) => new URL(response.headers.get('location') ?? '').searchParams;

  test('signed in once, the next authorization request is answered with a code for the same account, without the form', async () => {
    const cookie = await signIn();
    const again = await get(`/authorize${query({ state: 'second' })}`, cookie);
    expect(again.status).toBe(303);
    const back = codeOf(again);
    expect(back.get('state')).toBe('second');
    const grant = codes.redeem(back.get('code') ?? '', { clientId: 'imaging-viewer', redirectUri: 'http://localhost:8002/viewer/callback', codeVerifier: verifier });
    expect([grant.subject, grant.scope]).toEqual(['clinician', 'openid user/ImagingStudy.rs']);
  });

  test.each([
    ['without a session', undefined, {}, 200],
    ['with a session the issuer does not know (a restart)', `${SESSION_COOKIE}=forged`, {}, 200],
    ['with prompt=login', 'signed-in', { prompt: 'login' }, 200],
  ])('%s, the form is shown', async (_situation, cookie, overrides, status) => {
    const response = await get(`/authorize${query(overrides)}`, cookie === 'signed-in' ? await signIn() : cookie);
    expect(response.status).toBe(status);
    expect(await response.text()).toContain('id="password"');
  });

  test('prompt=none without a session: back to the client with login_required, no form', async () => {
    const response = await get(`/authorize${query({ prompt: 'none' })}`);
    expect(response.status).toBe(303);
    expect([codeOf(response).get('error'), codeOf(response).get('code')]).toEqual(['login_required', null]);
  });

  test('after logout the session is gone: the form again; back to the app only on a registered origin', async () => {
    const cookie = await signIn();
    const out = await get(`/logout?post_logout_redirect_uri=${encodeURIComponent('http://localhost:8002/viewer/')}`, cookie);
    expect([out.status, out.headers.get('location'), out.headers.get('set-cookie')]).toEqual([303, 'http://localhost:8002/viewer/', `${SESSION_COOKIE}=; Path=/oidc; Max-Age=0; HttpOnly; SameSite=Lax`]);
    expect((await get(`/authorize${query()}`, cookie)).status).toBe(200);
    const elsewhere = await get(`/logout?post_logout_redirect_uri=${encodeURIComponent('https://evil.example/')}`);
    expect([elsewhere.status, elsewhere.headers.get('location')]).toEqual([200, null]);
  });
});
