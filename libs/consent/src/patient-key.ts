import { patientKey, type DicomJson, type PatientIdentifier, type StudyCompletedV1Data } from '@imaging-facade/events';

/**
 * The one rule that turns a study's PatientID and IssuerOfPatientID into a FHIR identifier, so that
 * the consent desk, the mapper and the gateway all name a patient with the same `system|value` key.
 * It is the rule of services/imaging-mapper (`patient-mapping.ts`), to the character:
 * - IssuerOfPatientID an OID → `urn:oid:<oid>`; an http(s) URL or a URN → as is; any other text →
 *   `https://imagingfacade.org/fhir/sid/patient-id/<text, percent-encoded>` (deterministic);
 * - no issuer → the deployment's default system (the site's own patient ID namespace; it must be
 *   the mapper's MAPPER_DEFAULT_PATIENT_ID_SYSTEM);
 * - no PatientID → no identifier: the study belongs to no patient the desk can name.
 */
export const LOCAL_ISSUER_SYSTEM_BASE = 'https://imagingfacade.org/fhir/sid/patient-id/';

/** The mapper's default system for a PatientID without issuer. */
export const DEFAULT_PATIENT_ID_SYSTEM = 'https://imagingfacade.org/fhir/sid/patient-id';

const PATIENT_ID = '00100020';
const ISSUER_OF_PATIENT_ID = '00100021';

const OID = /^[0-2](\.(0|[1-9]\d*))+$/;
const URI = /^(https?:\/\/\S+|urn:[a-z0-9][a-z0-9-]{0,31}:\S+)$/i;

/** IssuerOfPatientID → Identifier.system. */
export function issuerToSystem(issuer: string): string {
  if (OID.test(issuer)) {
    return `urn:oid:${issuer}`;
  }
  if (URI.test(issuer)) {
    return issuer;
  }
  return `${LOCAL_ISSUER_SYSTEM_BASE}${encodeURIComponent(issuer)}`;
}

/** The FHIR identifier of the study's patient; undefined when the study has no PatientID. */
export function patientIdentifierOfStudy(study: DicomJson, defaultSystem: string): PatientIdentifier | undefined {
  const value = text(study, PATIENT_ID);
  if (value === undefined) {
    return undefined;
  }
  const issuer = text(study, ISSUER_OF_PATIENT_ID);
  return { system: issuer ? issuerToSystem(issuer) : defaultSystem, value };
}

/** The patient key (`system|value`) of a study snapshot; undefined when it has no PatientID. */
export function patientKeyOfStudy(snapshot: Pick<StudyCompletedV1Data, 'study'>, defaultSystem: string): string | undefined {
  const identifier = patientIdentifierOfStudy(snapshot.study, defaultSystem);
  return identifier ? patientKey(identifier) : undefined;
}

/** The first value as trimmed text, as the mapper reads it; undefined when empty. */
function text(dataset: DicomJson, tag: string): string | undefined {
  const value = dataset[tag]?.Value?.[0];
  if (typeof value === 'number' && Number.isFinite(value)) {
    return String(value);
  }
  if (typeof value !== 'string') {
    return undefined;
  }
  const trimmed = value.trim();
  return trimmed.length > 0 ? trimmed : undefined;
}
