import type { RequestHandler } from 'express';
import { notFound, OutcomeError } from '@imaging-facade/fhir-outcomes';
import { Upstream } from '@imaging-facade/fhir';
import { exchangeOf, type FhirContext } from '../context';
import { answerBundle, visibleEntries } from './answers';
import { pageQuery } from '../result-parameters';

/**
 * `GET [base]?_getpages=…`: the next and previous pages a search answer links to. Every resource of
 * the page is checked again, so a link that reaches another token shows it nothing it may not see,
 * and only the parameters of the server's own links are sent on (`pageQuery`).
 */
export function searchPage(ctx: FhirContext): RequestHandler {
  return async (req, res) => {
    const exchange = exchangeOf(res);
    const query = req.originalUrl.slice(req.originalUrl.indexOf('?') + 1);
    const params = new URLSearchParams(query);
    if (!params.has('_getpages') || req.originalUrl.indexOf('?') < 0) {
      throw new OutcomeError(notFound('System-level search is not supported; search a resource type'));
    }
    exchange.query = `GET ${ctx.publicOrigin}${req.originalUrl}`;
    const cleaned = pageQuery(query);
    exchange.cleanedQuery = `?${cleaned}`;
    const response = await ctx.upstream.request('GET', `?${cleaned}`, { headers: Upstream.forwardedHeaders(req.headers) });
    await answerBundle(ctx, res, response, exchange, visibleEntries(ctx));
  };
}
