/**
 * Benchmark (not a test): the node's DICOMweb against Orthanc's DICOMweb plugin serving the same
 * study, side by side in one run on this machine. A generated CT study (512×512, 16 bit) is sent
 * with storescu to our ingest and to Orthanc; then, interleaved, WADO-RS retrieves of the whole
 * study (MB/s, time to the first byte) and QIDO-RS study searches (latency), and our dicomweb
 * process's resident memory while it streams. Then the viewer: from opening the study's link
 * (signed in) to the first image drawn, in Debian Chromium.
 *
 * BENCH_INSTANCES (default 600) sets the study's size; BENCH_ROUNDS (3) the retrieves per server.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import sharp from 'sharp';
import { runDcmtk } from '../support/dcmtk';
import { startDicomweb } from '../support/dicomweb';
import { ORTHANC_DICOMWEB_PLUGIN } from '../support/orthanc';
import { startPipeline } from '../support/pipeline';
import { freePort } from '../support/ports';
import { REPO_ROOT, startService } from '../support/service-process';
import { newUid } from '../support/uids';
import { eventually } from '../support/wait';

const INSTANCES = Number(process.env.BENCH_INSTANCES ?? 600);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const QIDO_QUERIES = 50;

function run(command: string, args: string[]): Promise<number> {
  return new Promise((resolve) => spawn(command, args, { stdio: 'inherit' }).on('exit', (code) => resolve(code ?? 1)));
}

/** One retrieve of a whole study, the body read to its end: seconds to the first byte and in all, bytes. */
async function retrieve(url: string, headers: Record<string, string>): Promise<{ ttfb: number; seconds: number; bytes: number }> {
  const started = process.hrtime.bigint();
  const response = await fetch(url, { headers: { accept: 'multipart/related; type="application/dicom"; transfer-syntax=*', ...headers } });
  if (!response.ok || !response.body) throw new Error(`${url}: HTTP ${response.status}`);
  let ttfb = 0;
  let bytes = 0;
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    if (bytes === 0) ttfb = Number(process.hrtime.bigint() - started) / 1e9;
    bytes += chunk.length;
  }
  return { ttfb, seconds: Number(process.hrtime.bigint() - started) / 1e9, bytes };
}

async function latencies(url: string, headers: Record<string, string>, count: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = process.hrtime.bigint();
    const response = await fetch(url, { headers: { accept: 'application/dicom+json', ...headers } });
    await response.arrayBuffer();
    if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
    times.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  return times.sort((a, b) => a - b);
}

const percentile = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;

function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

async function startOrthanc(): Promise<{ child: ChildProcess; http: number; dicom: number }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'orthanc-bench-'));
  const [http, dicom] = [await freePort(), await freePort()];
  const config = path.join(dir, 'orthanc.json');
  writeFileSync(
    config,
    JSON.stringify({
      Name: 'BENCH', HttpPort: http, DicomPort: dicom, DicomAet: 'ORTHANC', StorageDirectory: dir, IndexDirectory: dir,
      RemoteAccessAllowed: false, AuthenticationEnabled: false, DicomCheckCalledAet: false,
      Plugins: [ORTHANC_DICOMWEB_PLUGIN], DicomWeb: { Enable: true, Root: '/dicom-web/' },
    }),
  );
  const child = spawn('Orthanc', [config], { stdio: 'ignore', env: { ...process.env, TCP_NODELAY: '1' } });
  await eventually(async () => ((await fetch(`http://127.0.0.1:${http}/system`)).ok ? true : undefined), { timeoutMs: 30_000, what: 'Orthanc' });
  return { child, http, dicom };
}

