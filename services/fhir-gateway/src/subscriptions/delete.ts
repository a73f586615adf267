import type { RequestHandler } from 'express';
import { notFound, OutcomeError } from '@imaging-facade/fhir-outcomes';
import { typeAccess, type AnyResource } from '@imaging-facade/access';
import { exchangeOf, ID, principalOf, type FhirContext } from '../fhir/context';
import { refusal, relayFailure } from '../fhir/interactions/answers';
import { isOwnedBy, ownerTag } from './subscription-policy';
import { deleteOnUpstream } from './upstream-delete';

/** `DELETE [base]/Subscription/<id>`: only the owner's; to anyone else it does not exist. */
export function deleteSubscription(ctx: FhirContext): RequestHandler {
  return async (req, res) => {
    const exchange = exchangeOf(res);
    const principal = principalOf(res);
    exchange.resourceType = 'Subscription';
    const id = req.params.id as string;
    if (!ID.test(id)) {
      throw new OutcomeError(notFound(`Subscription/${id} is not known`));
    }
    exchange.resource = `Subscription/${id}`;
    const access = typeAccess(principal, 'Subscription', 'delete');
    if (!access.allowed) {
      throw refusal(ctx, res, access.reason);
    }
    const existing = await ctx.upstream.request('GET', `Subscription/${id}`);
    if (existing.status !== 200 || !isOwnedBy(existing.body as AnyResource, ownerTag(principal))) {
      throw new OutcomeError(notFound(`Subscription/${id} is not known`));
    }
    const response = await deleteOnUpstream(ctx.upstream, `Subscription/${id}`);
    if (response.status >= 300) {
      relayFailure(ctx, res, response);
    }
    res.status(204).end();
  };
}
