import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import express, { type Request, type Response, type Router } from 'express';
import { badRequest, OutcomeError, unauthorized } from '@imaging-facade/fhir-outcomes';
import { html } from '@imaging-facade/service-kit';

/**
 * The development issuer's sign-in for browser apps (the OHIF viewer): OAuth 2.0 authorization code
 * with PKCE (RFC 7636, S256 only) for public clients, as a real provider would do it, so that the
 * viewer signs in the way it will in production. Development accounts only, and the whole issuer is
 * refused under FACADE_ENV=production.
 */

export interface SignInSettings {
  /** Public clients and the redirect URIs each may use (exact match: no open redirect). */
  clients: ReadonlyArray<{ clientId: string; redirectUris: readonly string[] }>;
  /** How long an authorization code may be exchanged (s). */
  codeTtlSeconds: number;
  /** How long a browser stays signed in at the issuer (s): its later sign-ins skip the form. */
  sessionTtlSeconds?: number;
}

/** The browser's session at the issuer: an HttpOnly cookie scoped to the issuer's path. */
export const SESSION_COOKIE = 'facade_dev_session';
const DEFAULT_SESSION_TTL_SECONDS = 8 * 3600;

/**
 * Who signed in, per browser (single sign-on, as a real provider does): the next authorization
 * request of any registered client is answered without the form, unless it asks `prompt=login`.
 * In memory: a restart signs everyone out.
 */
export class SignInSessions {
  private readonly sessions = new Map<string, { account: Account; expiresAt: number }>();

  constructor(private readonly ttlSeconds = DEFAULT_SESSION_TTL_SECONDS) {}

  open(account: Account): { id: string; maxAgeSeconds: number } {
    this.sweep();
    const id = randomBytes(32).toString('base64url');
    this.sessions.set(id, { account, expiresAt: Date.now() + this.ttlSeconds * 1000 });
    return { id, maxAgeSeconds: this.ttlSeconds };
  }

  accountOf(id: string | undefined): Account | undefined {
    const session = id === undefined ? undefined : this.sessions.get(id);
    return session && session.expiresAt > Date.now() ? session.account : undefined;
  }

  close(id: string | undefined): void {
    if (id !== undefined) this.sessions.delete(id);
  }

  private sweep(): void {
    const now = Date.now();
    for (const [id, session] of this.sessions) {
      if (session.expiresAt <= now) this.sessions.delete(id);
    }
  }
}

/** The session cookie's value in a Cookie header. */
export function sessionCookieOf(header: string | undefined): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const [name, ...value] = part.trim().split('=');
    if (name === SESSION_COOKIE) return value.join('=');
  }
  return undefined;
}

/** A development account: who signs in, and the most its tokens may carry. */
export interface Account {
  user: string;
  password: string;
  name: string;
  /** Scopes it may be granted (the request narrows them). */
  allowed: RegExp;
  /** Scopes its tokens carry whatever the request asks: a role the user cannot shed (the GP's). */
  always?: readonly string[];
  patient?: string;
}

/** Development accounts, documented in the gateway's README. */
export const DEV_ACCOUNTS: readonly Account[] = [
  { user: 'clinician', password: 'clinician', name: 'Dr Dev Clinician', allowed: /^(openid|profile|fhirUser|offline_access|user\/(?!AuditEvent)[A-Za-z*]+\.[a-z*]+)$/ },
  // The radiation protection officer: dose Observations (read, search) and the dose dashboard's role scope, nothing else.
  { user: 'dose-officer', password: 'dose-officer', name: 'Dev Dose Officer', allowed: /^(openid|profile|fhirUser|dose-officer|user\/Observation\.(rs|read))$/ },
  // A GP: reads clinical data, and always carries the GP role (FACADE_GP_ROLE_SCOPE's default): studies show once reported.
  {
    user: 'gp',
    password: 'gp',
    name: 'Dr Dev GP',
    allowed: /^(openid|profile|fhirUser|offline_access|user\/(ImagingStudy|Patient|DocumentReference|Observation|Endpoint)\.(rs|r|s|read|search))$/,
    always: ['gp'],
  },
];

export interface Grant {
  clientId: string;
  redirectUri: string;
  codeChallenge: string;
  nonce?: string | undefined;
  scope: string;
  subject: string;
  name: string;
  patient?: string | undefined;
  expiresAt: number;
}

const VISIBLE_ASCII = /^[\x21-\x7e]{1,512}$/;

