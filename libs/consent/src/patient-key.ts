import type { DicomJson } from '@imaging-facade/dicom';
import {
  DEFAULT_PATIENT_ID_SYSTEM,
  LOCAL_ISSUER_SYSTEM_BASE,
  issuerTextToSystem,
  patientIdentityOf,
  patientKey,
  type PatientIdentifier,
  type StudyCompletedV1Data,
} from '@imaging-facade/events';

/**
 * How the consent desk, the mapper and the gateway name a study's patient: the one rule of
 * `@imaging-facade/events` (`patientIdentityOf`), reduced to the `system|value` key decisions are
 * kept under.
 */
export { DEFAULT_PATIENT_ID_SYSTEM, LOCAL_ISSUER_SYSTEM_BASE };

/** IssuerOfPatientID → Identifier.system. */
export const issuerToSystem = (issuer: string): string => issuerTextToSystem(issuer);

/** The FHIR identifier of the study's patient; undefined when the study has no PatientID. */
export function patientIdentifierOfStudy(study: DicomJson, defaultSystem: string): PatientIdentifier | undefined {
  const identity = patientIdentityOf(study, defaultSystem);
  return identity ? { system: identity.system, value: identity.value } : undefined;
}

/** The patient key (`system|value`) of a study snapshot; undefined when it has no PatientID. */
export function patientKeyOfStudy(snapshot: Pick<StudyCompletedV1Data, 'study'>, defaultSystem: string): string | undefined {
  const identifier = patientIdentifierOfStudy(snapshot.study, defaultSystem);
  return identifier ? patientKey(identifier) : undefined;
}
