/**
 * Benchmark (not a test) of issue 13's targets, all measured side by side in one run on this machine,
 * every sender being DCMTK's storescu (TCP_NODELAY=1 on both sides). After a warm-up, BENCH_ROUNDS (5)
 * rounds, each on fresh copies and each measuring every target beside its peer in the same minutes;
 * every ratio is taken within its round and the median of the rounds' ratios is reported: single
 * runs on this shared 2-core machine vary by ±30 % for the same code. Per round:
 *
 * 1. one association, 500 copies of CT_small (39 KB): DCMTK storescp, Orthanc, then dicom-ingest;
 *    beside them (not a target) the durable limit of this study, as in 2: storescp answers before
 *    anything is durable, the ingest only once its file and its index line are;
 * 2. one association, 600 CT instances of 512 KB: storescp, "the durable limit" (storescp's time plus
 *    writing and fdatasyncing each file on the same disk, measured here), then dicom-ingest;
 * 3. 8 concurrent associations, each sending a study of its own of 500 × 39 KB, as 8 modalities
 *    would (4,000 instances): aggregate vs the round's storescp on one association, each storescu
 *    process sending as many instances as storescp's one. Then the reading of the earlier rounds
 *    (one study of 500 split 8 ways), for comparison: there each sender's start-up (DCMTK loads its
 *    text dictionary, ~20 ms of CPU) is paid 8 times over 500 instances, against once for storescp,
 *    on the same 2 cores. Each line gives the share of CPU left idle during the send.
 *
 * Then once: 100 concurrent associations (failed stores, must be 0, and the ingest's peak RSS,
 * ≤ 300 MB); one study of BENCH_STUDY_SIZE (5,000) × 39 KB on one association, whose memory is
 * printed beside the rounds' 500 (while received, and until searchable: receiving is meant to be
 * flat in study size, completing a study holds all its instances' attributes at once); and over
 * every study sent, last instance stored → ImagingStudy searchable in HAPI (p95; each study's own
 * time, the studies of a burst polled together), with the CPU that HAPI (when the local stack
 * runs it), the mapper and the ingest used per study of a burst until its last study was searchable.
 *
 * Every timed send, and the durable limit's writes, begins once the machine's CPUs have been at
 * most 15 % busy for half a second (at most 20 s of waiting, counted and printed): what a burst
 * leaves running (HAPI indexing and JIT-compiling, a peer's files being removed) otherwise lands on
 * whichever send comes next, by chance.
 *
 * Needs the real Kafka broker and HAPI FHIR server: started like the tests do when not running
 * (FACADE_SKIP_INFRA=1: the running ones only, as on a machine where they are shared).
 * BENCH_SMALL (default 500) and BENCH_INSTANCES (default 600) set the study sizes, BENCH_WARMUP (2500)
 * the instances sent to the ingest before anything is timed (until its JIT-compiled code is steady:
 * a node in service is warm); BENCH_CPU_PROF=1 profiles the services (test/bench/cpu-profile.cjs;
 * profiles in test/artifacts/cpu-prof).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, fdatasyncSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ImagingStudy } from '@medplum/fhirtypes';
import { runDcmtk } from '../support/dcmtk';
import { search } from '../support/fhir';
import { freePort } from '../support/ports';
import { startPipeline, type Pipeline } from '../support/pipeline';
import { REPO_ROOT } from '../support/service-process';
import { newUid } from '../support/uids';
import { eventually } from '../support/wait';
import { machineCpuSeconds, namedThreadsCpuSeconds, processCpuSeconds, rssMiB, rssSampler, untilMachineQuiet, type QuietWait } from './proc-stats';

const LARGE = Number(process.env.BENCH_INSTANCES ?? 600);
const SMALL = Number(process.env.BENCH_SMALL ?? 500);
/**
 * Sent once the ingest has started, before anything is timed: a node in service runs JIT-compiled
 * code. 200 were not enough: from a cold start, the ingest's user CPU per instance kept falling for
 * about 2,500 instances (1.8 → 0.6–1.1 ms), as V8 optimized, deoptimized and reoptimized its paths.
 */
