import type { Identifier, Patient } from '@medplum/fhirtypes';

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
