import type { Response } from 'express';
import type { AuditEvent } from '@medplum/fhirtypes';
import type { Registry } from 'prom-client';
import type { Logger } from '@imaging-facade/service-kit';
import type { AuditedInteraction, FailedTokens, OidcVerifier, Principal, SharingRules } from '@imaging-facade/access';
import type { Upstream } from '@imaging-facade/fhir';
import type { Bases } from './links';
import type { Resolve } from '../subscriptions/endpoint-check';
import type { EndpointRules } from '../subscriptions/endpoint-rules';

/** What the gateway's FHIR face is built from (wired in main.ts). */
export interface GatewayDeps {
  publicBaseUrl: string;
  upstream: Upstream;
  verifier: Pick<OidcVerifier, 'verify' | 'discovery'>;
  /** Bad tokens counted per client address (429 past the limit); undefined: no limit (said explicitly, so that no wiring forgets it). */
  failedTokens: FailedTokens | undefined;
  /** Consent, and the report rule for GPs' tokens. */
  consent: SharingRules & { isReady: () => boolean };
  /** Where AuditEvents go; `isFull`: they cannot be recorded now, and requests are refused (503). */
  audit: { enqueue: (event: AuditEvent) => void; isFull?: () => boolean };
  logger: Logger;
  metrics: Registry;
  /** Where rest-hook Subscriptions may point, and how their host names are resolved to be checked. */
  subscriptionEndpoints: { rules: EndpointRules; resolve: Resolve };
}

/** The dependencies plus what every handler derives from them once. */
export interface FhirContext extends GatewayDeps {
  /** The FHIR server's base and the gateway's public one, for link rewriting. */
  bases: Bases;
  /** The public base's origin: audited queries are recorded as the client sent them. */
  publicOrigin: string;
}

export function fhirContext(deps: GatewayDeps): FhirContext {
  return { ...deps, bases: { upstream: deps.upstream.baseUrl, public: deps.publicBaseUrl }, publicOrigin: new URL(deps.publicBaseUrl).origin };
}

/** A logical id as FHIR allows it; anything else is answered as unknown without asking the server. */
export const ID = /^[A-Za-z0-9\-.]{1,64}$/;

/** What one request did, for its AuditEvent and its log line; filled in by the middleware and the handler. */
export interface Exchange {
  interaction: AuditedInteraction;
  resourceType?: string | undefined;
  principal?: Principal | undefined;
  resource?: string | undefined;
  query?: string | undefined;
  cleanedQuery?: string | undefined;
  patients: string[];
  returned?: number | undefined;
  /** Why the request failed (an OperationOutcome's diagnostics; never patient data). */
  failure?: string | undefined;
}

export function exchangeOf(res: Response): Exchange {
  const exchange = res.locals.exchange as Exchange | undefined;
  if (!exchange) {
    throw new Error('no exchange: the audit middleware must run before this handler');
  }
  return exchange;
}

/** The authenticated caller; only after the authenticate middleware. */
export function principalOf(res: Response): Principal {
  const principal = exchangeOf(res).principal;
  if (!principal) {
    throw new Error('no principal: the authenticate middleware must run before this handler');
  }
  return principal;
}
