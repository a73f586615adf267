import type { Coding, Extension, Identifier, ImagingStudy, Patient } from '@medplum/fhirtypes';

/**
 * Whether a stored study's subject still stands, given the patient identifier of the study's latest
 * snapshot. The merge keeps what the server holds, but a subject that its own issuer has since
 * contradicted is a study filed under the wrong patient: the modality or the PACS corrected the
 * Patient ID (a patient update) and sent the study again. Then it moves.
 *
 * - `keep`: the stored Patient carries the snapshot's identifier (also when a master patient index
 *   linked or merged records, so that it carries several), or no identifier of that issuer at all
 *   (another issuer's record, e.g. another node's: not ours to contradict), or it cannot be read.
 * - `move`: the stored Patient carries the same issuer's identifier with another value only.
 */
export function subjectAfterSnapshot(storedPatient: Patient | undefined, snapshotIdentifier: Identifier): 'keep' | 'move' {
  const sameIssuer = (storedPatient?.identifier ?? []).filter((identifier) => identifier.system === snapshotIdentifier.system);
  if (sameIssuer.length === 0 || sameIssuer.some((identifier) => identifier.value === snapshotIdentifier.value)) {
    return 'keep';
  }
  return 'move';
}

/**
 * When the snapshot that set the study's subject was received (its lastReceivedAt): a snapshot
 * received before it never moves the study to another patient.
 */
export const SUBJECT_AS_OF_URL = 'https://imagingfacade.org/fhir/StructureDefinition/subject-as-of';

export function subjectAsOf(study: ImagingStudy | undefined): string | undefined {
  return study?.extension?.find((extension) => extension.url === SUBJECT_AS_OF_URL)?.valueDateTime;
}

export function withSubjectAsOf(extensions: Extension[] | undefined, lastReceivedAt: string): Extension[] {
  return [...(extensions ?? []).filter((extension) => extension.url !== SUBJECT_AS_OF_URL), { url: SUBJECT_AS_OF_URL, valueDateTime: lastReceivedAt }];
}

/** Marks a study whose former patient's cumulative dose is still to be computed again (index-writer.ts). */
export const PENDING_RECOUNT_SYSTEM = 'https://imagingfacade.org/fhir/CodeSystem/pending-dose-recount';

export function pendingRecountTag(patientId: string): Coding {
  return { system: PENDING_RECOUNT_SYSTEM, code: patientId };
}

/** The former patients (ids) the tags of a stored study, or of the record of a removed one, name. */
export function pendingRecountsOf(resource: { meta?: { tag?: Coding[] } } | undefined): string[] {
  return (resource?.meta?.tag ?? []).filter((tag) => tag.system === PENDING_RECOUNT_SYSTEM && tag.code).map((tag) => tag.code as string);
}
