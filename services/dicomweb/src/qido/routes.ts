import express, { type Request, type Response, type Router } from 'express';
import { badRequest, DicomwebError, notAcceptable } from '../http/errors';
import type { DicomwebDeps } from '../http/deps';
import { audited, principalOf } from '../http/request-context';
import { chooseSingle, parseAccept } from '../wado/accept';
import { parseQidoQuery, QidoQueryError, type Level } from './query';
import { search } from './search';
import { checkUid } from '../http/uids';

const JSON_TYPES = ['application/dicom+json', 'application/json'];

/** The query's parameters in order, repeated ones kept (`includefield` may be given several times). */
function paramsOf(req: Request): Array<[string, string]> {
  const raw = req.originalUrl.includes('?') ? req.originalUrl.slice(req.originalUrl.indexOf('?') + 1) : '';
  try {
    // `_format` was checked already (http/representation.ts); it is no attribute to match.
    return [...new URLSearchParams(raw)].filter(([name]) => name !== '_format');
  } catch {
    throw badRequest('the query string cannot be decoded');
  }
}

/** QIDO-RS (PS3.18 10.6): searches at every level, answered from the node's index. */
export function qidoRoutes(deps: DicomwebDeps): Router {
  const router = express.Router();
  const handler = (level: Level) => async (req: Request, res: Response): Promise<void> => {
    const mediaType = chooseSingle(parseAccept(req.headers.accept), JSON_TYPES);
    if (!mediaType) {
      throw notAcceptable('QIDO-RS answers application/dicom+json');
    }
    const studyUid = req.params.study === undefined ? undefined : checkUid(req.params.study as string, 'StudyInstanceUID');
    const seriesUid = req.params.series === undefined ? undefined : checkUid(req.params.series as string, 'SeriesInstanceUID');
    const scope = await deps.access.scopeOf(principalOf(res), 'search');
    if (scope.kind === 'denied') {
      res.set('www-authenticate', `Bearer realm="${deps.publicBaseUrl}", error="insufficient_scope"`);
      throw new DicomwebError(403, `the token does not allow searching studies: ${scope.reason}`);
    }
    let query;
    try {
      query = parseQidoQuery(paramsOf(req), deps.maxResults);
    } catch (error) {
      if (error instanceof QidoQueryError) throw badRequest(error.message);
      throw error;
    }
    const params = paramsOf(req);
    const patientSystem = req.params.anchor === undefined ? undefined : await anchoredSystem(deps, res, req.params.anchor as string, params);
    const result = search({ db: deps.db, access: deps.access, scope, publicBaseUrl: deps.publicBaseUrl }, level, query, { studyUid, seriesUid, patientSystem });
    audited(res).studies = result.studies;
    const host = new URL(deps.publicBaseUrl).host;
    for (const warning of query.warnings) {
      res.append('warning', `299 ${host} "${warning.replace(/"/g, "'")}"`);
    }
    res.status(200).type(mediaType).send(JSON.stringify(result.matches));
  };
  for (const prefix of ['', VIEWER_CONTEXT]) {
    router.get(`${prefix}/studies`, handler('study'));
    router.get(`${prefix}/series`, handler('series'));
    router.get(`${prefix}/instances`, handler('instance'));
    router.get(`${prefix}/studies/:study/series`, handler('series'));
    router.get(`${prefix}/studies/:study/instances`, handler('instance'));
    router.get(`${prefix}/studies/:study/series/:series/instances`, handler('instance'));
  }
  return router;
}

/**
 * The viewer's QIDO base: the node's, under the study its link opened (app-config.ts). OHIF looks for
 * a patient's other studies by PatientID alone, and listed another hospital's patient who had the
 * same Patient ID beside the study (a review's probe); under this base, a search for the opened
 * study's PatientID keeps to its patient's identifier system (its Issuer of Patient ID).
 */
const VIEWER_CONTEXT = '/viewer-context/:anchor';

/** The identifier system of the opened study's patient, when the search asks for its PatientID and the token may see it. */
async function anchoredSystem(deps: DicomwebDeps, res: Response, anchorUid: string, params: ReadonlyArray<[string, string]>): Promise<string | undefined> {
  const anchor = deps.db.study(checkUid(anchorUid, 'StudyInstanceUID'));
  const patientId = params.find(([name]) => name === 'PatientID' || name === '00100020')?.[1];
  if (!anchor || anchor.patientSystem === null || patientId === undefined || patientId !== anchor.patientId) return undefined;
  return (await deps.access.canSee(principalOf(res), deps.db.accessFactsOf(anchor), 'search')) ? anchor.patientSystem : undefined;
}