function same(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

export function pkceChallenge(verifier: string): string {
  return createHash('sha256').update(verifier).digest('base64url');
}

/** The authorization codes waiting to be exchanged: single use, short-lived. */
export class AuthorizationCodes {
  private readonly grants = new Map<string, Grant>();

  issue(grant: Grant): string {
    this.sweep();
    const code = randomBytes(32).toString('base64url');
    this.grants.set(code, grant);
    return code;
  }

  /** The grant of a code, checked against the exchange (RFC 6749 4.1.3, RFC 7636 4.6); the code is spent either way. */
  redeem(code: string, exchange: { clientId: string; redirectUri: string; codeVerifier: string }): Grant {
    const grant = this.grants.get(code);
    this.grants.delete(code);
    if (!grant || grant.expiresAt < Date.now()) {
      throw new OutcomeError(badRequest('invalid_grant: the code is unknown, used or expired'));
    }
    if (grant.clientId !== exchange.clientId || grant.redirectUri !== exchange.redirectUri) {
      throw new OutcomeError(badRequest('invalid_grant: the code was issued to another client or redirect URI'));
    }
    if (!/^[A-Za-z0-9\-._~]{43,128}$/.test(exchange.codeVerifier) || !same(pkceChallenge(exchange.codeVerifier), grant.codeChallenge)) {
      throw new OutcomeError(badRequest('invalid_grant: the code verifier does not match the challenge'));
    }
    return grant;
  }

  private sweep(): void {
    const now = Date.now();
    for (const [code, grant] of this.grants) {
      if (grant.expiresAt < now) this.grants.delete(code);
    }
  }
}

interface AuthorizeRequest {
  clientId: string;
  redirectUri: string;
  state?: string | undefined;
  nonce?: string | undefined;
  scope: string;
  codeChallenge: string;
  /** OpenID Connect `prompt`: `login` shows the form even with a session; `none` never does. */
  prompt?: 'login' | 'none' | undefined;
}

/** Checks an authorization request; errors before the redirect URI is trusted are shown, never redirected. */
export function parseAuthorizeRequest(query: Record<string, unknown>, settings: SignInSettings): AuthorizeRequest {
  const text = (name: string): string | undefined => (typeof query[name] === 'string' && query[name] !== '' ? (query[name] as string) : undefined);
  const clientId = text('client_id');
  const redirectUri = text('redirect_uri');
  const client = settings.clients.find((candidate) => candidate.clientId === clientId);
  if (!client || !redirectUri || !client.redirectUris.includes(redirectUri)) {
    throw new OutcomeError(badRequest('unknown client_id, or a redirect_uri not registered for it'));
  }
  if (text('response_type') !== 'code') throw new OutcomeError(badRequest('response_type must be code'));
  const codeChallenge = text('code_challenge');
  if (text('code_challenge_method') !== 'S256' || !codeChallenge || !/^[A-Za-z0-9\-_]{43}$/.test(codeChallenge)) {
    throw new OutcomeError(badRequest('PKCE is required: code_challenge with code_challenge_method=S256'));
  }
  for (const name of ['state', 'nonce', 'scope']) {
    const value = text(name);
    if (value !== undefined && !/^[\x20-\x7e]{1,2048}$/.test(value)) throw new OutcomeError(badRequest(`${name} is malformed`));
  }
  const prompts = (text('prompt') ?? '').split(' ');
  const prompt = prompts.includes('login') ? 'login' : prompts.includes('none') ? 'none' : undefined;
  return { clientId: client.clientId, redirectUri, state: text('state'), nonce: text('nonce'), scope: text('scope') ?? 'openid', codeChallenge, prompt };
}

function signInPage(request: AuthorizeRequest, problem?: string): string {
  const hidden = Object.entries({
    client_id: request.clientId,
    redirect_uri: request.redirectUri,
    state: request.state ?? '',
    nonce: request.nonce ?? '',
    scope: request.scope,
    code_challenge: request.codeChallenge,
    code_challenge_method: 'S256',
    response_type: 'code',
  }).map(([name, value]) => html`<input type="hidden" name="${name}" value="${value}">`);
  return html`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign in — Imaging Facade (development)</title>
<style>body{font:16px system-ui,sans-serif;max-width:28rem;margin:4rem auto;padding:0 1rem}label{display:block;margin:.8rem 0 .2rem}input[type=text],input[type=password]{width:100%;padding:.4rem;font-size:1rem}button{margin-top:1rem;padding:.5rem 1.2rem;font-size:1rem}.alert{color:#a00}</style></head>
<body><main><h1>Sign in</h1><p>Development issuer of Imaging Facade: <strong>${request.clientId}</strong> asks for <code>${request.scope}</code>.</p>
${problem ? html`<p class="alert" role="alert">${problem}</p>` : ''}
<form method="post" action="authorize">${hidden}
<label for="user">User name</label><input id="user" name="user" type="text" autocomplete="username" autofocus required>
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button></form></main></body></html>`.toString();
}

/** The scopes granted: those asked that the account may have. */
export function grantedScope(asked: string, account: Account): string {
  const granted = asked.split(/\s+/).filter((scope) => account.allowed.test(scope));
  return [...granted, ...(account.always ?? []).filter((scope) => !granted.includes(scope))].join(' ');
}

export function signInRouter(settings: SignInSettings, codes: AuthorizationCodes, sessions = new SignInSessions(settings.sessionTtlSeconds)): Router {
  const router = express.Router();
  /** Back to the client with a code for `account`'s grant of the request. */
  const redirectWithCode = (res: Response, request: AuthorizeRequest, account: Account): void => {
    const code = codes.issue({
      clientId: request.clientId,
      redirectUri: request.redirectUri,
      codeChallenge: request.codeChallenge,
      nonce: request.nonce,
      scope: grantedScope(request.scope, account),
      subject: account.user,
      name: account.name,
      patient: account.patient,
      expiresAt: Date.now() + settings.codeTtlSeconds * 1000,
    });
    redirectTo(res, request, { code });
  };
  // The form posts here, and the answer redirects to a registered client: both are allowed form targets.
  const formTargets = [...new Set(settings.clients.flatMap((client) => client.redirectUris.map((uri) => new URL(uri).origin)))].join(' ');
  const pageHeaders = (res: Response): void => {
    res.set('content-security-policy', `default-src 'none'; style-src 'unsafe-inline'; form-action 'self' ${formTargets}; frame-ancestors 'none'`);
    res.set('cache-control', 'no-store');
    res.set('referrer-policy', 'no-referrer');
  };
  router.get('/authorize', (req: Request, res: Response) => {
    const request = parseAuthorizeRequest(req.query as Record<string, unknown>, settings);
    pageHeaders(res);
    const account = request.prompt === 'login' ? undefined : sessions.accountOf(sessionCookieOf(req.headers.cookie));
    if (account) {
      redirectWithCode(res, request, account);
      return;
    }
    if (request.prompt === 'none') {
      redirectTo(res, request, { error: 'login_required' });
      return;
    }
    res.type('html').send(signInPage(request));
  });
  // OpenID Connect RP-initiated logout: the session ends; back to the app when it names one of its own pages.
  router.get('/logout', (req: Request, res: Response) => {
    sessions.close(sessionCookieOf(req.headers.cookie));
    res.set('set-cookie', sessionCookie(req, '', 0));
    pageHeaders(res);
    const back = typeof req.query.post_logout_redirect_uri === 'string' ? req.query.post_logout_redirect_uri : undefined;
    const registered = back !== undefined && settings.clients.some((client) => client.redirectUris.some((uri) => sameOrigin(uri, back)));
    if (registered) {
      res.redirect(303, back);
      return;
    }
    res.type('html').send(html`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Signed out</title></head><body><main><p>You are signed out of the development issuer.</p></main></body></html>`.toString());
  });
  router.post('/authorize', express.urlencoded({ extended: false, limit: '16kb' }), (req: Request, res: Response) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const request = parseAuthorizeRequest(body, settings);
    const user = typeof body.user === 'string' ? body.user : '';
    const password = typeof body.password === 'string' ? body.password : '';
    const account = DEV_ACCOUNTS.find((candidate) => same(candidate.user, user) && same(candidate.password, password));
    pageHeaders(res);
    if (!account) {
      res.status(401).type('html').send(signInPage(request, 'Wrong user name or password.'));
      return;
    }
    const session = sessions.open(account);
    res.set('set-cookie', sessionCookie(req, session.id, session.maxAgeSeconds));
    redirectWithCode(res, request, account);
  });
  return router;
}

