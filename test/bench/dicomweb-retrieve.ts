/**
 * Benchmark (not a test): the node's DICOMweb against Orthanc's DICOMweb plugin serving the same
 * study, side by side in one run on this machine. A generated CT study (512×512, 16 bit) is sent
 * with storescu to our ingest and to Orthanc; then, interleaved, WADO-RS retrieves of the whole
 * study (MB/s, time to the first byte, CPU seconds of the server and of the bench's client) and
 * QIDO-RS study searches (latency), and our dicomweb process's resident memory while it streams.
 * Then the viewer: from opening a study's link (signed in) to the first image drawn, in Debian
 * Chromium, for a small study and the big one, with the browser's DICOMweb requests of each opening
 * and dicomweb's peak memory meanwhile.
 *
 * BENCH_INSTANCES (default 600) sets the study's size; BENCH_ROUNDS (3) the retrieves per server;
 * VIEWER_DIR the OHIF build (default: the stack's, under FACADE_DATA_DIR); BENCH_VIEWER=0 leaves the
 * viewer out; BENCH_CPU_PROF=1 writes a CPU profile of our dicomweb to test/artifacts/cpu-prof.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { runDcmtk } from '../support/dcmtk';
import { startDicomweb } from '../support/dicomweb';
import { ORTHANC_DICOMWEB_PLUGIN } from '../support/orthanc';
import { startPipeline } from '../support/pipeline';
import { freePort } from '../support/ports';
import { REPO_ROOT } from '../support/service-process';
import { newUid } from '../support/uids';
import { eventually } from '../support/wait';
import { latencies, median, percentile, retrieve, run, startGateway } from './dicomweb-support';
import { cpuSeconds, rssMiB } from './proc-stats';
import { startViewerBench, summarize, type FirstImage } from './viewer-first-image';

const INSTANCES = Number(process.env.BENCH_INSTANCES ?? 600);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const QIDO_QUERIES = 50;
const METADATA_QUERIES = 5;
const SMALL_INSTANCES = 10;
const VIEWER_TIMEOUT_MS = Number(process.env.BENCH_VIEWER_TIMEOUT_MS ?? 120_000);
const VIEWER = process.env.BENCH_VIEWER !== '0';

interface Retrieved {
  ttfb: number;
  seconds: number;
  bytes: number;
  /** CPU seconds during the retrieve: the server's and the bench's own (the client). */
  cpu: { server: { user: number; system: number }; client: { user: number; system: number } };
}

