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

/**
 * The identifiers of a Patient resource that decisions can be kept under: those with a system and
 * a value (a decision's patient always has both).
 */
export function identifiersOfPatient(patient: object): PatientIdentifier[] {
  const identifiers = ((patient as { identifier?: unknown }).identifier as Array<{ system?: string; value?: string }> | undefined) ?? [];
  return identifiers
    .filter((identifier): identifier is { system: string; value: string } => !!identifier.system && !!identifier.value)
    .map(({ system, value }) => ({ system, value }));
}
