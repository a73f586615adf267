import type { Subscription } from '@medplum/fhirtypes';
import type { Principal } from '@imaging-facade/access';
import type { SearchParams } from '../fhir/search-policy';
import type { BundleFilter } from '../fhir/interactions/answers';
import type { ReadCheck } from '../fhir/interactions/read';
import { isOwnedBy, OWNER_TAG_SYSTEM, ownerTag } from './subscription-policy';

/** A Subscription exists only for its owner: searches ask for the owner's tag, answers keep only what carries it. */
export const ownerTagParam = (principal: Principal): SearchParams => [['_tag', `${OWNER_TAG_SYSTEM}|${ownerTag(principal)}`]];

export const ownedSubscriptions: BundleFilter = async (bundle, principal) => {
  const tag = ownerTag(principal);
  bundle.entry = (bundle.entry ?? []).filter((entry) => entry.resource?.resourceType === 'Subscription' && isOwnedBy(entry.resource, tag));
  for (const entry of bundle.entry) withHeaderValuesHidden(entry.resource as unknown as Subscription);
  return { value: bundle, patients: [] };
};

export const ownedSubscription: ReadCheck = async (resource, principal) => {
  const owned = isOwnedBy(resource, ownerTag(principal));
  if (owned) withHeaderValuesHidden(resource as unknown as Subscription);
  return { value: owned, patients: [] };
};

/**
 * The channel's header values are the subscriber's credentials for its endpoint, and every user of
 * the same client owns the client's Subscriptions: they are given, never read back (names only).
 */
export function withHeaderValuesHidden(subscription: Subscription): void {
  if (subscription.channel?.header) {
    subscription.channel.header = subscription.channel.header.map((header) => `${header.split(':')[0]}: ${HIDDEN}`);
  }
}

export const HIDDEN = '(hidden: set when the Subscription was made)';
