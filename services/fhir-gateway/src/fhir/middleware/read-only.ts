import type { RequestHandler } from 'express';
import { methodNotAllowed, sendOutcome } from '@imaging-facade/fhir-outcomes';

/** Everything that would write and no route took: the index is read-only through the gateway. */
export const readOnly: RequestHandler = (req, res, next) => {
  if (req.method === 'GET' || req.method === 'HEAD') {
    next();
    return;
  }
  sendOutcome(res, methodNotAllowed(`${req.method} is not allowed here: the gateway only writes Subscriptions`));
};

/** The paths readOnly guards: the base, a type, an instance and anything under it. */
export const FHIR_PATHS = ['/', '/:type', '/:type/:id', '/:type/:id/*rest'];
