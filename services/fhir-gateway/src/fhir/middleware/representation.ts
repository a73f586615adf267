import type { RequestHandler } from 'express';
import { notAcceptable, OutcomeError } from '@imaging-facade/fhir-outcomes';
import { formatRefusal, formatValues } from '@imaging-facade/service-kit';

/** `_format` on any FHIR interaction (after the token: guard.ts) and on the public documents: JSON honoured, XML and others a 406 OperationOutcome. */
export const jsonOnly: RequestHandler = (req, _res, next) => {
  const refusal = formatRefusal(formatValues(req.originalUrl));
  next(refusal ? new OutcomeError(notAcceptable(refusal)) : undefined);
};

/** Every answer past the public documents may carry patient data: no cache, shared or private, may keep it. */
export const noStore: RequestHandler = (_req, res, next) => {
  res.set('cache-control', 'no-store');
  next();
};
