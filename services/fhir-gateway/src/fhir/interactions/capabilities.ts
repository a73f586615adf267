import type { RequestHandler } from 'express';
import type { CapabilityStatement } from '@medplum/fhirtypes';
import { badGateway, OutcomeError } from '@imaging-facade/fhir-outcomes';
import type { FhirContext } from '../context';
import { gatewayCapabilityStatement, smartConfiguration } from '../capability';
import { sendJson } from './answers';

const CAPABILITY_MAX_AGE_MS = 5 * 60_000;

/** `GET [base]/metadata`, public: the FHIR server's statement narrowed to what the gateway serves, kept a few minutes. */
export function capabilities(ctx: Pick<FhirContext, 'upstream' | 'verifier' | 'publicBaseUrl'>): RequestHandler {
  let capability: { at: number; statement: CapabilityStatement } | undefined;
  return async (_req, res) => {
    if (!capability || Date.now() - capability.at > CAPABILITY_MAX_AGE_MS) {
      const response = await ctx.upstream.request('GET', 'metadata');
      if (response.status !== 200) {
        throw new OutcomeError(badGateway(`The FHIR server answered HTTP ${response.status} to metadata`));
      }
      const discovery = await ctx.verifier.discovery().catch(() => undefined);
      capability = { at: Date.now(), statement: gatewayCapabilityStatement(response.body as CapabilityStatement, ctx.publicBaseUrl, discovery) };
    }
    sendJson(res, 200, capability.statement);
  };
}

/** `GET [base]/.well-known/smart-configuration`, public: how to get a token (SMART App Launch discovery). */
export function smartDiscovery(ctx: Pick<FhirContext, 'verifier'>): RequestHandler {
  return async (_req, res) => {
    try {
      res.json(smartConfiguration(await ctx.verifier.discovery()));
    } catch {
      throw new OutcomeError(badGateway('The identity provider could not be reached'));
    }
  };
}
