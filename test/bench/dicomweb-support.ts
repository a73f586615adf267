import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from '../support/ports';
import { startService } from '../support/service-process';
import { newUid } from '../support/uids';

/** What the DICOMweb benches share: timed retrieves and searches, a process's memory, the gateway's issuer. */

export function run(command: string, args: string[]): Promise<number> {
  return new Promise((resolve) => spawn(command, args, { stdio: 'inherit' }).on('exit', (code) => resolve(code ?? 1)));
}

/**
 * One retrieve of a whole study, the body read to its end: seconds to the first byte and in all,
 * bytes. Read with node:http, its bytes counted and dropped: the cheapest client Node has, so that
 * the server measured gets the CPU (on two cores, fetch's web streams used about as much CPU as
 * the server they read from). The same client for every server compared.
 */
export function retrieve(url: string, headers: Record<string, string>): Promise<{ ttfb: number; seconds: number; bytes: number }> {
  const started = process.hrtime.bigint();
  const elapsed = (): number => Number(process.hrtime.bigint() - started) / 1e9;
  return new Promise((resolve, reject) => {
    const request = get(url, { headers: { accept: 'multipart/related; type="application/dicom"; transfer-syntax=*', ...headers } }, (response) => {
      if (response.statusCode !== 200) {
        response.resume();
        reject(new Error(`${url}: HTTP ${response.statusCode}`));
        return;
      }
      let ttfb = 0;
      let bytes = 0;
      response.on('data', (chunk: Buffer) => {
        if (bytes === 0) ttfb = elapsed();
        bytes += chunk.length;
      });
      response.on('end', () => resolve({ ttfb, seconds: elapsed(), bytes }));
      response.on('error', reject);
    });
    request.on('error', reject);
  });
}

export async function latencies(url: string, headers: Record<string, string>, count: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = process.hrtime.bigint();
    // As sent, uncompressed (fetch would ask for gzip): the servers' own time, comparable across runs.
    const response = await fetch(url, { headers: { accept: 'application/dicom+json', 'accept-encoding': 'identity', ...headers } });
    await response.arrayBuffer();
    if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
    times.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  return times.sort((a, b) => a - b);
}

export const percentile = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
export const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;

/** The FHIR gateway as a process, for its development issuer: the tokens DICOMweb takes. */
export async function startGateway(redirectUri: string): Promise<{ origin: string; token: (scope: string) => Promise<string>; stop: () => Promise<unknown> }> {
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const child = await startService(
    'fhir-gateway',
    {
      GATEWAY_HTTP_PORT: String(port),
      GATEWAY_PUBLIC_BASE_URL: `${origin}/fhir`,
      KAFKA_TOPIC_PREFIX: `bench-${newUid().slice(-8)}.`,
      DEV_ISSUER_ENABLED: 'true',
      DEV_ISSUER_REDIRECT_URIS: redirectUri,
      FACADE_ENV: 'test',
      FACADE_DATA_DIR: mkdtempSync(path.join(tmpdir(), 'facade-gateway-')),
      LOG_LEVEL: 'warn',
    },
    port,
  );
  return {
    origin,
    token: async (scope) => {
      const response = await fetch(`${origin}/oidc/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'client_credentials', scope }) });
      return ((await response.json()) as { access_token: string }).access_token;
    },
    stop: () => child.stop(),
  };
}
