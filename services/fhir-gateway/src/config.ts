import path from 'node:path';
import { z } from 'zod';
import { nodeSettingsOf, nodeSettingsShape } from '@imaging-facade/node-settings';
import { env, loadConfig } from '@imaging-facade/service-kit';
import { parseCidr, parseOriginPattern } from './subscriptions/endpoint-rules';

/** Where the development issuer lives on the gateway's own origin unless OIDC_ISSUER says otherwise. */
export const DEV_ISSUER_PATH = '/oidc';

/** A comma-separated list that may be empty. */
const optionalList = z
  .string()
  .default('')
  .transform((value) => value.split(',').map((item) => item.trim()).filter((item) => item.length > 0));

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
     * Where the development issuer's browser sign-in may send users back to (the viewer's and the
     * dose dashboard's OAuth callbacks), comma-separated, matched exactly; their public client id is
     * `imaging-viewer`.
     */
    DEV_ISSUER_REDIRECT_URIS: env.list('http://localhost:8002/viewer/callback,http://localhost:8002/dose/callback'),
    /** Lifetime of the development issuer's tokens, in seconds. */
    DEV_ISSUER_TOKEN_TTL_SECONDS: z.coerce.number().int().min(10).max(86_400).default(3600),
    /** The node-wide settings (FACADE_*): FACADE_ENV=production refuses the development issuer; the issuer's keys are kept in `$FACADE_DATA_DIR/fhir-gateway/`; the consent policy… */
    ...nodeSettingsShape,
    /** Kafka bootstrap brokers, comma-separated (the consent decisions topic is read from here). */
    KAFKA_BROKERS: env.list('localhost:9092'),
    /** Kafka client id, shown in broker logs and metrics. */
    KAFKA_CLIENT_ID: z.string().min(1).default('fhir-gateway'),
    /** Prefix of every topic name (lets several deployments or test runs share one cluster). */
    KAFKA_TOPIC_PREFIX: z.string().default(''),
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
    /**
     * Bad tokens (malformed, forged, foreign, tampered; not expired ones) one client address may
     * present within GATEWAY_FAILED_TOKEN_LOCKOUT_SECONDS before it is answered 429 with
     * Retry-After, whatever it sends, until that time is over. 0 turns the limit off (behind a
     * proxy that hides the clients' addresses, for example).
     */
    GATEWAY_MAX_FAILED_TOKENS_PER_CLIENT: z.coerce.number().int().min(0).max(100_000).default(30),
    /** The window bad tokens are counted in, and the longest a lock-out lasts, in seconds. */
    GATEWAY_FAILED_TOKEN_LOCKOUT_SECONDS: z.coerce.number().int().min(1).max(86_400).default(300),
    /**
     * Where rest-hook Subscriptions may send notifications, outside FACADE_ENV=development:
     * comma-separated https origins (`https://hooks.example.org`, `https://hooks.example.org:8443`),
     * a host starting with `*.` for its subdomains (`https://*.partner.example`). Empty (the default):
     * no Subscription is accepted outside development. Development accepts any http(s) endpoint.
     */
    GATEWAY_SUBSCRIPTION_ALLOWED_ENDPOINTS: optionalList,
    /**
     * Addresses an allowed endpoint's host may resolve to although they are not public (loopback,
     * private, link-local, CGNAT…), comma-separated CIDRs or single addresses (`10.20.0.0/16`,
     * `fd12:3456::/48`, `192.0.2.10`). Empty (the default): public unicast addresses only.
     */
    GATEWAY_SUBSCRIPTION_ALLOWED_ADDRESSES: optionalList,
    /** pino log level. */
    LOG_LEVEL: env.logLevel,
  })
  .superRefine((raw, context) => {
    for (const [name, parse] of [
      ['GATEWAY_SUBSCRIPTION_ALLOWED_ENDPOINTS', parseOriginPattern],
      ['GATEWAY_SUBSCRIPTION_ALLOWED_ADDRESSES', parseCidr],
    ] as const) {
      for (const entry of raw[name]) {
        try {
          parse(entry);
        } catch (error) {
          context.addIssue({ code: 'custom', path: [name], message: `${entry}: ${(error as Error).message}` });
        }
      }
    }
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
    const node = nodeSettingsOf(raw);
    const publicBase = new URL(raw.GATEWAY_PUBLIC_BASE_URL);
    const issuer = raw.OIDC_ISSUER ?? `${publicBase.origin}${DEV_ISSUER_PATH}`;
    return {
      http: { port: raw.GATEWAY_HTTP_PORT, host: raw.GATEWAY_BIND },
      opsToken: node.opsToken,
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
            keyFile: path.join(node.dataDir, 'fhir-gateway', 'dev-issuer-keys.json'),
            signIn: { clients: [{ clientId: 'imaging-viewer', redirectUris: raw.DEV_ISSUER_REDIRECT_URIS }], codeTtlSeconds: 60 },
          }
        : undefined,
      kafka: { brokers: raw.KAFKA_BROKERS, clientId: raw.KAFKA_CLIENT_ID, topicPrefix: raw.KAFKA_TOPIC_PREFIX },
      consentPolicy: node.consentPolicy,
      gpRoleScope: node.gpRoleScope,
      /** The consent view's file, read on from at a restart. */
      consentViewDir: path.join(node.dataDir, 'fhir-gateway', 'consent-view'),
      audit: {
        batchSize: raw.AUDIT_BATCH_SIZE,
        flushIntervalMs: raw.AUDIT_FLUSH_INTERVAL_MS,
        maxQueue: raw.AUDIT_MAX_QUEUE,
        shutdownFlushMs: raw.AUDIT_SHUTDOWN_FLUSH_MS,
      },
      patientCacheTtlMs: raw.PATIENT_CACHE_TTL_MS,
      failedTokens:
        raw.GATEWAY_MAX_FAILED_TOKENS_PER_CLIENT > 0
          ? { perClient: raw.GATEWAY_MAX_FAILED_TOKENS_PER_CLIENT, lockoutSeconds: raw.GATEWAY_FAILED_TOKEN_LOCKOUT_SECONDS }
          : undefined,
      subscriptionEndpoints: {
        enforce: node.environment !== 'development',
        allowedOrigins: raw.GATEWAY_SUBSCRIPTION_ALLOWED_ENDPOINTS.map(parseOriginPattern),
        allowedAddresses: raw.GATEWAY_SUBSCRIPTION_ALLOWED_ADDRESSES.map(parseCidr),
      },
      logLevel: raw.LOG_LEVEL,
    };
  });

export type GatewayConfig = z.infer<typeof schema>;

export function loadGatewayConfig(environment: NodeJS.ProcessEnv = process.env): GatewayConfig {
  return loadConfig(schema, environment);
}
