import { copyFile, mkdtemp, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runDcmtk, storescu, storeResponses, storescuWatched } from '../../../test/support/dcmtk';
import { freePort } from '../../../test/support/ports';
import { sample } from '../../../test/support/sample-files';
import { startService, type RunningService } from '../../../test/support/service-process';
import { makeStudy } from '../../../test/support/study-factory';
import { newUid } from '../../../test/support/uids';
import { eventually } from '../../../test/support/wait';

/**
 * The contract of a C-STORE success through a crash: the process is killed (SIGKILL, nothing
 * flushed, no shutdown) in the middle of a send; after a restart, every instance the sender got
 * success for is in the study index exactly once, with its file in place, and a re-send of the
 * whole study does not leave duplicates once the study is published. The same when the send is the
 * study sent again under a new series (one place per instance, the newest durable send wins).
 */

const INSTANCES = 120;
const KILL_AFTER_ANSWERS = 40;

interface IndexLine {
  sopInstanceUid: string;
  seriesInstanceUid: string;
  storagePath: string;
  sizeBytes: number;
}

async function indexLines(storageDir: string, studyUid: string): Promise<IndexLine[]> {
  const text = await readFile(path.join(storageDir, studyUid, 'study-index.ndjson'), 'utf8');
  return text
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as IndexLine);
}

function countBySop(lines: IndexLine[]): Map<string, number> {
  const counts = new Map<string, number>();
  lines.forEach((line) => counts.set(line.sopInstanceUid, (counts.get(line.sopInstanceUid) ?? 0) + 1));
  return counts;
}

const exists = (file: string): Promise<boolean> => stat(file).then(() => true, () => false);

/** One node under test: its settings, with its own ports, storage and topics. */
interface Node {
  env: Record<string, string>;
  dicomPort: number;
  opsPort: number;
  storageDir: string;
}

async function newNode(): Promise<Node> {
  const storageDir = await mkdtemp(path.join(tmpdir(), 'ingest-crash-'));
  const [dicomPort, opsPort] = [await freePort(), await freePort()];
  const env = {
    KAFKA_BROKERS: process.env.KAFKA_BROKERS ?? 'localhost:9092',
    KAFKA_TOPIC_PREFIX: `it-crash-${newUid().slice(-10)}.`,
    DICOM_PORT: String(dicomPort),
    DICOM_AE_TITLE: 'FACADE',
    INGEST_HTTP_PORT: String(opsPort),
    INGEST_STORAGE_DIR: storageDir,
    STUDY_QUIET_PERIOD_MS: '2000',
  };
  return { env, dicomPort, opsPort, storageDir };
}

/**
 * Sends `files` with storescu and kills the service (SIGKILL) when the KILL_AFTER_ANSWERS-th answer
 * arrives. Returns the SOP Instance UIDs answered with success.
 */
async function sendKilledMidway(service: RunningService, node: Node, files: string[], sopOfFile: ReadonlyMap<string, string>): Promise<string[]> {
  const send = await storescuWatched(node.dicomPort, files, (_answer, answered) => {
    if (answered === KILL_AFTER_ANSWERS) {
      process.kill(service.pid, 'SIGKILL');
    }
  });
  await service.stop();
  const succeeded = send.answers.filter((answer) => answer.status === 'Success').map((answer) => sopOfFile.get(answer.file) ?? '');
  expect(send.code).not.toBe(0);
  expect(succeeded.length).toBeGreaterThanOrEqual(KILL_AFTER_ANSWERS);
  expect(succeeded.length).toBeLessThan(files.length);
  return succeeded;
}

/** Starts the service again; resolves once its SCP answers, which it does only once the previous run's pending studies are recovered (index repaired). */
async function restarted(node: Node): Promise<RunningService> {
  const service = await startService('dicom-ingest', node.env, node.opsPort);
  await eventually(async () => ((await runDcmtk('echoscu', ['-aec', 'FACADE', 'localhost', String(node.dicomPort)])).code === 0 ? true : undefined), {
    what: 'the restarted SCP',
  });
  return service;
}

