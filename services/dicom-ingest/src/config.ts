import path from 'node:path';
import { z } from 'zod';
import { dicomUidSchema } from '@imaging-facade/dicom';
import { DEFAULT_NODE_UID } from '@imaging-facade/events';
import { env, loadConfig } from '@imaging-facade/service-kit';

/** AE titles are 1–16 characters of the default repertoire, without backslash (PS3.5 6.2, VR AE). */
const aeTitle = z
  .string()
  .trim()
  .regex(/^[\x20-\x5B\x5D-\x7E]{1,16}$/, 'an AE title has 1 to 16 printable ASCII characters and no backslash');

const schema = z
  .object({
    /** TCP port of the DICOM C-ECHO / C-STORE SCP. */
    DICOM_PORT: env.port(11112),
    /** Our AE title: associations calling any other title are rejected ("called AE title not recognized"). */
    DICOM_AE_TITLE: aeTitle.default('FACADE'),
    /**
     * Largest P-DATA PDU we accept from a peer. Larger PDUs mean fewer PDUs per instance; dcmjs-dimse
     * buffers one whole PDU in memory, so this also bounds the memory an association holds.
     */
    DICOM_MAX_PDU_LENGTH: z.coerce.number().int().min(4096).max(4_194_304).default(262_144),
    /**
     * On shutdown, how long associations already open may go on before they are aborted (an in-flight
     * C-STORE is always allowed to finish and be answered first).
     */
    DICOM_SHUTDOWN_GRACE_MS: env.milliseconds(10_000),
    /** Port of the ops endpoints: /healthz, /readyz, /metrics. */
    INGEST_HTTP_PORT: env.port(8010),
    /** Kafka bootstrap brokers, comma-separated. */
    KAFKA_BROKERS: env.list('localhost:9092'),
    /** Kafka client id, shown in broker logs and metrics. */
    KAFKA_CLIENT_ID: z.string().min(1).default('dicom-ingest'),
    /** Prefix of every topic name (lets several deployments or test runs share one cluster). */
    KAFKA_TOPIC_PREFIX: z.string().default(''),
    /** Root of the local data of the stack; the storage directory defaults to `$FACADE_DATA_DIR/dicom`. */
    FACADE_DATA_DIR: z.string().min(1).default('./.data'),
    /** Where received instances, study indexes and pending markers are kept (one writer process per directory). */
    INGEST_STORAGE_DIR: z.string().min(1).optional(),
    /** A study is complete once no instance of it arrived for this long. */
    STUDY_QUIET_PERIOD_MS: env.milliseconds(5_000),
    /** Longest wait between two attempts to publish a study that failed to publish. */
    STUDY_PUBLISH_RETRY_MAX_MS: env.milliseconds(60_000),
    /**
     * The node's Retrieve Location UID (its XDS-I.b repositoryUniqueId), written in the manifest it
     * makes for each study. The mapper's MAPPER_NODE_UID names the same node: set both together.
     */
    INGEST_RETRIEVE_LOCATION_UID: dicomUidSchema.default(DEFAULT_NODE_UID),
    /** The node's DICOMweb base URL: the Retrieve URL of each series in its manifests. */
    INGEST_DICOMWEB_BASE_URL: env.httpUrl('http://localhost:8002/dicomweb'),
    /** pino log level. */
    LOG_LEVEL: env.logLevel,
  })
  .transform((raw) => ({
    dicom: {
      port: raw.DICOM_PORT,
      aeTitle: raw.DICOM_AE_TITLE,
      maxPduLength: raw.DICOM_MAX_PDU_LENGTH,
      shutdownGraceMs: raw.DICOM_SHUTDOWN_GRACE_MS,
    },
    httpPort: raw.INGEST_HTTP_PORT,
    kafka: {
      brokers: raw.KAFKA_BROKERS,
      clientId: raw.KAFKA_CLIENT_ID,
      topicPrefix: raw.KAFKA_TOPIC_PREFIX,
    },
    storageDir: path.resolve(raw.INGEST_STORAGE_DIR ?? path.join(raw.FACADE_DATA_DIR, 'dicom')),
    study: {
      quietPeriodMs: raw.STUDY_QUIET_PERIOD_MS,
      publishRetryMaxMs: raw.STUDY_PUBLISH_RETRY_MAX_MS,
    },
    manifest: {
      retrieveLocationUid: raw.INGEST_RETRIEVE_LOCATION_UID,
      dicomWebBaseUrl: raw.INGEST_DICOMWEB_BASE_URL,
    },
    logLevel: raw.LOG_LEVEL,
  }));

export type IngestConfig = z.infer<typeof schema>;

export function loadIngestConfig(environment: NodeJS.ProcessEnv = process.env): IngestConfig {
  return loadConfig(schema, environment);
}
