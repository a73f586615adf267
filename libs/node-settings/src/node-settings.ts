import path from 'node:path';
import { z } from 'zod';
import { CONSENT_POLICIES, type ConsentPolicy, type PseudonymKey } from '@imaging-facade/consent';
import { dicomUidSchema } from '@imaging-facade/dicom';
import { DEFAULT_NODE_UID, DEFAULT_PATIENT_ID_SYSTEM } from '@imaging-facade/events';
import { env } from '@imaging-facade/service-kit';
import { LOG_PSEUDONYM_KEY_HINT, logPseudonymKeySchema } from './log-pseudonym-key';
import { timeZoneSchema } from './time-zone';

/**
 * The settings of the node as a whole, as opposed to one service's: several services must agree on
 * them (the ingest names the node in its manifests, the mapper in its Endpoint; the mapper and the
 * consent desk name a patient alike; every service applies the same consent policy). They are
 * declared here once, as FACADE_* variables, and every service spreads `nodeSettingsShape` into its
 * own schema, so a value cannot differ between services.
 */

const uri = z.string().regex(/^(https?:\/\/\S+|urn:[a-z0-9][a-z0-9-]{0,31}:\S+)$/i, 'must be an http(s) URL or a URN');

export const DEFAULT_DICOMWEB_BASE_URL = 'http://localhost:8002/dicomweb';
export const FACADE_ENVIRONMENTS = ['development', 'test', 'production'] as const;
export type FacadeEnvironment = (typeof FACADE_ENVIRONMENTS)[number];