describe('dicom-ingest killed (kill -9) during a send', () => {
  let ingest: RunningService | undefined;

  afterAll(async () => {
    await ingest?.stop();
  });

  it('after the restart, every instance answered with success is indexed exactly once with its file in place, and a re-send leaves one line per instance', async () => {
    const study = await makeStudy([{ source: sample('CT_small.dcm'), instances: INSTANCES }]);
    const sopOfFile = new Map(study.files.map((file, i) => [file, study.series[0]?.sopInstanceUids[i] ?? '']));
    const node = await newNode();
    const { dicomPort, storageDir } = node;
    ingest = await startService('dicom-ingest', node.env, node.opsPort);

    const succeeded = await sendKilledMidway(ingest, node, study.files, sopOfFile);

    ingest = await restarted(node);
    const afterRestart = await indexLines(storageDir, study.studyInstanceUid);
    const counts = countBySop(afterRestart);
    expect(succeeded.filter((sop) => counts.get(sop) !== 1)).toEqual([]);
    // No line points at a file that is not there, whole (an instance caught mid-store was never answered).
    for (const line of afterRestart) {
      expect((await stat(path.join(storageDir, line.storagePath))).size).toBe(line.sizeBytes);
    }

    const resend = await storescu(dicomPort, study.files, { args: ['-v'] });
    expect(storeResponses(resend.output).filter((status) => status !== 'Success')).toEqual([]);
    // Once published, the index is compacted: one line per instance, whatever was sent twice.
    await eventually(
      async () => {
        const lines = await indexLines(storageDir, study.studyInstanceUid);
        return lines.length === INSTANCES && countBySop(lines).size === INSTANCES ? true : undefined;
      },
      { timeoutMs: 60_000, what: 'the study index to hold one line per instance' },
    );
  });

  it('killed while a published study is sent again with another series: after the restart each instance is indexed once, in the place of its newest durable send, with no copy left in the other; once published, none is left in the old series', async () => {
    await ingest?.stop();
    const study = await makeStudy([{ source: sample('CT_small.dcm'), instances: INSTANCES }]);
    const [oldSeries] = study.series;
    const newSeries = newUid();
    const node = await newNode();
    const { dicomPort, storageDir } = node;
    const placeOf = (series: string, sop: string) => path.join(storageDir, study.studyInstanceUid, series, `${sop}.dcm`);
    ingest = await startService('dicom-ingest', node.env, node.opsPort);
    expect(storeResponses((await storescu(dicomPort, study.files, { args: ['-v'] })).output).filter((status) => status !== 'Success')).toEqual([]);
    await eventually(async () => ((await exists(path.join(storageDir, '.pending', study.studyInstanceUid))) ? undefined : true), {
      timeoutMs: 60_000,
      what: 'the study to be published',
    });
    // The same instances, split off into a new series at the source.
    const resendDir = await mkdtemp(path.join(tmpdir(), 'ingest-crash-resend-'));
    const resent = await Promise.all(
      study.files.map(async (file) => {
        const copy = path.join(resendDir, path.basename(file));
        await copyFile(file, copy);
        return copy;
      }),
    );
    expect((await runDcmtk('dcmodify', ['-nb', '-m', `(0020,000E)=${newSeries}`, ...resent])).code).toBe(0);
    const sopOfFile = new Map(resent.map((file, i) => [file, oldSeries?.sopInstanceUids[i] ?? '']));

    const moved = await sendKilledMidway(ingest, node, resent, sopOfFile);

    ingest = await restarted(node);
    const afterRestart = await indexLines(storageDir, study.studyInstanceUid);
    expect([...countBySop(afterRestart)].filter(([, count]) => count !== 1)).toEqual([]);
    expect(countBySop(afterRestart).size).toBe(INSTANCES);
    const seriesOf = new Map(afterRestart.map((line) => [line.sopInstanceUid, line.seriesInstanceUid]));
    expect(moved.filter((sop) => seriesOf.get(sop) !== newSeries)).toEqual([]);
    for (const line of afterRestart) {
      const other = line.seriesInstanceUid === newSeries ? oldSeries?.seriesInstanceUid ?? '' : newSeries;
      expect({ sop: line.sopInstanceUid, size: (await stat(path.join(storageDir, line.storagePath))).size, other: await exists(placeOf(other, line.sopInstanceUid)) }).toEqual({
        sop: line.sopInstanceUid,
        size: line.sizeBytes,
        other: false,
      });
    }

    expect(storeResponses((await storescu(dicomPort, resent, { args: ['-v'] })).output).filter((status) => status !== 'Success')).toEqual([]);
    await eventually(
      async () => {
        const lines = await indexLines(storageDir, study.studyInstanceUid);
        const published = !(await exists(path.join(storageDir, '.pending', study.studyInstanceUid)));
        return published && lines.length === INSTANCES && lines.every((line) => line.seriesInstanceUid === newSeries) ? true : undefined;
      },
      { timeoutMs: 60_000, what: 'the study to be published with every instance in the new series, once' },
    );
    expect(await exists(path.join(storageDir, study.studyInstanceUid, oldSeries?.seriesInstanceUid ?? ''))).toBe(false);
  });
});
