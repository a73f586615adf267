import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from './ports';
import { startService, type RunningService } from './service-process';
import { newUid } from './uids';

export type ServiceName = 'dicom-ingest' | 'consent' | 'imaging-mapper';

export interface PipelineOptions {
  /** Also run the consent desk (services/consent), on the same topics and FHIR server. */
  consent?: boolean;
}

export interface Pipeline {
  dicomPort: number;
  ingestPort: number;
  mapperPort: number;
  /** The consent desk's port (page, /api, ops); only with `consent: true`. */
  consentPort: number;
  topicPrefix: string;
  storageDir: string;
  /** FACADE_DATA_DIR of the mapper and the desk (their views' and records' files), of this pipeline alone. */
  dataDir: string;
  /** The services as they run now (a restart replaces the process). */
  readonly ingest: RunningService;
  readonly mapper: RunningService;
  readonly consent: RunningService;
  /** Stops one service's process (SIGTERM, waits for its exit); resolves with its exit code. */
  stopService: (name: ServiceName) => Promise<number | null>;
  /** Starts it again, with the same ports and environment, and waits until it is ready. */
  startService: (name: ServiceName) => Promise<RunningService>;
  stop: () => Promise<void>;
}

/**
 * Our services as real processes on free ports, wired to the real Kafka broker and HAPI FHIR
 * server, with topics of their own (a unique prefix) so that suites never see each other's events.
 * `env` is given to every service (e.g. FACADE_CONSENT_POLICY, which the desk and the mapper share).
 */
export async function startPipeline(env: Record<string, string> = {}, options: PipelineOptions = {}): Promise<Pipeline> {
  const [dicomPort, ingestPort, mapperPort, consentPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const runId = newUid().slice(-10);
  const topicPrefix = `e2e-${runId}.`;
  const storageDir = mkdtempSync(path.join(tmpdir(), 'facade-storage-'));
  const dataDir = mkdtempSync(path.join(tmpdir(), 'facade-data-'));
  const common = {
    FACADE_DATA_DIR: dataDir,
    KAFKA_BROKERS: process.env.KAFKA_BROKERS ?? 'localhost:9092',
    FHIR_BASE_URL: process.env.FHIR_BASE_URL ?? 'http://localhost:8080/fhir',
    KAFKA_TOPIC_PREFIX: topicPrefix,
  };
  // In start order: the mapper last, once the topics it reads exist.
  const specs: Array<{ name: ServiceName; port: number; env: Record<string, string> }> = [
    {
      name: 'dicom-ingest',
      port: ingestPort,
      env: {
        ...common,
        DICOM_PORT: String(dicomPort),
        DICOM_AE_TITLE: 'FACADE',
        INGEST_HTTP_PORT: String(ingestPort),
        INGEST_STORAGE_DIR: storageDir,
        STUDY_QUIET_PERIOD_MS: '1500',
        ...env,
      },
    },
    ...(options.consent ? [{ name: 'consent' as const, port: consentPort, env: { ...common, CONSENT_HTTP_PORT: String(consentPort), ...env } }] : []),
    {
      name: 'imaging-mapper',
      port: mapperPort,
      env: { ...common, MAPPER_HTTP_PORT: String(mapperPort), MAPPER_GROUP_ID: `e2e-mapper-${runId}`, ...env },
    },
  ];
  const running = new Map<ServiceName, RunningService>();
  const spec = (name: ServiceName) => {
    const found = specs.find((candidate) => candidate.name === name);
    if (!found) throw new Error(`${name} is not part of this pipeline (startPipeline(env, { consent: true }) runs the consent desk)`);
    return found;
  };
  const start = async (name: ServiceName): Promise<RunningService> => {
    const { env: serviceEnv, port } = spec(name);
    const service = await startService(name, serviceEnv, port);
    running.set(name, service);
    return service;
  };
  const current = (name: ServiceName): RunningService => {
    const service = running.get(name);
    if (!service) throw new Error(`${name} is not running in this pipeline`);
    return service;
  };
  const stop = async () => {
    // Upstream first: nothing new reaches the mapper while it stops.
    for (const name of ['dicom-ingest', 'imaging-mapper', 'consent'] as const) {
      await running.get(name)?.stop();
    }
  };

  try {
    for (const { name } of specs) {
      await start(name);
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    dicomPort,
    ingestPort,
    mapperPort,
    consentPort,
    topicPrefix,
    storageDir,
    dataDir,
    get ingest() {
      return current('dicom-ingest');
    },
    get mapper() {
      return current('imaging-mapper');
    },
    get consent() {
      return current('consent');
    },
    stopService: (name) => current(name).stop(),
    startService: start,
    stop,
  };
}

/** Reads one counter from a service's Prometheus `/metrics`, summed over the given label filter. */
export async function metric(port: number, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) {
      continue;
    }
    const matches = Object.entries(labels).every(([key, value]) => line.includes(`${key}="${value}"`));
    if (matches) {
      total += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return total;
}