export const nodeSettingsShape = {
  /** The node's UID: the Retrieve Location UID of its manifests, the identifier of its Endpoint. */
  FACADE_NODE_UID: dicomUidSchema.default(DEFAULT_NODE_UID),
  /** The node's name (its Endpoint.name). */
  FACADE_NODE_NAME: z.string().trim().min(1).default('Imaging Facade DICOMweb'),
  /**
   * The node's public DICOMweb base: served by dicomweb, the Endpoint's address, the manifests'
   * Retrieve URLs; BulkDataURIs are built on it.
   */
  FACADE_DICOMWEB_BASE_URL: env.httpUrl(DEFAULT_DICOMWEB_BASE_URL),
  /**
   * Patient.identifier.system of a PatientID sent without IssuerOfPatientID: the namespace of the
   * site's own patient IDs (its MRN system, a URL or `urn:oid:`). The mapper names patients by it and
   * the consent desk records decisions by it.
   */
  FACADE_PATIENT_ID_SYSTEM: uri.default(DEFAULT_PATIENT_ID_SYSTEM),
  /**
   * The system of an AccessionNumber sent without an issuer: the namespace of the RIS that assigns
   * them (a URL or `urn:oid:`). Unset: such accession numbers have no system, and a search by one
   * alone may find other patients' studies (another RIS's numbers).
   */
  FACADE_ACCESSION_NUMBER_SYSTEM: z.preprocess((value) => (value === '' ? undefined : value), uri.optional()),
  /**
   * The role scope of GPs' tokens: they see a study, and what derives from it (manifest, dose,
   * images), only once the study holds a validated report. Empty: no token waits for reports.
   */
  FACADE_GP_ROLE_SCOPE: z.string().regex(/^[\x21-\x7e]*$/, 'one scope: printable characters, no space').default('gp'),
  /** `opt-out`: a study is shared unless its patient refused; `opt-in`: only once they agreed. */
  FACADE_CONSENT_POLICY: z.enum(CONSENT_POLICIES as [ConsentPolicy, ...ConsentPolicy[]]).default('opt-out'),
  /** Author and custodian of the manifests: the organization's name… */
  FACADE_ORGANIZATION_NAME: z.string().trim().min(1).default('Imaging Facade'),
  /** …the system of its identifier (a URL or URN, e.g. `urn:oid:1.2.250.1.71.4.2.2` for a FINESS)… */
  FACADE_ORGANIZATION_ID_SYSTEM: uri.default('urn:ietf:rfc:3986'),
  /** …and its value (default: the node UID as a URN). */
  FACADE_ORGANIZATION_ID: z.string().trim().min(1).optional(),
  /** `fr`: French DMP / DRIMbox codes (type IMG-KOS, class 31) and the INS in the manifests. */
  FACADE_NATIONAL_PROFILE: z.enum(['none', 'fr']).default('none'),
  /**
   * The IANA time zone of the node's modalities: a DICOM date and time without
   * TimezoneOffsetFromUTC is local time there. Default: the host's zone.
   */
  FACADE_TIME_ZONE: timeZoneSchema.optional(),
  /**
   * `production` refuses development conveniences (the development issuer, the desk/desk account)
   * and requires FACADE_LOG_PSEUDONYM_KEY.
   */
  FACADE_ENV: z.enum(FACADE_ENVIRONMENTS).default('development'),
  /**
   * A Bearer token that opens every service's `/readyz` and `/metrics` to callers on other hosts (a
   * Prometheus, a kubelet); without it they answer this host (loopback) only.
   */
  FACADE_OPS_TOKEN: z.string().min(32, 'at least 32 characters').optional(),
  /** Root of the node's local data (stored instances, indexes, keys). */
  FACADE_DATA_DIR: z.string().min(1).default('./.data'),
  /**
   * The node's secret key of the pseudonyms that its logs write instead of a patient identifier
   * (HMAC-SHA-256): at least 32 random bytes, hex or base64, the same for every service of the node.
   * Required when FACADE_ENV=production; otherwise, when unset (or empty), one is generated once and
   * kept in `$FACADE_DATA_DIR/log-pseudonym.key` (see `resolveLogPseudonymKey`).
   */
  FACADE_LOG_PSEUDONYM_KEY: logPseudonymKeySchema,
  ...retiredSettings({
    MAPPER_NODE_UID: 'FACADE_NODE_UID',
    INGEST_RETRIEVE_LOCATION_UID: 'FACADE_NODE_UID',
    MAPPER_NODE_NAME: 'FACADE_NODE_NAME',
    MAPPER_DICOMWEB_BASE_URL: 'FACADE_DICOMWEB_BASE_URL',
    INGEST_DICOMWEB_BASE_URL: 'FACADE_DICOMWEB_BASE_URL',
    MAPPER_DEFAULT_PATIENT_ID_SYSTEM: 'FACADE_PATIENT_ID_SYSTEM',
    CONSENT_DEFAULT_PATIENT_ID_SYSTEM: 'FACADE_PATIENT_ID_SYSTEM',
    FACADE_DEFAULT_PATIENT_ID_SYSTEM: 'FACADE_PATIENT_ID_SYSTEM',
    CONSENT_POLICY: 'FACADE_CONSENT_POLICY',
    MAPPER_ORGANIZATION_NAME: 'FACADE_ORGANIZATION_NAME',
    MAPPER_ORGANIZATION_ID_SYSTEM: 'FACADE_ORGANIZATION_ID_SYSTEM',
    MAPPER_ORGANIZATION_ID: 'FACADE_ORGANIZATION_ID',
    MAPPER_NATIONAL_PROFILE: 'FACADE_NATIONAL_PROFILE',
  }),
};

/**
 * Variables that earlier versions read under a service's own name. Setting one is refused, naming
 * its replacement: silently ignoring it would fall back to a default, and a node would, say,
 * publish under the wrong UID.
 */
function retiredSettings<const T extends Record<string, string>>(replacements: T): { [K in keyof T]: z.ZodOptional<z.ZodUndefined> } {
  return Object.fromEntries(
    Object.entries(replacements).map(([name, replacement]) => [
      name,
      z.undefined({ error: `${name} is no longer read: set ${replacement}, the node-wide setting, instead` }).optional(),
    ]),
  ) as { [K in keyof T]: z.ZodOptional<z.ZodUndefined> };
}

