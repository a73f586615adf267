import type { Identifier, Patient } from '@medplum/fhirtypes';
import type { DicomDataset } from './mapped-attributes';
import { dicomDateToFhir, personNameToFhir } from './dicom-values';
import { issuerTextToSystem, LOCAL_ISSUER_SYSTEM_BASE, patientIdentityOf } from '@imaging-facade/events';
import type { MappingRow } from './mapping-table';
import { V2_0203_SYSTEM } from '@imaging-facade/fhir';

export { LOCAL_ISSUER_SYSTEM_BASE };

export const V2_IDENTIFIER_TYPE_SYSTEM = V2_0203_SYSTEM;
/** FR Core's identifier types (Interop'Santé / ANS), which name the INS slices. */
export const FR_CORE_IDENTIFIER_TYPE_SYSTEM = 'https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-v2-0203';

/**
 * The French national health identifier (matricule INS) by the OID of its assigning authority, as
 * the FR Core Patient INS profile slices it: system, `use` and the FR Core identifier type.
 */
export const INS_AUTHORITIES: Readonly<
  Record<string, { readonly code: string; readonly display: string; readonly use: Identifier['use'] }>
> = {
  'urn:oid:1.2.250.1.213.1.4.8': { code: 'INS-NIR', display: 'NIR définitif', use: 'official' },
  'urn:oid:1.2.250.1.213.1.4.9': { code: 'INS-NIA', display: 'NIR temporaire', use: 'temp' },
  'urn:oid:1.2.250.1.213.1.4.10': { code: 'INS-NIR-TEST', display: 'NIR TEST', use: 'official' },
  'urn:oid:1.2.250.1.213.1.4.11': { code: 'INS-NIR-DEMO', display: 'NIR DEMO', use: 'official' },
};

/** IssuerOfPatientID → Identifier.system: an OID as `urn:oid:`, a URI as is, any other name made a URI. */
export function issuerToSystem(issuer: string): string {
  return issuerTextToSystem(issuer);
}

function identifier(value: string, system: string, typeCode: string | undefined): Identifier {
  return {
    ...(typeCode ? { type: { coding: [{ system: V2_IDENTIFIER_TYPE_SYSTEM, code: typeCode }] } } : {}),
    system,
    value,
  };
}

/** PatientID (+ its issuer) → the Patient's business identifier; undefined without a PatientID. */
export function patientIdentifier(source: DicomDataset, defaultSystem: string): Identifier | undefined {
  // The shared rule: the consent desk and the gateway name the patient exactly so.
  const identity = patientIdentityOf(source.raw, defaultSystem);
  return identity ? identifier(identity.value, identity.system, identity.typeCode) : undefined;
}

/** An identifier whose system is an INS authority, typed and used as FR Core says; others unchanged. */
export function withInsType(id: Identifier): Identifier {
  const ins = id.system ? INS_AUTHORITIES[id.system] : undefined;
  if (!ins) {
    return id;
  }
  const { use: _use, type: _type, ...rest } = id;
  return {
    use: ins.use,
    type: {
      coding: [
        { system: FR_CORE_IDENTIFIER_TYPE_SYSTEM, code: ins.code, display: ins.display },
        { system: V2_IDENTIFIER_TYPE_SYSTEM, code: 'NH', display: 'National Health Plan Identifier' },
      ],
    },
    ...rest,
  };
}

const GENDERS: Readonly<Record<string, Patient['gender']>> = { M: 'male', F: 'female', O: 'other' };

export const PATIENT_ROWS: readonly MappingRow<Patient>[] = [
  {
    dicom: ['PatientID', 'IssuerOfPatientID', 'IssuerOfPatientIDQualifiersSequence'],
    fhir: 'Patient.identifier',
    rule:
      'value = PatientID; system = the Universal Entity ID of IssuerOfPatientIDQualifiersSequence when its type is ISO ' +
      '(`urn:oid:<oid>`), URI (as is) or UUID (`urn:uuid:`), else IssuerOfPatientID as a URI (OID → `urn:oid:<oid>`, ' +
      `URI as is, other text → \`${LOCAL_ISSUER_SYSTEM_BASE}<text, percent-encoded>\`), else ` +
      'FACADE_PATIENT_ID_SYSTEM; the qualifiers’ IdentifierTypeCode → `type` (v2-0203). ' +
      'No PatientID: the study is not mapped (dead-letter).',
    map: (source, patient, context) => {
      const id = patientIdentifier(source, context.defaultPatientIdSystem);
      if (id) {
        patient.identifier = [id];
      }
    },
  },
  {
    dicom: ['OtherPatientIDsSequence'],
    fhir: 'Patient.identifier',
    rule:
      'one more identifier per item, its PatientID with the same issuer rules; an item without an issuer is left out ' +
      '(an identifier without a namespace could match another patient)',
    map: (source, patient, context) => {
      const identifiers = patient.identifier ?? [];
      for (const item of source.items('OtherPatientIDsSequence')) {
        // An empty default system marks an item without issuer.
        const { value, system, typeCode } = patientIdentityOf(item.raw, '') ?? {};
        if (!value || !system) {
          context.skip('OtherPatientIDsSequence');
          continue;
        }
        if (!identifiers.some((known) => known.system === system && known.value === value)) {
          identifiers.push(identifier(value, system, typeCode));
        }
      }
      if (identifiers.length > 0) {
        patient.identifier = identifiers;
      }
    },
  },
  {
    dicom: ['PatientID', 'OtherPatientIDsSequence'],
    fhir: 'Patient.identifier (INS)',
    rule:
      'an identifier issued by an INS authority (`urn:oid:1.2.250.1.213.1.4.8` NIR, `.9` NIA, `.10` test NIR, `.11` demo ' +
      'NIR) gets FR Core’s `use` (official; temp for NIA) and `type` (fr-core-cs-v2-0203 INS-NIR, INS-NIA, ' +
      'INS-NIR-TEST, INS-NIR-DEMO, with v2-0203 NH)',
    map: (_source, patient) => {
      if (patient.identifier) {
        patient.identifier = patient.identifier.map(withInsType);
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
    rule: 'DA `YYYYMMDD` (or the ACR-NEMA `YYYY.MM.DD`) → `YYYY-MM-DD`; not a real date → left out',
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
