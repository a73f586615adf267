import path from 'node:path';
import { z } from 'zod';
import { CONSENT_POLICIES, type ConsentPolicy } from '@imaging-facade/consent';
import { DEFAULT_PATIENT_ID_SYSTEM } from '@imaging-facade/events';
import { env, loadConfig } from '@imaging-facade/service-kit';

const schema = z
  .object({
    /** TCP port of the DICOMweb service: DICOMweb under the public base's path, the viewer at /viewer, /healthz, /readyz, /metrics. */
    DICOMWEB_HTTP_PORT: env.port(8002),
    /** Address it listens on. */
    DICOMWEB_BIND: z.string().min(1).default('0.0.0.0'),
    /**
     * The node's public DICOMweb base, as clients and the index see it: the Endpoint's address and the
     * manifests' Retrieve URLs. The service answers under its path; BulkDataURIs are built from it.
     */
    FACADE_DICOMWEB_BASE_URL: env.httpUrl('http://localhost:8002/dicomweb'),
    /** Root of the stack's local data: the index lives in `<dir>/dicomweb/`. */
    FACADE_DATA_DIR: z.string().min(1).default('./.data'),
    /** Where dicom-ingest stores the instances (read only here). Default `$FACADE_DATA_DIR/dicom`. */
    INGEST_STORAGE_DIR: z.string().min(1).optional(),
    /** The SQLite index of the node's studies (rebuilt from the study topic when deleted). Default `$FACADE_DATA_DIR/dicomweb/index.sqlite`. */
    DICOMWEB_INDEX_FILE: z.string().min(1).optional(),
    /** Largest `limit` a QIDO-RS search may ask for; larger values are lowered to it (with a Warning header). */
    DICOMWEB_MAX_RESULTS: env.positiveInt(1000),
    /** Kafka bootstrap brokers (the study snapshots and the consent decisions are read from here). */
    KAFKA_BROKERS: env.list('localhost:9092'),
    KAFKA_TOPIC_PREFIX: z.string().default(''),
    /** Consumer group of the index. */
    DICOMWEB_GROUP_ID: z.string().min(1).default('dicomweb-index'),
    /** The FHIR server (Patient identifiers of patient tokens; AuditEvents are written there). */
    FHIR_BASE_URL: env.httpUrl('http://localhost:8080/fhir'),
    FHIR_TIMEOUT_MS: env.milliseconds(30_000),
    /**
     * The OpenID Connect issuer whose tokens are accepted: the gateway's (SMART Imaging Access: the
     * token that found an ImagingStudy retrieves its images). Default: the gateway's development issuer.
     */
    OIDC_ISSUER: z.url({ protocol: /^https?$/ }).default('http://localhost:8000/oidc'),
    /** The audience a token must name: the gateway's FHIR base, as for the gateway. */
    OIDC_AUDIENCE: z.string().min(1).default('http://localhost:8000/fhir'),
    OIDC_CLOCK_TOLERANCE_SECONDS: z.coerce.number().int().min(0).max(300).default(5),
    /** What applies to a patient without a decision: the deployment's policy, as everywhere. */
    CONSENT_POLICY: z.enum(CONSENT_POLICIES as [ConsentPolicy, ...ConsentPolicy[]]).default('opt-out'),
    /** `Patient.identifier.system` of a PatientID without issuer: the mapper's, so that patients are named alike. */
    MAPPER_DEFAULT_PATIENT_ID_SYSTEM: z.string().min(1).default(DEFAULT_PATIENT_ID_SYSTEM),
    /** How long a Patient's identifiers (patient tokens) are remembered, in ms. */
    PATIENT_CACHE_TTL_MS: env.milliseconds(5 * 60_000),
    /** Where the OHIF viewer's build is (its `dist/`); the viewer is served at /viewer when set. */
    VIEWER_DIR: z.string().min(1).optional(),
    /** The OAuth client id the viewer signs in with (at OIDC_ISSUER, authorization code + PKCE). */
    VIEWER_CLIENT_ID: z.string().min(1).default('imaging-viewer'),
    /** The scopes the viewer asks for. */
    VIEWER_SCOPE: z.string().min(1).default('openid profile fhirUser user/ImagingStudy.rs user/Patient.rs'),
    LOG_LEVEL: env.logLevel,
  })
  .transform((raw) => {
    const dataDir = path.resolve(raw.FACADE_DATA_DIR);
    return {
      http: { port: raw.DICOMWEB_HTTP_PORT, host: raw.DICOMWEB_BIND },
      publicBaseUrl: raw.FACADE_DICOMWEB_BASE_URL,
      storageDir: path.resolve(raw.INGEST_STORAGE_DIR ?? path.join(dataDir, 'dicom')),
      indexFile: path.resolve(raw.DICOMWEB_INDEX_FILE ?? path.join(dataDir, 'dicomweb', 'index.sqlite')),
      maxResults: raw.DICOMWEB_MAX_RESULTS,
      kafka: { brokers: raw.KAFKA_BROKERS, topicPrefix: raw.KAFKA_TOPIC_PREFIX, groupId: raw.DICOMWEB_GROUP_ID },
      fhir: { baseUrl: raw.FHIR_BASE_URL, timeoutMs: raw.FHIR_TIMEOUT_MS },
      oidc: {
        issuer: raw.OIDC_ISSUER,
        audience: raw.OIDC_AUDIENCE,
        clockToleranceSeconds: raw.OIDC_CLOCK_TOLERANCE_SECONDS,
        jwksCacheMaxAgeMs: 10 * 60_000,
        jwksCooldownMs: 30_000,
        discoveryMaxAgeMs: 60 * 60_000,
      },
      consentPolicy: raw.CONSENT_POLICY,
      defaultPatientIdSystem: raw.MAPPER_DEFAULT_PATIENT_ID_SYSTEM,
      patientCacheTtlMs: raw.PATIENT_CACHE_TTL_MS,
      viewer: raw.VIEWER_DIR ? { dir: path.resolve(raw.VIEWER_DIR), clientId: raw.VIEWER_CLIENT_ID, scope: raw.VIEWER_SCOPE } : undefined,
      logLevel: raw.LOG_LEVEL,
    };
  });

export type DicomwebConfig = z.infer<typeof schema>;

export function loadDicomwebConfig(environment: NodeJS.ProcessEnv = process.env): DicomwebConfig {
  return loadConfig(schema, environment);
}
