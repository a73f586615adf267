import type { RequestHandler } from 'express';
import { badGateway, OutcomeError } from '@imaging-facade/fhir-outcomes';
import type { FhirContext } from '../context';

/** No answer before the consent decisions are read to the end: a 503 rather than data a refusal should hide. */
export function consentReady(ctx: Pick<FhirContext, 'consent'>): RequestHandler {
  return (_req, _res, next) => {
    if (!ctx.consent.isReady()) {
      throw new OutcomeError({ ...badGateway('Consent decisions are not loaded yet; try again shortly'), status: 503 });
    }
    next();
  };
}
