import type { StudyCompletedV1Data, StudyRejection } from '@imaging-facade/events';
import type { Extension, ImagingStudy } from '@medplum/fhirtypes';
import { REJECTION_REASONS } from '@imaging-facade/dicom';

/**
 * An instance of the study rejected at the source (IHE IOCM), remembered on the ImagingStudy: a
 * rejected SOP Instance UID never comes back (corrected images get new UIDs), so a snapshot of another
 * node that holds the instance but not the note (notes are per node) does not list it again, nor
 * its dose. Sub-extensions `instance` (the SOP Instance UID, `urn:dicom:uid`) and `reason` (the
 * note's title, DCM).
 */
export const REJECTED_INSTANCE_URL = 'https://imagingfacade.org/fhir/StructureDefinition/rejected-instance';

const DCM_SYSTEM = 'http://dicom.nema.org/resources/ontology/DCM';

/** What remembers rejections: the stored ImagingStudy, or the record of a study that left the index (rejected-study-record.ts). */
export type RejectionMemory = Pick<ImagingStudy, 'extension'>;

/** The rejections the stored study, or the record of a study that left the index, remembers. */
export function rememberedRejections(memory: RejectionMemory | undefined): StudyRejection[] {
  return rejectionsIn(memory?.extension);
}

function rejectionsIn(extensions: readonly Extension[] | undefined): StudyRejection[] {
  return (extensions ?? [])
    .filter((extension) => extension.url === REJECTED_INSTANCE_URL)
    .flatMap((extension) => {
      const part = (url: string) => extension.extension?.find((item) => item.url === url);
      const uid = part('instance')?.valueIdentifier?.value?.replace(/^urn:oid:/, '');
      const reason = part('reason')?.valueCoding?.code;
      return uid && reason ? [{ sopInstanceUid: uid, reason }] : [];
    });
}

/**
 * The snapshot as the index must see it: without the instances the stored study (or the record of a
 * study that left the index) remembers as rejected (moved to `rejected`), a series left without
 * instances dropped. The same snapshot when nothing is remembered.
 */
export function withoutRememberedRejections(data: StudyCompletedV1Data, memory: RejectionMemory | undefined): StudyCompletedV1Data {
  const remembered = rememberedRejections(memory);
  if (remembered.length === 0) {
    return data;
  }
  const rejected = new Map(remembered.map((item) => [item.sopInstanceUid, item]));
  for (const item of data.rejected ?? []) rejected.set(item.sopInstanceUid, item);
  const listed = (uid: string) => !rejected.has(uid);
  const series = data.series
    .map((item) => ({ ...item, instances: item.instances.filter((instance) => listed(instance.sopInstanceUid)) }))
    .filter((item) => item.instances.length > 0);
  return { ...data, series, rejected: [...rejected.values()] };
}

/** The study's extensions with every rejection it remembers and those of this snapshot, each instance once. */
export function withRejections(extensions: readonly Extension[] | undefined, rejected: readonly StudyRejection[] | undefined): Extension[] | undefined {
  const kept = (extensions ?? []).filter((extension) => extension.url !== REJECTED_INSTANCE_URL);
  const all = new Map(rejectionsIn(extensions).map((item) => [item.sopInstanceUid, item]));
  for (const item of rejected ?? []) if (!all.has(item.sopInstanceUid)) all.set(item.sopInstanceUid, item);
  const result = [...kept, ...[...all.values()].sort((a, b) => a.sopInstanceUid.localeCompare(b.sopInstanceUid)).map(rejectionExtension)];
  return result.length > 0 ? result : undefined;
}

function rejectionExtension({ sopInstanceUid, reason }: StudyRejection): Extension {
  return {
    url: REJECTED_INSTANCE_URL,
    extension: [
      { url: 'instance', valueIdentifier: { system: 'urn:dicom:uid', value: `urn:oid:${sopInstanceUid}` } },
      { url: 'reason', valueCoding: { system: DCM_SYSTEM, code: reason, ...(REJECTION_REASONS[reason] ? { display: REJECTION_REASONS[reason] } : {}) } },
    ],
  };
}
