import type { StudyRejection } from '@imaging-facade/events';
import type { Basic, BundleEntry } from '@medplum/fhirtypes';
import { dicomUidIdentifier, identifierToken, searchQuery, weakEtag } from '@imaging-facade/fhir';
import type { FhirPort } from './fhir-lookups';
import { rememberedRejections, withRejections } from './rejected-instances';

/**
 * The memory of a study that left the index with instances rejected at the source (IHE IOCM): every
 * instance rejected, or the study withdrawn while it remembered some. It is a FHIR `Basic` with the
 * study's identifier and the same `rejected-instance` extensions as the ImagingStudy. Why: rejection
 * notes are per node, and another node that holds the study but not the note sends its snapshot
 * later; without this record the study came back, in the wrong-worklist case under the wrong
 * patient. It names no patient (UIDs and reasons only), and the gateway does not serve `Basic`.
 * When the study is published again (an instance not rejected), the study takes the rejections
 * back and the record is deleted in the same transaction: one memory at a time.
 */
export const REJECTED_STUDY_CODE = { system: 'https://imagingfacade.org/fhir/CodeSystem/index-record', code: 'rejected-study' } as const;

function recordSearch(studyInstanceUid: string): Record<string, string> {
  return {
    identifier: identifierToken(dicomUidIdentifier(studyInstanceUid)),
    code: `${REJECTED_STUDY_CODE.system}|${REJECTED_STUDY_CODE.code}`,
  };
}

/** The records of the study (normally none or one; two only after concurrent first writes). */
export async function findRejectedStudyRecords(fhir: FhirPort, studyInstanceUid: string): Promise<Basic[]> {
  return fhir.search('Basic', { ...recordSearch(studyInstanceUid), _count: '10' });
}

/** What the records remember, as one: the study's extensions for `withoutRememberedRejections`. */
export function recordedRejections(records: readonly Basic[]): Pick<Basic, 'extension'> | undefined {
  const all = records.flatMap((record) => rememberedRejections(record));
  return all.length > 0 ? { extension: withRejections(undefined, all) } : undefined;
}

/**
 * The entries that make the study's one record say `rejections` (all it must remember, the stored
 * records' included): none when the first stored record says it already; that record updated with
 * `If-Match`, or a conditional create when there is none (`create` is its index, whose answer must
 * be 201: a concurrent writer made one, and a retry merges into it); any other record deleted.
 */
export function rejectedStudyRecordEntries(
  studyInstanceUid: string,
  rejections: readonly StudyRejection[],
  stored: readonly Basic[],
): { entries: BundleEntry[]; create?: number } {
  const [first, ...others] = stored;
  const extension = withRejections(undefined, rejections);
  const deletions = others.map(deletionOf);
  if (first && JSON.stringify(first.extension ?? []) === JSON.stringify(extension ?? [])) {
    return { entries: deletions };
  }
  const record: Basic = {
    resourceType: 'Basic',
    ...(first?.id ? { id: first.id } : {}),
    ...(extension ? { extension } : {}),
    identifier: [dicomUidIdentifier(studyInstanceUid)],
    code: { coding: [{ ...REJECTED_STUDY_CODE, display: 'Study that left the index with instances rejected at the source' }] },
  };
  if (first?.id) {
    const versionId = first.meta?.versionId;
    return { entries: [{ resource: record, request: { method: 'PUT', url: `Basic/${first.id}`, ...(versionId ? { ifMatch: weakEtag(versionId) } : {}) } }, ...deletions] };
  }
  return { entries: [{ resource: record, request: { method: 'POST', url: 'Basic', ifNoneExist: searchQuery(recordSearch(studyInstanceUid)) } }], create: 0 };
}

/** The study is published again and remembers the rejections itself: its records go. */
export function rejectedStudyRecordDeletions(stored: readonly Basic[]): BundleEntry[] {
  return stored.map(deletionOf);
}

function deletionOf(record: Basic): BundleEntry {
  return { request: { method: 'DELETE', url: `Basic/${record.id}` } };
}
