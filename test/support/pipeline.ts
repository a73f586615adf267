import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from './ports';
import { startService, type RunningService } from './service-process';
import { newUid } from './uids';

export interface Pipeline {
  dicomPort: number;
  ingestPort: number;
  mapperPort: number;
  topicPrefix: string;
  storageDir: string;
  ingest: RunningService;
  mapper: RunningService;
  stop: () => Promise<void>;
}

/**
 * Our two services as real processes on free ports, wired to the real Kafka broker and HAPI FHIR
 * server, with topics of their own (a unique prefix) so that suites never see each other's events.
 */
export async function startPipeline(env: Record<string, string> = {}): Promise<Pipeline> {
  const [dicomPort, ingestPort, mapperPort] = [await freePort(), await freePort(), await freePort()];
  const runId = newUid().slice(-10);
  const topicPrefix = `e2e-${runId}.`;
  const storageDir = mkdtempSync(path.join(tmpdir(), 'facade-storage-'));
  const common = {
    KAFKA_BROKERS: process.env.KAFKA_BROKERS ?? 'localhost:9092',
    FHIR_BASE_URL: process.env.FHIR_BASE_URL ?? 'http://localhost:8080/fhir',
    KAFKA_TOPIC_PREFIX: topicPrefix,
  };
  const ingest = await startService(
    'dicom-ingest',
    {
      ...common,
      DICOM_PORT: String(dicomPort),
      DICOM_AE_TITLE: 'FACADE',
      INGEST_HTTP_PORT: String(ingestPort),
      INGEST_STORAGE_DIR: storageDir,
      STUDY_QUIET_PERIOD_MS: '1500',
      ...env,
    },
    ingestPort,
  );
  let mapper: RunningService;
  try {
    mapper = await startService(
      'imaging-mapper',
      { ...common, MAPPER_HTTP_PORT: String(mapperPort), MAPPER_GROUP_ID: `e2e-mapper-${runId}`, ...env },
      mapperPort,
    );
  } catch (error) {
    await ingest.stop();
    throw error;
  }
  return {
    dicomPort,
    ingestPort,
    mapperPort,
    topicPrefix,
    storageDir,
    ingest,
    mapper,
    stop: async () => {
      await ingest.stop();
      await mapper.stop();
    },
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
