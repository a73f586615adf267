import type { ConsentStateOrder } from '@imaging-facade/events';

/** What `stateOrderOf` reads of a stored resource. */
export interface VersionedResource {
  meta?: { lastUpdated?: string | undefined; versionId?: string | undefined } | undefined;
}

/**
 * The order key of a patient's state (libs/events `fhirOrder`), from every desk Consent of the
 * patient as the FHIR server holds them, inactive ones included: the greatest `meta.lastUpdated`
 * and the sum of the version ids. Each change of the patient's Consents adds a version (a new
 * Consent is version 1, one made inactive gets the next), so the sum grows at every change, also
 * when two changes of the FHIR server carry the same instant, or when a change that began earlier
 * (its instant earlier) was committed later; the greatest instant never decreases, so a Consent
 * deleted behind the desk's back (its versions gone from the sum) does not hold back the next change.
 */
export function stateOrderOf(consents: readonly VersionedResource[]): ConsentStateOrder {
  let lastUpdated: string | undefined;
  let versions = 0;
  for (const consent of consents) {
    const version = Number(consent.meta?.versionId ?? '1');
    versions += Number.isSafeInteger(version) && version > 0 ? version : 1;
    const instant = consent.meta?.lastUpdated;
    if (instant !== undefined && (lastUpdated === undefined || Date.parse(instant) > Date.parse(lastUpdated))) {
      lastUpdated = instant;
    }
  }
  return lastUpdated === undefined ? { versions } : { lastUpdated, versions };
}

/** Negative when `a` is an earlier state of FHIR than `b`, 0 for the same, positive when later. */
export function compareStateOrder(a: ConsentStateOrder, b: ConsentStateOrder): number {
  const instant = (order: ConsentStateOrder) => (order.lastUpdated === undefined ? Number.NEGATIVE_INFINITY : Date.parse(order.lastUpdated));
  const [left, right] = [instant(a), instant(b)];
  if (left !== right) {
    return left < right ? -1 : 1;
  }
  return Math.sign(a.versions - b.versions);
}

/**
 * The rule of every consent view: whether a patient's state just read from the topic replaces the
 * one held. A state older in FHIR's order than the one held does not (a desk published what it had
 * read before another desk's change); the same or a later one does (the same: idempotent). A state
 * without an order key (published before 2026-12-07), or one arriving when the held state has none,
 * is taken by its place on the topic, as before.
 */
export function takesOver(held: ConsentStateOrder | undefined, incoming: ConsentStateOrder | undefined): boolean {
  return held === undefined || incoming === undefined || compareStateOrder(incoming, held) >= 0;
}