const WARMUP = Number(process.env.BENCH_WARMUP ?? 2500);
/** Rounds, each measuring every throughput target beside its peer; the median of the rounds' ratios is reported. */
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 5));
/** The study of the memory reading (case 6): instances of CT_small, on one association. */
const STUDY_SIZE = Number(process.env.BENCH_STUDY_SIZE ?? 5000);
const CONCURRENT = 8;
const MANY = 100;
const QUIET_PERIOD_MS = 2000;

interface Study {
  uid: string;
  files: string[];
}

/** Every timed send's wait for a quiet machine, printed at the end. */
const quietWaits: QuietWait[] = [];

/** Before each timed send (and outside its CPU readings): the machine quiet, whatever ran before. */
async function quietMachine(): Promise<void> {
  quietWaits.push(await untilMachineQuiet());
}

async function generateStudy(count: number, size: 'small' | 'large'): Promise<Study> {
  const dir = mkdtempSync(path.join(tmpdir(), 'facade-bench-'));
  const uid = newUid();
  const generator = path.join(REPO_ROOT, 'test/bench/generate-ct-study.py');
  const args = [generator, dir, String(count), uid, ...(size === 'small' ? ['small'] : [])];
  const result = await runProcess('/usr/bin/python3', args);
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

/** Splits files `ways` ways, round robin: the earlier rounds' 8-association reading, and the 100 associations. */
function split(files: string[], ways: number): string[][] {
  return Array.from({ length: ways }, (_, i) => files.filter((_, j) => j % ways === i));
}

/** Sends each part on its own concurrent storescu process; the seconds until the last is done, and how many failed. */
async function sendConcurrently(port: number, parts: string[][]): Promise<{ seconds: number; failedAssociations: number; failedStores: number }> {
  const started = process.hrtime.bigint();
  const results = await Promise.all(
    parts.map((part) => runDcmtk('storescu', ['-aec', 'FACADE', '-aet', `BENCH${part.length}`, 'localhost', String(port), ...part])),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const failedAssociations = results.filter((result) => result.code !== 0).length;
  // storescu logs each refused or failed C-STORE as "Store Failed" or a non-success status line.
  const failedStores = results.reduce(
    (sum, result) => sum + (result.stderr.match(/Store Failed|Status: (?!Success)|Association Abort|Association Request Failed/g)?.length ?? 0),
    0,
  );
  return { seconds, failedAssociations, failedStores };
}

/**
 * What a durable store costs this disk: copying each file into a new file next to where the ingest
 * stores, with an fdatasync per file (the floor under any SCP that answers only once durable).
 */
function durableWriteSeconds(files: string[], nearDir: string): number {
  const dir = mkdtempSync(path.join(nearDir, 'durable-'));
  const started = process.hrtime.bigint();
  files.forEach((file, i) => {
    const fd = openSync(path.join(dir, `${i}.dcm`), 'wx');
    writeSync(fd, readFileSync(file));
    fdatasyncSync(fd);
    closeSync(fd);
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  rmSync(dir, { recursive: true, force: true });
  return seconds;
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
    await quietMachine();
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
    await quietMachine();
    return await send(dicomPort, 'ORTHANC', study);
  } finally {
    await stopChild(child);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The ingest's and the whole machine's CPU milliseconds per instance over a send. */
interface CpuPerInstance {
  ingestMs: number;
  machineMs: number;
  /** Share of the machine's CPU time left idle during the run (0–1). */
  idleShare: number;
}

async function measureCpu<T>(pid: number, instances: number, run: () => Promise<T>): Promise<T & { cpu: CpuPerInstance }> {
  const processSeconds = (): number => processCpuSeconds(pid);
  const [ingest, machine, started] = [processSeconds(), machineCpuSeconds(), process.hrtime.bigint()];
  const result = await run();
  const machineUsed = machineCpuSeconds() - machine;
  const capacity = (availableParallelism() * Number(process.hrtime.bigint() - started)) / 1e9;
  const perInstance = (seconds: number): number => (seconds * 1000) / instances;
  return {
    ...result,
    cpu: { ingestMs: perInstance(processSeconds() - ingest), machineMs: perInstance(machineUsed), idleShare: Math.max(0, 1 - machineUsed / capacity) },
  };
}

interface FacadeResult {
  cpu: CpuPerInstance;
  seconds: number;
  /** The ingest's resident memory: just before the send, its peak during the send, and its peak until the study was searchable. */
  rssBeforeMiB: number;
  peakRssMiB: number;
  peakRssUntilSearchableMiB: number;
  searchableAfterSeconds: number;
}

async function benchFacade(pipeline: Pipeline, study: Study): Promise<FacadeResult> {
  await quietMachine();
  const rssBeforeMiB = rssMiB(pipeline.ingest.pid);
  const rssUntilSearchable = rssSampler(pipeline.ingest.pid);
  const rss = rssSampler(pipeline.ingest.pid);
  const { seconds, cpu } = await measureCpu(pipeline.ingest.pid, study.files.length, async () => ({ seconds: await send(pipeline.dicomPort, 'FACADE', study) }));
  const lastStored = Date.now();
  const peakRssMiB = rss.stop();
  const [searchableAfterSeconds = NaN] = await waitSearchable([study], lastStored);
  return { seconds, cpu, rssBeforeMiB, peakRssMiB, peakRssUntilSearchableMiB: rssUntilSearchable.stop(), searchableAfterSeconds };
}

/**
 * Seconds from `since` until each study is searchable in HAPI with all its instances. One search
 * every 100 ms asks for every study not yet seen (their identifiers, OR-ed), so that each study's
 * time is its own: waited for one after another, a study indexed before the one ahead of it would
 * take that one's time. It asks for two elements only, and that HAPI store nothing
 * (`Cache-Control: no-store`, which is as fresh as `no-cache`: libs/fhir README): the probe is the
 * bench's instrument, and should add as little as it can to HAPI's work.
 */
async function waitSearchable(studies: Study[], since: number): Promise<number[]> {
  const seen = new Map<string, number>();
  await eventually(
    async () => {
      const pending = studies.filter((study) => !seen.has(study.uid));
      const identifiers = pending.map((study) => encodeURIComponent(`urn:oid:${study.uid}`)).join(',');
      const found = await search<ImagingStudy>(
        `ImagingStudy?identifier=${identifiers}&_elements=identifier,numberOfInstances&_count=${pending.length}`,
        'no-store',
      );
      const after = (Date.now() - since) / 1000;
      for (const study of pending) {
        const indexed = found.find((resource) => resource.identifier?.some((id) => id.value === `urn:oid:${study.uid}`));
        if (indexed?.numberOfInstances === study.files.length) {
          seen.set(study.uid, after);
        }
      }
      return seen.size === studies.length ? true : undefined;
    },
    { timeoutMs: 300_000, intervalMs: 100, what: 'the studies to be searchable' },
  );
  return studies.map((study) => seen.get(study.uid) ?? NaN);
}

/** One round: every target's sends, on fresh copies, each beside its peer in the same minutes. */
interface Round {
  storescp: number;
  /** storescp's time plus writing and fdatasyncing each file of the small study: not a target, the floor under a durable answer. */
  durableSmall: number;
  orthanc: number | undefined;
  ingest: FacadeResult;
  storescpLarge: number;
  durableLarge: number;
  ingestLarge: FacadeResult;
  /** 8 associations, a study of SMALL instances each: the target. */
  concurrent: ConcurrentSend;
  /** 8 associations sharing one study of SMALL: the earlier rounds' reading. */
  shared: ConcurrentSend;
}

interface ConcurrentSend {
  instances: number;
  seconds: number;
  failures: number;
  cpu: CpuPerInstance;
  /** CPU seconds each process used from the send's end until its last study was searchable (case 5). */
  untilSearchable: PublicationCpu;
}

/** CPU seconds used while studies are published; `hapi` and `hapiJit` are absent when the local stack does not run HAPI. */
interface PublicationCpu {
  ingest: number;
  mapper: number;
  hapi?: number;
  /** Of `hapi`, what its JIT compiler threads used: code compiled while the bench runs, not yet in a HAPI long in service. */
  hapiJit?: number;
}

/** HAPI's JIT compilers (HotSpot's thread names, cut to 15 characters by Linux). */
const JIT_THREADS = /^C[12] CompilerThre/;

/**
 * Starts counting the CPU the services use while studies are published; the returned function
 * reads it. `hapiPid`: the local stack's HAPI, when it runs one (a HAPI elsewhere is not read).
 */
function publicationCpu(pipeline: Pipeline, hapiPid: number | undefined): () => PublicationCpu {
  const [ingest, mapper] = [processCpuSeconds(pipeline.ingest.pid), processCpuSeconds(pipeline.mapper.pid)];
  const hapi = hapiPid === undefined ? undefined : { all: processCpuSeconds(hapiPid), jit: namedThreadsCpuSeconds(hapiPid, JIT_THREADS) };
  return () => {
    const used = { ingest: processCpuSeconds(pipeline.ingest.pid) - ingest, mapper: processCpuSeconds(pipeline.mapper.pid) - mapper };
    return hapiPid === undefined || hapi === undefined
      ? used
      : { ...used, hapi: processCpuSeconds(hapiPid) - hapi.all, hapiJit: namedThreadsCpuSeconds(hapiPid, JIT_THREADS) - hapi.jit };
  };
}

const sum = (values: number[]): number => values.reduce((total, value) => total + value, 0);

/** Where a burst's publication went, per study: each process's CPU seconds (medians of the rounds). */
function burstCpu(bursts: PublicationCpu[]): string {
  const perStudy = (values: number[]): string => `${(percentile(values, 50) / CONCURRENT).toFixed(2)} s`;
  const hapi = bursts.flatMap(({ hapi, hapiJit }) => (hapi === undefined || hapiJit === undefined ? [] : [{ hapi, hapiJit }]));
  const hapiShare = hapi.length === 0
    ? 'HAPI not run by the local stack'
    : `HAPI ${perStudy(hapi.map(({ hapi }) => hapi))} (its JIT compiler ${((100 * sum(hapi.map(({ hapiJit }) => hapiJit))) / sum(hapi.map(({ hapi }) => hapi))).toFixed(0)} % of all rounds' HAPI CPU)`;
  return `${hapiShare}, mapper ${perStudy(bursts.map(({ mapper }) => mapper))}, ingest ${perStudy(bursts.map(({ ingest }) => ingest))}`;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

async function main(): Promise<void> {
  process.env.KAFKA_BROKERS ??= 'localhost:9092';
  process.env.FHIR_BASE_URL ??= 'http://localhost:8080/fhir';
  const harness = await import(pathToFileURL(path.join(REPO_ROOT, 'deploy/local/lib/harness.mjs')).href);
  // As for the tests: FACADE_SKIP_INFRA=1 uses the Kafka and HAPI already running (shared), never starts or stops them.
  const startedInfra: unknown = process.env.FACADE_SKIP_INFRA === '1' ? [] : await harness.ensureInfra({ components: ['kafka', 'hapi'] });
  // The local stack's HAPI, whose CPU case 5 reads; none when HAPI runs elsewhere.
  const hapiPid = (harness.stackPid('hapi') as number | null) ?? undefined;
  const artifacts = path.join(REPO_ROOT, 'test/artifacts');
  mkdirSync(artifacts, { recursive: true });

  let pipeline: Pipeline | undefined;
  const generated: Study[] = [];
  try {
    console.log(`generating ${SMALL} copies of CT_small (39 KB) and ${LARGE} CT instances (512x512, 16 bit) per round…`);
    const firstSmall = await generateStudy(SMALL, 'small');
    const firstLarge = await generateStudy(LARGE, 'large');
    generated.push(firstSmall, firstLarge);
    const megabytes = (study: Study): number => study.files.reduce((sum, file) => sum + readFileSync(file).length, 0) / 1e6;

    const profile: Record<string, string> = process.env.BENCH_CPU_PROF === '1'
        ? { NODE_OPTIONS: `--require ${path.join(REPO_ROOT, 'test/bench/cpu-profile.cjs')}`, BENCH_CPU_PROF_DIR: path.join(artifacts, 'cpu-prof') }
        : {};
    // The 100-association case needs a limit above 100: the default (50) refuses the others, by design.
    const ingestEnv = { STUDY_QUIET_PERIOD_MS: String(QUIET_PERIOD_MS), LOG_LEVEL: 'warn', DICOM_MAX_ASSOCIATIONS: String(MANY + 20) };
    const running = await startPipeline({ ...ingestEnv, ...profile });
    // Stopped in `finally`; `running` is the same pipeline, typed as started.
    pipeline = running;
    /** Seconds from the last instance stored to searchable, per study sent alone (one at a time). */
    const searchable: number[] = [];
    /** The same, per study of the 8 sent at once (8 studies going quiet within the same second). */
    const searchableInBursts: number[] = [];
    let warmupSeconds = 0;
    if (WARMUP > 0) {
      const warmup = await generateStudy(WARMUP, 'small');
      generated.push(warmup);
      warmupSeconds = await send(running.dicomPort, 'FACADE', warmup);
      // Its publication (mapper, HAPI) is over before anything is timed.
      await waitSearchable([warmup], Date.now());
    }

    // Every round sends fresh copies (nothing is a re-send), generated before the round so that the
    // generator's CPU and its dirty pages (synced) are not in any timed send.
    const rounds: Round[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const small = round === 0 ? firstSmall : await generateStudy(SMALL, 'small');
      const large = round === 0 ? firstLarge : await generateStudy(LARGE, 'large');
      // Two at a time: the generator is single-threaded, and the machine has two cores.
      const concurrentStudies: Study[] = [];
      for (let i = 0; i < CONCURRENT; i += 2) {
        concurrentStudies.push(...(await Promise.all([generateStudy(SMALL, 'small'), generateStudy(SMALL, 'small')])));
      }
      const sharedStudy = await generateStudy(SMALL, 'small');
      generated.push(...(round === 0 ? [] : [small, large]), ...concurrentStudies, sharedStudy);
      await runProcess('sync', []);

      const storescp = await benchStorescp(small);
      await quietMachine();
      const durableSmall = storescp + durableWriteSeconds(small.files, running.storageDir);
      const orthanc = await benchOrthanc(small);
      const ingest = await benchFacade(running, small);
      const storescpLarge = await benchStorescp(large);
      await quietMachine();
      const durableLarge = storescpLarge + durableWriteSeconds(large.files, running.storageDir);
      const ingestLarge = await benchFacade(running, large);
      searchable.push(ingest.searchableAfterSeconds, ingestLarge.searchableAfterSeconds);
      const sendConcurrent = async (studies: Study[], parts: string[][]): Promise<ConcurrentSend> => {
        const instances = parts.reduce((sum, part) => sum + part.length, 0);
        await quietMachine();
        const sent = await measureCpu(running.ingest.pid, instances, () => sendConcurrently(running.dicomPort, parts));
        const since = Date.now();
        const published = publicationCpu(running, hapiPid);
        (studies.length > 1 ? searchableInBursts : searchable).push(...(await waitSearchable(studies, since)));
        return { instances, seconds: sent.seconds, failures: sent.failedAssociations + sent.failedStores, cpu: sent.cpu, untilSearchable: published() };
      };
      // In alternating order: neither reading always runs on the more warmed-up node.
      const concurrentParts = concurrentStudies.map((study) => study.files);
      const sharedParts = split(sharedStudy.files, CONCURRENT);
      const sharedFirst = round % 2 === 1;
      const shared = sharedFirst ? await sendConcurrent([sharedStudy], sharedParts) : undefined;
      const concurrent = await sendConcurrent(concurrentStudies, concurrentParts);
      rounds.push({
        storescp,
        durableSmall,
        orthanc,
        ingest,
        storescpLarge,
        durableLarge,
        ingestLarge,
        concurrent,
        shared: shared ?? (await sendConcurrent([sharedStudy], sharedParts)),
      });
    }

    // 100 associations at once, 5 instances each, with the ingest's memory sampled.
    const manyStudy = await generateStudy(MANY * 5, 'small');
    generated.push(manyStudy);
    await runProcess('sync', []);
    await quietMachine();
    const rss = rssSampler(running.ingest.pid);
    const many = await sendConcurrently(running.dicomPort, split(manyStudy.files, MANY));
    const manyPeakRss = rss.stop();
    if (many.failedAssociations + many.failedStores === 0) {
      // A study missing refused instances never becomes whole: its failures are reported below instead.
      searchable.push(...(await waitSearchable([manyStudy], Date.now())));
    }

    // Last, so that no reading above runs after it: a study ten times the others, its memory beside theirs.
    const sized = await generateStudy(STUDY_SIZE, 'small');
    generated.push(sized);
    await runProcess('sync', []);
    const bySize = await benchFacade(running, sized);

    const rate = (count: number, seconds: number): string => `${(count / seconds).toFixed(0)}/s`;
    const median = (values: number[]): number => percentile(values, 50);
    const cpu = ({ ingestMs, machineMs, idleShare }: CpuPerInstance, withIdle = false): string =>
      ` (CPU per instance: ingest ${ingestMs.toFixed(2)} ms, machine ${machineMs.toFixed(2)} ms${withIdle ? `; CPU idle ${(idleShare * 100).toFixed(0)} %` : ''})`;
    const memory = (result: FacadeResult): string =>
      `${result.rssBeforeMiB.toFixed(0)} → ${result.peakRssMiB.toFixed(0)} → ${result.peakRssUntilSearchableMiB.toFixed(0)} MiB (searchable after ${result.searchableAfterSeconds.toFixed(1)} s)`;
    const ratio = (values: number[], target: number): string => `${median(values).toFixed(2)} (target ≥ ${target})`;
    const toStorescp = rounds.map((round) => round.storescp / round.ingest.seconds);
    const toOrthanc = rounds.flatMap((round) => (round.orthanc === undefined ? [] : [round.orthanc / round.ingest.seconds]));
    const toDurable = rounds.map((round) => round.durableLarge / round.ingestLarge.seconds);
    // The aggregate of 8 associations against storescp on one, both of the same round.
    const aggregateToStorescp = (round: Round, send: ConcurrentSend): number => send.instances / send.seconds / (SMALL / round.storescp);
    const concurrentToStorescp = rounds.map((round) => aggregateToStorescp(round, round.concurrent));
    const sharedToStorescp = rounds.map((round) => aggregateToStorescp(round, round.shared));
    const lines = [
      `0. warm-up: ${WARMUP} × CT_small sent to dicom-ingest first (BENCH_WARMUP), not counted: ${WARMUP > 0 ? rate(WARMUP, warmupSeconds) : 'none'} from a cold start`,
      `${ROUNDS} rounds (BENCH_ROUNDS), each on fresh copies; every ratio is the median of the rounds' ratios, each taken within its round:`,
      `1. one association, ${SMALL} × CT_small (${megabytes(firstSmall).toFixed(0)} MB), storescp, Orthanc, dicom-ingest in turn:`,
      ...rounds.map(
        (round, i) =>
          `   round ${i + 1}: DCMTK storescp ${rate(SMALL, round.storescp)}, ` +
          (round.orthanc === undefined ? 'Orthanc not installed, ' : `Orthanc ${rate(SMALL, round.orthanc)}, `) +
          `dicom-ingest ${rate(SMALL, round.ingest.seconds)}: ${(round.storescp / round.ingest.seconds).toFixed(2)} × storescp` +
          (round.orthanc === undefined ? '' : `, ${(round.orthanc / round.ingest.seconds).toFixed(2)} × Orthanc`) +
          cpu(round.ingest.cpu) +
          `\n     durable limit of this study (storescp + write and fdatasync each file; not a target) ${rate(SMALL, round.durableSmall)}: ` +
          `storescp ${(round.storescp / round.durableSmall).toFixed(2)} ×, dicom-ingest ${(round.durableSmall / round.ingest.seconds).toFixed(2)} × it`,
      ),
      `   median: ingest / storescp ${ratio(toStorescp, 0.6)}` + (toOrthanc.length === 0 ? '' : `, ingest / Orthanc ${ratio(toOrthanc, 2.5)}`) +
        `; ingest / this study's durable limit ${median(rounds.map((round) => round.durableSmall / round.ingest.seconds)).toFixed(2)}, ` +
        `durable limit / storescp ${median(rounds.map((round) => round.storescp / round.durableSmall)).toFixed(2)} (not targets)`,
      `2. one association, ${LARGE} × 512 KB CT (${megabytes(firstLarge).toFixed(0)} MB), storescp, then the durable limit (storescp + write and fdatasync each file), then dicom-ingest:`,
      ...rounds.map(
        (round, i) =>
          `   round ${i + 1}: storescp ${rate(LARGE, round.storescpLarge)}, durable limit ${rate(LARGE, round.durableLarge)}, ` +
          `dicom-ingest ${rate(LARGE, round.ingestLarge.seconds)}: ${(round.durableLarge / round.ingestLarge.seconds).toFixed(2)} × durable limit` +
          cpu(round.ingestLarge.cpu),
      ),
      `   median: ingest / durable limit ${ratio(toDurable, 0.8)}`,
      `3. ${CONCURRENT} concurrent associations, a study of ${SMALL} × CT_small each, aggregate against the round's storescp on one association:`,
      ...rounds.map(
        (round, i) =>
          `   round ${i + 1}: aggregate ${rate(round.concurrent.instances, round.concurrent.seconds)}, ${round.concurrent.failures} failures: ` +
          `${aggregateToStorescp(round, round.concurrent).toFixed(2)} × storescp` +
          cpu(round.concurrent.cpu, true) +
          `\n     one study of ${SMALL} split ${CONCURRENT} ways: ${rate(round.shared.instances, round.shared.seconds)}, ${round.shared.failures} failures: ` +
          `${aggregateToStorescp(round, round.shared).toFixed(2)} × storescp` +
          cpu(round.shared.cpu, true),
      ),
      `   median: aggregate / storescp on one association ${ratio(concurrentToStorescp, 1.0)}; ` +
        `one study split ${CONCURRENT} ways (the earlier rounds' reading; 8 sender start-ups per ${SMALL} instances) ${median(sharedToStorescp).toFixed(2)}`,
      `4. ${MANY} concurrent associations × 5 CT_small: ${rate(MANY * 5, many.seconds)}, failed associations ${many.failedAssociations}, ` +
        `failed stores ${many.failedStores} (target 0), ingest peak RSS ${manyPeakRss.toFixed(0)} MiB (target ≤ 300)`,
      `   ingest peak RSS one association: ${Math.max(...rounds.map((round) => round.ingest.peakRssMiB)).toFixed(0)} MiB (${SMALL} × 39 KB), ` +
        `${Math.max(...rounds.map((round) => round.ingestLarge.peakRssMiB)).toFixed(0)} MiB (${LARGE} × 512 KB)`,
      `5. last instance stored → ImagingStudy searchable: p95 ${percentile([...searchable, ...searchableInBursts], 95).toFixed(1)} s ` +
        `over ${searchable.length + searchableInBursts.length} studies, target ≤ quiet period ${QUIET_PERIOD_MS / 1000} s + 2 s:`,
      `   studies sent one at a time: p95 ${percentile(searchable, 95).toFixed(1)} s (${searchable.map((s) => s.toFixed(1)).join(', ')})`,
      `   studies sent ${CONCURRENT} at once (case 3; ${CONCURRENT} × ${SMALL} instances indexed in the same seconds): ` +
        `p95 ${percentile(searchableInBursts, 95).toFixed(1)} s (${searchableInBursts.map((s) => s.toFixed(1)).join(', ')})`,
      `   CPU per study of a burst, from the send's end until its last study was searchable (medians of the rounds): ${burstCpu(rounds.map((round) => round.concurrent.untilSearchable))}`,
      `   (single-association ingest rate, small study: median ${median(rounds.map((round) => SMALL / round.ingest.seconds)).toFixed(0)}/s)`,
      `6. memory in study size, one association: the ingest's RSS before the send → peak during it → peak until searchable:`,
      ...rounds.map((round, i) => `   round ${i + 1}, ${SMALL} × 39 KB: ${memory(round.ingest)}`),
      `   ${STUDY_SIZE} × 39 KB (sent after case 4; not in case 5's p95, for runs to compare; ${rate(STUDY_SIZE, bySize.seconds)}): ${memory(bySize)}`,
      `every timed send (and durable limit) began once the machine's CPUs had been at most 15 % busy for 0.5 s: ` +
        `waited median ${median(quietWaits.map((wait) => wait.waitedSeconds)).toFixed(1)} s, at most ${Math.max(...quietWaits.map((wait) => wait.waitedSeconds)).toFixed(1)} s; ` +
        `${quietWaits.filter((wait) => !wait.quiet).length} of ${quietWaits.length} began after 20 s without`,
    ];
    console.log(`\n${lines.join('\n')}`);
    writeFileSync(path.join(artifacts, 'bench-ingest.txt'), `${lines.join('\n')}\n`);
  } finally {
    for (const study of generated) {
      rmSync(path.dirname(study.files[0] ?? '/nonexistent/x'), { recursive: true, force: true });
    }
    await pipeline?.stop();
    await harness.stopInfra(startedInfra);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
