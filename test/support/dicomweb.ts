import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from './ports';
import { startService, type RunningService } from './service-process';
import { newUid } from './uids';

export interface DicomwebNode {
  base: string;
  origin: string;
  port: number;
  process: RunningService;
  /** A GET as an outside client sends it (no cache bypass), the body kept as bytes. */
  get: (pathOrUrl: string, token?: string, accept?: string) => Promise<{ status: number; headers: Headers; body: Buffer }>;
  stop: () => Promise<void>;
}

/**
 * The dicomweb service as a real process on a free port, reading the storage directory and the
 * study topic of a pipeline, and taking the tokens of a gateway's development issuer.
 */
export async function startDicomweb(options: { storageDir: string; topicPrefix: string; gatewayOrigin: string; port?: number; env?: Record<string, string> }): Promise<DicomwebNode> {
  const port = options.port ?? (await freePort());
  const origin = `http://127.0.0.1:${port}`;
  const base = `${origin}/dicomweb`;
  const dataDir = mkdtempSync(path.join(tmpdir(), 'facade-dicomweb-'));
  const child = await startService(
    'dicomweb',
    {
      DICOMWEB_HTTP_PORT: String(port),
      FACADE_DICOMWEB_BASE_URL: base,
      FACADE_DATA_DIR: dataDir,
      INGEST_STORAGE_DIR: options.storageDir,
      KAFKA_BROKERS: process.env.KAFKA_BROKERS ?? 'localhost:9092',
      KAFKA_TOPIC_PREFIX: options.topicPrefix,
      DICOMWEB_GROUP_ID: `dicomweb-${newUid().slice(-10)}`,
      FHIR_BASE_URL: process.env.FHIR_BASE_URL ?? 'http://localhost:8080/fhir',
      OIDC_ISSUER: `${options.gatewayOrigin}/oidc`,
      OIDC_AUDIENCE: `${options.gatewayOrigin}/fhir`,
      ...options.env,
    },
    port,
  );
  return {
    base,
    origin,
    port,
    process: child,
    get: async (pathOrUrl, token, accept) => {
      const response = await fetch(pathOrUrl.startsWith('http') ? pathOrUrl : `${base}${pathOrUrl}`, {
        headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(accept ? { accept } : {}) },
      });
      return { status: response.status, headers: response.headers, body: Buffer.from(await response.arrayBuffer()) };
    },
    stop: async () => {
      await child.stop();
    },
  };
}

export interface MultipartPart {
  headers: Record<string, string>;
  body: Buffer;
}

/** Splits a multipart/related body (RFC 2046) into its parts, by the boundary of its Content-Type. */
export function parseMultipart(contentType: string, body: Buffer): MultipartPart[] {
  const boundary = /boundary="?([^";]+)"?/i.exec(contentType)?.[1];
  if (!boundary) throw new Error(`no boundary in ${contentType}`);
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: MultipartPart[] = [];
  let position = body.indexOf(delimiter);
  while (position >= 0) {
    const start = position + delimiter.length;
    if (body.subarray(start, start + 2).toString() === '--') break;
    const headerEnd = body.indexOf('\r\n\r\n', start);
    const headers: Record<string, string> = {};
    for (const line of body.subarray(start, headerEnd).toString('latin1').split('\r\n').filter(Boolean)) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    const next = body.indexOf(delimiter, headerEnd + 4);
    const length = headers['content-length'] !== undefined ? Number(headers['content-length']) : next - 2 - (headerEnd + 4);
    parts.push({ headers, body: body.subarray(headerEnd + 4, headerEnd + 4 + length) });
    position = next;
  }
  return parts;
}
