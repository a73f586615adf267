import type { Router } from 'express';
import type { Logger } from '@imaging-facade/service-kit';
import type { DicomwebConfig } from '../config';

/** The pages served beside DICOMweb (the viewer, when its build is configured). */
export function viewerPages(_config: DicomwebConfig, _logger: Logger): Array<{ path: string; router: Router }> {
  return [];
}
