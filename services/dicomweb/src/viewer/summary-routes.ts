import express, { type Request, type Response, type Router } from 'express';
import { evaluateAccess } from '@imaging-facade/access';
import type { DicomwebDeps } from '../http/deps';
import { dicomwebErrorHandler, notFound, sendError } from '../http/errors';
import { jsonCompression } from '../http/json-compression';
import { audited, principalOf, requestContext, type RequestFace } from '../http/request-context';
import { checkUid } from '../http/uids';
import { patientReferenceOf, type SummarySource } from './summary-source';
import { studySummary } from './study-summary';

/**
 * The viewer's own API, on the viewer's origin: `GET /viewer-api/studies/{uid}/summary`, what the
 * index says of a study and its dose, for the overlay app-config.js adds to OHIF. The same request
 * context as DICOMweb (the viewer's bearer token, `no-store`, one BALP Read AuditEvent naming the
 * study and its patient) and the same access rule: a study the token may not see — another
 * patient's, or one whose patient refused sharing — is 404, as one that does not exist. The dose
 * parts need a token that may also read that patient's Observations.
 */
export const VIEWER_API_PATH = '/viewer-api';

export const VIEWER_API_FACE: RequestFace = {
  serverDisplay: 'Imaging Facade viewer',
  logMessage: 'viewer api request',
  interactionOf: () => 'read',
};

export interface SummaryDeps extends DicomwebDeps {
  summaries: SummarySource;
}

export function viewerApiRoutes(deps: SummaryDeps): Router {
  const router = express.Router();
  router.use(jsonCompression(), requestContext(deps, VIEWER_API_FACE));
  router.get('/studies/:study/summary', async (req: Request, res: Response) => {
    const studyUid = checkUid(req.params.study as string, 'StudyInstanceUID');
    const study = deps.db.study(studyUid);
    const principal = principalOf(res);
    if (!study || !(await deps.access.canSee(principal, deps.db.accessFactsOf(study), 'read'))) {
      throw notFound(`Study ${studyUid}`);
    }
    audited(res).studies = [study];
    const observations = evaluateAccess(principal, 'Observation', 'read');
    const resources = await deps.summaries.study(studyUid);
    const patient = patientReferenceOf(resources, studyUid);
    // A token that may read one patient's Observations (`patient/Observation.rs`) sees the dose of
    // that patient's studies only, as the gateway answers it (until 2026-12-07 it saw any study's).
    const withDose = observations.allowed && (observations.restriction === 'none' || patient === `Patient/${observations.patientId}`);
    // The patient's cumulative dose counts every study: a GP, who sees a study once reported, does not get it.
    const cumulative = withDose && patient && !deps.access.waitsForReport(principal) ? await deps.summaries.cumulative(patient) : undefined;
    res.type('application/json').send(JSON.stringify(studySummary(studyUid, resources, cumulative, withDose)));
  });
  router.use((_req, res) => sendError(res, 404, 'No such viewer API resource'));
  router.use(dicomwebErrorHandler(deps.logger));
  return router;
}

export function viewerApi(deps: SummaryDeps): { path: string; router: Router } {
  return { path: VIEWER_API_PATH, router: viewerApiRoutes(deps) };
}
