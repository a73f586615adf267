import type { BundleEntry } from '@medplum/fhirtypes';
import { conditionalUrl, dicomUidIdentifier, identifierToken } from '@imaging-facade/fhir';
import type { CumulativeDoseOutcome } from '../derived/cumulative-dose-update';
import type { FhirPort } from '../fhir/fhir-lookups';
import { transactionBundle } from '../fhir/transaction';

/**
 * What the mapper publishes for a study besides its ImagingStudy (the manifest's DocumentReference,
 * the dose Observations), found by the FHIR R4 search parameter on their reference to the
 * ImagingStudy, not by knowing how each is built: a withdrawal removes whatever a pipeline step
 * adds for the study as long as it references the study through one of these. The node's
 * Endpoint (shared by every study) and the Patient (shared by the patient's studies, referenced by
 * their Consents) stay.
 */
export const DERIVED_RESOURCES: ReadonlyArray<{ resourceType: string; searchParam: string; element: string }> = [
  { resourceType: 'DocumentReference', searchParam: 'related', element: 'DocumentReference.context.related' },
  { resourceType: 'Observation', searchParam: 'part-of', element: 'Observation.partOf' },
];

export interface WithdrawalResult {
  /** Ids of the ImagingStudy resources deleted (none: the study was not in the index). */
  deletedStudies: string[];
  /** What became of the patient's cumulative dose Observation (index-writer.ts). */
  cumulativeDose?: CumulativeDoseOutcome;
}

/**
 * One transaction that deletes the ImagingStudy resources and, by conditional delete, what the
 * mapper derived from them (DERIVED_RESOURCES). All or nothing: a search never finds the study
 * half removed.
 */
export function withdrawalEntries(studyIds: readonly string[]): BundleEntry[] {
  return studyIds.flatMap((id) => [
    ...DERIVED_RESOURCES.map(({ resourceType, searchParam }) => ({
      request: { method: 'DELETE' as const, url: conditionalUrl(resourceType, { [searchParam]: `ImagingStudy/${id}` }) },
    })),
    { request: { method: 'DELETE' as const, url: `ImagingStudy/${id}` } },
  ]);
}

/**
 * Removes a study from the shared index: its ImagingStudy and what derives from it. A deleted
 * resource is no longer returned by any search (HAPI keeps the deleted versions in the history
 * only). Nothing published: no write at all. Failures are FhirErrors, classified by the caller.
 */
export async function withdrawStudy(fhir: FhirPort, studyInstanceUid: string): Promise<WithdrawalResult> {
  const found = await fhir.search('ImagingStudy', {
    identifier: identifierToken(dicomUidIdentifier(studyInstanceUid)),
    _elements: 'identifier',
    _count: '20',
  });
  const ids = found.map((study) => study.id).filter((id): id is string => id !== undefined);
  if (ids.length > 0) {
    await fhir.transaction(transactionBundle(withdrawalEntries(ids)));
  }
  return { deletedStudies: ids };
}
