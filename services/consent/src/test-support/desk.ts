import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pseudonymizer, type Pseudonymizer } from '@imaging-facade/consent';
import { createLogger, stopAll, type Stoppable } from '@imaging-facade/service-kit';
import { loadConsentConfig } from '../config';
import { startConsentDesk } from '../service';

export const DESK_AUTH = `Basic ${Buffer.from('desk:desk').toString('base64')}`;

/** HTTP Basic credentials, as an API client sends them. */
export const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

/** What a sign-in on the page answered: its status, Retry-After, page, cookies, and the cookie header to send next. */
export interface PageSignIn {
  status: number;
  retryAfter: string | null;
  body: string;
  setCookies: string[];
  cookie: string;
}

/** One sign-in on the desk page, as a browser makes it (the sign-in form's token and cookie); `headers` as a proxy adds them. */
export async function pageSignIn(desk: RunningDesk, user: string, password: string, headers: Record<string, string> = {}): Promise<PageSignIn> {
  const form = await fetch(`${desk.url}/login?lang=en`, { headers });
  const loginCookie = form.headers
    .getSetCookie()
    .map((header) => header.split(';')[0])
    .join('; ');
  const token = /name="_login" value="([^"]+)"/.exec(await form.text())?.[1] ?? '';
  const response = await fetch(`${desk.url}/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded', cookie: loginCookie },
    body: new URLSearchParams({ _login: token, user, password }).toString(),
  });
  const setCookies = response.headers.getSetCookie();
  return {
    status: response.status,
    retryAfter: response.headers.get('retry-after'),
    body: await response.text(),
    setCookies,
    cookie: setCookies.map((header) => header.split(';')[0]).join('; '),
  };
}

export interface RunningDesk {
  url: string;
  /** Every log line written so far (JSON). */
  logs: string[];
  /** What this desk's logs name a patient by (its node's log pseudonym key). */
  pseudonymize: Pseudonymizer;
  stop: () => Promise<void>;
}

/** The consent desk in this process, on a free port, against the test's Kafka and FHIR server. */
export async function startDesk(environment: Record<string, string>): Promise<RunningDesk> {
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      logs.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  const config = loadConsentConfig({
    KAFKA_BROKERS: process.env.KAFKA_BROKERS ?? 'localhost:9092',
    FHIR_BASE_URL: process.env.FHIR_BASE_URL ?? 'http://localhost:8080/fhir',
    CONSENT_HTTP_PORT: '0',
    LOG_LEVEL: 'info',
    // Its study catalogue's file: a directory of its own unless the test gives one (to restart a desk on it).
    FACADE_DATA_DIR: mkdtempSync(path.join(tmpdir(), 'facade-desk-')),
    ...environment,
  });
  const logger = createLogger('consent-desk', config.logLevel, sink);
  const parts: Stoppable[] = [];
  try {
    const { port } = await startConsentDesk(config, logger, (name, stop) => parts.push({ name, stop }));
    return { url: `http://127.0.0.1:${port}`, logs, pseudonymize: pseudonymizer(config.logPseudonymKey), stop: async () => void (await stopAll(parts, logger)) };
  } catch (error) {
    await stopAll(parts, logger);
    throw new Error(`the consent desk did not start: ${(error as Error).message}\n${logs.slice(-20).join('\n')}`);
  }
}

/** A JSON call to the desk API as a desk user (or with the given Authorization). */
export async function api(
  desk: RunningDesk,
  method: string,
  path: string,
  body?: unknown,
  /** null: no credentials at all. */
  authorization: string | null = DESK_AUTH,
): Promise<{ status: number; body: any; headers: Headers }> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (authorization) headers.authorization = authorization;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${desk.url}${path}`, { method, headers, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined, headers: response.headers };
}

/** A FHIR read or search on the test server, bypassing its cache. */
export async function fhirGet(path: string): Promise<any> {
  const response = await fetch(`${process.env.FHIR_BASE_URL ?? 'http://localhost:8080/fhir'}/${path}`, {
    headers: { accept: 'application/fhir+json', 'cache-control': 'no-cache' },
  });
  if (!response.ok) {
    throw new Error(`GET ${path}: HTTP ${response.status}`);
  }
  return response.json();
}
