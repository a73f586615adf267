import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { dicomUidIdentifier } from '@imaging-facade/fhir';
import { CONSENT_DECISION_V1, makeEvent, patientKey, topicName, type ConsentDecision, type PatientIdentifier } from '@imaging-facade/events';
import { freePort } from '../../../../test/support/ports';
import { startService, type RunningService } from '../../../../test/support/service-process';
import { newUid } from '../../../../test/support/uids';

export const FHIR_BASE_URL = (): string => process.env.FHIR_BASE_URL ?? 'http://localhost:8080/fhir';
export const KAFKA_BROKERS = (): string => process.env.KAFKA_BROKERS ?? 'localhost:9092';

export interface Gateway {
  base: string;
  origin: string;
  port: number;
  topicPrefix: string;
  /** The gateway's process as it runs now (a restart replaces it). */
  readonly process: RunningService;
  /** A token from the gateway's development issuer. */
  token: (scope: string, options?: { patient?: string; clientId?: string; sub?: string; alg?: string }) => Promise<string>;
  get: (pathOrUrl: string, token?: string, headers?: Record<string, string>) => Promise<{ status: number; body: any; headers: Headers }>;
  send: (method: string, pathOrUrl: string, token: string | undefined, body?: unknown) => Promise<{ status: number; body: any; headers: Headers }>;
  stop: () => Promise<void>;
  /** Stops the process (SIGTERM), runs `whileDown`, and starts another on the same port, topics and data directory. */
  restart: (whileDown?: () => Promise<void>) => Promise<void>;
}

/** The gateway as a real process on a free port, with its development issuer, its own topics and data directory. */
export async function startGateway(env: Record<string, string> = {}): Promise<Gateway> {
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const base = `${origin}/fhir`;
  const topicPrefix = `gw-${newUid().slice(-10)}.`;
  const serviceEnv = {
    GATEWAY_HTTP_PORT: String(port),
    GATEWAY_PUBLIC_BASE_URL: base,
    FHIR_BASE_URL: FHIR_BASE_URL(),
    KAFKA_BROKERS: KAFKA_BROKERS(),
    KAFKA_TOPIC_PREFIX: topicPrefix,
    DEV_ISSUER_ENABLED: 'true',
    FACADE_ENV: 'test',
    FACADE_DATA_DIR: mkdtempSync(path.join(tmpdir(), 'facade-gateway-')),
    AUDIT_FLUSH_INTERVAL_MS: '200',
    ...env,
  };
  let child = await startService('fhir-gateway', serviceEnv, port);
  const call = async (method: string, pathOrUrl: string, token: string | undefined, body?: unknown, headers: Record<string, string> = {}) => {
    const url = pathOrUrl.startsWith('http') ? pathOrUrl : `${base}/${pathOrUrl}`;
    const response = await fetch(url, {
      method,
      headers: {
        accept: 'application/fhir+json',
        'cache-control': 'no-cache',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body !== undefined ? { 'content-type': 'application/fhir+json' } : {}),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined, headers: response.headers };
  };
  return {
    base,
    origin,
    port,
    topicPrefix,
    get process() {
      return child;
    },
    token: async (scope, options = {}) => {
      const form = new URLSearchParams({ grant_type: 'client_credentials', scope });
      for (const [name, value] of Object.entries({ patient: options.patient, client_id: options.clientId, sub: options.sub, alg: options.alg })) {
        if (value !== undefined) {
          form.set(name, value);
        }
      }
      const response = await fetch(`${origin}/oidc/token`, { method: 'POST', body: form });
      const json = (await response.json()) as { access_token?: string };
      if (!response.ok || !json.access_token) {
        throw new Error(`no token: HTTP ${response.status} ${JSON.stringify(json)}`);
      }
      return json.access_token;
    },
    get: (pathOrUrl, token, headers) => call('GET', pathOrUrl, token, undefined, headers),
    send: (method, pathOrUrl, token, body) => call(method, pathOrUrl, token, body),
    stop: async () => {
      await child.stop();
    },
    restart: async (whileDown) => {
      await child.stop();
      await whileDown?.();
      child = await startService('fhir-gateway', serviceEnv, port);
    },
  };
}

/** Writes straight to the FHIR server (as the mapper would), bypassing the gateway. */
export async function fhirTransaction(entries: unknown[]): Promise<string[]> {
  const response = await fetch(FHIR_BASE_URL(), {
    method: 'POST',
    headers: { 'content-type': 'application/fhir+json', accept: 'application/fhir+json' },
    body: JSON.stringify({ resourceType: 'Bundle', type: 'transaction', entry: entries }),
  });
  const bundle = (await response.json()) as { entry?: Array<{ response?: { location?: string } }> };
  if (!response.ok) {
    throw new Error(`transaction failed: HTTP ${response.status} ${JSON.stringify(bundle).slice(0, 500)}`);
  }
  // "ImagingStudy/12/_history/1" → "ImagingStudy/12"
  return (bundle.entry ?? []).map((entry) => (entry.response?.location ?? '').split('/_history')[0] as string);
}

export const PATIENT_ID_SYSTEM = 'urn:oid:1.2.826.0.1.3680043.10.999';

export function patientEntry(fullUrl: string, value: string): unknown {
  return {
    fullUrl,
    resource: { resourceType: 'Patient', identifier: [{ system: PATIENT_ID_SYSTEM, value }], name: [{ family: 'Test', given: [value] }] },
    request: { method: 'POST', url: 'Patient' },
  };
}

export function studyEntry(patientReference: string, studyInstanceUid: string, extra: Record<string, unknown> = {}): unknown {
  return {
    resource: {
      resourceType: 'ImagingStudy',
      status: 'available',
      identifier: [dicomUidIdentifier(studyInstanceUid)],
      subject: { reference: patientReference },
      ...extra,
    },
    request: { method: 'POST', url: 'ImagingStudy' },
  };
}

/** Publishes a patient's complete consent state on the gateway's decisions topic, as the consent service does. */
export async function publishConsent(topicPrefix: string, patient: PatientIdentifier, decisions: ConsentDecision[]): Promise<void> {
  const kafka = new Kafka({ clientId: 'gateway-int-test', brokers: KAFKA_BROKERS().split(','), logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  try {
    const event = makeEvent(CONSENT_DECISION_V1.type, 'urn:imaging-facade:test', 'patient-decisions', { patient, decisions, updatedAt: new Date().toISOString() });
    await producer.send({
      topic: topicName(CONSENT_DECISION_V1.topic, topicPrefix),
      acks: -1,
      messages: [{ key: patientKey(patient), value: JSON.stringify(event), headers: { 'content-type': 'application/cloudevents+json' } }],
    });
  } finally {
    await producer.disconnect();
  }
}

export const refusal = (): ConsentDecision => ({
  scope: 'patient',
  provision: 'deny',
  consentId: 'consent-test',
  recordedAt: new Date().toISOString(),
  recordedBy: 'desk-test',
});
