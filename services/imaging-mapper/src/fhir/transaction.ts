import type { Bundle, BundleEntry, Identifier, ImagingStudy, Patient, Reference, Resource } from '@medplum/fhirtypes';
import { conditionalUrl, identifierToken, patientCreateEntry as createPatientEntry, searchQuery, urnUuid, weakEtag } from '@imaging-facade/fhir';

/**
 * Entries of the one `transaction` Bundle written per event. They are pure functions of their
 * input, with name-based `urn:uuid:` fullUrls, so the same input always gives the same Bundle.
 */

/**
 * Creates the Patient unless one with the identifier exists by the time the server runs the
 * transaction (libs/fhir `patientCreateEntry`: matched on the identifier, or on a tag naming it
 * when the identifier is longer than the server's match URLs).
 */
export function patientCreateEntry(patient: Patient, identifier: Identifier): BundleEntry<Patient> {
  return createPatientEntry(patient, identifier, urnUuid(`Patient?identifier=${identifierToken(identifier)}`));
}

/** The reference to a Patient created in the same transaction: the server rewrites it to the real id. */
export function referenceTo(entry: BundleEntry<Patient>): Reference<Patient> {
  return { reference: entry.fullUrl };
}

/** The stored ImagingStudy an update applies to: its id and the version that was read. */
export interface StoredVersion {
  id: string;
  versionId?: string;
}

/**
 * Writes the study's ImagingStudy. A stored one is updated by id with `If-Match` on the version
 * that was read, so that a concurrent writer makes the transaction fail (HAPI answers 409, the
 * spec 412; both are retried) instead of being overwritten; HAPI ignores If-Match on a
 * conditional-URL PUT, hence the id. A new one is a conditional create: if another writer created
 * it meanwhile, nothing is written and the pipeline retries (pipeline.ts, `assertCreated`).
 */
export function imagingStudyEntry(
  study: ImagingStudy,
  identifier: Identifier,
  stored?: StoredVersion,
): BundleEntry<ImagingStudy> {
  return versionedEntry(study, identifier, stored);
}

/**
 * A resource the mapper reads before writing (ImagingStudy, DocumentReference): a stored one is
 * updated by id with `If-Match` on the version read; a new one is a conditional create on its
 * identifier. The fullUrl is the same in both cases, so other entries can reference it.
 */
export function versionedEntry<T extends Resource>(resource: T, identifier: Identifier, stored?: StoredVersion): BundleEntry<T> {
  const token = identifierToken(identifier);
  return guardedEntry(resource, { identifier: token }, urnUuid(`${resource.resourceType}?identifier=${token}`), stored);
}

/**
 * A resource identified by a search (a dose Observation: its identifier and code), read before it
 * is written: a stored one is updated by id with `If-Match` on the version read, a new one is a
 * conditional create on the search (`If-None-Exist`). Either way a transaction built on an older
 * read cannot overwrite what another writer wrote since: the update fails (409/412), the create
 * finds a match and writes nothing (200, which the pipeline turns into a retry: `mustCreate`).
 */
export function guardedEntry<T extends Resource>(resource: T, search: Record<string, string>, fullUrl: string, stored?: StoredVersion): BundleEntry<T> {
  if (!stored) {
    return { fullUrl, resource, request: { method: 'POST', url: resource.resourceType, ifNoneExist: searchQuery(search) } };
  }
  return {
    fullUrl,
    resource,
    request: {
      method: 'PUT',
      url: `${resource.resourceType}/${stored.id}`,
      ...(stored.versionId ? { ifMatch: weakEtag(stored.versionId) } : {}),
    },
  };
}

/**
 * A resource identified by a search (e.g. identifier and code), written whether or not it exists:
 * a conditional update creates it or replaces the one match (the server writes no new version when
 * nothing changed). Its fullUrl is derived from the search, so references to it are stable. No
 * version guard: only for what no snapshot makes older or newer (the node's Endpoint, which
 * follows the configuration); what a snapshot says is written by `versionedEntry`/`guardedEntry`.
 */
export function conditionalUpdateEntry<T extends Resource>(resource: T, search: Record<string, string>): BundleEntry<T> {
  const url = conditionalUrl(resource.resourceType, search);
  return { fullUrl: urnUuid(url), resource, request: { method: 'PUT', url } };
}

export function transactionBundle(entries: BundleEntry[]): Bundle {
  return { resourceType: 'Bundle', type: 'transaction', entry: entries };
}
