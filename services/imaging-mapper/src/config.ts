import { z } from 'zod';
import { env } from '@imaging-facade/service-kit';

/** The PatientID system used when a study has no IssuerOfPatientID; see README. */
export const DEFAULT_PATIENT_ID_SYSTEM = 'https://imagingfacade.org/fhir/sid/patient-id';

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
   * of the site's own patient IDs. Set it to the hospital's MRN system (a URL or `urn:oid:`).
   */
  MAPPER_DEFAULT_PATIENT_ID_SYSTEM: z
    .string()
    .regex(/^(https?:\/\/\S+|urn:[a-z0-9][a-z0-9-]{0,31}:\S+)$/i, 'must be an http(s) URL or a URN')
    .default(DEFAULT_PATIENT_ID_SYSTEM),
  /** pino log level. */
  LOG_LEVEL: env.logLevel,
});

export type MapperConfig = z.infer<typeof configSchema>;
