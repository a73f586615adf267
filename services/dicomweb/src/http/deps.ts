import type { StudyAccess } from '@imaging-facade/access';
import type { StudyIndexDb } from '../index/study-index-db';
import type { RequestContextDeps } from './request-context';
import type { FrameRender } from '../wado/render-thread';

/** What the DICOMweb handlers are given (main.ts wires the real ones; tests their own). */
export interface DicomwebDeps extends RequestContextDeps {
  db: StudyIndexDb;
  /** Where the instances are (read only). */
  storageDir: string;
  access: Pick<StudyAccess, 'scopeOf' | 'canSee' | 'consentShares' | 'waitsForReport'>;
  /** Largest QIDO-RS page. */
  maxResults: number;
  /** How rendered images and thumbnails are made (a thread of their own), and the largest frame rendered. */
  rendering: { render: FrameRender; maxPixels: number };
  /** Bytes of frames kept for the next frame requests (wado/frame-cache.ts). */
  frameCacheBytes: number;
}
