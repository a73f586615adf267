import path from 'node:path';
import { z } from 'zod';
import { nodeSettingsOf, nodeSettingsShape } from '@imaging-facade/node-settings';
import { env, loadConfig } from '@imaging-facade/service-kit';

const schema = z
  .object({
    /** TCP port of the DICOMweb service: DICOMweb under the public base's path, the viewer at /viewer, /healthz, /readyz, /metrics. */
    DICOMWEB_HTTP_PORT: env.port(8002),
    /** Address it listens on. */
    DICOMWEB_BIND: z.string().min(1).default('0.0.0.0'),
    /** The node-wide settings (FACADE_*): its public DICOMweb base (the service answers under its path), its data directory (the index lives in `<dir>/dicomweb/`), consent policy, patient ID system… */
    ...nodeSettingsShape,
    /** Where dicom-ingest stores the instances (read only here). Default `$FACADE_DATA_DIR/dicom`. */
    INGEST_STORAGE_DIR: z.string().min(1).optional(),
    /** The SQLite index of the node's studies (rebuilt from the study topic when deleted). Default `$FACADE_DATA_DIR/dicomweb/index.sqlite`. */
    DICOMWEB_INDEX_FILE: z.string().min(1).optional(),
    /** Largest `limit` a QIDO-RS search may ask for; larger values are lowered to it (with a Warning header). */
    DICOMWEB_MAX_RESULTS: env.positiveInt(1000),
    /**
     * Largest frame the rendered and thumbnail resources decode, in pixels (rows × columns × samples):
     * a 249 KB deflated instance of a 16,000 × 16,000 frame took 30 s and 3 GB to render. Larger
     * frames are answered 406; their frames and files are still served as stored.
     */
    DICOMWEB_MAX_RENDER_PIXELS: env.positiveInt(40_000_000),
    /**
     * Bytes of frames kept in memory for the next frame requests (the instances whose frames were asked
     * for last, as stored or decoded): a viewer asks a multi-frame instance for its frames one by one.
     * `0`: none kept, each request reads its frames from the file (an instance over 16 MiB, or over
     * an eighth of this, always is: only where its frames are is kept).
     */
    DICOMWEB_FRAME_CACHE_BYTES: z.coerce.number().int().min(0).default(256 * 1024 * 1024),
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
    /** How long a Patient's identifiers (patient tokens) are remembered, in ms. */
    PATIENT_CACHE_TTL_MS: env.milliseconds(5 * 60_000),
    /**
     * How often the Patient records linking other identifiers to the patients with a decision are
     * read again (ms): a refusal kept under a regional identifier governs the studies indexed under
     * the hospital's one of the same record. 0: only at start and at each decision change.
     */
    DICOMWEB_LINK_REFRESH_MS: env.milliseconds(5 * 60_000),
    /**
     * Bad tokens (malformed, forged, foreign, tampered; not expired ones) one client address may
     * present within DICOMWEB_FAILED_TOKEN_LOCKOUT_SECONDS before it is answered 429 with
     * Retry-After until that time is over; 0 turns the limit off. As at the gateway.
     */
    DICOMWEB_MAX_FAILED_TOKENS_PER_CLIENT: z.coerce.number().int().min(0).max(100_000).default(30),
    /** The window bad tokens are counted in, and the longest a lock-out lasts, in seconds. */
    DICOMWEB_FAILED_TOKEN_LOCKOUT_SECONDS: z.coerce.number().int().min(1).max(86_400).default(300),
    /** Where the OHIF viewer's build is (its `dist/`); the viewer is served at /viewer when set. */
    VIEWER_DIR: z.string().min(1).optional(),
    /** The OAuth client id the viewer signs in with (at OIDC_ISSUER, authorization code + PKCE). */
    VIEWER_CLIENT_ID: z.string().min(1).default('imaging-viewer'),
    /** The scopes the viewer asks for. */
    VIEWER_SCOPE: z.string().min(1).default('openid profile fhirUser user/ImagingStudy.rs user/Patient.rs user/Observation.rs'),
    /**
     * The dose dashboard's diagnostic reference levels: a JSON file (see the README, "Dose
     * dashboard"), checked at start. Unset: the French national levels the README lists.
     */
    DOSE_REFERENCE_LEVELS_FILE: z.string().min(1).optional(),
    /** The OAuth client id the dose dashboard signs in with (at OIDC_ISSUER, authorization code + PKCE; its redirect URI is `<origin>/dose/callback`). */
    DOSE_CLIENT_ID: z.string().min(1).default('imaging-viewer'),
    /** The scopes the dashboard asks for. */
    DOSE_SCOPE: z.string().min(1).default('openid profile dose-officer user/Observation.rs'),
    /** The role scope a token needs for /dose/api, besides user/Observation.rs. */
    DOSE_ROLE_SCOPE: z.string().regex(/^[\x21-\x7e]+$/).default('dose-officer'),
    /** Dose resources (summaries, their events and studies) one dashboard request may read; past it the period must be shortened. */
    DOSE_MAX_RESOURCES: env.positiveInt(100_000),
    LOG_LEVEL: env.logLevel,
  })
  .transform((raw) => {
    const node = nodeSettingsOf(raw);
    const dataDir = node.dataDir;
    return {
      http: { port: raw.DICOMWEB_HTTP_PORT, host: raw.DICOMWEB_BIND },
      opsToken: node.opsToken,
      publicBaseUrl: node.dicomWebBaseUrl,
      storageDir: path.resolve(raw.INGEST_STORAGE_DIR ?? path.join(dataDir, 'dicom')),
      indexFile: path.resolve(raw.DICOMWEB_INDEX_FILE ?? path.join(dataDir, 'dicomweb', 'index.sqlite')),
      maxResults: raw.DICOMWEB_MAX_RESULTS,
      maxRenderPixels: raw.DICOMWEB_MAX_RENDER_PIXELS,
      frameCacheBytes: raw.DICOMWEB_FRAME_CACHE_BYTES,
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
      consentPolicy: node.consentPolicy,
      gpRoleScope: node.gpRoleScope,
      /** The consent view's file, read on from at a restart. */
      consentViewDir: path.join(dataDir, 'dicomweb', 'consent-view'),
      defaultPatientIdSystem: node.patientIdSystem,
      patientCacheTtlMs: raw.PATIENT_CACHE_TTL_MS,
      linkRefreshMs: raw.DICOMWEB_LINK_REFRESH_MS,
      failedTokens:
        raw.DICOMWEB_MAX_FAILED_TOKENS_PER_CLIENT > 0
          ? { perClient: raw.DICOMWEB_MAX_FAILED_TOKENS_PER_CLIENT, lockoutSeconds: raw.DICOMWEB_FAILED_TOKEN_LOCKOUT_SECONDS }
          : undefined,
      viewer: raw.VIEWER_DIR ? { dir: path.resolve(raw.VIEWER_DIR), clientId: raw.VIEWER_CLIENT_ID, scope: raw.VIEWER_SCOPE } : undefined,
      dose: {
        referenceLevelsFile: raw.DOSE_REFERENCE_LEVELS_FILE ? path.resolve(raw.DOSE_REFERENCE_LEVELS_FILE) : undefined,
        clientId: raw.DOSE_CLIENT_ID,
        scope: raw.DOSE_SCOPE,
        roleScope: raw.DOSE_ROLE_SCOPE,
        maxResources: raw.DOSE_MAX_RESOURCES,
      },
      logLevel: raw.LOG_LEVEL,
    };
  });

export type DicomwebConfig = z.infer<typeof schema>;

export function loadDicomwebConfig(environment: NodeJS.ProcessEnv = process.env): DicomwebConfig {
  return loadConfig(schema, environment);
}
