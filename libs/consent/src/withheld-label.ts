import type { PatientIdentifier } from '@imaging-facade/events';
import { withholdsRecord, type PatientConsentState } from './policy';

/**
 * The security label (`meta.security`) the mapper puts on the Patient resource of a patient whose
 * record is withheld (`withholdsRecord`: a patient-wide refusal, no study agreed on its own), and
 * takes off when it no longer is. The FHIR gateway adds
 * `_security:not=<label>` to every Patient search, so that the server's matches, its paging and
 * its `next` links never count a refuser: filtering the answer afterwards hides the refuser's
 * data, but a page count would still tell that somebody withheld matches the search.
 */
export const WITHHELD_LABEL = {
  system: 'urn:imaging-facade:consent',
  code: 'withheld',
  display: 'Withheld: the patient refused sharing',
} as const;

/** `system|code`, as a token search parameter takes it. */
export const WITHHELD_LABEL_TOKEN = `${WITHHELD_LABEL.system}|${WITHHELD_LABEL.code}`;

/**
 * The resource without the withheld label, for an answer to a client: the label is the node's own
 * bookkeeping, and one left on a record shown again (a label not yet taken off) would tell every
 * reader that the patient once refused. Other labels are kept. The resource is changed in place.
 */
export function dropWithheldLabel<R extends object>(resource: R): R {
  const meta = (resource as { meta?: unknown }).meta as { security?: Array<{ system?: string; code?: string }> } | undefined;
  if (meta?.security && hasWithheldLabel(meta.security)) {
    meta.security = meta.security.filter((coding) => coding.system !== WITHHELD_LABEL.system);
    if (meta.security.length === 0) {
      delete meta.security;
    }
  }
  return resource;
}

/** Whether a security label list holds the withheld label. */
export function hasWithheldLabel(security: ReadonlyArray<{ system?: string; code?: string }> | undefined): boolean {
  return (security ?? []).some((coding) => coding.system === WITHHELD_LABEL.system && coding.code === WITHHELD_LABEL.code);
}

/**
 * Whether the record of a patient known by these identifiers is withheld (`withholdsRecord` over the
 * decisions of every one of them). The gateway's rule for a Patient resource (libs/access), and the
 * mapper's for its label.
 */
export function withheldPatient(
  identifiers: readonly PatientIdentifier[],
  stateOf: (identifier: PatientIdentifier) => PatientConsentState | undefined,
): boolean {
  return withholdsRecord(identifiers.map(stateOf));
}