async function viewerFirstImage(origin: string, studyUid: string): Promise<{ wallSeconds: number; ohifMs: number | undefined }> {
  const { chromium } = await import('playwright-core');
  const context = await chromium.launchPersistentContext(mkdtempSync(path.join(tmpdir(), 'bench-chromium-')), {
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1280, height: 800 },
    args: ['--no-sandbox', '--use-gl=angle', '--use-angle=swiftshader', '--enable-unsafe-swiftshader', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    const link = `${origin}/viewer/viewer?StudyInstanceUIDs=${studyUid}`;
    // Sign in once; the measure is of opening the link with a session, as a clinician does all day.
    await page.goto(link);
    await page.waitForSelector('#user', { timeout: 60_000 });
    await page.fill('#user', 'clinician');
    await page.fill('#password', 'clinician');
    await page.click('button[type=submit]');
    await page.waitForSelector('.cornerstone-viewport-element, [data-viewport-uid]', { timeout: 120_000 });
    let ohifMs: number | undefined;
    page.on('console', (message) => {
      const match = /studyToFirstImage: ([\d.]+) ms/.exec(message.text());
      if (match) ohifMs = Number(match[1]);
    });
    const started = Date.now();
    await page.goto(link);
    // The first image: the viewport shows a picture (not a blank canvas).
    await page.waitForSelector('.cornerstone-viewport-element, [data-viewport-uid]', { timeout: 120_000 });
    await eventually(
      async () => {
        const box = await page.locator('.cornerstone-viewport-element, [data-viewport-uid]').first().boundingBox();
        if (!box) return undefined;
        const shot = await page.screenshot({ clip: { x: box.x + box.width / 4, y: box.y + box.height / 4, width: box.width / 2, height: box.height / 2 } });
        const { data } = await sharp(shot).greyscale().raw().toBuffer({ resolveWithObject: true });
        const mean = data.reduce((sum, value) => sum + value, 0) / data.length;
        const spread = Math.sqrt(data.reduce((sum, value) => sum + (value - mean) ** 2, 0) / data.length);
        return spread > 10 ? true : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 100, what: 'the first image' },
    );
    return { wallSeconds: (Date.now() - started) / 1000, ohifMs };
  } finally {
    await context.close();
  }
}

/** The FHIR gateway as a process, for its development issuer: the tokens DICOMweb takes. */
async function startGateway(redirectUri: string): Promise<{ origin: string; token: (scope: string) => Promise<string>; stop: () => Promise<unknown> }> {
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

async function main(): Promise<void> {
  process.env.KAFKA_BROKERS ??= 'localhost:9092';
  process.env.FHIR_BASE_URL ??= 'http://localhost:8080/fhir';
  const harness = await import(pathToFileURL(path.join(REPO_ROOT, 'deploy/local/lib/harness.mjs')).href);
  const startedInfra: unknown = await harness.ensureInfra({ components: ['kafka', 'hapi'] });
  const viewerDir = path.join(process.env.FACADE_DATA_DIR ?? path.join(REPO_ROOT, '.data'), 'ohif', 'dist');
  const viewerPort = await freePort();
  const gateway = await startGateway(`http://127.0.0.1:${viewerPort}/viewer/callback`);
  const pipeline = await startPipeline({ STUDY_QUIET_PERIOD_MS: '2000', LOG_LEVEL: 'warn' });
  const node = await startDicomweb({ storageDir: pipeline.storageDir, topicPrefix: pipeline.topicPrefix, gatewayOrigin: gateway.origin, port: viewerPort, env: { VIEWER_DIR: viewerDir, LOG_LEVEL: 'warn' } });
  const orthanc = await startOrthanc();
  try {
    const dir = mkdtempSync(path.join(tmpdir(), 'facade-bench-'));
    const uid = newUid();
    console.log(`generating a CT study of ${INSTANCES} instances (512x512, 16 bit)…`);
    if ((await run('/usr/bin/python3', [path.join(REPO_ROOT, 'test/bench/generate-ct-study.py'), dir, String(INSTANCES), uid])) !== 0) throw new Error('generation failed');
    const files = Array.from({ length: INSTANCES }, (_, i) => path.join(dir, `ct-${String(i + 1).padStart(5, '0')}.dcm`));
    for (const [port, aet] of [[pipeline.dicomPort, 'FACADE'], [orthanc.dicom, 'ORTHANC']] as const) {
      const sent = await runDcmtk('storescu', ['-aec', aet, 'localhost', String(port), ...files]);
      if (sent.code !== 0) throw new Error(`storescu to ${aet}: ${sent.stderr.slice(0, 500)}`);
    }
    const token = await gateway.token('user/ImagingStudy.rs');
    const ours = { authorization: `Bearer ${token}` };
    await eventually(async () => {
      const found = await node.get(`/studies?StudyInstanceUID=${uid}`, token);
      const match = found.status === 200 ? (JSON.parse(found.body.toString()) as Array<Record<string, { Value?: number[] }>>)[0] : undefined;
      return match?.['00201208']?.Value?.[0] === INSTANCES + 1 ? true : undefined;
    }, { timeoutMs: 300_000, intervalMs: 1000, what: 'the study in the DICOMweb index' });
    const patientId = 'BENCH-' + uid.slice(-8);

    const oursRuns: Array<{ ttfb: number; seconds: number; bytes: number }> = [];
    const orthancRuns: Array<{ ttfb: number; seconds: number; bytes: number }> = [];
    let peakRss = rssMiB(node.process.pid);
    for (let round = 0; round < ROUNDS; round++) {
      const sampler = setInterval(() => (peakRss = Math.max(peakRss, rssMiB(node.process.pid))), 100);
      oursRuns.push(await retrieve(`${node.base}/studies/${uid}`, ours));
      clearInterval(sampler);
      orthancRuns.push(await retrieve(`http://127.0.0.1:${orthanc.http}/dicom-web/studies/${uid}`, {}));
    }
    const qidoOurs = await latencies(`${node.base}/studies?PatientID=${patientId}`, ours, QIDO_QUERIES);
    const qidoOrthanc = await latencies(`http://127.0.0.1:${orthanc.http}/dicom-web/studies?PatientID=${patientId}`, {}, QIDO_QUERIES);
    const viewer = await viewerFirstImage(node.origin, uid).catch((error: unknown) => ({ wallSeconds: Number.NaN, ohifMs: undefined, error: (error as Error).message }));

    const rate = (runs: typeof oursRuns): number => median(runs.map((r) => r.bytes / r.seconds / 1e6));
    const ttfb = (runs: typeof oursRuns): number => median(runs.map((r) => r.ttfb * 1000));
    const lines = [
      `study: ${INSTANCES} CT instances, ${((oursRuns[0]?.bytes ?? 0) / 1e6).toFixed(0)} MB per retrieve, ${ROUNDS} retrieves each, interleaved`,
      `WADO-RS study retrieve  facade: ${rate(oursRuns).toFixed(0)} MB/s, first byte ${ttfb(oursRuns).toFixed(0)} ms | Orthanc: ${rate(orthancRuns).toFixed(0)} MB/s, first byte ${ttfb(orthancRuns).toFixed(0)} ms | ratio ${(rate(oursRuns) / rate(orthancRuns)).toFixed(2)}`,
      `facade dicomweb peak RSS while streaming: ${peakRss.toFixed(0)} MiB`,
      `QIDO-RS /studies?PatientID (${QIDO_QUERIES} each)  facade: p50 ${percentile(qidoOurs, 50).toFixed(1)} ms, p95 ${percentile(qidoOurs, 95).toFixed(1)} ms | Orthanc: p50 ${percentile(qidoOrthanc, 50).toFixed(1)} ms, p95 ${percentile(qidoOrthanc, 95).toFixed(1)} ms`,
      Number.isNaN(viewer.wallSeconds)
        ? `viewer: not measured (${'error' in viewer ? viewer.error : 'unknown'})`
        : `viewer: link opened (signed in) → first image drawn ${viewer.wallSeconds.toFixed(1)} s (OHIF's own studyToFirstImage: ${viewer.ohifMs?.toFixed(0) ?? 'not reported'} ms)`,
    ];
    console.log(`\n${lines.join('\n')}`);
    mkdirSync(path.join(REPO_ROOT, 'test/artifacts'), { recursive: true });
    writeFileSync(path.join(REPO_ROOT, 'test/artifacts/bench-dicomweb.txt'), `${lines.join('\n')}\n`);
  } finally {
    orthanc.child.kill('SIGTERM');
    await node.stop();
    await pipeline.stop();
    await gateway.stop();
    await harness.stopInfra(startedInfra);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
