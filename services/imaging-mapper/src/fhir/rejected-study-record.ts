import type { StudyRejection } from '@imaging-facade/events';
import type { Basic, BundleEntry, ImagingStudy } from '@medplum/fhirtypes';
import { dicomUidIdentifier, FhirError, identifierToken, searchQuery, weakEtag } from '@imaging-facade/fhir';
import { findByIdentifier, type FhirPort } from './fhir-lookups';
import { transactionBundle } from './transaction';
import { pendingRecountsOf, pendingRecountTag } from './subject-correction';
import { rememberedRejections, withRejections, type RejectionMemory } from './rejected-instances';

/**
 * The memory of a study that left the index with instances rejected at the source (IHE IOCM): every
 * instance rejected, or the study withdrawn while it remembered some. It is a FHIR `Basic` with the
 * study's identifier and the same `rejected-instance` extensions as the ImagingStudy. Why: rejection
 * notes are per node, and another node that holds the study but not the note sends its snapshot
 * later; without this record the study came back, in the wrong-worklist case under the wrong
 * patient. It names no patient (UIDs and reasons), except, from a removal until the dose of the
 * patient the study was filed under is computed again, that Patient's id in a pending-recount tag
 * (index-writer.ts); the gateway does not serve `Basic`. Every snapshot is read against it: when
 * the study is published again (an instance not rejected), or found stored beside it (two nodes'
 * mappers racing), the study takes its rejections and the record is deleted. Each writer checks
 * for the other resource after its own write (`settleRejectedStudyRecords`), so that of two racing
 * writers one sees the other and handles its event again.
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

/** What the stored study and the records remember, as one memory (for `withoutRememberedRejections`). */
export function rememberedWith(study: RejectionMemory | undefined, records: readonly Basic[]): RejectionMemory | undefined {
  if (records.length === 0) {
    return study;
  }
  return { extension: withRejections(study?.extension, records.flatMap((record) => rememberedRejections(record))) };
}

/** The same records, each at the same version. */
export function sameRecords(read: readonly Basic[], now: readonly Basic[]): boolean {
  const key = (records: readonly Basic[]) => records.map((record) => `${record.id}@${record.meta?.versionId ?? ''}`).sort().join(',');
  return key(read) === key(now);
}

/**
 * The entries that make the study's one record say `rejections` and what the stored records
 * remember: none when the first stored record says it already; that record updated with
 * `If-Match`, or a conditional create when there is none (`create` is its index, whose answer must
 * be 201: a concurrent writer made one, and a retry merges into it); any other record deleted.
 * `recountPending`: Patient ids whose cumulative dose is still to be computed again, named by a tag
 * (as on a moved study, subject-correction.ts) until index-writer.ts has done it.
 */
export function rejectedStudyRecordEntries(
  studyInstanceUid: string,
  rejections: readonly StudyRejection[],
  stored: readonly Basic[],
  recountPending: readonly string[] = [],
): { entries: BundleEntry[]; create?: number } {
  const [first, ...others] = stored;
  const extension = withRejections(undefined, [...rejections, ...stored.flatMap((record) => rememberedRejections(record))]);
  const deletions = others.map(deletionOf);
  const tagged = new Set(pendingRecountsOf(first));
  if (first && JSON.stringify(first.extension ?? []) === JSON.stringify(extension ?? []) && recountPending.every((id) => tagged.has(id))) {
    return { entries: deletions };
  }
  const record: Basic = {
    resourceType: 'Basic',
    ...(first?.id ? { id: first.id } : {}),
    // The patient a removed study was filed under, until their dose is computed again (index-writer.ts).
    ...(recountPending.length > 0 ? { meta: { tag: recountPending.map(pendingRecountTag) } } : {}),
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

/**
 * The records go once the stored study remembers what they did. HAPI ignores `If-Match` on a
 * DELETE, so the study's version guards them: `guard`, the study as read, is put back unchanged
 * with `If-Match` (HAPI answers 200 and writes no version), and the transaction fails (409) when a
 * removal or a withdrawal, the writers that rewrite a record, deleted the study meanwhile. No
 * `guard` when the transaction writes the study itself with `If-Match`.
 */
export function rejectedStudyRecordDeletions(stored: readonly Basic[], guard?: ImagingStudy): BundleEntry[] {
  if (stored.length === 0) {
    return [];
  }
  const versionId = guard?.meta?.versionId;
  const guarding: BundleEntry[] = guard?.id && versionId ? [{ resource: guard, request: { method: 'PUT', url: `ImagingStudy/${guard.id}`, ifMatch: weakEtag(versionId) } }] : [];
  return [...guarding, ...stored.map(deletionOf)];
}

function deletionOf(record: Basic): BundleEntry {
  return { request: { method: 'DELETE', url: `Basic/${record.id}` } };
}

/**
 * After a write where no study was stored, across resource types: a study just created takes over
 * what its records remembered, so they go (`deleted`), unless one was written or changed meanwhile
 * (another node's mapper, which saw no study) or the study was removed again; a record just
 * written must not stand beside a study created meanwhile. Either way the event fails retryably
 * and is handled again, which reads both and folds the record into the study. Of two racing
 * writers, the later check sees the other's write.
 */
export async function settleRejectedStudyRecords(
  fhir: FhirPort,
  studyInstanceUid: string,
  written: { studyCreated: boolean; recordWritten: boolean },
  read: readonly Basic[],
): Promise<'deleted' | undefined> {
  if (written.studyCreated) {
    const now = await findRejectedStudyRecords(fhir, studyInstanceUid);
    if (now.length === 0) {
      return undefined;
    }
    // The study as it is now guards the deletion: a removal or withdrawal meanwhile makes it fail (409).
    const created = await findByIdentifier(fhir, 'ImagingStudy', dicomUidIdentifier(studyInstanceUid));
    if (!sameRecords(read, now) || !created) {
      throw new FhirError('a record of the rejected study was written, or the study removed, while the study was created; merging again', 409);
    }
    await fhir.transaction(transactionBundle(rejectedStudyRecordDeletions(now, created)));
    return 'deleted';
  }
  if (written.recordWritten && (await findByIdentifier(fhir, 'ImagingStudy', dicomUidIdentifier(studyInstanceUid)))) {
    throw new FhirError('the study was created while its rejected instances were recorded; merging again', 409);
  }
  return undefined;
}