type RawNodeSettings = z.infer<z.ZodObject<typeof nodeSettingsShape>>;

/** The node's settings, as services use them. */
export interface NodeSettings {
  nodeUid: string;
  nodeName: string;
  dicomWebBaseUrl: string;
  patientIdSystem: string;
  /** FACADE_ACCESSION_NUMBER_SYSTEM; undefined: accession numbers without an issuer have no system. */
  accessionNumberSystem: string | undefined;
  consentPolicy: ConsentPolicy;
  /** FACADE_GP_ROLE_SCOPE; undefined: no token waits for reports. */
  gpRoleScope: string | undefined;
  organization: { name: string; system: string; value: string };
  nationalProfile: 'none' | 'fr';
  timeZone: string;
  environment: FacadeEnvironment;
  /** Opens /readyz and /metrics to other hosts. */
  opsToken: string | undefined;
  /** Absolute. */
  dataDir: string;
  /**
   * The key of the log pseudonyms as configured (FACADE_LOG_PSEUDONYM_KEY); undefined: not set, and
   * `resolveLogPseudonymKey` keeps one in the data directory (outside production).
   */
  logPseudonymKey: PseudonymKey | undefined;
}

/** The typed node settings of a parsed environment (call it in a service schema's transform). */
export function nodeSettingsOf(raw: RawNodeSettings): NodeSettings {
  return {
    nodeUid: raw.FACADE_NODE_UID,
    nodeName: raw.FACADE_NODE_NAME,
    dicomWebBaseUrl: raw.FACADE_DICOMWEB_BASE_URL,
    patientIdSystem: raw.FACADE_PATIENT_ID_SYSTEM,
    accessionNumberSystem: raw.FACADE_ACCESSION_NUMBER_SYSTEM,
    consentPolicy: raw.FACADE_CONSENT_POLICY,
    gpRoleScope: raw.FACADE_GP_ROLE_SCOPE === '' ? undefined : raw.FACADE_GP_ROLE_SCOPE,
    organization: {
      name: raw.FACADE_ORGANIZATION_NAME,
      system: raw.FACADE_ORGANIZATION_ID_SYSTEM,
      value: raw.FACADE_ORGANIZATION_ID ?? `urn:oid:${raw.FACADE_NODE_UID}`,
    },
    nationalProfile: raw.FACADE_NATIONAL_PROFILE,
    timeZone: raw.FACADE_TIME_ZONE ?? Intl.DateTimeFormat().resolvedOptions().timeZone,
    environment: raw.FACADE_ENV,
    opsToken: raw.FACADE_OPS_TOKEN,
    dataDir: path.resolve(raw.FACADE_DATA_DIR),
    logPseudonymKey: raw.FACADE_LOG_PSEUDONYM_KEY,
  };
}

/**
 * The rules that involve more than one node setting: call it in a service schema's `superRefine`
 * (or its transform), so that a start is refused, naming the variable, like any bad value.
 */
export function checkNodeSettings(raw: Pick<RawNodeSettings, 'FACADE_ENV' | 'FACADE_LOG_PSEUDONYM_KEY'>, context: z.RefinementCtx): void {
  if (raw.FACADE_ENV === 'production' && raw.FACADE_LOG_PSEUDONYM_KEY === undefined) {
    context.addIssue({
      code: 'custom',
      path: ['FACADE_LOG_PSEUDONYM_KEY'],
      message: `required when FACADE_ENV=production: ${LOG_PSEUDONYM_KEY_HINT}`,
    });
  }
}

/** The node settings alone, parsed from an environment (tests and tools). */
export const nodeSettingsSchema = z.object(nodeSettingsShape).superRefine(checkNodeSettings).transform(nodeSettingsOf);
