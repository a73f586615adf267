import express, { type Router } from 'express';
import type { FhirContext } from '../fhir/context';
import type { Guard } from '../fhir/middleware/guard';
import { readHandler } from '../fhir/interactions/read';
import { searchHandler } from '../fhir/interactions/search';
import { createSubscription, subscriptionBody } from './create';
import { deleteSubscription } from './delete';
import { ownedSubscription, ownedSubscriptions, ownerTagParam } from './ownership';

/**
 * The Subscription face: create, read, search and delete, each only ever seeing the caller's own.
 * Case-sensitive, as FHIR type names are: `/subscription` is no Subscription. Bodies are read only
 * once the caller is authenticated.
 */
export function subscriptionsRouter(ctx: FhirContext, guard: Guard): Router {
  const router = express.Router({ caseSensitive: true });
  const search = searchHandler(ctx, () => ({ type: 'Subscription', extra: ownerTagParam, filter: ownedSubscriptions }));
  router.get('/Subscription', guard('search-type'), search);
  router.post('/Subscription/_search', guard('search-type'), express.urlencoded({ extended: false, limit: '64kb' }), search);
  router.get('/Subscription/:id', guard('read'), readHandler(ctx, () => ({ type: 'Subscription', visible: ownedSubscription })));
  router.post('/Subscription', guard('create'), subscriptionBody, createSubscription(ctx));
  router.delete('/Subscription/:id', guard('delete'), deleteSubscription(ctx));
  return router;
}
