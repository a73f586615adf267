import express, { type Router } from 'express';
import { outcomeErrorHandler } from '@imaging-facade/fhir-outcomes';
import type { GatewayDeps } from './fhir/context';
import { createFhirRouter } from './fhir/router';

/** The whole HTTP application: extra routes (the development issuer), then the FHIR router at the public base's path (ops endpoints are added by service-kit). */
export function createGatewayApp(deps: GatewayDeps, extraRoutes: Array<{ path: string; router: Router }> = []): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');
  for (const { path, router } of extraRoutes) {
    app.use(path, router, outcomeErrorHandler(deps.logger));
  }
  app.use(new URL(deps.publicBaseUrl).pathname.replace(/\/+$/, '') || '/', createFhirRouter(deps));
  return app;
}
