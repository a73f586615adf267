import { z } from 'zod';
import { CONSENT_POLICIES, DEFAULT_PATIENT_ID_SYSTEM, type ConsentPolicy } from '@imaging-facade/consent';
import { dicomUidSchema } from '@imaging-facade/dicom';
import { env } from '@imaging-facade/service-kit';
import { DEFAULT_DICOMWEB_BASE_URL, DEFAULT_NODE_SETTINGS, type NodeSettings } from './node-settings';

/** The PatientID system used when a study has no IssuerOfPatientID (the consent desk's default too); see README. */
export { DEFAULT_PATIENT_ID_SYSTEM };

/** The mapper's settings, one environment variable each. */
export const configSchema = z.object({
  /** Base URL of the FHIR R4 server the Patient and ImagingStudy resources are written to. */
  FHIR_BASE_URL: env.httpUrl('http://localhost:8080/fhir'),
  /** A FHIR request that takes longer is abandoned and retried (ms). */
  FHIR_TIMEOUT_MS: env.milliseconds(30_000),
  /** Kafka bootstrap brokers, comma-separated. */
  KAFKA_BROKERS: env.list('localhost:9092'),
  /** Prefix of every topic name, so that deployments or test runs can share a cluster. */
  KAFKA_TOPIC_PREFIX: z.string().default(''),
  /** Consumer group of the mapper: every replica uses the same one. */
  MAPPER_GROUP_ID: z.string().min(1).default('imaging-mapper'),
  /** Port of /healthz, /readyz (Kafka + FHIR metadata) and /metrics. */
  MAPPER_HTTP_PORT: env.port(8011),
  /**
   * Patient.identifier.system for a PatientID that comes without IssuerOfPatientID: the namespace
   * of the site's own patient IDs. Set it to the hospital's MRN system (a URL or `urn:oid:`). It
   * must equal the consent desk's CONSENT_DEFAULT_PATIENT_ID_SYSTEM: both name a patient by it.
   */
  MAPPER_DEFAULT_PATIENT_ID_SYSTEM: z
    .string()
    .regex(/^(https?:\/\/\S+|urn:[a-z0-9][a-z0-9-]{0,31}:\S+)$/i, 'must be an http(s) URL or a URN')
    .default(DEFAULT_PATIENT_ID_SYSTEM),
  /**
   * The deployment's consent policy, the same variable as the consent desk's and the gateway's:
   * `opt-out`, a study is published unless its patient refused; `opt-in`, only once they agreed.
   */
  CONSENT_POLICY: z.enum(CONSENT_POLICIES as [ConsentPolicy, ...ConsentPolicy[]]).default('opt-out'),
  /** The node's DICOMweb base URL: its Endpoint's address; manifest (WADO-RS) URLs are built on it. */
  MAPPER_DICOMWEB_BASE_URL: env.httpUrl(DEFAULT_DICOMWEB_BASE_URL),
  /**
   * The node's UID, its Endpoint's identifier: the ingest's INGEST_RETRIEVE_LOCATION_UID (the
   * Retrieve Location UID in its manifests). Set both together.
   */
  MAPPER_NODE_UID: dicomUidSchema.default(DEFAULT_NODE_SETTINGS.nodeUid),
  /** The node's Endpoint.name. */
  MAPPER_NODE_NAME: z.string().trim().min(1).default(DEFAULT_NODE_SETTINGS.nodeName),
  /** Author and custodian of the manifests' DocumentReference: its name… */
  MAPPER_ORGANIZATION_NAME: z.string().trim().min(1).default(DEFAULT_NODE_SETTINGS.organization.name),
  /** …the system of its identifier (a URL or URN, e.g. `urn:oid:1.2.250.1.71.4.2.2` for a FINESS)… */
  MAPPER_ORGANIZATION_ID_SYSTEM: z
    .string()
    .regex(/^(https?:\/\/\S+|urn:[a-z0-9][a-z0-9-]{0,31}:\S+)$/i, 'must be an http(s) URL or a URN')
    .default(DEFAULT_NODE_SETTINGS.organization.system),
  /** …and its value. */
  MAPPER_ORGANIZATION_ID: z.string().trim().min(1).default(DEFAULT_NODE_SETTINGS.organization.value),
  /** `fr`: French DMP / DRIMbox codes (type IMG-KOS, class 31) and the INS in the manifests' DocumentReference. */
  MAPPER_NATIONAL_PROFILE: z.enum(['none', 'fr']).default('none'),
  /** pino log level. */
  LOG_LEVEL: env.logLevel,
});

/** The node settings of the configuration. */
export function nodeSettings(config: MapperConfig): NodeSettings {
  return {
    dicomWebBaseUrl: config.MAPPER_DICOMWEB_BASE_URL,
    nodeUid: config.MAPPER_NODE_UID,
    nodeName: config.MAPPER_NODE_NAME,
    organization: {
      name: config.MAPPER_ORGANIZATION_NAME,
      system: config.MAPPER_ORGANIZATION_ID_SYSTEM,
      value: config.MAPPER_ORGANIZATION_ID,
    },
    nationalProfile: config.MAPPER_NATIONAL_PROFILE,
  };
}

export type MapperConfig = z.infer<typeof configSchema>;
