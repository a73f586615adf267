import { copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runDcmtk } from './dcmtk';
import { newUid } from './uids';

/** Every generated study happened at the same moment, whichever files its series came from. */
export const STUDY_DATE = '20240105';
export const STUDY_TIME = '101500';

export interface SeriesPlan {
  /** A real DICOM file whose pixel data and encoding the generated instances keep. */
  source: string;
  instances: number;
}

export interface GeneratedSeries {
  seriesInstanceUid: string;
  seriesNumber: number;
  source: string;
  files: string[];
  sopInstanceUids: string[];
}

export interface GeneratedStudy {
  studyInstanceUid: string;
  patientId: string;
  series: GeneratedSeries[];
  files: string[];
}

/**
 * Copies real sample files into one new study (fresh Study/Series/SOP Instance UIDs, one patient,
 * numbered series and instances), rewriting only those attributes with DCMTK's dcmodify, so that
 * each test works on its own study while sending real encoded data.
 */
export async function makeStudy(plans: SeriesPlan[], patientId = `E2E-${newUid().slice(-12)}`): Promise<GeneratedStudy> {
  const dir = mkdtempSync(path.join(tmpdir(), 'facade-study-'));
  const studyInstanceUid = newUid();
  const series: GeneratedSeries[] = [];
  for (const [index, plan] of plans.entries()) {
    series.push(await makeSeries(dir, studyInstanceUid, patientId, index + 1, plan));
  }
  return { studyInstanceUid, patientId, series, files: series.flatMap((s) => s.files) };
}

/** Adds one more series to an existing study (a late series). */
export async function addSeries(study: GeneratedStudy, plan: SeriesPlan): Promise<GeneratedSeries> {
  const dir = mkdtempSync(path.join(tmpdir(), 'facade-series-'));
  const added = await makeSeries(dir, study.studyInstanceUid, study.patientId, study.series.length + 1, plan);
  study.series.push(added);
  study.files.push(...added.files);
  return added;
}

async function makeSeries(
  dir: string,
  studyInstanceUid: string,
  patientId: string,
  seriesNumber: number,
  plan: SeriesPlan,
): Promise<GeneratedSeries> {
  const seriesInstanceUid = newUid();
  const files: string[] = [];
  const sopInstanceUids: string[] = [];
  for (let number = 1; number <= plan.instances; number++) {
    const sopInstanceUid = newUid();
    const file = path.join(dir, `s${seriesNumber}-i${number}.dcm`);
    copyFileSync(plan.source, file);
    const result = await runDcmtk('dcmodify', [
      '-nb',
      // -i inserts or overwrites; dcmodify keeps the meta header's SOP Instance UID in step.
      '-i', `(0020,000D)=${studyInstanceUid}`,
      '-i', `(0020,000E)=${seriesInstanceUid}`,
      '-i', `(0008,0018)=${sopInstanceUid}`,
      '-i', `(0010,0020)=${patientId}`,
      '-i', `(0020,0011)=${seriesNumber}`,
      '-i', `(0020,0013)=${number}`,
      '-i', `(0008,0020)=${STUDY_DATE}`,
      '-i', `(0008,0030)=${STUDY_TIME}`,
      file,
    ]);
    if (result.code !== 0) {
      throw new Error(`dcmodify failed on ${plan.source}: ${result.stderr}`);
    }
    files.push(file);
    sopInstanceUids.push(sopInstanceUid);
  }
  return { seriesInstanceUid, seriesNumber, source: plan.source, files, sopInstanceUids };
}
