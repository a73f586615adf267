import express, { type Router } from 'express';
import type { Logger } from '@imaging-facade/service-kit';
import { qidoRoutes } from '../qido/routes';
import { wadoRoutes } from '../wado/routes';
import type { DicomwebDeps } from './deps';
import { dicomwebErrorHandler, sendError } from './errors';
import { requestContext } from './request-context';
import { DICOMWEB_JSON_RESOURCE, jsonCompression } from './json-compression';
import { formatParameter } from './representation';

/** The DICOMweb router: every request authenticated and audited, then QIDO-RS and WADO-RS. */
export function createDicomwebRouter(deps: DicomwebDeps): Router {
  const router = express.Router();
  router.use(requestContext(deps), formatParameter);
  router.use(qidoRoutes(deps));
  router.use(wadoRoutes(deps));
  // No STOW-RS, no other write: images come in over DICOM. Refused as the gateway refuses its writes
  // (audited as the create, update or delete attempted, by the request context).
  router.use((req, res, next) => {
    if (req.method === 'GET' || req.method === 'HEAD') return next();
    res.setHeader('Allow', 'GET, HEAD');
    sendError(res, 405, `${req.method} is not served: this node takes images over DICOM (no STOW-RS); DICOMweb here is read only`);
  });
  router.use((_req, res) => sendError(res, 404, 'No such DICOMweb resource (see the conformance statement in the README)'));
  router.use(dicomwebErrorHandler(deps.logger));
  return router;
}

/** The whole HTTP application: DICOMweb at the public base's path, and the viewer and other pages beside it. */
export function createDicomwebApp(deps: DicomwebDeps, pages: Array<{ path: string; router: Router }> = [], logger: Logger = deps.logger): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');
  for (const { path, router } of pages) {
    app.use(path, router, dicomwebErrorHandler(logger));
  }
  app.use(new URL(deps.publicBaseUrl).pathname.replace(/\/+$/, '') || '/', jsonCompression(DICOMWEB_JSON_RESOURCE), createDicomwebRouter(deps));
  return app;
}
