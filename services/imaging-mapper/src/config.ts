import { z } from 'zod';
import { DEFAULT_PATIENT_ID_SYSTEM, type PseudonymKey } from '@imaging-facade/consent';
import { checkNodeSettings, nodeSettingsOf, nodeSettingsShape, resolveLogPseudonymKey, type NodeSettings } from '@imaging-facade/node-settings';
import { env, loadConfig } from '@imaging-facade/service-kit';

/** The PatientID system used when a study has no IssuerOfPatientID (the consent desk's default too); see README. */
export { DEFAULT_PATIENT_ID_SYSTEM };

/** The mapper's settings, one environment variable each. */
export const configSchema = z
  .object({
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
    /** Address of the ops endpoints: this host only by default (the mapper serves nothing else). */
    MAPPER_HTTP_BIND: z.string().min(1).default('127.0.0.1'),
    /**
     * How often the Patient records of the patients with a decision are checked (ms): an identifier
     * linked or unlinked since, or a label that is not what the decisions say, makes the patient's
     * decisions applied again. 0: never.
     */
    MAPPER_RECORD_CHECK_INTERVAL_MS: env.milliseconds(15 * 60_000),
    /** The node-wide settings (FACADE_*): its UID, name, DICOMweb base, patient ID system, consent policy, log pseudonym key… */
    ...nodeSettingsShape,
    /** pino log level. */
    LOG_LEVEL: env.logLevel,
  })
  .superRefine(checkNodeSettings);

/** The environment as the schema reads it. */
export type MapperEnvironment = z.infer<typeof configSchema>;

/** The node settings of the configuration. */
export function nodeSettings(config: MapperEnvironment): NodeSettings {
  return nodeSettingsOf(config);
}

export type MapperConfig = MapperEnvironment & {
  /** The key of the pseudonyms the mapper logs instead of a patient identifier (libs/node-settings `resolveLogPseudonymKey`). */
  logPseudonymKey: PseudonymKey;
};

/** Reads and validates the mapper's environment, and the node's log pseudonym key (a file of the data directory outside production). */
export function loadMapperConfig(environment: NodeJS.ProcessEnv = process.env): MapperConfig {
  const config = loadConfig(configSchema, environment);
  return { ...config, logPseudonymKey: resolveLogPseudonymKey(nodeSettings(config)) };
}
