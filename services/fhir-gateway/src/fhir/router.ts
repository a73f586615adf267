import express, { type Router } from 'express';
import { notFoundHandler, outcomeErrorHandler } from '@imaging-facade/fhir-outcomes';
import { subscriptionsRouter } from '../subscriptions/router';
import { fhirContext, type GatewayDeps } from './context';
import { capabilities, smartDiscovery } from './interactions/capabilities';
import { searchPage } from './interactions/page';
import { readInstance } from './interactions/read';
import { searchType } from './interactions/search';
import { recordFailure } from './middleware/audit';
import { cors } from './middleware/cors';
import { guard } from './middleware/guard';
import { FHIR_PATHS, namesResource, readOnly, WRITE_INTERACTIONS } from './middleware/read-only';
import { requestId } from './middleware/request-id';
import { jsonOnly, noStore } from './middleware/representation';

/**
 * The FHIR endpoint: every request is authenticated, authorized against its SMART scopes,
 * restricted to the patient in context, filtered by consent, answered with the gateway's own
 * links, and audited. The middleware does the first and the last; one handler per interaction
 * does the rest (interactions/, and subscriptions/ for Subscriptions).
 */
export function createFhirRouter(deps: GatewayDeps): Router {
  const ctx = fhirContext(deps);
  const guarded = guard(ctx);
  const router = express.Router();
  router.use(cors, requestId);

  // Public: what the server can do and how to get a token.
  router.get('/metadata', jsonOnly, capabilities(ctx));
  router.get('/.well-known/smart-configuration', jsonOnly, smartDiscovery(ctx));

  // Everything below answers with patient data, or says whether some exists (errors included).
  router.use(noStore);
  router.use(subscriptionsRouter(ctx, guarded));
  router.get('/', guarded('search-type'), searchPage(ctx));
  router.get('/:type', guarded('search-type'), searchType(ctx));
  router.post('/:type/_search', guarded('search-type'), express.urlencoded({ extended: false, limit: '64kb' }), searchType(ctx));
  router.get('/:type/:id', guarded('read'), readInstance(ctx));
  // What no route serves is still authenticated and audited before it is refused: a write (405),
  // the audit trail's included, and a path under a resource (`_history`, `$everything`: 404).
  router.get('/:type/:id/*rest', guarded('read'), namesResource);
  for (const [method, interaction] of WRITE_INTERACTIONS) {
    router[method](FHIR_PATHS, guarded(interaction), namesResource);
  }
  router.all(FHIR_PATHS, readOnly);

  router.use(notFoundHandler);
  router.use(recordFailure, outcomeErrorHandler(deps.logger));
  return router;
}
