import express from 'express';
import { z } from 'zod';
import type { PseudonymKey } from '@imaging-facade/consent';
import { checkNodeSettings, nodeSettingsOf, nodeSettingsShape, resolveLogPseudonymKey } from '@imaging-facade/node-settings';
import { env, loadConfig } from '@imaging-facade/service-kit';
import { parseAccounts, usesDefaultAccount, type DeskAccount } from './auth/accounts';

const uri = z.string().regex(/^(https?:\/\/\S+|urn:[a-z0-9][a-z0-9-]{0,31}:\S+)$/i, 'must be an http(s) URL or a URN');

/** Express compiles `trust proxy` when it is set: a value it refuses is a configuration error here, not a crash at start. */
function checkTrustedProxies(value: string, context: z.RefinementCtx): void {
  const names = value.split(',').map((name) => name.trim());
  if (names.some((name) => /^(\d+|true|false)$/i.test(name) || name === '')) {
    context.addIssue({ code: 'custom', message: 'name the proxy (loopback, or its addresses or subnets): true or a number of hops would trust any client\'s X-Forwarded-For' });
    return;
  }
  try {
    express().set('trust proxy', names);
  } catch (error) {
    context.addIssue({ code: 'custom', message: `must be loopback, or addresses or subnets, comma-separated (${(error as Error).message})` });
  }
}

