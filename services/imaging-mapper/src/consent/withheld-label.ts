import type { Patient } from '@medplum/fhirtypes';
import {
  hasWithheldLabel,
  identifiersOfPatient,
  WITHHELD_LABEL,
  withheldPatient,
  type PatientConsentState,
} from '@imaging-facade/consent';
import { parsePatientKey, patientKey, type PatientIdentifier } from '@imaging-facade/events';
import { identifierToken, type FhirClient } from '@imaging-facade/fhir';

/** What the label needs of the FHIR server. */
export type LabelPort = Pick<FhirClient, 'search' | 'changeMeta'>;

/** What was done to the patient's Patient resources. */
export interface LabelChanges {
  labelled: number;
  unlabelled: number;
}

/** Keeps the withheld label of a patient's Patient resources as their decisions say (libs/consent `WITHHELD_LABEL`). */
export interface PatientLabels {
  sync(patientKey: string): Promise<LabelChanges>;
}


/**
 * What the label of a Patient must become, decided over every identifier the resource holds (a
 * refusal kept under another of them withholds the record too): `$meta-add`, `$meta-delete`, or
 * nothing when it is right already. Pure.
 */
export function labelChange(
  patient: Pick<Patient, 'identifier' | 'meta'>,
  stateOf: (identifier: PatientIdentifier) => PatientConsentState | undefined,
): '$meta-add' | '$meta-delete' | undefined {
  const withheld = withheldPatient(identifiersOfPatient(patient), stateOf);
  const labelled = hasWithheldLabel(patient.meta?.security);
  if (withheld === labelled) {
    return undefined;
  }
  return withheld ? '$meta-add' : '$meta-delete';
}

/**
 * The labels over the FHIR server and the consent view: every Patient resource holding the
 * patient's identifier is found and, where its label is not what the decisions say, the label is
 * added or removed. Idempotent, and no version of the Patient is written (`$meta-add`).
 */
export function patientLabels(fhir: LabelPort, consent: { stateOf(patientKey: string): PatientConsentState | undefined }): PatientLabels {
  const stateOf = (identifier: PatientIdentifier) => consent.stateOf(patientKey(identifier));
  return {
    async sync(key) {
      const changes: LabelChanges = { labelled: 0, unlabelled: 0 };
      const identifier = parsePatientKey(key);
      if (!identifier) {
        return changes;
      }
      // Several resources may hold one identifier (a hospital's duplicates): each is withheld alike.
      const patients = await fhir.search('Patient', { identifier: identifierToken(identifier), _elements: 'identifier', _count: '50' });
      for (const patient of patients) {
        const change = labelChange(patient, stateOf);
        if (change && patient.id) {
          await fhir.changeMeta(change, 'Patient', patient.id, { security: [{ ...WITHHELD_LABEL }] });
          changes[change === '$meta-add' ? 'labelled' : 'unlabelled'] += 1;
        }
      }
      return changes;
    },
  };
}