function redirectTo(res: Response, request: AuthorizeRequest, parameters: Record<string, string>): void {
  const target = new URL(request.redirectUri);
  for (const [name, value] of Object.entries(parameters)) target.searchParams.set(name, value);
  if (request.state !== undefined) target.searchParams.set('state', request.state);
  res.redirect(303, target.toString());
}

/** The session cookie: HttpOnly, SameSite=Lax (sent on the top-level navigations of sign-ins), on the issuer's path only. */
function sessionCookie(req: Request, value: string, maxAgeSeconds: number): string {
  const secure = req.secure || req.headers['x-forwarded-proto'] === 'https' ? '; Secure' : '';
  return `${SESSION_COOKIE}=${value}; Path=${req.baseUrl || '/'}; Max-Age=${maxAgeSeconds}; HttpOnly; SameSite=Lax${secure}`;
}

function sameOrigin(a: string, b: string): boolean {
  try {
    return new URL(a).origin === new URL(b).origin;
  } catch {
    return false;
  }
}

/** `Bearer` of a userinfo request. */
export function bearerOf(req: Request): string {
  const match = /^Bearer\s+([\x21-\x7e]+)$/i.exec(req.headers.authorization ?? '');
  if (!match?.[1] || !VISIBLE_ASCII.test(match[1])) throw new OutcomeError(unauthorized('A bearer token is required'));
  return match[1];
}
