import path from 'node:path';
import { z } from 'zod';
import { CONSENT_POLICIES, type ConsentPolicy } from '@imaging-facade/consent';
import { env, loadConfig } from '@imaging-facade/service-kit';

/** Where the development issuer lives on the gateway's own origin unless OIDC_ISSUER says otherwise. */
export const DEV_ISSUER_PATH = '/oidc';

const schema = z
  .object({
    /** TCP port of the gateway: FHIR under /fhir, the development issuer, and /healthz, /readyz, /metrics. */
    GATEWAY_HTTP_PORT: env.port(8000),
    /** Address the gateway listens on. */
    GATEWAY_BIND: z.string().min(1).default('0.0.0.0'),
    /** The FHIR base URL clients see: every link, fullUrl and Location is rewritten to it. */
    GATEWAY_PUBLIC_BASE_URL: env.httpUrl('http://localhost:8000/fhir'),
    /** The HAPI FHIR server behind the gateway (an internal address clients never see). */
    FHIR_BASE_URL: env.httpUrl('http://localhost:8080/fhir'),
    /** Longest wait for an answer of the FHIR server before the gateway answers 502. */
    FHIR_TIMEOUT_MS: env.milliseconds(30_000),
    /** Keep-alive connections the gateway holds open to the FHIR server. */
    FHIR_CONNECTIONS: env.positiveInt(32),
    /**
     * The OpenID Connect issuer whose tokens are accepted (its discovery document is read from
     * `<issuer>/.well-known/openid-configuration`). Required unless DEV_ISSUER_ENABLED is true, when
     * it defaults to the development issuer served by the gateway itself at `<origin>/oidc`. Kept
     * exactly as written (a trailing slash included): the `iss` claim must match it.
     */
    OIDC_ISSUER: z.url({ protocol: /^https?$/ }).optional(),
    /** The audience (`aud`) a token must name; defaults to GATEWAY_PUBLIC_BASE_URL. */
    OIDC_AUDIENCE: z.string().min(1).optional(),
    /** Accepted clock skew when checking `exp` and `nbf`, in seconds. */
    OIDC_CLOCK_TOLERANCE_SECONDS: z.coerce.number().int().min(0).max(300).default(5),
    /** How long the issuer's keys (JWKS) are used before they are fetched again, in ms. */
    OIDC_JWKS_CACHE_MAX_AGE_MS: env.milliseconds(10 * 60_000),
    /** A token signed with an unknown key id makes the gateway fetch the JWKS again, at most this often (ms). */
    OIDC_JWKS_COOLDOWN_MS: env.milliseconds(30_000),
    /** How long the issuer's discovery document is used before it is read again, in ms. */
    OIDC_DISCOVERY_MAX_AGE_MS: env.milliseconds(60 * 60_000),
    /**
     * Serve a development OpenID Connect issuer (discovery, JWKS, a token endpoint answering only
     * loopback callers). The local stack turns it on; FACADE_ENV=production refuses it.
     */
    DEV_ISSUER_ENABLED: env.flag(false),
    /**
     * Where the development issuer's browser sign-in may send users back to (the viewer's OAuth
     * callback), comma-separated, matched exactly; its public client id is `imaging-viewer`.
     */
    DEV_ISSUER_REDIRECT_URIS: env.list('http://localhost:8002/viewer/callback'),
    /** Lifetime of the development issuer's tokens, in seconds. */
    DEV_ISSUER_TOKEN_TTL_SECONDS: z.coerce.number().int().min(10).max(86_400).default(3600),
    /** "production" refuses the development issuer. */
    FACADE_ENV: z.enum(['development', 'test', 'production']).default('development'),
    /** Root of the stack's local data; the development issuer's keys are kept in `<dir>/fhir-gateway/`. */
    FACADE_DATA_DIR: z.string().min(1).default('./.data'),
    /** Kafka bootstrap brokers, comma-separated (the consent decisions topic is read from here). */
    KAFKA_BROKERS: env.list('localhost:9092'),
    /** Kafka client id, shown in broker logs and metrics. */
    KAFKA_CLIENT_ID: z.string().min(1).default('fhir-gateway'),
    /** Prefix of every topic name (lets several deployments or test runs share one cluster). */
    KAFKA_TOPIC_PREFIX: z.string().default(''),
    /**
     * What applies to a patient without any consent decision: `opt-out` shares, `opt-in` withholds.
     * Must be the deployment's policy, as the mapper and the consent service apply it.
     */
    CONSENT_POLICY: z.enum(CONSENT_POLICIES as [ConsentPolicy, ...ConsentPolicy[]]).default('opt-out'),
    /** AuditEvents are written to the FHIR server in batches of at most this many. */
    AUDIT_BATCH_SIZE: z.coerce.number().int().min(1).max(1000).default(200),
    /** AuditEvents waiting are written at least this often, in ms. */
    AUDIT_FLUSH_INTERVAL_MS: env.milliseconds(1000),
    /** AuditEvents kept in memory while the FHIR server does not take them; past it new ones are dropped (and counted in gateway_audit_events_total{outcome="dropped"}). */
    AUDIT_MAX_QUEUE: env.positiveInt(100_000),
    /** On shutdown, how long the gateway goes on trying to write the AuditEvents still waiting, in ms. */
    AUDIT_SHUTDOWN_FLUSH_MS: env.milliseconds(15_000),
    /** How long a Patient's identifiers (for consent decisions) are remembered, in ms. */
    PATIENT_CACHE_TTL_MS: env.milliseconds(5 * 60_000),
    /** pino log level. */
    LOG_LEVEL: env.logLevel,
  })
  .superRefine((raw, context) => {
    if (raw.DEV_ISSUER_ENABLED && raw.FACADE_ENV === 'production') {
      context.addIssue({ code: 'custom', path: ['DEV_ISSUER_ENABLED'], message: 'the development issuer is refused when FACADE_ENV=production' });
    }
    if (!raw.DEV_ISSUER_ENABLED && raw.OIDC_ISSUER === undefined) {
      context.addIssue({ code: 'custom', path: ['OIDC_ISSUER'], message: 'required unless DEV_ISSUER_ENABLED=true' });
    }
    if (raw.DEV_ISSUER_ENABLED && raw.OIDC_ISSUER !== undefined) {
      const issuer = new URL(raw.OIDC_ISSUER);
      const gateway = new URL(raw.GATEWAY_PUBLIC_BASE_URL);
      if (issuer.pathname === '/' || issuer.pathname.startsWith(gateway.pathname)) {
        context.addIssue({
          code: 'custom',
          path: ['OIDC_ISSUER'],
          message: 'with DEV_ISSUER_ENABLED the issuer is served by the gateway: give it a path of its own, outside the FHIR base',
        });
      }
    }
  })
  .transform((raw) => {
    const publicBase = new URL(raw.GATEWAY_PUBLIC_BASE_URL);
    const issuer = raw.OIDC_ISSUER ?? `${publicBase.origin}${DEV_ISSUER_PATH}`;
    return {
      http: { port: raw.GATEWAY_HTTP_PORT, host: raw.GATEWAY_BIND },
      publicBaseUrl: raw.GATEWAY_PUBLIC_BASE_URL,
      upstream: { baseUrl: raw.FHIR_BASE_URL, timeoutMs: raw.FHIR_TIMEOUT_MS, connections: raw.FHIR_CONNECTIONS },
      oidc: {
        issuer,
        audience: raw.OIDC_AUDIENCE ?? raw.GATEWAY_PUBLIC_BASE_URL,
        clockToleranceSeconds: raw.OIDC_CLOCK_TOLERANCE_SECONDS,
        jwksCacheMaxAgeMs: raw.OIDC_JWKS_CACHE_MAX_AGE_MS,
        jwksCooldownMs: raw.OIDC_JWKS_COOLDOWN_MS,
        discoveryMaxAgeMs: raw.OIDC_DISCOVERY_MAX_AGE_MS,
      },
      devIssuer: raw.DEV_ISSUER_ENABLED
        ? {
            issuer,
            /** The path the development issuer is mounted at on the gateway's server. */
            mountPath: new URL(issuer).pathname.replace(/\/+$/, ''),
            audience: raw.OIDC_AUDIENCE ?? raw.GATEWAY_PUBLIC_BASE_URL,
            tokenTtlSeconds: raw.DEV_ISSUER_TOKEN_TTL_SECONDS,
            keyFile: path.resolve(raw.FACADE_DATA_DIR, 'fhir-gateway', 'dev-issuer-keys.json'),
            signIn: { clients: [{ clientId: 'imaging-viewer', redirectUris: raw.DEV_ISSUER_REDIRECT_URIS }], codeTtlSeconds: 60 },
          }
        : undefined,
      kafka: { brokers: raw.KAFKA_BROKERS, clientId: raw.KAFKA_CLIENT_ID, topicPrefix: raw.KAFKA_TOPIC_PREFIX },
      consentPolicy: raw.CONSENT_POLICY,
      audit: {
        batchSize: raw.AUDIT_BATCH_SIZE,
        flushIntervalMs: raw.AUDIT_FLUSH_INTERVAL_MS,
        maxQueue: raw.AUDIT_MAX_QUEUE,
        shutdownFlushMs: raw.AUDIT_SHUTDOWN_FLUSH_MS,
      },
      patientCacheTtlMs: raw.PATIENT_CACHE_TTL_MS,
      logLevel: raw.LOG_LEVEL,
    };
  });

export type GatewayConfig = z.infer<typeof schema>;

export function loadGatewayConfig(environment: NodeJS.ProcessEnv = process.env): GatewayConfig {
  return loadConfig(schema, environment);
}