/** One retrieve, with the CPU the serving process and this one used meanwhile. */
async function measuredRetrieve(url: string, headers: Record<string, string>, serverPid: number): Promise<Retrieved> {
  const [server, client] = [cpuSeconds(serverPid), cpuSeconds('self')];
  const result = await retrieve(url, headers);
  const [serverAfter, clientAfter] = [cpuSeconds(serverPid), cpuSeconds('self')];
  const minus = (after: typeof server, before: typeof server) => ({ user: after.user - before.user, system: after.system - before.system });
  return { ...result, cpu: { server: minus(serverAfter, server), client: minus(clientAfter, client) } };
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

async function main(): Promise<void> {
  process.env.KAFKA_BROKERS ??= 'localhost:9092';
  process.env.FHIR_BASE_URL ??= 'http://localhost:8080/fhir';
  const harness = await import(pathToFileURL(path.join(REPO_ROOT, 'deploy/local/lib/harness.mjs')).href);
  const startedInfra: unknown = process.env.FACADE_SKIP_INFRA === '1' ? [] : await harness.ensureInfra({ components: ['kafka', 'hapi'] });
  const viewerDir = process.env.VIEWER_DIR ?? path.join(process.env.FACADE_DATA_DIR ?? path.join(REPO_ROOT, '.data'), 'ohif', 'dist');
  const viewerPort = await freePort();
  const profile: Record<string, string> = process.env.BENCH_CPU_PROF === '1'
    ? { NODE_OPTIONS: `--require ${path.join(REPO_ROOT, 'test/bench/cpu-profile.cjs')}`, BENCH_CPU_PROF_DIR: path.join(REPO_ROOT, 'test/artifacts/cpu-prof') }
    : {};
  const gateway = await startGateway(`http://127.0.0.1:${viewerPort}/viewer/callback`);
  const pipeline = await startPipeline({ STUDY_QUIET_PERIOD_MS: '2000', LOG_LEVEL: 'warn' });
  const node = await startDicomweb({ storageDir: pipeline.storageDir, topicPrefix: pipeline.topicPrefix, gatewayOrigin: gateway.origin, port: viewerPort, env: { VIEWER_DIR: viewerDir, LOG_LEVEL: 'warn', ...profile } });
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
    // The viewer's small study: CT_small's own 128×128 slices, to us only.
    const smallDir = mkdtempSync(path.join(tmpdir(), 'facade-bench-small-'));
    const smallUid = newUid();
    if ((await run('/usr/bin/python3', [path.join(REPO_ROOT, 'test/bench/generate-ct-study.py'), smallDir, String(SMALL_INSTANCES), smallUid, 'small'])) !== 0) throw new Error('generation failed');
    const smallFiles = Array.from({ length: SMALL_INSTANCES }, (_, i) => path.join(smallDir, `ct-${String(i + 1).padStart(5, '0')}.dcm`));
    const sentSmall = await runDcmtk('storescu', ['-aec', 'FACADE', 'localhost', String(pipeline.dicomPort), ...smallFiles]);
    if (sentSmall.code !== 0) throw new Error(`storescu of the small study: ${sentSmall.stderr.slice(0, 500)}`);
    const token = await gateway.token('user/ImagingStudy.rs');
    const ours = { authorization: `Bearer ${token}` };
    // The slices sent (the ingest's manifest, a KOS, is retrieved by its URL only, neither listed nor counted).
    for (const [studyUid, count] of [[uid, INSTANCES], [smallUid, SMALL_INSTANCES]] as const) {
      await eventually(async () => {
        const found = await node.get(`/studies?StudyInstanceUID=${studyUid}`, token);
        const match = found.status === 200 ? (JSON.parse(found.body.toString()) as Array<Record<string, { Value?: number[] }>>)[0] : undefined;
        return match?.['00201208']?.Value?.[0] === count ? true : undefined;
      }, { timeoutMs: 300_000, intervalMs: 1000, what: 'the study in the DICOMweb index' });
    }
    const patientId = 'BENCH-' + uid.slice(-8);

    const oursRuns: Retrieved[] = [];
    const orthancRuns: Retrieved[] = [];
    let peakRss = rssMiB(node.process.pid);
    const retrieveOurs = async (): Promise<Retrieved> => {
      const sampler = setInterval(() => (peakRss = Math.max(peakRss, rssMiB(node.process.pid))), 100);
      try {
        return await measuredRetrieve(`${node.base}/studies/${uid}`, ours, node.process.pid);
      } finally {
        clearInterval(sampler);
      }
    };
    const retrieveOrthanc = (): Promise<Retrieved> => measuredRetrieve(`http://127.0.0.1:${orthanc.http}/dicom-web/studies/${uid}`, {}, orthanc.child.pid ?? -1);
    // One retrieve from each first, not counted (the client's and the servers' first run: code not
    // yet optimised, files not yet in the page cache); then each round in turn begins with the other.
    await retrieveOurs();
    await retrieveOrthanc();
    for (let round = 0; round < ROUNDS; round++) {
      if (round % 2 === 0) {
        oursRuns.push(await retrieveOurs());
        orthancRuns.push(await retrieveOrthanc());
      } else {
        orthancRuns.push(await retrieveOrthanc());
        oursRuns.push(await retrieveOurs());
      }
    }
    const qidoOurs = await latencies(`${node.base}/studies?PatientID=${patientId}`, ours, QIDO_QUERIES);
    const qidoOrthanc = await latencies(`http://127.0.0.1:${orthanc.http}/dicom-web/studies?PatientID=${patientId}`, {}, QIDO_QUERIES);
    // What the viewer waits for before its first image: the whole study's metadata, from Node (no browser).
    const metadataOurs = await latencies(`${node.base}/studies/${uid}/metadata`, ours, METADATA_QUERIES);
    const metadataOrthanc = await latencies(`http://127.0.0.1:${orthanc.http}/dicom-web/studies/${uid}/metadata`, {}, METADATA_QUERIES);
    const link = (studyUid: string): string => `${node.origin}/viewer/viewer?StudyInstanceUIDs=${studyUid}`;
    const viewerRuns: Array<FirstImage & { peakRss: number }> = [];
    const browser = VIEWER ? await startViewerBench() : undefined;
    if (browser) {
      try {
        for (const [label, studyUid] of [[`small study (${SMALL_INSTANCES} × 128×128)`, smallUid], [`${INSTANCES}-instance CT`, uid]] as const) {
          let viewerRss = rssMiB(node.process.pid);
          const sampler = setInterval(() => (viewerRss = Math.max(viewerRss, rssMiB(node.process.pid))), 100);
          const result = await browser.open(label, link(studyUid), VIEWER_TIMEOUT_MS);
          clearInterval(sampler);
          viewerRuns.push({ ...result, peakRss: viewerRss });
        }
      } finally {
        await browser.close();
      }
    }

    const rate = (runs: typeof oursRuns): number => median(runs.map((r) => r.bytes / r.seconds / 1e6));
    const cpuText = ({ cpu }: Retrieved): string => `${cpu.server.user.toFixed(2)}+${cpu.server.system.toFixed(2)} (client ${cpu.client.user.toFixed(2)}+${cpu.client.system.toFixed(2)})`;
    const ttfb = (runs: typeof oursRuns): number => median(runs.map((r) => r.ttfb * 1000));
    const lines = [
      `study: ${INSTANCES} CT instances, ${((oursRuns[0]?.bytes ?? 0) / 1e6).toFixed(0)} MB per retrieve, ${ROUNDS} retrieves each after one not counted, interleaved (each round begins with the other server)`,
      `WADO-RS study retrieve  facade: ${rate(oursRuns).toFixed(0)} MB/s, first byte ${ttfb(oursRuns).toFixed(0)} ms | Orthanc: ${rate(orthancRuns).toFixed(0)} MB/s, first byte ${ttfb(orthancRuns).toFixed(0)} ms | ratio ${(rate(oursRuns) / rate(orthancRuns)).toFixed(2)}`,
      `  each retrieve, in order (MB/s): facade ${oursRuns.map((r) => (r.bytes / r.seconds / 1e6).toFixed(0)).join(', ')} | Orthanc ${orthancRuns.map((r) => (r.bytes / r.seconds / 1e6).toFixed(0)).join(', ')}`,
      `  CPU seconds per retrieve, user+system, the server's (and the bench's client's): facade ${oursRuns.map(cpuText).join(', ')} | Orthanc ${orthancRuns.map(cpuText).join(', ')}`,
      `facade dicomweb peak RSS while streaming: ${peakRss.toFixed(0)} MiB`,
      `WADO-RS /studies/{uid}/metadata (${METADATA_QUERIES} each)  facade: p50 ${percentile(metadataOurs, 50).toFixed(0)} ms, max ${percentile(metadataOurs, 100).toFixed(0)} ms | Orthanc: p50 ${percentile(metadataOrthanc, 50).toFixed(0)} ms, max ${percentile(metadataOrthanc, 100).toFixed(0)} ms`,
      `QIDO-RS /studies?PatientID (${QIDO_QUERIES} each)  facade: p50 ${percentile(qidoOurs, 50).toFixed(1)} ms, p95 ${percentile(qidoOurs, 95).toFixed(1)} ms | Orthanc: p50 ${percentile(qidoOrthanc, 50).toFixed(1)} ms, p95 ${percentile(qidoOrthanc, 95).toFixed(1)} ms`,
      ...viewerRuns.flatMap((viewer) => [
        Number.isNaN(viewer.seconds)
          ? `viewer, ${viewer.label}: no image within ${VIEWER_TIMEOUT_MS / 1000} s (${viewer.error ?? 'unknown'}); dicomweb peak RSS ${viewer.peakRss.toFixed(0)} MiB; its DICOMweb requests:`
          : `viewer, ${viewer.label}: sign-in sent → first image drawn ${viewer.seconds.toFixed(1)} s (OHIF's studyToFirstImage: ${viewer.ohifMs?.toFixed(0) ?? 'not logged'} ms); dicomweb peak RSS ${viewer.peakRss.toFixed(0)} MiB; its DICOMweb requests until then:`,
        ...summarize(viewer.requests),
        ...(viewer.page ? [`  the page: ${viewer.page.url} — "${viewer.page.text}" (screenshot ${viewer.page.screenshot})`] : []),
      ]),
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
