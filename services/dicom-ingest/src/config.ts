import path from 'node:path';
import { z } from 'zod';
import { nodeSettingsOf, nodeSettingsShape } from '@imaging-facade/node-settings';
import { env, loadConfig } from '@imaging-facade/service-kit';
import { parseAllowedCallers, type AllowedCaller } from './dimse/calling-ae-allow-list';

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
     * Largest A-ASSOCIATE-RQ we read, the only PDU an unassociated peer may send. 64 KiB holds well
     * over a hundred presentation contexts; a longer declared length is aborted before it is read.
     */
    DICOM_MAX_ASSOCIATE_RQ_LENGTH: z.coerce.number().int().min(1024).max(1_048_576).default(65_536),
    /** ARTIM (PS3.8 9.1.5): a connection that has not been associated within this time is closed (DCMTK: 30 s). */
    DICOM_ARTIM_TIMEOUT_MS: env.positiveInt(30_000),
    /**
     * Once associated, the longest the peer may stay silent while we wait for its next message
     * (DCMTK's DIMSE timeout); the association is then aborted. Time we take to answer does not count.
     */
    DICOM_IDLE_TIMEOUT_MS: env.positiveInt(120_000),
    /** Open associations at most; one more is rejected as transient (local limit exceeded). */
    DICOM_MAX_ASSOCIATIONS: env.positiveInt(50),
    /**
     * Open associations at most from one peer address; unset (the default): only DICOM_MAX_ASSOCIATIONS.
     * Keeps one host (a misbehaving one, or one that trickles bytes to hold associations) from
     * taking every slot. Set it above what the busiest sender opens at once (a PACS migrating).
     */
    DICOM_MAX_ASSOCIATIONS_PER_HOST: z.coerce.number().int().positive().optional(),
    /**
     * Calling AE titles allowed to associate, comma-separated, each optionally bound to an address or
     * CIDR range: `CT1@10.0.0.5,CT2,PACS@10.0.0.0/8`. Empty (the default): any caller. Others are
     * rejected ("calling AE title not recognized"). Production should set it.
     */
    DICOM_ALLOWED_CALLING_AE_TITLES: z
      .string()
      .default('')
      .transform((text, context): AllowedCaller[] | undefined => {
        if (text.trim() === '') {
          return undefined;
        }
        try {
          return parseAllowedCallers(text);
        } catch (error) {
          context.addIssue({ code: 'custom', message: error instanceof Error ? error.message : String(error) });
          return z.NEVER;
        }
      }),
    /** Port of DICOM over TLS (BCP 195 profiles, TLS 1.2 or later); unset: no TLS port. Needs the two files below. */
    DICOM_TLS_PORT: z.preprocess((value) => (value === '' ? undefined : value), z.coerce.number().int().min(0).max(65535).optional()),
    /** The node's certificate (PEM, may include the chain) for the TLS port. */
    DICOM_TLS_CERT_FILE: z.string().min(1).optional(),
    /** Its private key (PEM, unencrypted: keep the file readable by the service only). */
    DICOM_TLS_KEY_FILE: z.string().min(1).optional(),
    /** CA certificates (PEM) of the peers' certificates: when set, every TLS peer must present one it issued. */
    DICOM_TLS_CA_FILE: z.string().min(1).optional(),
    /**
     * On shutdown, how long associations already open may go on before they are aborted (an in-flight
     * C-STORE is always allowed to finish and be answered first).
     */
    DICOM_SHUTDOWN_GRACE_MS: env.milliseconds(10_000),
    /** Port of the ops endpoints: /healthz, /readyz, /metrics. */
    INGEST_HTTP_PORT: env.port(8010),
    /** Address of the ops endpoints: this host only by default (they serve operators, not modalities). */
    INGEST_HTTP_BIND: z.string().min(1).default('127.0.0.1'),
    /** Kafka bootstrap brokers, comma-separated. */
    KAFKA_BROKERS: env.list('localhost:9092'),
    /** Kafka client id, shown in broker logs and metrics. */
    KAFKA_CLIENT_ID: z.string().min(1).default('dicom-ingest'),
    /** Prefix of every topic name (lets several deployments or test runs share one cluster). */
    KAFKA_TOPIC_PREFIX: z.string().default(''),
    /** Where received instances, study indexes and pending markers are kept (one writer process per directory). */
    INGEST_STORAGE_DIR: z.string().min(1).optional(),
    /** A study is complete once no instance of it arrived for this long. */
    STUDY_QUIET_PERIOD_MS: env.milliseconds(5_000),
    /** Longest wait between two attempts to publish a study that failed to publish. */
    STUDY_PUBLISH_RETRY_MAX_MS: env.milliseconds(60_000),
    /**
     * The node-wide settings (FACADE_*): its UID is the Retrieve Location UID (XDS-I.b
     * repositoryUniqueId) of its manifests, its DICOMweb base their Retrieve URLs; the storage
     * directory defaults to `$FACADE_DATA_DIR/dicom`.
     */
    ...nodeSettingsShape,
    /** pino log level. */
    LOG_LEVEL: env.logLevel,
  })
  .superRefine((raw, context) => {
    if (raw.DICOM_TLS_PORT !== undefined && (raw.DICOM_TLS_CERT_FILE === undefined || raw.DICOM_TLS_KEY_FILE === undefined)) {
      context.addIssue({ code: 'custom', path: ['DICOM_TLS_PORT'], message: 'the TLS port needs DICOM_TLS_CERT_FILE and DICOM_TLS_KEY_FILE' });
    }
  })
  .transform((raw) => {
    const node = nodeSettingsOf(raw);
    return {
    dicom: {
      port: raw.DICOM_PORT,
      aeTitle: raw.DICOM_AE_TITLE,
      maxPduLength: raw.DICOM_MAX_PDU_LENGTH,
      maxAssociateRqLength: raw.DICOM_MAX_ASSOCIATE_RQ_LENGTH,
      timeouts: { artimMs: raw.DICOM_ARTIM_TIMEOUT_MS, idleMs: raw.DICOM_IDLE_TIMEOUT_MS },
      associationLimits: { total: raw.DICOM_MAX_ASSOCIATIONS, perHost: raw.DICOM_MAX_ASSOCIATIONS_PER_HOST },
      allowedCallers: raw.DICOM_ALLOWED_CALLING_AE_TITLES,
      tls:
        raw.DICOM_TLS_PORT === undefined || raw.DICOM_TLS_CERT_FILE === undefined || raw.DICOM_TLS_KEY_FILE === undefined
          ? undefined
          : { port: raw.DICOM_TLS_PORT, certFile: raw.DICOM_TLS_CERT_FILE, keyFile: raw.DICOM_TLS_KEY_FILE, caFile: raw.DICOM_TLS_CA_FILE },
      shutdownGraceMs: raw.DICOM_SHUTDOWN_GRACE_MS,
    },
    httpPort: raw.INGEST_HTTP_PORT,
    httpBind: raw.INGEST_HTTP_BIND,
    opsToken: node.opsToken,
    kafka: {
      brokers: raw.KAFKA_BROKERS,
      clientId: raw.KAFKA_CLIENT_ID,
      topicPrefix: raw.KAFKA_TOPIC_PREFIX,
    },
    storageDir: path.resolve(raw.INGEST_STORAGE_DIR ?? path.join(node.dataDir, 'dicom')),
    study: {
      quietPeriodMs: raw.STUDY_QUIET_PERIOD_MS,
      publishRetryMaxMs: raw.STUDY_PUBLISH_RETRY_MAX_MS,
    },
    manifest: {
      retrieveLocationUid: node.nodeUid,
      dicomWebBaseUrl: node.dicomWebBaseUrl,
    },
    logLevel: raw.LOG_LEVEL,
  };
  });

export type IngestConfig = z.infer<typeof schema>;

export function loadIngestConfig(environment: NodeJS.ProcessEnv = process.env): IngestConfig {
  return loadConfig(schema, environment);
}
