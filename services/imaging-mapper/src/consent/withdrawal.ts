import type { BundleEntry } from '@medplum/fhirtypes';
import { conditionalUrl, dicomUidIdentifier, identifierToken } from '@imaging-facade/fhir';
import type { CumulativeDoseOutcome } from '../derived/cumulative-dose-update';
import { doseRemovalEntries } from '../derived/dose-removal';
import type { FhirPort } from '../fhir/fhir-lookups';
import { transactionBundle } from '../fhir/transaction';
import { rememberedRejections } from '../fhir/rejected-instances';
import { findRejectedStudyRecords, rejectedStudyRecordEntries } from '../fhir/rejected-study-record';

export interface WithdrawalResult {
  /** Ids of the ImagingStudy resources deleted (none: the study was not in the index). */
  deletedStudies: string[];
  /** What became of the patient's cumulative dose Observation (index-writer.ts). */
  cumulativeDose?: CumulativeDoseOutcome;
}

/**
 * One transaction that deletes the ImagingStudy resources and what the mapper derived from them,
 * found by the FHIR R4 search parameter on their reference to the study, not by knowing how each is
 * built: the manifest's DocumentReference (`related`, by conditional delete) and the dose
 * Observations (`part-of`, dose-removal.ts: an irradiation event another study's summary still
 * reports stays, with that study). The node's Endpoint (shared by every study) and the Patient
 * (shared by the patient's studies, referenced by their Consents) stay. All or nothing: a search
 * never finds the study half removed.
 */
export async function withdrawalEntries(fhir: FhirPort, studyIds: readonly string[]): Promise<BundleEntry[]> {
  const studies = studyIds.map((id) => `ImagingStudy/${id}`);
  return [
    ...studies.map((study) => ({ request: { method: 'DELETE' as const, url: conditionalUrl('DocumentReference', { related: study }) } })),
    ...(await doseRemovalEntries(fhir, studies, () => true)),
    ...studies.map((url) => ({ request: { method: 'DELETE' as const, url } })),
  ];
}

/**
 * Removes a study from the shared index: its ImagingStudy and what derives from it. A deleted
 * resource is no longer returned by any search (HAPI keeps the deleted versions in the history
 * only). Nothing published: no write at all. Failures are FhirErrors, classified by the caller.
 */
export async function withdrawStudy(fhir: FhirPort, studyInstanceUid: string): Promise<WithdrawalResult> {
  const found = await fhir.search('ImagingStudy', {
    identifier: identifierToken(dicomUidIdentifier(studyInstanceUid)),
    _elements: 'identifier,extension',
    _count: '20',
  });
  const ids = found.map((study) => study.id).filter((id): id is string => id !== undefined);
  if (ids.length > 0) {
    // Instances it remembers as rejected stay remembered (rejected-study-record.ts): shared again
    // later, the study must not take them back from a node that never had the note.
    const rejections = found.flatMap((study) => rememberedRejections(study));
    const record = rejections.length > 0 ? rejectedStudyRecordEntries(studyInstanceUid, rejections, await findRejectedStudyRecords(fhir, studyInstanceUid)) : { entries: [] };
    const entries = [...(await withdrawalEntries(fhir, ids)), ...record.entries];
    const response = await fhir.transaction(transactionBundle(entries));
    const create = record.create === undefined ? undefined : entries.length - record.entries.length + record.create;
    if (create !== undefined && !response.entry?.[create]?.response?.status?.startsWith('201')) {
      // Another writer made the record meanwhile (its create matched ours): it takes these rejections too.
      const now = await findRejectedStudyRecords(fhir, studyInstanceUid);
      const again = rejectedStudyRecordEntries(studyInstanceUid, rejections, now).entries;
      if (again.length > 0) await fhir.transaction(transactionBundle(again));
    }
  }
  return { deletedStudies: ids };
}
