import { createHash } from 'node:crypto';
import type { Subscription } from '@medplum/fhirtypes';
import { badRequest, forbidden, OutcomeError } from '@imaging-facade/fhir-outcomes';
import { formatQuery, parseQuery, prepareSearch } from '../fhir/search-policy';
import { evaluateAccess, type Viewer } from '@imaging-facade/access';

/**
 * Subscriptions through the gateway (FHIR R4 rest-hook). Pure functions.
 *
 * The FHIR server delivers notifications itself, long after the token that created the
 * Subscription was checked, and without knowing about consent. So the gateway lets through only
 * what cannot leak:
 * - the criteria are a search the token may run, restricted like the token's own searches
 *   (a patient-context token's criteria are ANDed with its patient's compartment);
 * - notifications are empty (no `channel.payload`): the subscriber learns "something you
 *   subscribed to changed" and reads it through the gateway, where its token, the patient's
 *   compartment and consent are checked and the access audited;
 * - a Subscription is tagged with its owner (issuer, client, patient in context) and only that
 *   owner reads or deletes it.
 */

export const OWNER_TAG_SYSTEM = 'urn:imaging-facade:fhir-gateway:subscription-owner';

/** Resource types whose changes may be subscribed to. */
export const SUBSCRIBABLE_TYPES: ReadonlySet<string> = new Set(['ImagingStudy', 'Patient', 'DocumentReference', 'Observation', 'Endpoint']);

export interface SubscriptionOwner {
  issuer: string;
  clientId?: string | undefined;
  subject?: string | undefined;
  patientId?: string | undefined;
}

/** An opaque, stable tag code for the owner (the client, and the patient in context when there is one). */
export function ownerTag(owner: SubscriptionOwner): string {
  const who = [owner.issuer, owner.clientId ?? owner.subject ?? '', owner.patientId ?? ''].join('\n');
  return createHash('sha256').update(who).digest('base64url').slice(0, 32);
}

export function isOwnedBy(subscription: unknown, tag: string): boolean {
  const tags = (subscription as { meta?: { tag?: Array<{ system?: string; code?: string }> } } | undefined)?.meta?.tag ?? [];
  return tags.some((coding) => coding.system === OWNER_TAG_SYSTEM && coding.code === tag);
}

function fail(diagnostics: string, expression: string): never {
  throw new OutcomeError(badRequest(diagnostics, [expression]));
}

/**
 * What a client's Subscription may hold; the gateway stores these and nothing else. Anything more
 * is refused, not dropped: the FHIR server acts on extensions of its own (HAPI's
 * `subscription-payload-search-criteria` makes it run any search and post the results to the
 * endpoint, with no token, compartment or consent check), and a silent drop would change what the
 * client asked for. `id`, `meta`, `status` and `text` are set by the gateway or dropped.
 */
const ACCEPTED_FIELDS: ReadonlySet<string> = new Set(['resourceType', 'id', 'meta', 'status', 'text', 'criteria', 'reason', 'end', 'contact', 'channel']);
const ACCEPTED_CHANNEL_FIELDS: ReadonlySet<string> = new Set(['type', 'endpoint', 'header', 'payload']);
const HEADER = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+:[^\r\n]*$/;

function refuseOtherFields(value: object, accepted: ReadonlySet<string>, path: string): void {
  const other = Object.keys(value).filter((key) => !accepted.has(key));
  if (other.length > 0) {
    fail(`${other.map((key) => `${path}.${key}`).join(', ')}: not accepted in a Subscription made through this gateway (extensions included: the FHIR server would act on them)`, `${path}.${other[0]}`);
  }
}

/** Checks a Subscription a client wants to create and returns the one to store (or throws an OutcomeError). */
export function prepareSubscription(body: unknown, holder: Viewer, tag: string, now: Date = new Date(), reportRoleScope?: string): Subscription {
  if (typeof body !== 'object' || body === null || (body as { resourceType?: unknown }).resourceType !== 'Subscription') {
    fail('The body must be a Subscription resource', 'Subscription');
  }
  refuseOtherFields(body, ACCEPTED_FIELDS, 'Subscription');
  const input = body as Subscription;
  const channel = input.channel;
  if (channel?.type !== 'rest-hook') {
    fail('Only rest-hook subscriptions are supported', 'Subscription.channel.type');
  }
  refuseOtherFields(channel, ACCEPTED_CHANNEL_FIELDS, 'Subscription.channel');
  if (channel.payload !== undefined) {
    fail(
      'Notifications carry no payload: leave channel.payload out and read what changed through the gateway with your token',
      'Subscription.channel.payload',
    );
  }
  if (channel.header !== undefined && (!Array.isArray(channel.header) || !channel.header.every((header) => typeof header === 'string' && HEADER.test(header)))) {
    fail('channel.header must be a list of "Name: value" strings, each on one line', 'Subscription.channel.header');
  }
  if (input.end !== undefined && !(Date.parse(input.end) > now.getTime())) {
    fail('end must be a date and time in the future', 'Subscription.end');
  }
  let endpoint: URL;
  try {
    endpoint = new URL(channel.endpoint ?? '');
  } catch {
    fail('channel.endpoint must be an absolute http(s) URL', 'Subscription.channel.endpoint');
  }
  if (endpoint.protocol !== 'http:' && endpoint.protocol !== 'https:') {
    fail('channel.endpoint must be an absolute http(s) URL', 'Subscription.channel.endpoint');
  }
  const criteria = input.criteria ?? '';
  const match = /^([A-Za-z]+)(?:\?(.*))?$/.exec(criteria);
  if (!match) {
    fail('criteria must be a search such as ImagingStudy?status=available', 'Subscription.criteria');
  }
  const resourceType = match[1] as string;
  if (!SUBSCRIBABLE_TYPES.has(resourceType)) {
    fail(`Subscriptions to ${resourceType} are not supported`, 'Subscription.criteria');
  }
  const access = evaluateAccess(holder, resourceType, 'search');
  if (!access.allowed) {
    throw new OutcomeError(forbidden(`the token may not search ${resourceType}, so it may not subscribe to it`));
  }
  // A GP's criteria match studies once reported, as its searches do: it is not woken by a study it cannot see yet.
  const prepared = prepareSearch(resourceType, parseQuery(match[2] ?? ''), access, holder, reportRoleScope);
  // A result parameter (_sort, _count, _include…) or _lastUpdated says nothing a notification can
  // honour: refused by name rather than dropped, which would change what the client asked for.
  const unsupported = prepared.filter(([name]) => name.startsWith('_') && !CRITERIA_PARAMETERS.has(name)).map(([name]) => name);
  if (unsupported.length > 0) {
    fail(`criteria: ${[...new Set(unsupported)].join(', ')} cannot be part of a Subscription's criteria`, 'Subscription.criteria');
  }
  const query = formatQuery(prepared);

  return {
    resourceType: 'Subscription',
    status: 'requested',
    // Required by R4: the server answers for one left out.
    reason: input.reason,
    // HAPI wants `Type?` for a search with no parameter.
    criteria: `${resourceType}?${query}`,
    ...(input.end !== undefined ? { end: input.end } : {}),
    ...(input.contact !== undefined ? { contact: input.contact } : {}),
    channel: { type: 'rest-hook', endpoint: endpoint.toString(), ...(channel.header ? { header: channel.header } : {}) },
    meta: { tag: [{ system: OWNER_TAG_SYSTEM, code: tag }] },
  };
}

/** The search parameters starting with `_` that a Subscription's criteria may hold. */
const CRITERIA_PARAMETERS: ReadonlySet<string> = new Set(['_id', '_tag', '_profile', '_security', '_security:not']);
