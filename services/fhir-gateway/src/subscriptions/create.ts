import type { Subscription } from '@medplum/fhirtypes';
import express, { type RequestHandler } from 'express';
import { typeAccess, type AnyResource } from '@imaging-facade/access';
import { exchangeOf, principalOf, type FhirContext } from '../fhir/context';
import { passValidators, refusal, relayFailure, sendJson } from '../fhir/interactions/answers';
import { rewriteLocation } from '../fhir/links';
import { OutcomeError, unprocessable } from '@imaging-facade/fhir-outcomes';
import { checkEndpoint } from './endpoint-check';
import { ownerTag, prepareSubscription } from './subscription-policy';
import { withHeaderValuesHidden } from './ownership';

/** The body of a create: FHIR JSON, small. Parsed before the audit starts, as a malformed body is no FHIR interaction. */
export const subscriptionBody: RequestHandler = express.json({ type: ['application/json', 'application/fhir+json'], limit: '64kb' });

/** `POST [base]/Subscription`: a rest-hook the token covers, without payload, tagged with its owner. */
export function createSubscription(ctx: FhirContext): RequestHandler {
  return async (req, res) => {
    const exchange = exchangeOf(res);
    const principal = principalOf(res);
    exchange.resourceType = 'Subscription';
    const access = typeAccess(principal, 'Subscription', 'create');
    if (!access.allowed) {
      throw refusal(ctx, res, access.reason);
    }
    const subscription = prepareSubscription(req.body, principal, ownerTag(principal), new Date(), ctx.consent.reports?.roleScope);
    exchange.query = `POST ${ctx.publicOrigin}${req.originalUrl} criteria=${req.body?.criteria ?? ''}`;
    exchange.cleanedQuery = subscription.criteria;
    // Not this node's own services nor its network (SSRF): the FHIR server will POST to this URL.
    const verdict = await checkEndpoint(subscription.channel.endpoint ?? '', ctx.subscriptionEndpoints.rules, ctx.subscriptionEndpoints.resolve);
    if (!verdict.allowed) {
      ctx.logger.info({ requestId: res.locals.requestId, endpointHost: safeHost(subscription.channel.endpoint), reason: verdict.reason }, 'subscription endpoint refused');
      throw new OutcomeError(unprocessable(verdict.reason, ['Subscription.channel.endpoint']));
    }
    const response = await ctx.upstream.request('POST', 'Subscription', { body: subscription });
    if (response.status !== 201 && response.status !== 200) {
      relayFailure(ctx, res, response);
    }
    const created = response.body as AnyResource;
    exchange.resource = `Subscription/${created.id ?? ''}`;
    const location = response.headers.location;
    if (typeof location === 'string') {
      res.set('location', rewriteLocation(location, ctx.bases));
    }
    passValidators(res, response);
    withHeaderValuesHidden(created as unknown as Subscription);
    sendJson(res, 201, created);
  };
}

/** The endpoint's host only, for the log (its path or query may carry a subscriber's secret). */
function safeHost(endpoint: string | undefined): string | undefined {
  try {
    return new URL(endpoint ?? '').host;
  } catch {
    return undefined;
  }
}