/** The consent desk's settings, one environment variable each. */
export const configSchema = z
  .object({
    /** Port of the desk page, the JSON API under /api, and /healthz, /readyz, /metrics. */
    CONSENT_HTTP_PORT: env.port(8001),
    /** Address the desk listens on: every interface by default, since reception desks reach it from their own PCs. */
    CONSENT_BIND: z.string().min(1).default('0.0.0.0'),
    /** Base URL of the FHIR R4 server where Consents are stored (the shared index). */
    FHIR_BASE_URL: env.httpUrl('http://localhost:8080/fhir'),
    /** A FHIR request that takes longer is abandoned (ms). */
    FHIR_TIMEOUT_MS: env.milliseconds(15_000),
    /** Kafka bootstrap brokers, comma-separated. */
    KAFKA_BROKERS: env.list('localhost:9092'),
    /** Prefix of every topic name, so that deployments or test runs can share a cluster. */
    KAFKA_TOPIC_PREFIX: z.string().default(''),
    /** The policy a Consent refers to (Consent.policy.uri); defaults to a URN naming the policy. */
    CONSENT_POLICY_URI: uri.optional(),
    /** Name of the organization that records the consents (Consent.organization.display). */
    CONSENT_ORGANIZATION: z.string().trim().min(1).default('Imaging Facade'),
    /** Optional identifier of that organization, as `system|value` (Consent.organization.identifier). */
    CONSENT_ORGANIZATION_IDENTIFIER: z
      .string()
      .regex(/^[^|\s]+\|.+$/, 'must be system|value')
      .optional(),
    /**
     * Desk accounts, comma-separated `user:password`; a password may be given hashed as
     * `scrypt$<salt>$<hash>` (see `consent-desk-hash-password`). Local default: `desk:desk`.
     */
    CONSENT_DESK_ACCOUNTS: z.string().default('desk:desk'),
    /** A desk session ends after this long without use (ms). */
    CONSENT_SESSION_IDLE_MS: env.milliseconds(30 * 60_000),
    /** A desk session ends this long after its sign-in, used or not (ms): a shift, then a new sign-in. */
    CONSENT_SESSION_MAX_MS: env.milliseconds(12 * 3_600_000),
    /** Failed sign-ins (page and API) from one client address before it is locked out for CONSENT_LOCKOUT_SECONDS. */
    CONSENT_MAX_FAILED_SIGN_INS_PER_CLIENT: env.positiveInt(20),
    /** Consecutive failed sign-ins of one account before it is locked out for CONSENT_LOCKOUT_SECONDS. */
    CONSENT_MAX_FAILED_SIGN_INS_PER_ACCOUNT: env.positiveInt(5),
    /** How long a lock-out lasts, and the window failed sign-ins are counted in, in seconds. */
    CONSENT_LOCKOUT_SECONDS: env.positiveInt(900),
    /**
     * The reverse proxy that serves the desk over HTTPS, as Express's `trust proxy`: `loopback`, or its
     * addresses or subnets (comma-separated). Unset: none, and the client is the connection's address.
     * Set: the client is the one the proxy forwards (X-Forwarded-For: lockouts and the audit trail name
     * it), and X-Forwarded-Proto=https makes the cookies Secure. Not `true` nor a number of hops: those
     * trust whoever connects, and the desk listens on every interface.
     */
    CONSENT_TRUST_PROXY: z.string().trim().min(1).superRefine(checkTrustedProxies).optional(),
    /**
     * How often (ms) the desk compares the decisions topic with the desk Consents FHIR changed since
     * its last sweep, and announces FHIR's state of a patient where the topic's is older or
     * different: a decision stored by a desk that died before announcing it reaches every face within
     * this interval, without a restart. Not 0: such a refusal would stay unenforced.
     */
    CONSENT_RECONCILE_INTERVAL_MS: env.positiveInt(30_000),
    /**
     * How far back (ms) before the newest change a sweep has seen its next search begins: a FHIR
     * transaction's resources carry the instant it began and are seen once it commits, and the FHIR
     * server's clock may be set back. A change that becomes visible later than this is found by the
     * next start's reconciliation only.
     */
    CONSENT_RECONCILE_MARGIN_MS: env.milliseconds(5 * 60_000),
    /** The node-wide settings (FACADE_*): its consent policy, patient ID system, environment, log pseudonym key… */
    ...nodeSettingsShape,
    /** pino log level. */
    LOG_LEVEL: env.logLevel,
  })
  .transform((raw, context) => {
    checkNodeSettings(raw, context);
    const node = nodeSettingsOf(raw);
    let accounts: DeskAccount[] = [];
    try {
      accounts = parseAccounts(raw.CONSENT_DESK_ACCOUNTS);
    } catch (error) {
      context.addIssue({ code: 'custom', path: ['CONSENT_DESK_ACCOUNTS'], message: (error as Error).message });
      return z.NEVER;
    }
    if (raw.FACADE_ENV === 'production' && usesDefaultAccount(accounts)) {
      context.addIssue({
        code: 'custom',
        path: ['CONSENT_DESK_ACCOUNTS'],
        message: 'the default desk/desk account is refused in production: configure real desk accounts',
      });
      return z.NEVER;
    }
    const plain = accounts.filter((account) => account.kind === 'plain').map((account) => account.user);
    if (raw.FACADE_ENV === 'production' && plain.length > 0) {
      context.addIssue({
        code: 'custom',
        path: ['CONSENT_DESK_ACCOUNTS'],
        message: `passwords in clear are refused in production (${plain.join(', ')}): give each account its scrypt hash (services/consent/dist/hash-password.js)`,
      });
      return z.NEVER;
    }
    const [orgSystem, ...orgValue] = raw.CONSENT_ORGANIZATION_IDENTIFIER?.split('|') ?? [];
    return {
      httpPort: raw.CONSENT_HTTP_PORT,
      httpBind: raw.CONSENT_BIND,
      opsToken: node.opsToken,
      fhir: { baseUrl: raw.FHIR_BASE_URL, timeoutMs: raw.FHIR_TIMEOUT_MS },
      kafka: { brokers: raw.KAFKA_BROKERS, topicPrefix: raw.KAFKA_TOPIC_PREFIX },
      policy: node.consentPolicy,
      consent: {
        policyUri: raw.CONSENT_POLICY_URI ?? `urn:imaging-facade:consent-policy:${node.consentPolicy}`,
        organization: {
          name: raw.CONSENT_ORGANIZATION,
          identifier: orgSystem ? { system: orgSystem, value: orgValue.join('|') } : undefined,
        },
      },
      reconcile: { intervalMs: raw.CONSENT_RECONCILE_INTERVAL_MS, marginMs: raw.CONSENT_RECONCILE_MARGIN_MS },
      accounts,
      defaultPatientIdSystem: node.patientIdSystem,
      sessionIdleMs: raw.CONSENT_SESSION_IDLE_MS,
      sessionMaxMs: raw.CONSENT_SESSION_MAX_MS,
      trustProxy: raw.CONSENT_TRUST_PROXY,
      signInLimits: {
        perClient: raw.CONSENT_MAX_FAILED_SIGN_INS_PER_CLIENT,
        perAccount: raw.CONSENT_MAX_FAILED_SIGN_INS_PER_ACCOUNT,
        lockoutSeconds: raw.CONSENT_LOCKOUT_SECONDS,
      },
      environment: node.environment,
      /** The desk keeps its study catalogue under `<dataDir>/consent-desk/`. */
      dataDir: node.dataDir,
      /** FACADE_LOG_PSEUDONYM_KEY as set; `loadConsentConfig` resolves it. */
      logPseudonymKey: node.logPseudonymKey,
      logLevel: raw.LOG_LEVEL,
    };
  });

export type ConsentConfig = Omit<z.infer<typeof configSchema>, 'logPseudonymKey'> & {
  /** The key of the pseudonyms the desk logs instead of a patient identifier (libs/node-settings `resolveLogPseudonymKey`). */
  logPseudonymKey: PseudonymKey;
};

/** Reads and validates the desk's environment, and the node's log pseudonym key (a file of the data directory outside production). */
export function loadConsentConfig(environment: NodeJS.ProcessEnv = process.env): ConsentConfig {
  const config = loadConfig(configSchema, environment);
  return { ...config, logPseudonymKey: resolveLogPseudonymKey(config) };
}
