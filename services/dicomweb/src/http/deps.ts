import type { StudyAccess } from '@imaging-facade/access';
import type { StudyIndexDb } from '../index/study-index-db';
import type { RequestContextDeps } from './request-context';

/** What the DICOMweb handlers are given (main.ts wires the real ones; tests their own). */
export interface DicomwebDeps extends RequestContextDeps {
  db: StudyIndexDb;
  /** Where the instances are (read only). */
  storageDir: string;
  access: Pick<StudyAccess, 'scopeOf' | 'canSee' | 'consentShares' | 'waitsForReport'>;
  /** Largest QIDO-RS page. */
  maxResults: number;
}
