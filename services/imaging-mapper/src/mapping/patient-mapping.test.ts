import type { DicomAttribute } from '@imaging-facade/dicom';
import type { Patient } from '@medplum/fhirtypes';
import { DicomDataset, type Keyword } from './mapped-attributes';
import { applyRows, type MappingContext } from './mapping-table';
import {
  FR_CORE_IDENTIFIER_TYPE_SYSTEM,
  issuerToSystem,
  LOCAL_ISSUER_SYSTEM_BASE,
  PATIENT_ROWS,
  patientIdentifier,
  V2_IDENTIFIER_TYPE_SYSTEM,
} from './patient-mapping';
import { validateR4 } from '../test-support/fhir-validation';
import { expectElements } from '../test-support/expect-elements';
import { attr, dataset } from '../test-support/study-events';

const DEFAULT_SYSTEM = 'https://hospital.example/mrn';
const NIR = '1.2.250.1.213.1.4.8';

const sq = (...items: Array<Partial<Record<Keyword, DicomAttribute>>>): DicomAttribute => attr('SQ', ...items.map(dataset));
/** IssuerOfPatientIDQualifiersSequence with a Universal Entity ID. */
const qualifiers = (id: string, type: string, typeCode?: string): DicomAttribute =>
  sq({
    UniversalEntityID: attr('UT', id),
    UniversalEntityIDType: attr('CS', type),
    ...(typeCode ? { IdentifierTypeCode: attr('CS', typeCode) } : {}),
  });
