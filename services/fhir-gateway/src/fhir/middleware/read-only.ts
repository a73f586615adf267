import type { RequestHandler } from 'express';
import { methodNotAllowed, OutcomeError } from '@imaging-facade/fhir-outcomes';
import type { AuditedInteraction } from '@imaging-facade/access';
import { exchangeOf } from '../context';

/** Everything that would write and no route took: the index is read-only through the gateway. */
export const readOnly: RequestHandler = (req, _res, next) => {
  if (req.method === 'GET' || req.method === 'HEAD') {
    next();
    return;
  }
  next(new OutcomeError(methodNotAllowed(`${req.method} is not allowed here: the gateway only writes Subscriptions`)));
};

/** The interaction a write attempt would have been, for its AuditEvent (an attempt on the audit trail itself included). */
export const WRITE_INTERACTIONS: ReadonlyArray<['post' | 'put' | 'patch' | 'delete', AuditedInteraction]> = [
  ['post', 'create'],
  ['put', 'update'],
  ['patch', 'update'],
  ['delete', 'delete'],
];

/** Names the resource a request is about (`<type>/<id>`), for its AuditEvent. */
export const namesResource: RequestHandler = (req, res, next) => {
  const { type, id } = req.params as { type?: string; id?: string };
  if (type !== undefined && id !== undefined) {
    exchangeOf(res).resource = `${type}/${id}`;
  }
  next();
};

/** The paths readOnly guards: the base, a type, an instance and anything under it. */
export const FHIR_PATHS = ['/', '/:type', '/:type/:id', '/:type/:id/*rest'];
