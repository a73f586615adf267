/**
 * Benchmark (not a test): issue 12's "memory stays flat while a 1 GB study is retrieved". A generated
 * CT study of BENCH_LARGE_INSTANCES instances (default 2048 × 512×512 × 16 bit: 1.07 GB) is sent with
 * storescu to our ingest; then the whole study is retrieved BENCH_ROUNDS times (WADO-RS,
 * `transfer-syntax=*`, the body read to its end) while the dicomweb process's resident memory is
 * sampled every 50 ms, and the study's metadata is asked as it is and compressed (gzip, Brotli).
 * Our dicomweb only (Orthanc is in dicomweb-retrieve.ts, at 600 instances).
 *
 * Part of `npm run bench` and `npm run bench:dicomweb` (about a minute and a half on this machine);
 * `BENCH_LARGE=0` leaves it out. It writes ~2.2 GB to disk (the generated files and the ingest's
 * copy), removed at the end.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { runDcmtk } from '../support/dcmtk';
import { startDicomweb } from '../support/dicomweb';
import { startPipeline } from '../support/pipeline';
import { REPO_ROOT } from '../support/service-process';
import { newUid } from '../support/uids';
import { eventually } from '../support/wait';
import { median, retrieve, run, startGateway } from './dicomweb-support';
import { rssMiB, rssSampler } from './proc-stats';

const INSTANCES = Number(process.env.BENCH_LARGE_INSTANCES ?? 2048);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const STORESCU_BATCH = 256;

/** The study's metadata once, with this Accept-Encoding: wall time, bytes on the wire, dicomweb's peak memory. */
async function metadata(url: string, token: string, encoding: string, pid: number): Promise<{ ms: number; bytes: number; encoding: string; peak: number }> {
  const { request } = await import('node:http');
  const sampler = rssSampler(pid, 20);
  const started = process.hrtime.bigint();
  const answer = await new Promise<{ bytes: number; encoding: string }>((resolve, reject) => {
    const req = request(url, { headers: { authorization: `Bearer ${token}`, accept: 'application/dicom+json', ...(encoding ? { 'accept-encoding': encoding } : {}) } }, (res) => {
      let bytes = 0;
      res.on('data', (chunk: Buffer) => (bytes += chunk.length));
      res.on('end', () => (res.statusCode === 200 ? resolve({ bytes, encoding: String(res.headers['content-encoding'] ?? 'identity') }) : reject(new Error(`metadata: HTTP ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end();
  });
  return { ms: Number(process.hrtime.bigint() - started) / 1e6, ...answer, peak: sampler.stop() };
}

async function main(): Promise<void> {
  if (process.env.BENCH_LARGE === '0') {
    console.log('large-study bench left out (BENCH_LARGE=0)');
    return;
  }
  process.env.KAFKA_BROKERS ??= 'localhost:9092';
  process.env.FHIR_BASE_URL ??= 'http://localhost:8080/fhir';
  const harness = await import(pathToFileURL(path.join(REPO_ROOT, 'deploy/local/lib/harness.mjs')).href);
  const startedInfra: unknown = process.env.FACADE_SKIP_INFRA === '1' ? [] : await harness.ensureInfra({ components: ['kafka', 'hapi'] });
  const gateway = await startGateway('http://127.0.0.1:1/unused');
  const pipeline = await startPipeline({ STUDY_QUIET_PERIOD_MS: '5000', LOG_LEVEL: 'warn' });
  const node = await startDicomweb({ storageDir: pipeline.storageDir, topicPrefix: pipeline.topicPrefix, gatewayOrigin: gateway.origin, env: { LOG_LEVEL: 'warn' } });
  const dir = mkdtempSync(path.join(tmpdir(), 'facade-bench-large-'));
  try {
    const uid = newUid();
    const clock = Date.now();
    console.log(`generating a CT study of ${INSTANCES} instances (512x512, 16 bit)…`);
    if ((await run('/usr/bin/python3', [path.join(REPO_ROOT, 'test/bench/generate-ct-study.py'), dir, String(INSTANCES), uid])) !== 0) throw new Error('generation failed');
    const files = Array.from({ length: INSTANCES }, (_, i) => path.join(dir, `ct-${String(i + 1).padStart(5, '0')}.dcm`));
    const generated = (Date.now() - clock) / 1000;
    for (let start = 0; start < files.length; start += STORESCU_BATCH) {
      const sent = await runDcmtk('storescu', ['-aec', 'FACADE', 'localhost', String(pipeline.dicomPort), ...files.slice(start, start + STORESCU_BATCH)], { timeoutMs: 600_000 });
      if (sent.code !== 0) throw new Error(`storescu: ${sent.stderr.slice(0, 500)}`);
    }
    const stored = (Date.now() - clock) / 1000;
    const token = await gateway.token('user/ImagingStudy.rs');
    await eventually(async () => {
      const found = await node.get(`/studies?StudyInstanceUID=${uid}`, token);
      const match = found.status === 200 ? (JSON.parse(found.body.toString()) as Array<Record<string, { Value?: number[] }>>)[0] : undefined;
      return (match?.['00201208']?.Value?.[0] ?? 0) >= INSTANCES ? true : undefined;
    }, { timeoutMs: 900_000, intervalMs: 2000, what: 'the study in the DICOMweb index' });
    const indexed = (Date.now() - clock) / 1000;

    const pid = node.process.pid;
    const idle = rssMiB(pid);
    const runs: Array<{ seconds: number; bytes: number; ttfb: number; peak: number }> = [];
    for (let round = 0; round < ROUNDS; round++) {
      const sampler = rssSampler(pid, 50);
      const result = await retrieve(`${node.base}/studies/${uid}`, { authorization: `Bearer ${token}` });
      runs.push({ ...result, peak: sampler.stop() });
    }
    const metadataRuns = [];
    for (const encoding of ['', 'gzip', 'br']) {
      metadataRuns.push(await metadata(`${node.base}/studies/${uid}/metadata`, token, encoding, pid));
    }

    const gb = (runs[0]?.bytes ?? 0) / 1e9;
    const lines = [
      `large study: ${INSTANCES} CT instances, ${gb.toFixed(2)} GB per retrieve (generated in ${generated.toFixed(0)} s, stored by ${stored.toFixed(0)} s, indexed by ${indexed.toFixed(0)} s)`,
      `WADO-RS study retrieve ×${ROUNDS}: median ${median(runs.map((r) => r.bytes / r.seconds / 1e6)).toFixed(0)} MB/s, first byte ${median(runs.map((r) => r.ttfb * 1000)).toFixed(0)} ms`,
      `dicomweb resident memory: ${idle.toFixed(0)} MiB before; peak while streaming, per retrieve: ${runs.map((r) => r.peak.toFixed(0)).join(', ')} MiB`,
      ...metadataRuns.map((m) => `/metadata (${INSTANCES} instances) as ${m.encoding}: ${(m.bytes / 1e6).toFixed(2)} MB in ${m.ms.toFixed(0)} ms, dicomweb peak ${m.peak.toFixed(0)} MiB`),
    ];
    console.log(`\n${lines.join('\n')}`);
    mkdirSync(path.join(REPO_ROOT, 'test/artifacts'), { recursive: true });
    writeFileSync(path.join(REPO_ROOT, 'test/artifacts/bench-dicomweb-large.txt'), `${lines.join('\n')}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await node.stop();
    await pipeline.stop();
    rmSync(pipeline.storageDir, { recursive: true, force: true });
    await gateway.stop();
    await harness.stopInfra(startedInfra);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
