/**
 * Benchmark (not a test): one generated CT study sent with DCMTK's storescu on one association
 * to DCMTK's own storescp, to our dicom-ingest, and to Orthanc when installed, all on this machine.
 * Prints instances per second, the ratio to storescp, the ingest service's peak memory for two
 * study sizes (memory must stay flat as a study grows), and the time from the last instance stored
 * to the ImagingStudy being searchable in the FHIR server.
 *
 * Needs the real Kafka broker and HAPI FHIR server: started like the tests do when not running.
 * BENCH_INSTANCES (default 600) sets the large study's size; the small one is a quarter of it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { runDcmtk } from '../support/dcmtk';
import { studiesByUid } from '../support/fhir';
import { freePort } from '../support/ports';
import { startPipeline, type Pipeline } from '../support/pipeline';
import { REPO_ROOT } from '../support/service-process';
import { newUid } from '../support/uids';
import { eventually } from '../support/wait';

const LARGE = Number(process.env.BENCH_INSTANCES ?? 600);
const SMALL = Math.max(50, Math.round(LARGE / 4));
const QUIET_PERIOD_MS = 2000;

interface Study {
  uid: string;
  files: string[];
}

async function generateStudy(count: number): Promise<Study> {
  const dir = mkdtempSync(path.join(tmpdir(), 'facade-bench-'));
  const uid = newUid();
  const generator = path.join(REPO_ROOT, 'test/bench/generate-ct-study.py');
  const result = await runProcess('/usr/bin/python3', [generator, dir, String(count), uid]);
  if (result !== 0) {
    throw new Error('study generation failed (is python3-pydicom installed?)');
  }
  const files = Array.from({ length: count }, (_, i) => path.join(dir, `ct-${String(i + 1).padStart(5, '0')}.dcm`));
  return { uid, files };
}

function runProcess(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: 'inherit', env });
    child.on('exit', (code) => resolve(code ?? 1));
  });
}

/** Sends the study on one association; resolves with the seconds it took, from the first byte to the last response. */
async function send(port: number, calledAe: string, study: Study): Promise<number> {
  const started = process.hrtime.bigint();
  const result = await runDcmtk('storescu', ['-aec', calledAe, 'localhost', String(port), ...study.files]);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (result.code !== 0) {
    throw new Error(`storescu to ${calledAe} failed: ${result.stderr.slice(0, 2000)}`);
  }
  return seconds;
}

async function waitForPort(port: number): Promise<void> {
  const net = await import('node:net');
  await eventually(
    () =>
      new Promise<true | undefined>((resolve) => {
        const socket = net.connect(port, '127.0.0.1', () => {
          socket.destroy();
          resolve(true);
        });
        socket.on('error', () => resolve(undefined));
      }),
    { timeoutMs: 30_000, what: `port ${port}` },
  );
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) {
    return;
  }
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

async function benchStorescp(study: Study): Promise<number> {
  const port = await freePort();
  const outDir = mkdtempSync(path.join(tmpdir(), 'facade-bench-storescp-'));
  const child = spawn('storescp', ['-od', outDir, '-aet', 'STORESCP', String(port)], {
    stdio: 'ignore',
    env: { ...process.env, TCP_NODELAY: '1' },
  });
  try {
    await waitForPort(port);
    return await send(port, 'STORESCP', study);
  } finally {
    await stopChild(child);
    rmSync(outDir, { recursive: true, force: true });
  }
}

/** Debian's Orthanc, as a PACS peer, with its storage under a scratch folder. */
async function benchOrthanc(study: Study): Promise<number | undefined> {
  if ((await runDcmtk('sh', ['-c', 'command -v Orthanc'])).code !== 0) {
    return undefined;
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'facade-bench-orthanc-'));
  const [dicomPort, httpPort] = [await freePort(), await freePort()];
  const config = path.join(dir, 'orthanc.json');
  writeFileSync(
    config,
    JSON.stringify({
      Name: 'bench',
      StorageDirectory: path.join(dir, 'storage'),
      IndexDirectory: path.join(dir, 'index'),
      DicomAet: 'ORTHANC',
      DicomPort: dicomPort,
      HttpPort: httpPort,
      RemoteAccessAllowed: false,
      AuthenticationEnabled: false,
      DicomCheckCalledAet: false,
      Plugins: [],
    }),
  );
  const child = spawn('Orthanc', [config], { stdio: 'ignore', env: { ...process.env, TCP_NODELAY: '1' } });
  try {
    await waitForPort(dicomPort);
    return await send(dicomPort, 'ORTHANC', study);
  } finally {
    await stopChild(child);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Samples a process's resident memory (VmRSS) every 100 ms until stopped; returns the peak in MiB. */
function sampleRss(pid: number): { stop: () => number } {
  let peak = 0;
  const read = (): void => {
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      const kib = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
      peak = Math.max(peak, kib / 1024);
    } catch {
      // The process is gone: keep the peak seen.
    }
  };
  read();
  const timer = setInterval(read, 100);
  return {
    stop: () => {
      clearInterval(timer);
      read();
      return peak;
    },
  };
}