const insType = (code: string, display: string) => ({
  coding: [
    { system: FR_CORE_IDENTIFIER_TYPE_SYSTEM, code, display },
    { system: V2_IDENTIFIER_TYPE_SYSTEM, code: 'NH', display: 'National Health Plan Identifier' },
  ],
});

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
    [
      'the qualifiers’ ISO Universal Entity ID wins over the free-text issuer',
      {
        PatientID: attr('LO', 'PID-1'),
        IssuerOfPatientID: attr('LO', 'HOPITAL NORD'),
        IssuerOfPatientIDQualifiersSequence: qualifiers('1.2.250.1.71.4.2.7', 'ISO'),
      },
      { system: 'urn:oid:1.2.250.1.71.4.2.7', value: 'PID-1' },
    ],
    [
      'the qualifiers’ identifier type code → type (v2-0203)',
      { PatientID: attr('LO', 'PID-1'), IssuerOfPatientIDQualifiersSequence: qualifiers('1.2.3', 'ISO', 'MR') },
      { type: { coding: [{ system: V2_IDENTIFIER_TYPE_SYSTEM, code: 'MR' }] }, system: 'urn:oid:1.2.3', value: 'PID-1' },
    ],
    [
      'a URI Universal Entity ID',
      { PatientID: attr('LO', 'PID-1'), IssuerOfPatientIDQualifiersSequence: qualifiers('https://mpi.example/id', 'URI') },
      { system: 'https://mpi.example/id', value: 'PID-1' },
    ],
    [
      'a DNS Universal Entity ID is no system: the free-text issuer serves',
      {
        PatientID: attr('LO', 'PID-1'),
        IssuerOfPatientID: attr('LO', '1.2.4'),
        IssuerOfPatientIDQualifiersSequence: qualifiers('mpi.example', 'DNS'),
      },
      { system: 'urn:oid:1.2.4', value: 'PID-1' },
    ],
    [
      'an ISO Universal Entity ID that is not an OID is no system',
      { PatientID: attr('LO', 'PID-1'), IssuerOfPatientIDQualifiersSequence: qualifiers('HOSPITAL', 'ISO') },
      { system: DEFAULT_SYSTEM, value: 'PID-1' },
    ],
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

  it.each<[string, Partial<Record<Keyword, DicomAttribute>>, unknown[], Keyword[]]>([
    [
      'OtherPatientIDsSequence → more identifiers, each with its issuer',
      {
        PatientID: attr('LO', 'PID-1'),
        OtherPatientIDsSequence: sq(
          { PatientID: attr('LO', 'RIS-9'), IssuerOfPatientID: attr('LO', 'RIS') },
          { PatientID: attr('LO', 'X-2'), IssuerOfPatientIDQualifiersSequence: qualifiers('1.2.5', 'ISO', 'PI') },
        ),
      },
      [
        { system: DEFAULT_SYSTEM, value: 'PID-1' },
        { system: `${LOCAL_ISSUER_SYSTEM_BASE}RIS`, value: 'RIS-9' },
        { type: { coding: [{ system: V2_IDENTIFIER_TYPE_SYSTEM, code: 'PI' }] }, system: 'urn:oid:1.2.5', value: 'X-2' },
      ],
      [],
    ],
    [
      'another ID without an issuer is left out, and said so',
      { PatientID: attr('LO', 'PID-1'), OtherPatientIDsSequence: sq({ PatientID: attr('LO', 'ABCD1234') }) },
      [{ system: DEFAULT_SYSTEM, value: 'PID-1' }],
      ['OtherPatientIDsSequence'],
    ],
    [
      'another ID equal to the PatientID is not repeated',
      {
        PatientID: attr('LO', 'PID-1'),
        IssuerOfPatientID: attr('LO', '1.2.6'),
        OtherPatientIDsSequence: sq({ PatientID: attr('LO', 'PID-1'), IssuerOfPatientID: attr('LO', '1.2.6') }),
      },
      [{ system: 'urn:oid:1.2.6', value: 'PID-1' }],
      [],
    ],
    [
      'the INS as the PatientID, its OID in IssuerOfPatientID: INS-NIR, official',
      { PatientID: attr('LO', '279035121518989'), IssuerOfPatientID: attr('LO', NIR) },
      [{ use: 'official', type: insType('INS-NIR', 'NIR définitif'), system: `urn:oid:${NIR}`, value: '279035121518989' }],
      [],
    ],
    [
      'the INS as the PatientID, its OID in the qualifiers, a local issuer name beside it',
      {
        PatientID: attr('LO', '279035121518989'),
        IssuerOfPatientID: attr('LO', 'ASIP-SANTE-INS-NIR'),
        IssuerOfPatientIDQualifiersSequence: qualifiers(NIR, 'ISO', 'NH'),
      },
      [{ use: 'official', type: insType('INS-NIR', 'NIR définitif'), system: `urn:oid:${NIR}`, value: '279035121518989' }],
      [],
    ],
    [
      'the INS among the other IDs, the hospital’s IPP as PatientID: its own identifier',
      {
        PatientID: attr('LO', 'IPP-42'),
        IssuerOfPatientID: attr('LO', '1.2.250.1.999.7.1'),
        OtherPatientIDsSequence: sq({
          PatientID: attr('LO', '279035121518989'),
          IssuerOfPatientIDQualifiersSequence: qualifiers(NIR, 'ISO'),
        }),
      },
      [
        { system: 'urn:oid:1.2.250.1.999.7.1', value: 'IPP-42' },
        { use: 'official', type: insType('INS-NIR', 'NIR définitif'), system: `urn:oid:${NIR}`, value: '279035121518989' },
      ],
      [],
    ],
    [
      'an INS-NIA (temporary): use temp',
      { PatientID: attr('LO', '1800199999999'), IssuerOfPatientID: attr('LO', '1.2.250.1.213.1.4.9') },
      [{ use: 'temp', type: insType('INS-NIA', 'NIR temporaire'), system: 'urn:oid:1.2.250.1.213.1.4.9', value: '1800199999999' }],
      [],
    ],
    [
      'a test INS-NIR',
      { PatientID: attr('LO', '1'), IssuerOfPatientID: attr('LO', '1.2.250.1.213.1.4.10') },
      [{ use: 'official', type: insType('INS-NIR-TEST', 'NIR TEST'), system: 'urn:oid:1.2.250.1.213.1.4.10', value: '1' }],
      [],
    ],
    [
      'a demonstration INS-NIR',
      { PatientID: attr('LO', '1'), IssuerOfPatientID: attr('LO', '1.2.250.1.213.1.4.11') },
      [{ use: 'official', type: insType('INS-NIR-DEMO', 'NIR DEMO'), system: 'urn:oid:1.2.250.1.213.1.4.11', value: '1' }],
      [],
    ],
  ])('%s', (_situation, attributes, identifiers, skipped) => {
    const result = mapPatient(attributes);
    expect(result.patient.identifier).toEqual(identifiers);
    expect(result.skipped).toEqual(skipped);
    expect(validateR4(result.patient)).toEqual([]);
  });

  it('maps every PN component and representation of a name', () => {
    const { patient } = mapPatient({
      PatientID: attr('LO', 'PID-1'),
      PatientName: attr('PN', { Alphabetic: 'Curie^Marie^Salomea Sklodowska^Mme^PhD', Ideographic: '山田^太郎', Phonetic: 'やまだ^たろう' }),
    });
    expect(patient.name).toEqual([
      { family: 'Curie', given: ['Marie', 'Salomea Sklodowska'], prefix: ['Mme'], suffix: ['PhD'] },
      {
        extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/iso21090-EN-representation', valueCode: 'IDE' }],
        family: '山田',
        given: ['太郎'],
      },
      {
        extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/iso21090-EN-representation', valueCode: 'SYL' }],
        family: 'やまだ',
        given: ['たろう'],
      },
    ]);
    expect(validateR4(patient)).toEqual([]);
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
