import type { Identifier, Patient } from '@medplum/fhirtypes';
import type { DicomDataset } from './dicom-dataset';
import { dicomDateToFhir, personNameToFhir } from './dicom-values';
import type { MappingRow } from './mapping-table';

/**
 * Namespace of the systems made for an IssuerOfPatientID that is neither an OID nor a URI (a local
 * name such as "HOSPITAL_A"): `<base>/<issuer, percent-encoded>`. Deterministic, so every node that
 * sees the same issuer makes the same system.
 */
export const LOCAL_ISSUER_SYSTEM_BASE = 'https://imagingfacade.org/fhir/sid/patient-id/';

const OID = /^[0-2](\.(0|[1-9]\d*))+$/;
const URI = /^(https?:\/\/\S+|urn:[a-z0-9][a-z0-9-]{0,31}:\S+)$/i;

/** IssuerOfPatientID → Identifier.system: an OID as `urn:oid:`, a URI as is, any other name made a URI. */
export function issuerToSystem(issuer: string): string {
  if (OID.test(issuer)) {
    return `urn:oid:${issuer}`;
  }
  if (URI.test(issuer)) {
    return issuer;
  }
  return `${LOCAL_ISSUER_SYSTEM_BASE}${encodeURIComponent(issuer)}`;
}

/** PatientID (+ IssuerOfPatientID) → the Patient's business identifier; undefined without a PatientID. */
export function patientIdentifier(source: DicomDataset, defaultSystem: string): Identifier | undefined {
  const value = source.text('PatientID');
  if (!value) {
    return undefined;
  }
  const issuer = source.text('IssuerOfPatientID');
  return { system: issuer ? issuerToSystem(issuer) : defaultSystem, value };
}

const GENDERS: Readonly<Record<string, Patient['gender']>> = { M: 'male', F: 'female', O: 'other' };

export const PATIENT_ROWS: readonly MappingRow<Patient>[] = [
  {
    dicom: ['PatientID', 'IssuerOfPatientID'],
    fhir: 'Patient.identifier',
    rule:
      'value = PatientID; system = IssuerOfPatientID as a URI (OID → `urn:oid:<oid>`, URI as is, other text → ' +
      `\`${LOCAL_ISSUER_SYSTEM_BASE}<text, percent-encoded>\`), or MAPPER_DEFAULT_PATIENT_ID_SYSTEM without an issuer. ` +
      'No PatientID: the study is not mapped (dead-letter).',
    map: (source, patient, context) => {
      const identifier = patientIdentifier(source, context.defaultPatientIdSystem);
      if (identifier) {
        patient.identifier = [identifier];
      }
    },
  },
  {
    dicom: ['PatientName'],
    fhir: 'Patient.name',
    rule:
      'PN `family^given^middle^prefix^suffix` → family, given [given, middle], prefix, suffix; one HumanName per ' +
      'non-empty group, Ideographic and Phonetic marked with extension iso21090-EN-representation (IDE, SYL)',
    map: (source, patient) => {
      const names = personNameToFhir(source.first('PatientName'));
      if (names.length > 0) {
        patient.name = names;
      }
    },
  },
  {
    dicom: ['PatientBirthDate'],
    fhir: 'Patient.birthDate',
    rule: 'DA `YYYYMMDD` → `YYYY-MM-DD`; not a real date → left out',
    map: (source, patient, context) => {
      const text = source.text('PatientBirthDate');
      const birthDate = text ? dicomDateToFhir(text) : undefined;
      if (birthDate) {
        patient.birthDate = birthDate;
      } else if (text) {
        context.skip('PatientBirthDate');
      }
    },
  },
  {
    dicom: ['PatientSex'],
    fhir: 'Patient.gender',
    rule: 'M → male, F → female, O → other; anything else, empty or missing → unknown',
    map: (source, patient) => {
      patient.gender = GENDERS[source.text('PatientSex')?.toUpperCase() ?? ''] ?? 'unknown';
    },
  },
];
