import { mkdtemp, readFile, stat } from 'node:fs/promises';
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
 * whole study does not leave duplicates once the study is published.
 */

const INSTANCES = 120;
const KILL_AFTER_ANSWERS = 40;

interface IndexLine {
  sopInstanceUid: string;
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

describe('dicom-ingest killed (kill -9) during a send', () => {
  let ingest: RunningService | undefined;

  afterAll(async () => {
    await ingest?.stop();
  });

  it('after the restart, every instance answered with success is indexed exactly once with its file in place, and a re-send leaves one line per instance', async () => {
    const study = await makeStudy([{ source: sample('CT_small.dcm'), instances: INSTANCES }]);
    const sopOfFile = new Map(study.files.map((file, i) => [file, study.series[0]?.sopInstanceUids[i] ?? '']));
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
    ingest = await startService('dicom-ingest', env, opsPort);
    const killed = ingest;

    const send = await storescuWatched(dicomPort, study.files, (_answer, answered) => {
      if (answered === KILL_AFTER_ANSWERS) {
        process.kill(killed.pid, 'SIGKILL');
      }
    });
    await killed.stop();
    const succeeded = send.answers.filter((answer) => answer.status === 'Success').map((answer) => sopOfFile.get(answer.file));
    expect(send.code).not.toBe(0);
    expect(succeeded.length).toBeGreaterThanOrEqual(KILL_AFTER_ANSWERS);
    expect(succeeded.length).toBeLessThan(INSTANCES);

    ingest = await startService('dicom-ingest', env, opsPort);
    // The SCP listens only once the previous run's pending studies are recovered (index repaired).
    await eventually(async () => ((await runDcmtk('echoscu', ['-aec', 'FACADE', 'localhost', String(dicomPort)])).code === 0 ? true : undefined), {
      what: 'the restarted SCP',
    });
    const afterRestart = await indexLines(storageDir, study.studyInstanceUid);
    const counts = countBySop(afterRestart);
    expect(succeeded.filter((sop) => counts.get(sop ?? '') !== 1)).toEqual([]);
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
});
