import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import path from 'node:path';
import { SYSTEM_PYTHON } from './sample-files';

const GENERATE = path.join(__dirname, '..', 'fixtures', 'generate-rejection-note.py');

/** An instance to take back: its series, SOP class and SOP instance. */
export interface Rejected {
  seriesInstanceUid: string;
  sopClassUid: string;
  sopInstanceUid: string;
}

/**
 * An IHE IOCM rejection note (a Key Object Selection titled with `reason`, PS3.16 CID 7011) for
 * instances of one study, as a modality or a PACS sends it: written by pydicom
 * (test/fixtures/generate-rejection-note.py).
 */
export function rejectionNote(study: { studyInstanceUid: string; patientId: string }, reason: '113001' | '113037' | '113038' | '113039', rejected: readonly Rejected[]): { file: string; sopInstanceUid: string } {
  const out = path.join(mkdtempSync('/tmp/facade-rejection-'), 'note.dcm');
  const args = ['--out', out, '--study-uid', study.studyInstanceUid, '--patient-id', study.patientId, '--reason', reason];
  for (const item of rejected) {
    args.push('--reject', `${item.seriesInstanceUid}:${item.sopClassUid}:${item.sopInstanceUid}`);
  }
  return JSON.parse(execFileSync(SYSTEM_PYTHON, [GENERATE, ...args]).toString()) as { file: string; sopInstanceUid: string };
}
