import type { StudyAccess } from '@imaging-facade/access';
import { StudyIndexDb } from '../index/study-index-db';

/**
 * The exams consent lets the dashboard show, by the same rule as QIDO-RS, WADO-RS and the viewer's
 * API (libs/access `consentShares`, over the consent view): each exam's study is looked up in
 * dicomweb's own index, which gives its identity — the patient's identifiers, the Study Instance
 * UID and accession number — and the exam is kept only when consent shares that study. Fail
 * closed: an exam without a Study Instance UID, whose study is not (yet) in the index, or whose
 * study has no patient identifier there, is left out. Everything the dashboard shows, exports or
 * counts is computed from what is kept.
 */
export interface ConsentFilter {
  studies: Pick<StudyIndexDb, 'study'>;
  access: Pick<StudyAccess, 'consentShares'>;
}

export function consentedExams<T extends { studyUid: string | undefined }>(exams: readonly T[], filter: ConsentFilter): T[] {
  const shared = new Map<string, boolean>();
  const shares = (studyUid: string): boolean => {
    const study = filter.studies.study(studyUid);
    const facts = study && StudyIndexDb.factsOf(study);
    return facts !== undefined && facts.patient.length > 0 && filter.access.consentShares(facts);
  };
  return exams.filter((exam) => {
    if (exam.studyUid === undefined) return false;
    let kept = shared.get(exam.studyUid);
    if (kept === undefined) {
      kept = shares(exam.studyUid);
      shared.set(exam.studyUid, kept);
    }
    return kept;
  });
}
