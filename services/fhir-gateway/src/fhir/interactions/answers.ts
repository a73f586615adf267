import type { Response } from 'express';
import { badGateway, forbidden, OutcomeError } from '@imaging-facade/fhir-outcomes';
import { type AnyResource, filterSearchBundle, type Principal } from '@imaging-facade/access';
import type { UpstreamResponse } from '@imaging-facade/fhir';
import { dropWithheldLabel } from '@imaging-facade/consent';
import type { Exchange, FhirContext } from '../context';
import { rewriteBundleUrls } from '../links';
import { upstreamFailure } from './upstream-failure';

/** What the FHIR server answers a search with, as far as the gateway looks into it. */
export type SearchBundle = { resourceType: string; total?: number; entry?: Array<{ resource?: AnyResource; search?: { mode?: string } }> };

/** Takes out of a search answer what the caller may not see; names the patients whose data is left. */
export type BundleFilter = (bundle: SearchBundle, principal: Principal) => Promise<{ value: SearchBundle; patients: string[] }>;

/** The clinical rule (scopes, compartment, consent), as for every type but Subscription. */
export const visibleEntries =
  (ctx: Pick<FhirContext, 'consent'>): BundleFilter =>
  (bundle, principal) =>
    filterSearchBundle(bundle, principal, ctx.consent);

export function sendJson(res: Response, status: number, body: unknown): void {
  res.status(status).type('application/fhir+json').send(JSON.stringify(body));
}

/** A 403 with the Bearer challenge RFC 6750 asks for when the scopes do not reach. */
export function refusal(ctx: Pick<FhirContext, 'publicBaseUrl'>, res: Response, reason: string): OutcomeError {
  res.set('www-authenticate', `Bearer realm="${ctx.publicBaseUrl}", error="insufficient_scope"`);
  return new OutcomeError(forbidden(reason));
}

/** A refusal or failure of the FHIR server, answered in the gateway's own words (upstream-failure.ts). */
export function relayFailure(ctx: Pick<FhirContext, 'logger'>, res: Response, response: UpstreamResponse): never {
  throw new OutcomeError(upstreamFailure(response, ctx.logger, res.locals.requestId));
}

/** The FHIR server's validators, so that clients can cache and make conditional requests. */
export function passValidators(res: Response, response: UpstreamResponse): void {
  for (const name of ['etag', 'last-modified']) {
    const value = response.headers[name];
    if (typeof value === 'string') {
      res.set(name, value);
    }
  }
}

/** A search answer: filtered for the caller, its links rewritten to the gateway's base, counted for the audit. */
export async function answerBundle(ctx: FhirContext, res: Response, response: UpstreamResponse, exchange: Exchange, filter: BundleFilter): Promise<void> {
  if (response.status !== 200) {
    relayFailure(ctx, res, response);
  }
  const bundle = response.body as Partial<SearchBundle> | undefined;
  if (bundle?.resourceType !== 'Bundle') {
    throw new OutcomeError(badGateway('The FHIR server did not answer a Bundle'));
  }
  const filtered = await filter(bundle as SearchBundle, exchange.principal as Principal);
  for (const entry of filtered.value.entry ?? []) {
    if (entry.resource) {
      dropWithheldLabel(entry.resource);
    }
  }
  rewriteBundleUrls(filtered.value as Parameters<typeof rewriteBundleUrls>[0], ctx.bases);
  exchange.patients = filtered.patients;
  exchange.returned = filtered.value.entry?.length ?? 0;
  sendJson(res, 200, filtered.value);
}
