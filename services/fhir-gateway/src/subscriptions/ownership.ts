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
  return { value: bundle, patients: [] };
};

export const ownedSubscription: ReadCheck = async (resource, principal) => ({ value: isOwnedBy(resource, ownerTag(principal)), patients: [] });
