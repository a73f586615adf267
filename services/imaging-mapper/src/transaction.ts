import type { Bundle, BundleEntry, Identifier, ImagingStudy, Patient, Reference } from '@medplum/fhirtypes';
import { identifierToken, searchQuery, urnUuid, weakEtag } from '@imaging-facade/fhir';

/**
 * Entries of the one `transaction` Bundle written per event. They are pure functions of their
 * input, with name-based `urn:uuid:` fullUrls, so the same input always gives the same Bundle.
 */

/** Creates the Patient unless one with the identifier exists by the time the server runs the transaction. */
export function patientCreateEntry(patient: Patient, identifier: Identifier): BundleEntry<Patient> {
  return conditionalCreateEntry(patient, identifier);
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
  if (!stored) {
    return conditionalCreateEntry(study, identifier);
  }
  return {
    fullUrl: urnUuid(`ImagingStudy?identifier=${identifierToken(identifier)}`),
    resource: study,
    request: {
      method: 'PUT',
      url: `ImagingStudy/${stored.id}`,
      ...(stored.versionId ? { ifMatch: weakEtag(stored.versionId) } : {}),
    },
  };
}

export function transactionBundle(entries: BundleEntry[]): Bundle {
  return { resourceType: 'Bundle', type: 'transaction', entry: entries };
}

function conditionalCreateEntry<T extends Patient | ImagingStudy>(resource: T, identifier: Identifier): BundleEntry<T> {
  const token = identifierToken(identifier);
  return {
    fullUrl: urnUuid(`${resource.resourceType}?identifier=${token}`),
    resource,
    request: { method: 'POST', url: resource.resourceType, ifNoneExist: searchQuery({ identifier: token }) },
  };
}
