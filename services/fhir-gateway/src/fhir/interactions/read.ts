import type { Request, RequestHandler } from 'express';
import { notFound, OutcomeError } from '@imaging-facade/fhir-outcomes';
import { type AnyResource, type Principal, readVisible, SERVED_TYPES, typeAccess } from '@imaging-facade/access';
import { Upstream } from '@imaging-facade/fhir';
import { exchangeOf, ID, principalOf, type FhirContext } from '../context';
import { passValidators, refusal, relayFailure, sendJson } from './answers';
import { dropWithheldLabel } from '@imaging-facade/consent';

/** Whether the caller may see a resource it read, and whose data it is (for the audit). */
export type ReadCheck = (resource: AnyResource, principal: Principal) => Promise<{ value: boolean; patients: string[] }>;

/** What a read is about: the type, and the check of what the FHIR server answers. */
export interface ReadScope {
  type: string;
  visible: ReadCheck;
}

/** `GET [base]/<Type>/<id>` for the clinical types and the audit trail: scopes, compartment and consent. */
export function readInstance(ctx: FhirContext): RequestHandler {
  return readHandler(ctx, (req) => ({ type: req.params.type as string, visible: (resource, principal) => readVisible(resource, principal, ctx.consent) }));
}

/** A read; whatever the caller may not see is a 404, exactly as what does not exist. */
export function readHandler(ctx: FhirContext, scopeOf: (req: Request) => ReadScope): RequestHandler {
  return async (req, res) => {
    const { type, visible } = scopeOf(req);
    const id = req.params.id as string;
    const exchange = exchangeOf(res);
    const principal = principalOf(res);
    exchange.resourceType = type;
    const unknown = () => new OutcomeError(notFound(`${type}/${id} is not known`));
    if (!SERVED_TYPES.has(type) || !ID.test(id)) {
      throw unknown();
    }
    exchange.resource = `${type}/${id}`;
    const access = typeAccess(principal, type, 'read');
    if (!access.allowed) {
      throw refusal(ctx, res, access.reason);
    }
    if (access.restriction === 'patient' && type === 'Patient' && id !== access.patientId) {
      throw unknown();
    }
    const response = await ctx.upstream.request('GET', `${type}/${id}`, { headers: Upstream.forwardedHeaders(req.headers) });
    if (response.status === 404 || response.status === 410) {
      throw unknown();
    }
    if (response.status !== 200) {
      relayFailure(ctx, res, response);
    }
    const resource = response.body as AnyResource;
    const seen = await visible(resource, principal);
    if (!seen.value) {
      throw unknown();
    }
    exchange.patients = seen.patients;
    exchange.returned = 1;
    passValidators(res, response);
    sendJson(res, 200, dropWithheldLabel(resource));
  };
}
