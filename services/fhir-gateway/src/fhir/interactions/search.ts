import type { Request, RequestHandler } from 'express';
import { notFound, OutcomeError } from '@imaging-facade/fhir-outcomes';
import { type Principal, SERVED_TYPES, typeAccess } from '@imaging-facade/access';
import { Upstream } from '@imaging-facade/fhir';
import { exchangeOf, principalOf, type FhirContext } from '../context';
import { formatQuery, parseQuery, prepareSearch, type SearchParams } from '../search-policy';
import { answerBundle, type BundleFilter, refusal, visibleEntries } from './answers';

/** What a search is about: its type, what the gateway adds to it, and how its answer is filtered. */
export interface SearchScope {
  type: string;
  /** Parameters ANDed to the search after the policy's own (e.g. a Subscription's owner tag). */
  extra?: (principal: Principal) => SearchParams;
  filter: BundleFilter;
}

/** `GET [base]/<Type>?…` and `POST [base]/<Type>/_search` (form body), for the clinical types and the audit trail. */
export function searchType(ctx: FhirContext): RequestHandler {
  return searchHandler(ctx, (req) => ({ type: req.params.type as string, filter: visibleEntries(ctx) }));
}

export function searchHandler(ctx: FhirContext, scopeOf: (req: Request) => SearchScope): RequestHandler {
  return async (req, res) => {
    const scope = scopeOf(req);
    const params = searchParamsOf(req);
    const exchange = exchangeOf(res);
    const principal = principalOf(res);
    exchange.resourceType = scope.type;
    exchange.query = `${req.method} ${ctx.publicOrigin}${req.originalUrl}${req.method === 'POST' ? `?${formatQuery(params)}` : ''}`;
    if (!SERVED_TYPES.has(scope.type)) {
      throw new OutcomeError(notFound(`${scope.type} is not served by this gateway`));
    }
    const access = typeAccess(principal, scope.type, 'search');
    if (!access.allowed) {
      throw refusal(ctx, res, access.reason);
    }
    const sent = [...prepareSearch(scope.type, params, access, principal, ctx.consent.reports?.roleScope), ...(scope.extra?.(principal) ?? [])];
    exchange.cleanedQuery = `${scope.type}?${formatQuery(sent)}`;
    const response = await ctx.upstream.request('GET', exchange.cleanedQuery, { headers: Upstream.forwardedHeaders(req.headers) });
    await answerBundle(ctx, res, response, exchange, scope.filter);
  };
}

/** The query string's parameters, then a POSTed form's (FHIR: both count, in that order). */
function searchParamsOf(req: Request): SearchParams {
  const raw = req.originalUrl.indexOf('?') >= 0 ? req.originalUrl.slice(req.originalUrl.indexOf('?') + 1) : '';
  const fromBody = Object.entries((req.body ?? {}) as Record<string, string | string[]>).flatMap(([name, value]) =>
    (Array.isArray(value) ? value : [value]).map((item) => [name, String(item)] as [string, string]),
  );
  return [...parseQuery(raw), ...fromBody];
}
