import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startPipeline, type Pipeline } from '../support/pipeline';
import { REPO_ROOT } from '../support/service-process';
import { eventually } from '../support/wait';
import { datasetDigests, ledgerOf, type LedgerLine, type SentStudy } from './ledger';
import { sendUntilAcknowledged, type SendRecord } from './modality';
import { startPrivateStack, type PrivateStack } from './private-stack';

/**
 * Issue 11 §3: during a real DCMTK send of 2,000 instances in 20 studies, each fault a node meets in
 * production is caused once — kill -9 of each service, Kafka stopped for 60 s, HAPI stopped for
 * 2 minutes, the disk full — while the modality keeps re-sending what was not acknowledged, as a
 * modality does. Then every instance acknowledged with success must be indexed exactly once and kept
 * on disk as sent. The suite runs its own Kafka and HAPI (stack scripts, free ports), so stopping
 * them disturbs no other suite; the DICOM store is a tmpfs of its own, so that it can really fill.
 */

jest.setTimeout(45 * 60_000);

const STUDIES = 20;
const PER_STUDY = 100;
const SEND_DEADLINE_MS = 10 * 60_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Scenario {
  name: string;
  studies: number;
  /** Caused once the modality has had this many instances acknowledged in this scenario. */
  after?: number;
  fault?: (record: SendRecord) => Promise<void>;
  /** Set up before the send starts. */
  before?: () => Promise<void>;
}

