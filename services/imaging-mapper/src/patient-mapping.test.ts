import type { DicomAttribute } from '@imaging-facade/events';
import type { Patient } from '@medplum/fhirtypes';
import { DicomDataset, type Keyword } from './dicom-dataset';
import { applyRows, type MappingContext } from './mapping-table';
import { issuerToSystem, LOCAL_ISSUER_SYSTEM_BASE, PATIENT_ROWS, patientIdentifier } from './patient-mapping';
import { validateR4 } from './test-support/fhir-validation';
import { expectElements } from './test-support/expect-elements';
import { attr, dataset } from './test-support/study-events';

const DEFAULT_SYSTEM = 'https://hospital.example/mrn';

function mapPatient(attributes: Partial<Record<Keyword, DicomAttribute>>): { patient: Patient; skipped: Keyword[] } {
  const skipped: Keyword[] = [];
  const context: MappingContext = { defaultPatientIdSystem: DEFAULT_SYSTEM, skip: (keyword) => skipped.push(keyword) };
  const patient = applyRows(PATIENT_ROWS, new DicomDataset(dataset(attributes)), { resourceType: 'Patient' }, context);
  return { patient, skipped };
}

describe('IssuerOfPatientID → Identifier.system', () => {
  it.each([
    ['an OID becomes urn:oid', '1.2.840.113619.6.1', 'urn:oid:1.2.840.113619.6.1'],
    ['a URL stays as it is', 'https://hospital.example/mrn', 'https://hospital.example/mrn'],
    ['a URN stays as it is', 'urn:oid:1.2.3', 'urn:oid:1.2.3'],
    ['a local name becomes a URI of ours', 'HOSPITAL_A', `${LOCAL_ISSUER_SYSTEM_BASE}HOSPITAL_A`],
    ['spaces and accents are percent-encoded', 'Hôpital Nord', `${LOCAL_ISSUER_SYSTEM_BASE}H%C3%B4pital%20Nord`],
    ['a separator is percent-encoded', 'A|B/C', `${LOCAL_ISSUER_SYSTEM_BASE}A%7CB%2FC`],
    ['an OID with a leading zero is a name', '1.02.3', `${LOCAL_ISSUER_SYSTEM_BASE}1.02.3`],
    ['a bare number is a name', '12345', `${LOCAL_ISSUER_SYSTEM_BASE}12345`],
  ])('%s', (_situation, issuer, system) => {
    expect(issuerToSystem(issuer)).toBe(system);
  });
});

describe('PatientID → Patient.identifier', () => {
  it.each<[string, Partial<Record<Keyword, DicomAttribute>>, unknown]>([
    [
      'without an issuer: the default system',
      { PatientID: attr('LO', 'PID-1') },
      { system: DEFAULT_SYSTEM, value: 'PID-1' },
    ],
    [
      'with an OID issuer',
      { PatientID: attr('LO', 'PID-1'), IssuerOfPatientID: attr('LO', '1.2.3.4') },
      { system: 'urn:oid:1.2.3.4', value: 'PID-1' },
    ],
    [
      'an empty issuer counts as none',
      { PatientID: attr('LO', 'PID-1'), IssuerOfPatientID: attr('LO', '  ') },
      { system: DEFAULT_SYSTEM, value: 'PID-1' },
    ],
    ['padding is trimmed', { PatientID: attr('LO', ' PID-1  ') }, { system: DEFAULT_SYSTEM, value: 'PID-1' }],
    ['a numeric value is text', { PatientID: attr('LO', 12345) }, { system: DEFAULT_SYSTEM, value: '12345' }],
    ['no PatientID: none', {}, undefined],
    ['an empty PatientID: none', { PatientID: attr('LO') }, undefined],
    ['a blank PatientID: none', { PatientID: attr('LO', '   ') }, undefined],
  ])('%s', (_situation, attributes, expected) => {
    expect(patientIdentifier(new DicomDataset(dataset(attributes)), DEFAULT_SYSTEM)).toEqual(expected);
  });
});

describe('the Patient rows', () => {
  it.each<[string, Partial<Record<Keyword, DicomAttribute>>, Partial<Patient>, Keyword[]]>([
    [
      'PatientName',
      { PatientName: attr('PN', { Alphabetic: 'Doe^Jane' }) },
      { name: [{ family: 'Doe', given: ['Jane'] }] },
      [],
    ],
    ['an empty PatientName: no name', { PatientName: attr('PN', { Alphabetic: '' }) }, { name: undefined }, []],
    ['a PatientName without value: no name', { PatientName: attr('PN') }, { name: undefined }, []],
    ['PatientBirthDate', { PatientBirthDate: attr('DA', '19800215') }, { birthDate: '1980-02-15' }, []],
    [
      'a birth date of the wrong length is left out',
      { PatientBirthDate: attr('DA', '198002') },
      { birthDate: undefined },
      ['PatientBirthDate'],
    ],
    [
      'an impossible birth date is left out',
      { PatientBirthDate: attr('DA', '19800230') },
      { birthDate: undefined },
      ['PatientBirthDate'],
    ],
    ['an empty birth date is simply absent', { PatientBirthDate: attr('DA') }, { birthDate: undefined }, []],
    ['M', { PatientSex: attr('CS', 'M') }, { gender: 'male' }, []],
    ['F', { PatientSex: attr('CS', 'F') }, { gender: 'female' }, []],
    ['O', { PatientSex: attr('CS', 'O') }, { gender: 'other' }, []],
    ['lower case', { PatientSex: attr('CS', 'f') }, { gender: 'female' }, []],
    ['an unknown sex', { PatientSex: attr('CS', 'X') }, { gender: 'unknown' }, []],
    ['an empty sex', { PatientSex: attr('CS') }, { gender: 'unknown' }, []],
    ['no sex at all', {}, { gender: 'unknown' }, []],
  ])('%s', (_situation, attributes, expected, skipped) => {
    const result = mapPatient({ PatientID: attr('LO', 'PID-1'), ...attributes });
    expectElements(result.patient, expected);
    expect(result.skipped).toEqual(skipped);
  });

  it('maps a full patient to a valid R4 Patient', () => {
    const { patient } = mapPatient({
      PatientID: attr('LO', 'PID-1'),
      IssuerOfPatientID: attr('LO', 'HOSPITAL_A'),
      PatientName: attr('PN', { Alphabetic: 'Yamada^Tarou^^Mr.', Ideographic: '山田^太郎', Phonetic: 'やまだ^たろう' }),
      PatientBirthDate: attr('DA', '19800215'),
      PatientSex: attr('CS', 'M'),
    });
    expect(patient).toEqual({
      resourceType: 'Patient',
      identifier: [{ system: `${LOCAL_ISSUER_SYSTEM_BASE}HOSPITAL_A`, value: 'PID-1' }],
      name: [
        { family: 'Yamada', given: ['Tarou'], prefix: ['Mr.'] },
        expect.objectContaining({ family: '山田', given: ['太郎'] }),
        expect.objectContaining({ family: 'やまだ', given: ['たろう'] }),
      ],
      birthDate: '1980-02-15',
      gender: 'male',
    });
    expect(validateR4(patient)).toEqual([]);
  });

  it('maps a patient with nothing but an ID to a valid R4 Patient', () => {
    const { patient } = mapPatient({ PatientID: attr('LO', 'PID-1'), PatientName: attr('PN', {}) });
    expect(validateR4(patient)).toEqual([]);
  });
});
