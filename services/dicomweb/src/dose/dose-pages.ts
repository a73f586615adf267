import express, { type Router } from 'express';
import type { Upstream } from '@imaging-facade/fhir';
import type { DicomwebDeps } from '../http/deps';
import type { RequestContextDeps } from '../http/request-context';
import { doseApiRoutes } from './api-routes';
import { fhirDoseSource } from './dose-source';
import { DOSE_PATH, dosePageRoutes } from './page-routes';
import type { ReferenceTable } from './reference-table';

export interface DoseSettings {
  issuer: string;
  clientId: string;
  scope: string;
  roleScope: string;
  maxResources: number;
  table: ReferenceTable;
  upstream: Pick<Upstream, 'request' | 'baseUrl'>;
  /** The token check, failed-token counter, consent view, audit and logger DICOMweb uses, and its index and access rule (consent). */
  deps: RequestContextDeps & Pick<DicomwebDeps, 'db' | 'access'>;
}

/** The dose dashboard at /dose: its API under /dose/api, the page and its files beside it. */
export function dosePages(settings: DoseSettings): { path: string; router: Router } {
  const router = express.Router();
  router.use(
    '/api',
    doseApiRoutes({
      ...settings.deps,
      roleScope: settings.roleScope,
      studies: settings.deps.db,
      source: fhirDoseSource(settings.upstream, { pageSize: 200, maxResources: settings.maxResources }),
      table: settings.table,
      maxFlaggedListed: 500,
    }),
  );
  router.use(dosePageRoutes({ issuer: settings.issuer, clientId: settings.clientId, scope: settings.scope }));
  return { path: DOSE_PATH, router };
}