describe('fault injection: nothing acknowledged is lost, duplicated or wrongly acknowledged', () => {
  let stack: PrivateStack;
  let pipeline: Pipeline;
  let storage: string;
  let sentDigests: Map<string, string[]>;
  let generated: SentStudy[];
  const ballast = () => path.join(storage, 'ballast.bin');
  const results: Array<{ scenario: Scenario; studies: SentStudy[]; record: SendRecord }> = [];

  beforeAll(async () => {
    const sourceDir = mkdtempSync(path.join(tmpdir(), 'facade-fault-source-'));
    generated = JSON.parse(
      execFileSync('/usr/bin/python3', [path.join(__dirname, 'generate-instances.py'), sourceDir, String(STUDIES), String(PER_STUDY)], { maxBuffer: 64 * 1024 * 1024 }).toString(),
    ) as SentStudy[];
    sentDigests = datasetDigests(sourceDir);

    // The store on a file system of its own that can fill up (root only, as in CI).
    storage = mkdtempSync(path.join(tmpdir(), 'facade-fault-store-'));
    const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=256m', 'tmpfs', storage]);
    if (mounted.status !== 0) {
      throw new Error(`the disk-full fault needs a tmpfs of its own (run as root): ${mounted.stderr.toString()}`);
    }

    stack = await startPrivateStack();
    pipeline = await startPipeline(
      { KAFKA_BROKERS: stack.kafkaBrokers, FHIR_BASE_URL: stack.fhirBaseUrl, INGEST_STORAGE_DIR: storage, STUDY_QUIET_PERIOD_MS: '1500' },
      { consent: true },
    );
  });

  afterAll(async () => {
    await pipeline?.stop();
    await stack?.stop(['kafka', 'hapi']).catch(() => undefined);
    if (storage) {
      spawnSync('umount', [storage]);
      rmSync(storage, { recursive: true, force: true });
    }
  });

  const killAndRestart = (name: 'dicom-ingest' | 'imaging-mapper' | 'consent') => async () => {
    process.kill(pipeline[name === 'dicom-ingest' ? 'ingest' : name === 'imaging-mapper' ? 'mapper' : 'consent'].pid, 'SIGKILL');
    await sleep(1000);
    await pipeline.startService(name);
  };

  const scenarios: Scenario[] = [
    { name: 'no fault (reference)', studies: 2 },
    { name: 'kill -9 dicom-ingest', studies: 3, after: 60, fault: killAndRestart('dicom-ingest') },
    { name: 'kill -9 imaging-mapper', studies: 3, after: 60, fault: killAndRestart('imaging-mapper') },
    { name: 'kill -9 consent', studies: 2, after: 60, fault: killAndRestart('consent') },
    {
      name: 'Kafka stopped for 60 s',
      studies: 3,
      after: 60,
      fault: async () => {
        await stack.stop(['kafka']);
        await sleep(60_000);
        await stack.start(['kafka']);
      },
    },
    {
      name: 'HAPI stopped for 2 min',
      studies: 3,
      after: 60,
      fault: async () => {
        await stack.stop(['hapi']);
        await sleep(120_000);
        await stack.start(['hapi']);
      },
    },
    {
      name: 'disk full',
      studies: 4,
      // Leaves room for ~30 instances, then gives the space back once the node has refused some.
      before: async () => {
        const { bavail, bsize } = statfsSync(storage);
        const bytes = bavail * bsize - 1_200_000;
        const made = spawnSync('fallocate', ['-l', String(bytes), ballast()]);
        if (made.status !== 0) {
          writeFileSync(ballast(), Buffer.alloc(bytes));
        }
      },
      after: 1,
      fault: async (record) => {
        await eventually(async () => (record.failures.length > 0 ? true : undefined), { timeoutMs: 120_000, what: 'the full disk to be refused' });
        await sleep(5000);
        rmSync(ballast(), { force: true });
      },
    },
  ];

  let next = 0;
  for (const scenario of scenarios) {
    it(`${scenario.name}: every instance is re-sent until acknowledged`, async () => {
      const studies = generated.slice(next, next + scenario.studies);
      next += scenario.studies;
      await scenario.before?.();
      const record: SendRecord = { acknowledged: new Set(), failures: [], attempts: 0 };
      let fault: Promise<void> | undefined;
      const files = studies.flatMap((study) => study.files.map((file) => file.path));
      await sendUntilAcknowledged(
        files,
        {
          port: pipeline.dicomPort,
          deadlineMs: SEND_DEADLINE_MS,
          onAcknowledged: (count) => {
            if (scenario.fault && !fault && count >= (scenario.after ?? 0)) {
              fault = scenario.fault(record);
            }
          },
        },
        record,
      );
      await fault;
      results.push({ scenario, studies, record });
      // Every file acknowledged, and nothing else: an answer taken for a file never sent would show here by its name.
      const sent = new Set(files);
      expect({ unacknowledged: files.filter((file) => !record.acknowledged.has(file)), notSent: [...record.acknowledged].filter((file) => !sent.has(file)) }).toEqual({
        unacknowledged: [],
        notSent: [],
      });
      expect(files).toHaveLength(scenario.studies * PER_STUDY);
    });
  }

  it('afterwards, every acknowledged instance is indexed once and kept as sent (the README table)', async () => {
    const ledger = async (): Promise<Array<{ name: string; line: LedgerLine; record: SendRecord }>> => {
      const stored = datasetDigests(storage);
      return Promise.all(
        results.map(async ({ scenario, studies, record }) => ({ name: scenario.name, record, line: await ledgerOf(studies, record.acknowledged, stack.fhirBaseUrl, stored, sentDigests) })),
      );
    };
    // The index catches up after the faults (the mapper retries until HAPI answers again).
    await eventually(async () => ((await ledger()).every(({ line }) => line.lost === 0) ? true : undefined), {
      timeoutMs: 8 * 60_000,
      intervalMs: 5000,
      what: 'every acknowledged instance to be indexed',
    }).catch(() => undefined);
    const lines = await ledger();

    const table = [
      '| fault during the send | instances sent | acknowledged | refused or unanswered, then re-sent | lost | duplicated | wrongly acknowledged |',
      '| --- | --- | --- | --- | --- | --- | --- |',
      ...lines.map(({ name, line, record }) => `| ${name} | ${line.sent} | ${line.acknowledged} | ${record.failures.length} | ${line.lost} | ${line.duplicated} | ${line.wronglyAcknowledged} |`),
    ].join('\n');
    const artifacts = path.join(REPO_ROOT, 'test/artifacts');
    mkdirSync(artifacts, { recursive: true });
    writeFileSync(path.join(artifacts, 'fault-table.md'), `${table}\n`);
    console.log(`fault injection results\n${table}`);
    if (lines.some(({ line }) => line.lost > 0)) {
      // What CI prints is all there is to go on: the services' last warnings and errors (no patient data is logged).
      for (const name of ['ingest', 'mapper', 'consent'] as const) {
        const problems = pipeline[name].logs().split('\n').filter((entry) => /"level":"(warn|error|fatal)"/.test(entry));
        console.log(`${name}: last warnings and errors\n${problems.slice(-25).map((entry) => entry.slice(0, 400)).join('\n')}`);
      }
    }

    expect(lines.map(({ name, line }) => ({ name, lost: line.lost, duplicated: line.duplicated, wronglyAcknowledged: line.wronglyAcknowledged }))).toEqual(
      lines.map(({ name }) => ({ name, lost: 0, duplicated: 0, wronglyAcknowledged: 0 })),
    );
    expect(lines.reduce((sum, { line }) => sum + line.sent, 0)).toBe(STUDIES * PER_STUDY);
  });
});