interface FacadeResult {
  seconds: number;
  peakRssMiB: number;
  searchableAfterSeconds: number;
}

async function benchFacade(pipeline: Pipeline, study: Study): Promise<FacadeResult> {
  const rss = sampleRss(pipeline.ingest.pid);
  const seconds = await send(pipeline.dicomPort, 'FACADE', study);
  const lastStored = Date.now();
  const peakRssMiB = rss.stop();
  await eventually(
    async () => ((await studiesByUid(study.uid))[0]?.numberOfInstances === study.files.length ? true : undefined),
    { timeoutMs: 300_000, intervalMs: 100, what: 'the study to be searchable' },
  );
  return { seconds, peakRssMiB, searchableAfterSeconds: (Date.now() - lastStored) / 1000 };
}

async function main(): Promise<void> {
  process.env.KAFKA_BROKERS ??= 'localhost:9092';
  process.env.FHIR_BASE_URL ??= 'http://localhost:8080/fhir';
  const harness = await import(pathToFileURL(path.join(REPO_ROOT, 'deploy/local/lib/harness.mjs')).href);
  const startedInfra: unknown = await harness.ensureInfra({ components: ['kafka', 'hapi'] });
  mkdirSync(path.join(REPO_ROOT, 'test/artifacts'), { recursive: true });

  let pipeline: Pipeline | undefined;
  try {
    console.log(`generating CT studies of ${SMALL} and ${LARGE} instances (512x512, 16 bit, explicit VR LE)…`);
    const small = await generateStudy(SMALL);
    const large = await generateStudy(LARGE);
    const megabytes = large.files.reduce((sum, file) => sum + readFileSync(file).length, 0) / 1e6;

    const storescpSeconds = await benchStorescp(large);
    const orthancSeconds = await benchOrthanc(large);
    pipeline = await startPipeline({ STUDY_QUIET_PERIOD_MS: String(QUIET_PERIOD_MS), LOG_LEVEL: 'warn' });
    const smallRun = await benchFacade(pipeline, small);
    const largeRun = await benchFacade(pipeline, large);

    const rate = (count: number, seconds: number): string => `${(count / seconds).toFixed(0)} instances/s`;
    const lines = [
      `study: ${LARGE} CT instances, ${megabytes.toFixed(0)} MB, one association, TCP_NODELAY=1 on both sides`,
      `DCMTK storescp      : ${rate(LARGE, storescpSeconds)} (${storescpSeconds.toFixed(2)} s)`,
      orthancSeconds === undefined
        ? 'Orthanc             : not installed'
        : `Orthanc (Debian)    : ${rate(LARGE, orthancSeconds)} (${orthancSeconds.toFixed(2)} s)`,
      `facade dicom-ingest : ${rate(LARGE, largeRun.seconds)} (${largeRun.seconds.toFixed(2)} s), ` +
        `ratio to storescp ${(storescpSeconds / largeRun.seconds).toFixed(2)}`,
      `ingest peak RSS     : ${smallRun.peakRssMiB.toFixed(0)} MiB during ${SMALL} instances, ` +
        `${largeRun.peakRssMiB.toFixed(0)} MiB during ${LARGE} instances`,
      `last instance stored → ImagingStudy searchable: ${largeRun.searchableAfterSeconds.toFixed(1)} s ` +
        `(of which the quiet period ${QUIET_PERIOD_MS / 1000} s), ${smallRun.searchableAfterSeconds.toFixed(1)} s for ${SMALL} instances`,
    ];
    console.log(`\n${lines.join('\n')}`);
    writeFileSync(path.join(REPO_ROOT, 'test/artifacts/bench-ingest.txt'), `${lines.join('\n')}\n`);
    for (const study of [small, large]) {
      rmSync(path.dirname(study.files[0]), { recursive: true, force: true });
    }
  } finally {
    await pipeline?.stop();
    await harness.stopInfra(startedInfra);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
