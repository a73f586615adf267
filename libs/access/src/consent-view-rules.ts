import { decideSharingOver, refusesPatientWide, withheldPatient, type ConsentPolicy, type PatientConsentState } from '@imaging-facade/consent';
import type { PatientIdentifier } from '@imaging-facade/events';
import type { ConsentRules, Sharing } from './consent';

/** What the gateway reads of libs/consent's ConsentView. */
export interface ConsentStates {
  readonly policy: ConsentPolicy;
  stateOf(patient: PatientIdentifier): PatientConsentState | undefined;
  patients(): IterableIterator<[string, PatientConsentState]>;
}

/**
 * The gateway's consent rules over libs/consent's view of `consent.patient-decisions.v1`, with the
 * view's own precedence (a decision about the study beats the patient-wide one; the latest wins;
 * without any decision the deployment's policy decides). A patient known by several identifiers
 * is withheld when a refusal governs any of them; their record unless a study they agreed to on
 * its own is shared over all of them.
 */
export function consentRulesFrom(view: ConsentStates): ConsentRules {
  return {
    mayWithhold: () => view.policy === 'opt-in' || !view.patients().next().done,
    patientSharing: (patient): Sharing => (patient.some((identifier) => refusesPatientWide(view.stateOf(identifier))) ? 'withhold' : 'share'),
    recordSharing: (patient): Sharing => (withheldPatient(patient, (identifier) => view.stateOf(identifier)) ? 'withhold' : 'share'),
    studySharing: (patient, study): Sharing => decideSharingOver(view.policy, patient.map((identifier) => view.stateOf(identifier)), study),
  };
}
